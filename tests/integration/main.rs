//! Integration tests: one binary, one module per area.

mod cli;
mod compare;
mod determinism;
mod policies;
mod queueing;
mod scenarios;
mod support;
mod sweep;
