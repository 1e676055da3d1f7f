//! Integration tests: one binary, one module per area.

mod policies;
mod queueing;
mod support;
