//! The account of a rollout over many seeds: `rollout.json`.
