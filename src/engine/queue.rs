//! The event queue: a priority queue of events keyed by `(time, seq)`.
//!
//! Ordering rule: events pop in increasing simulated time; events scheduled for the
//! same instant pop in the order they were scheduled (FIFO), because each is stamped
//! with a sequence number when scheduled. The order is therefore total and does not
//! depend on the payload, the heap's internals or the machine.
//!
//! Besides the heap, the queue has *lanes*: FIFO lists for events that are usually
//! scheduled a constant delay ahead (per-try timeouts of one policy, a constant network
//! delay). Such events arrive in time order, so a lane keeps them sorted at O(1) a push
//! and a pop, and they stay out of the heap: per-try timeouts, nearly all stale by the
//! time they fire, otherwise fill it with thousands of entries. An event whose time is
//! earlier than the last in its lane goes to the heap instead, so lanes are only a
//! hint: the pop order is exactly the same `(time, seq)` order whatever goes where.

use super::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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
    /// Each sorted by key (see the module's documentation).
    lanes: Vec<VecDeque<Entry<E>>>,
    /// Events in all lanes: while none, a pop looks at the heap only.
    in_lanes: usize,
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
    /// A queue without lanes.
    pub fn new() -> Self {
        Self::with_lanes(0)
    }

    /// A queue with `lanes` lanes, numbered from 0, for `schedule_in_lane`.
    pub fn with_lanes(lanes: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            lanes: (0..lanes).map(|_| VecDeque::new()).collect(),
            in_lanes: 0,
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
        let entry = self.stamp(at, event);
        self.push_heap(entry);
    }

    /// Schedules `event` at `at` in lane `lane` if that keeps the lane sorted (`at` is
    /// not earlier than the lane's last event), else in the heap. Either way it pops in
    /// the same order.
    #[inline(always)]
    pub fn schedule_in_lane(&mut self, lane: usize, at: SimTime, event: E) {
        let entry = self.stamp(at, event);
        let l = &mut self.lanes[lane];
        // Later `seq`: the key is larger whenever the time is not smaller.
        if l.back().is_none_or(|last| last.time() <= at) {
            l.push_back(entry);
            self.in_lanes += 1;
        } else {
            self.push_heap(entry);
        }
    }

    #[inline]
    fn stamp(&mut self, at: SimTime, event: E) -> Entry<E> {
        debug_assert!(at >= self.now, "scheduled in the past: {:?} < {:?}", at, self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        Entry { key: (u128::from(at.0) << 64) | u128::from(seq), event }
    }

    #[inline]
    fn push_heap(&mut self, entry: Entry<E>) {
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

    /// Where the earliest pending event is (`None`: the heap's root) and its time.
    #[inline]
    fn earliest(&mut self) -> Option<(Option<usize>, SimTime)> {
        self.settle();
        let mut best = self.heap.peek().map(|e| (None, e.key));
        if self.in_lanes == 0 {
            return best.map(|(at, key)| (at, SimTime((key >> 64) as u64)));
        }
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(e) = lane.front()
                && best.is_none_or(|(_, key)| e.key < key)
            {
                best = Some((Some(i), e.key));
            }
        }
        best.map(|(at, key)| (at, SimTime((key >> 64) as u64)))
    }

    /// Takes the earliest event, found by `earliest` at `place`, and moves the clock.
    #[inline]
    fn take(&mut self, place: Option<usize>, time: SimTime) -> (SimTime, E)
    where
        E: Copy,
    {
        let event = match place {
            None => {
                // Left at the root until the next `schedule_at` or pop (`top_popped`).
                self.top_popped = true;
                self.heap.peek().expect("the earliest is at the root").event
            }
            Some(lane) => {
                self.in_lanes -= 1;
                self.lanes[lane].pop_front().expect("the earliest is at the lane's front").event
            }
        };
        debug_assert!(time >= self.now, "time went backwards");
        self.now = time;
        self.popped += 1;
        (time, event)
    }

    /// Pops the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)>
    where
        E: Copy,
    {
        let (place, time) = self.earliest()?;
        Some(self.take(place, time))
    }

    /// Pops the earliest event if it is due before `end` (else leaves it, and the clock).
    #[inline]
    pub fn pop_before(&mut self, end: SimTime) -> Option<(SimTime, E)>
    where
        E: Copy,
    {
        let (place, time) = self.earliest()?;
        if time >= end {
            return None;
        }
        Some(self.take(place, time))
    }

    /// The time of the next event, without popping it.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.earliest().map(|(_, time)| time)
    }

    /// Events waiting to happen.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.top_popped) + self.in_lanes
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
            if !x.is_multiple_of(3) || reference.is_empty() {
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

        /// Lanes are only a hint: scheduling the same events (each with a random lane, or
        /// none) pops exactly what a queue without lanes pops, in the same order, with the
        /// same clock and counts, for delays that are constant per lane or arbitrary.
        #[test]
        fn lanes_pop_as_the_heap_alone(
            ops in proptest::collection::vec((0usize..4, 0u64..6, prop::bool::ANY), 0..300),
        ) {
            let mut plain = EventQueue::new();
            let mut laned = EventQueue::with_lanes(3);
            for (id, &(lane, delay, pop)) in ops.iter().enumerate() {
                if pop {
                    prop_assert_eq!(laned.pop(), plain.pop());
                } else {
                    // Lane 0 always 2 ahead (sorted), the others arbitrary; 3 is the heap.
                    let delay = if lane == 0 { SimDuration::from_nanos(2) } else { SimDuration::from_nanos(delay) };
                    let at = plain.now() + delay;
                    plain.schedule_at(at, id);
                    if lane < 3 { laned.schedule_in_lane(lane, at, id) } else { laned.schedule_at(at, id) }
                }
                prop_assert_eq!(laned.len(), plain.len());
                prop_assert_eq!(laned.peek_time(), plain.peek_time());
            }
            let end = plain.now() + SimDuration::from_nanos(3);
            loop {
                let (a, b) = (laned.pop_before(end), plain.pop_before(end));
                prop_assert_eq!(a, b);
                if a.is_none() {
                    break;
                }
            }
            while let Some(e) = plain.pop() {
                prop_assert_eq!(laned.pop(), Some(e));
            }
            prop_assert!(laned.is_empty());
            prop_assert_eq!((laned.now(), laned.popped()), (plain.now(), plain.popped()));
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
