//! Latency histograms that record in a few instructions: the per-bucket p99 and the
//! run-level histogram, each binned exactly as the `hdrhistogram` crate bins, so their
//! results are exactly what that crate would report.

use crate::engine::SimDuration;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Run-level histograms: 3 significant digits, microseconds.
pub(super) fn run_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

/// Per-bucket latencies only feed a p99 per bucket: 2 significant digits suffice.
///
/// The same bins and the same `value_at_quantile(0.99)` as an auto-resizing
/// `Histogram::<u64>::new(2)` (microseconds), so the per-bucket p99s are exactly what such
/// a histogram reports. But the bins are grouped in blocks of 16 with a count per block,
/// so that closing a bucket scans block counts and clears only the blocks in use, instead of
/// scanning and zeroing every bin the run ever needed (about 2,700 for latencies in
/// minutes) while a bucket typically holds a few hundred samples.
#[derive(Default)]
pub(super) struct BucketP99 {
    counts: Bins,
    /// Sum of each block of `BLOCK` bins.
    blocks: Vec<u64>,
    total: u64,
}

/// Bin counts, exact to `u64`, stored as `u32`: recording is bound by cache misses on
/// the bins (several histograms of tens of kilobytes each, touched at random), and half
/// the footprint misses about a third less. A bin that wraps past `u32::MAX` carries
/// into `carries` (units of 2^32), which stays empty below four billion samples per bin.
#[derive(Default)]
struct Bins {
    low: Vec<u32>,
    carries: BTreeMap<usize, u64>,
}

impl Bins {
    #[inline]
    fn len(&self) -> usize {
        self.low.len()
    }

    #[inline]
    fn increment(&mut self, i: usize) {
        let c = &mut self.low[i];
        *c = c.wrapping_add(1);
        if *c == 0 {
            self.carry(i);
        }
    }

    #[cold]
    fn carry(&mut self, i: usize) {
        *self.carries.entry(i).or_insert(0) += 1;
    }

    #[inline]
    fn get(&self, i: usize) -> u64 {
        let low = u64::from(self.low[i]);
        if self.carries.is_empty() { low } else { low + (self.carries.get(&i).copied().unwrap_or(0) << 32) }
    }

    fn resize(&mut self, len: usize) {
        self.low.resize(len, 0);
    }

    /// Zeroes the bins in `range`.
    fn clear(&mut self, range: std::ops::Range<usize>) {
        self.low[range.clone()].fill(0);
        if !self.carries.is_empty() {
            self.carries.retain(|i, _| !range.contains(i));
        }
    }
}

/// HdrHistogram's bin layout with unit 1 and `2^(H+1)` sub-buckets (`2^H` per half):
/// 3 significant digits is `H = 10`, 2 is `H = 7`. Shared by the two histograms below
/// so both bin exactly as the `hdrhistogram` crate does.
struct HdrBins<const H: u32>;

impl<const H: u32> HdrBins<H> {
    const HALF: u64 = 1 << H;
    const MASK: u64 = 2 * Self::HALF - 1;

    /// Bucket (power of two above the first `2^(H+1)` values) of `value`.
    #[inline]
    fn bucket_of(value: u64) -> u32 {
        (64 - H - 1) - (value | Self::MASK).leading_zeros()
    }

    #[inline]
    fn index_of(value: u64) -> usize {
        let bucket = Self::bucket_of(value);
        (((bucket as u64 + 1) << H) + (value >> bucket) - Self::HALF) as usize
    }

    /// The lowest value counted in bin `index`.
    fn lowest_in(index: usize) -> u64 {
        match (index as u64 >> H).checked_sub(1) {
            Some(bucket) => ((index as u64 & (Self::HALF - 1)) + Self::HALF) << bucket,
            None => index as u64,
        }
    }

    /// The highest value counted in bin `index`.
    fn highest_in(index: usize) -> u64 {
        let lowest = Self::lowest_in(index);
        if lowest == u64::MAX { u64::MAX } else { lowest.saturating_add(1 << Self::bucket_of(lowest)) - 1 }
    }
}

/// `Histogram::new(2)`: 256 sub-buckets (128 per half).
type P99Bins = HdrBins<7>;
/// `Histogram::new(3)`: 2,048 sub-buckets (1,024 per half).
type RunBins = HdrBins<10>;

impl BucketP99 {
    const BLOCK_MAGNITUDE: u32 = 4;
    const BLOCK: usize = 1 << Self::BLOCK_MAGNITUDE;

    #[cfg(test)]
    fn record(&mut self, d: SimDuration) {
        self.record_micros(micros(d));
    }

    #[inline]
    pub(super) fn record_micros(&mut self, us: u64) {
        let i = P99Bins::index_of(us);
        let block = i >> Self::BLOCK_MAGNITUDE;
        if block >= self.blocks.len() {
            self.grow(block);
        }
        self.counts.increment(i);
        self.blocks[block] += 1;
        self.total += 1;
    }

    #[cold]
    fn grow(&mut self, block: usize) {
        self.blocks.resize(block + 1, 0);
        self.counts.resize((block + 1) * Self::BLOCK);
    }

    /// The p99 in milliseconds, as `value_at_quantile(0.99)` of the histogram.
    pub(super) fn p99_ms(&self) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let target = ((0.99 * self.total as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (block, &sum) in self.blocks.iter().enumerate() {
            if below + sum < target {
                below += sum;
                continue;
            }
            let first = block * Self::BLOCK;
            for i in first..first + Self::BLOCK {
                below += self.counts.get(i);
                if below >= target {
                    return Some(P99Bins::highest_in(i) as f64 / 1e3);
                }
            }
        }
        unreachable!("the blocks in use hold every count")
    }

    pub(super) fn reset(&mut self) {
        if self.total == 0 {
            return;
        }
        for (block, sum) in self.blocks.iter_mut().enumerate() {
            if *sum != 0 {
                *sum = 0;
                self.counts.clear(block * Self::BLOCK..(block + 1) * Self::BLOCK);
            }
        }
        self.total = 0;
    }
}

pub(super) fn micros(d: SimDuration) -> u64 {
    d.as_nanos() / 1_000
}

/// Run-level latencies, in the bins of an auto-resizing `Histogram::<u64>::new(3)`
/// (microseconds), counted in place and turned into that histogram at the end of the run.
///
/// Recording is an index computation and an increment, without the generic histogram's
/// call, resize check and saturating arithmetic. `into_histogram` rebuilds exactly the
/// histogram that recording each value would have built: the same counts per bin, total,
/// length (an auto-resizing histogram ends sized for its largest value) and extremes (the
/// raw largest and smallest non-zero values are recorded as themselves).
pub(super) struct RunHistogram {
    counts: Bins,
    /// Largest value recorded (0 if none).
    max: u64,
    /// Smallest non-zero value recorded (`u64::MAX` if none).
    min_nz: u64,
}

impl RunHistogram {
    pub(super) fn new() -> RunHistogram {
        RunHistogram { counts: Bins::default(), max: 0, min_nz: u64::MAX }
    }

    #[cfg(test)]
    fn record(&mut self, d: SimDuration) {
        self.record_micros(micros(d));
    }

    #[inline]
    pub(super) fn record_micros(&mut self, v: u64) {
        let i = RunBins::index_of(v);
        if i >= self.counts.len() {
            self.grow(i);
        }
        self.counts.increment(i);
        self.max = self.max.max(v);
        if v != 0 {
            self.min_nz = self.min_nz.min(v);
        }
    }

    #[cold]
    fn grow(&mut self, index: usize) {
        // Up to the end of the index's bucket.
        self.counts.resize((index | (RunBins::HALF as usize - 1)) + 1);
    }

    pub(super) fn into_histogram(self) -> Histogram<u64> {
        let mut h = run_histogram();
        let (max_i, min_i) = (RunBins::index_of(self.max), RunBins::index_of(self.min_nz));
        for i in 0..self.counts.len() {
            let n = self.counts.get(i);
            if n == 0 {
                continue;
            }
            let mut rest = n;
            if i == max_i {
                h.record(self.max).expect("auto-resizing histograms take any u64");
                rest -= 1;
            }
            if i == min_i && self.min_nz != u64::MAX && rest > 0 {
                h.record(self.min_nz).expect("auto-resizing histograms take any u64");
                rest -= 1;
            }
            if rest > 0 {
                // Inside the extremes' bins, at an extreme; elsewhere any value of the bin.
                let v = if i == max_i {
                    self.max
                } else if i == min_i {
                    self.min_nz
                } else {
                    RunBins::lowest_in(i)
                };
                h.record_n(v, rest).expect("auto-resizing histograms take any u64");
            }
        }
        h
    }
}

/// Records a duration in a reference histogram (tests). The histograms auto-resize, so
/// recording cannot fail for any `u64` (`saturating_record` would clamp instead).
#[cfg(test)]
fn record(h: &mut Histogram<u64>, d: SimDuration) {
    h.record(micros(d)).expect("auto-resizing histograms take any u64");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bin past `u32::MAX` carries: its count stays exact, others are untouched, and
    /// clearing a range drops the carries inside it only.
    #[test]
    fn bins_count_past_u32_exactly() {
        let mut b = Bins::default();
        b.resize(8);
        b.low[3] = u32::MAX - 1;
        b.low[5] = u32::MAX;
        for _ in 0..3 {
            b.increment(3);
        }
        b.increment(5);
        b.increment(6);
        assert_eq!(b.get(3), u64::from(u32::MAX) + 2);
        assert_eq!(b.get(5), u64::from(u32::MAX) + 1);
        assert_eq!((b.get(4), b.get(6)), (0, 1));
        b.clear(0..4);
        assert_eq!((b.get(3), b.get(5), b.get(6)), (0, u64::from(u32::MAX) + 1, 1));
        b.clear(4..8);
        assert!((0..8).all(|i| b.get(i) == 0) && b.carries.is_empty());
    }

    /// The per-bucket p99 is exactly that of an auto-resizing 2-digit HdrHistogram, bucket
    /// after bucket (resets included), for latencies from nanoseconds to days.
    #[test]
    fn bucket_p99_matches_hdrhistogram() {
        let mut ours = BucketP99::default();
        let mut reference = Histogram::<u64>::new(2).expect("valid");
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for bucket in 0..300u64 {
            assert_eq!(ours.p99_ms(), (!reference.is_empty()).then(|| reference.value_at_quantile(0.99) as f64 / 1e3));
            ours.reset();
            reference.reset();
            // Bucket sizes 0 to 299 samples; magnitudes spread over 0 ns .. about 10^14 ns.
            for _ in 0..bucket {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ns = (x >> 20) >> ((x % 44) + (bucket % 7));
                let d = SimDuration::from_nanos(ns);
                ours.record(d);
                record(&mut reference, d);
            }
        }
        for index in 0..5_000 {
            let v = RunBins::lowest_in(index);
            assert_eq!(RunBins::index_of(v), index);
            assert_eq!(v, run_histogram().lowest_equivalent(v));
        }
        for index in 0..5_000 {
            let v = P99Bins::highest_in(index);
            assert_eq!(P99Bins::index_of(v), index);
            assert_eq!(P99Bins::index_of(v + 1), index + 1);
            assert_eq!(v, reference.highest_equivalent(v));
        }
    }

    /// The run-level histogram rebuilt from the bins is the one recording each value
    /// builds: counts, total, extremes and length.
    #[test]
    fn run_histogram_matches_hdrhistogram() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for case in 0..200u64 {
            let mut ours = RunHistogram::new();
            let mut reference = run_histogram();
            for _ in 0..case * 7 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ns = match case % 4 {
                    0 => (x >> 20) >> (x % 44),
                    1 => x % 3_000,
                    2 => 1_000 * (x % 5),
                    _ => (x >> 8) >> (x % 56),
                };
                let d = SimDuration::from_nanos(ns);
                ours.record(d);
                record(&mut reference, d);
            }
            let ours = ours.into_histogram();
            assert!(ours == reference, "case {case}");
            assert_eq!(ours.len(), reference.len());
            assert_eq!((ours.max(), ours.min(), ours.min_nz()), (reference.max(), reference.min(), reference.min_nz()));
            assert_eq!(ours.high(), reference.high());
            assert_eq!(ours.distinct_values(), reference.distinct_values());
        }
    }
}
