//! Integration tests: one binary, one module per area.

mod queueing;
mod sweep;
mod support;
