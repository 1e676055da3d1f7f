//! The simulation engine: integer time, the event queue and random streams.
//!
//! The engine knows nothing of services, requests or policies; the model builds on it.
//! Nothing here reads the wall clock, the OS's entropy or iterates a hash map.

pub mod queue;
pub mod rng;
pub mod time;

pub use queue::EventQueue;
pub use rng::{StreamRng, stream};
pub use time::{DurationError, SimDuration, SimTime};
