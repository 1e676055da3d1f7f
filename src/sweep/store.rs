//! Per-seed records kept between runs: a seed's reduced record, keyed by a hash of
//! everything that determines it, so a later sweep of the same scenario, seed and
//! settings folds the kept record instead of simulating again (`compare`'s base-side
//! cache). The library computes keys and checks entries; where the bytes live (files,
//! for the CLI) is the caller's [`SeedStore`].
//!
//! The key is the SHA-256 of: a format tag, the stormcast version, the seed, the event
//! cap, whether the record keeps per-bucket band values (the first
//! [`BAND_SEEDS_MAX`](super::BAND_SEEDS_MAX) seeds of a sweep do), and the validated
//! scenario as its `Debug` text with its source path and text hash blanked (neither
//! is simulated, and the model is what every overlay resolved to). A record read back
//! must name its key and fit the scenario's loads and services; anything else is
//! ignored and the seed simulated again. Folding a record read back gives the same
//! bytes as folding it fresh: rows keep their floats exact ([`Exact`]) and histograms
//! travel in HdrHistogram's own lossless encoding.

use super::SeedRow;
use super::fold::SeedRecord;
use crate::model::Scenario;
use crate::shard::{decode_histogram, encode_histogram};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[cfg(doc)]
use crate::shard::Exact;

/// Where kept records live: bytes by key. Reads and writes may fail silently (a miss,
/// a record not kept); a store is used from the sweep's worker threads.
pub trait SeedStore: Sync {
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    fn put(&self, key: &str, bytes: &[u8]);
}

/// Bumped when a record's layout or meaning changes, so old entries are never read.
const FORMAT: &str = "stormcast seed record 1";

/// What keys one scenario's records under one event cap.
pub(super) struct Keys {
    identity: String,
    loads: usize,
    services: usize,
}

impl Keys {
    pub(super) fn new(scenario: &Scenario, max_events: Option<u64>) -> Keys {
        let model = Scenario { source: String::new(), hash: String::new(), ..scenario.clone() };
        let identity = format!("{FORMAT}\nversion {}\nmax_events {max_events:?}\n{model:?}", env!("CARGO_PKG_VERSION"));
        Keys { identity, loads: scenario.loads.len(), services: scenario.services.len() }
    }

    /// The key of `seed`'s record, with or without band values.
    pub(super) fn key(&self, seed: u64, keep_bands: bool) -> String {
        let mut hash = Sha256::new();
        hash.update(self.identity.as_bytes());
        hash.update(format!("\nseed {seed}\nbands {keep_bands}\n").as_bytes());
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The record kept under `key`, if it is one and fits the scenario.
    pub(super) fn read(&self, key: &str, bytes: &[u8]) -> Option<SeedRecord> {
        let entry: Entry = serde_json::from_slice(bytes).ok()?;
        if entry.format != FORMAT || entry.key != key || !entry.row.fits(self.loads, self.services) {
            return None;
        }
        let histograms = entry.histograms.iter().map(|h| decode_histogram(h)).collect::<Option<Vec<_>>>()?;
        (histograms.len() == self.loads).then_some(SeedRecord { row: entry.row, histograms })
    }
}

/// A record as kept.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: String,
    key: String,
    row: SeedRow,
    histograms: Vec<String>,
}

/// The bytes that keep `record` under `key`.
pub(super) fn write(key: &str, record: &SeedRecord) -> Vec<u8> {
    let entry = Entry {
        format: FORMAT.to_string(),
        key: key.to_string(),
        row: record.row.clone(),
        histograms: record.histograms.iter().map(encode_histogram).collect(),
    };
    serde_json::to_vec(&entry).expect("a record serializes")
}
