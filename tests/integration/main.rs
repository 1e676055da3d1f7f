//! Integration tests: one binary, one module per area.

mod cli;
mod compare;
mod determinism;
mod notebooks;
mod policies;
mod queueing;
mod scenarios;
mod support;
mod sweep;
