//! Statistics: what a run measured (per load, per service, per time bucket), latency
//! histograms, recovery detection, risk estimates with intervals, and the paired
//! statistics `compare` judges with.

pub mod confidence;
pub mod health;
pub mod paired;
pub mod recovery;
pub mod risk;
pub mod sequential;
pub mod summary;
pub mod verdict;

pub use health::{Cascade, Health, HealthCause, HealthState};
pub use risk::{Distribution, Proportion, wilson};
pub use summary::{
    DisturbanceKind, DisturbanceWindow, FORMAT_VERSION, FormatVersion, LatencySummary, LoadBucket, LoadResult,
    RunResult, ServiceBucket, ServiceResult,
};
