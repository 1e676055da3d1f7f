//! stormcast: a deterministic discrete-event simulator of microservice failures.
pub mod compare;
pub mod engine;
pub mod expect;
pub mod format;
pub mod model;
pub mod report;
pub mod rollout;
pub mod scenario;
pub mod shard;
pub mod sim;
pub mod stats;
pub mod sweep;
