//! Integration tests: one binary, one module per area.

mod autoscaling;
mod browser;
mod cli;
mod command_line;
mod compare;
mod conservation;
mod determinism;
mod docs;
mod health;
mod hedging;
mod legibility;
mod lifecycle;
mod limits;
mod notebooks;
mod outputs;
mod policies;
mod queueing;
mod report_html;
mod robustness;
mod rollout;
mod scenarios;
mod schemas;
mod shard;
mod support;
mod sweep;
