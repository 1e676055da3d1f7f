//! The queue-discipline seam: how an instance orders the requests waiting for a worker.
//! Every instance's queue is a [`WaitQueue`]; the server pushes arrivals that find every
//! worker busy and pops the next one when a worker frees up, whatever the discipline.
//! First in, first out is the only discipline today; another (LIFO, priorities, CoDel)
//! is a variant here, chosen from the service's config in `lifecycle::add_instance`.

use super::server::JobKey;
use std::collections::VecDeque;

pub(super) enum WaitQueue {
    /// First in, first out.
    Fifo(VecDeque<JobKey>),
}

impl WaitQueue {
    pub(super) fn fifo() -> WaitQueue {
        WaitQueue::Fifo(VecDeque::new())
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        match self {
            WaitQueue::Fifo(q) => q.len(),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, job: JobKey) {
        match self {
            WaitQueue::Fifo(q) => q.push_back(job),
        }
    }

    /// The next request to serve.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<JobKey> {
        match self {
            WaitQueue::Fifo(q) => q.pop_front(),
        }
    }

    /// Empties the queue (its requests are lost with their instance).
    pub(super) fn clear(&mut self) {
        match self {
            WaitQueue::Fifo(q) => q.clear(),
        }
    }
}
