//! Scenario loading: TOML text -> raw structs -> validated `model::Scenario`, with
//! errors located at file:line:col.
