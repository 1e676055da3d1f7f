//! Writers of everything a user reads: JSON, CSV, Markdown, DOT and charts, one file
//! per format, and each command's set of output files (`files`). They take result
//! structs, never the simulator, and return bytes: only the binary writes files.
pub mod chart;
pub mod compare_chart;
pub mod csv;
pub mod dot;
pub mod files;
pub mod html;
pub mod json;
pub mod markdown;
pub mod output;
pub mod rollout_chart;
pub mod rollout_seeds_chart;
pub mod run_chart;
pub mod sarif;
pub mod sweep_chart;
pub mod topology;
