//! The event queue: a priority queue of events keyed by `(time, seq)`.
//!
//! Ordering rule: events pop in increasing simulated time; events scheduled for the
//! same instant pop in the order they were scheduled (FIFO), because each is stamped
//! with a sequence number when scheduled. The order is therefore total and does not
//! depend on the payload, the heap's internals or the machine.

use super::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The key packs `(time, seq)` into one `u128` (time in the high half), so that the
/// heap compares entries with one integer comparison; the order is the same.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn time(&self) -> SimTime {
        SimTime((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)`.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A deterministic future-event list with a clock.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    popped: u64,
    /// The event popped last is still at the root of the heap: the next `schedule_at`
    /// overwrites it and sifts it down once (instead of a removal, then an insertion);
    /// if nothing is scheduled, the next `pop` or `peek_time` removes it. The set of
    /// pending entries, and so the order of pops, is the same either way.
    top_popped: bool,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            next_seq: 0,
            now: SimTime::ZERO,
            popped: 0,
            top_popped: false,
        }
    }

    /// The time of the event popped last (the simulation clock).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at`, which must not be in the past.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "scheduled in the past: {:?} < {:?}", at, self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { key: (u128::from(at.0) << 64) | u128::from(seq), event };
        if self.top_popped {
            self.top_popped = false;
            *self.heap.peek_mut().expect("the popped entry is still there") = entry;
        } else {
            self.heap.push(entry);
        }
    }

    /// Removes the entry popped last if it is still at the root.
    #[inline]
    fn settle(&mut self) {
        if self.top_popped {
            self.top_popped = false;
            self.heap.pop();
        }
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Pops the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)>
    where
        E: Copy,
    {
        self.settle();
        let entry = self.heap.peek()?;
        let (time, event) = (entry.time(), entry.event);
        debug_assert!(time >= self.now, "time went backwards");
        self.now = time;
        self.popped += 1;
        self.top_popped = true;
        Some((time, event))
    }

    /// Pops the earliest event if it is due before `end` (else leaves it, and the clock).
    #[inline]
    pub fn pop_before(&mut self, end: SimTime) -> Option<(SimTime, E)>
    where
        E: Copy,
    {
        self.settle();
        let entry = self.heap.peek()?;
        let (time, event) = (entry.time(), entry.event);
        if time >= end {
            return None;
        }
        debug_assert!(time >= self.now, "time went backwards");
        self.now = time;
        self.popped += 1;
        self.top_popped = true;
        Some((time, event))
    }

    /// The time of the next event, without popping it.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.settle();
        self.heap.peek().map(Entry::time)
    }

    /// Events waiting to happen.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.top_popped)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events popped so far.
    pub fn popped(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime(5), 'a');
        q.schedule_at(SimTime(1), 'b');
        q.schedule_at(SimTime(5), 'c');
        q.schedule_at(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.now(), SimTime(5));
        assert_eq!(q.popped(), 4);
    }

    #[test]
    fn pop_before_stops_at_the_end_without_moving_the_clock() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime(3), 'a');
        q.schedule_at(SimTime(9), 'b');
        assert_eq!(q.pop_before(SimTime(9)), Some((SimTime(3), 'a')));
        assert_eq!(q.pop_before(SimTime(9)), None);
        assert_eq!((q.now(), q.popped(), q.len()), (SimTime(3), 1, 1));
        q.schedule_at(SimTime(5), 'c');
        assert_eq!(q.pop_before(SimTime(9)), Some((SimTime(5), 'c')));
        assert_eq!(q.pop(), Some((SimTime(9), 'b')));
        assert!(q.is_empty());
    }

    /// The heap pops exactly what a sorted list of `(time, seq)` would, whatever the
    /// interleaving of pushes and pops (a fixed pseudo-random sequence of both).
    #[test]
    fn matches_a_reference_order() {
        let mut q = EventQueue::new();
        let mut reference: std::collections::BTreeSet<(u64, u64)> = Default::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut seq = 0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 || reference.is_empty() {
                // Few distinct delays, so many events share an instant.
                let at = q.now().0 + x % 8;
                q.schedule_at(SimTime(at), seq);
                reference.insert((at, seq));
                seq += 1;
            } else {
                let expected = reference.pop_first().expect("non-empty");
                assert_eq!(q.pop(), Some((SimTime(expected.0), expected.1)));
            }
            assert_eq!(q.peek_time(), reference.first().map(|&(t, _)| SimTime(t)));
        }
        while let Some(expected) = reference.pop_first() {
            assert_eq!(q.pop(), Some((SimTime(expected.0), expected.1)));
        }
        assert!(q.is_empty());
    }

    use proptest::prelude::*;

    /// A step of a random workload: schedule an event `delay` after now, or pop one.
    #[derive(Clone, Debug)]
    enum Op {
        Schedule(u64),
        Pop,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        // Small delays, so that many events share a time and FIFO order is exercised.
        let op = prop_oneof![3 => (0u64..4).prop_map(Op::Schedule), 2 => Just(Op::Pop)];
        proptest::collection::vec(op, 0..200)
    }

    proptest! {
        /// Interleaving schedules (never in the past) and pops: pops never go back in time,
        /// events at the same time come out in scheduling order, and every scheduled event
        /// pops exactly once.
        #[test]
        fn pops_are_ordered_fifo_and_complete(ops in ops()) {
            let mut q = EventQueue::new();
            let mut scheduled: Vec<SimTime> = Vec::new();
            let mut popped: Vec<(SimTime, usize)> = Vec::new();
            let pop = |q: &mut EventQueue<usize>, popped: &mut Vec<(SimTime, usize)>| {
                if let Some((t, id)) = q.pop() {
                    prop_assert_eq!(q.now(), t);
                    if let Some(&(last_t, last_id)) = popped.last() {
                        prop_assert!(t >= last_t, "time went back: {:?} after {:?}", t, last_t);
                        if t == last_t {
                            prop_assert!(id > last_id, "FIFO broken at {:?}: {} after {}", t, id, last_id);
                        }
                    }
                    popped.push((t, id));
                }
                Ok(())
            };
            for op in ops {
                match op {
                    Op::Schedule(delay) => {
                        let id = scheduled.len();
                        let at = q.now() + SimDuration::from_nanos(delay);
                        scheduled.push(at);
                        q.schedule_at(at, id);
                    }
                    Op::Pop => pop(&mut q, &mut popped)?,
                }
            }
            while !q.is_empty() {
                pop(&mut q, &mut popped)?;
            }
            prop_assert_eq!(q.popped(), scheduled.len() as u64);
            let mut ids: Vec<usize> = popped.iter().map(|&(_, id)| id).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..scheduled.len()).collect::<Vec<_>>());
            for (t, id) in popped {
                prop_assert_eq!(t, scheduled[id], "event {} popped at the wrong time", id);
            }
        }

        /// Everything scheduled up front (at arbitrary times) pops sorted by (time, order
        /// of scheduling): the queue's order is exactly a stable sort by time.
        #[test]
        fn order_is_a_stable_sort_by_time(times in proptest::collection::vec(0u64..20, 0..300)) {
            let mut q = EventQueue::new();
            for (id, &t) in times.iter().enumerate() {
                q.schedule_at(SimTime(t), id);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort_by_key(|&(t, _)| t); // Stable: equal times keep scheduling order.
            let got: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop().map(|(t, id)| (t.0, id))).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
