//! Statistics: what a run measured (per load, per service, per time bucket), latency
//! histograms, recovery detection and risk estimates with intervals.

pub mod recovery;
pub mod risk;
pub mod summary;

pub use risk::{Distribution, Proportion, wilson};
pub use summary::{
    DisturbanceKind, DisturbanceWindow, LatencySummary, LoadBucket, LoadResult, RunResult, ServiceBucket, ServiceResult,
};
