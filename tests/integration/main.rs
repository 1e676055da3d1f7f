//! Integration tests: one binary, one module per area.

mod cli;
mod conservation;
mod determinism;
mod policies;
mod queueing;
mod robustness;
mod scenarios;
mod support;
