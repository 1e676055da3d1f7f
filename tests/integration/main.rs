//! Integration tests: one binary, one module per area.

mod cli;
mod compare;
mod conservation;
mod determinism;
mod docs;
mod health;
mod limits;
mod notebooks;
mod outputs;
mod policies;
mod queueing;
mod robustness;
mod scenarios;
mod schemas;
mod support;
mod sweep;
