//! Integration tests: one binary, one module per area.

mod queueing;
mod support;
