//! Benchmark of the event queue: the hold model (pop the earliest event, schedule one
//! in its place at a random later time) with about 1k and 10k events pending, which is
//! what the simulator does on every event.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use stormcast::engine::{EventQueue, SimDuration, SimTime};

/// A cheap, fixed pseudo-random sequence (xorshift64*), so the bench measures the queue.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// An event payload the size of the simulator's (16 bytes).
#[derive(Copy, Clone)]
struct Payload(#[allow(dead_code)] u64, #[allow(dead_code)] u64);

const HOLDS: u64 = 10_000;

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue/hold");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(HOLDS));
    for pending in [1_000u64, 10_000] {
        let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
        let mut queue = EventQueue::new();
        for i in 0..pending {
            queue.schedule_at(SimTime(rng.next() % 1_000_000_000), Payload(i, 0));
        }
        group.bench_function(BenchmarkId::from_parameter(pending), |b| {
            b.iter(|| {
                for _ in 0..HOLDS {
                    let (_, event) = queue.pop().expect("pending events");
                    queue.schedule_in(SimDuration(rng.next() % 1_000_000_000), black_box(event));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
