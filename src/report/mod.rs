//! Writers of everything a user reads: JSON, CSV, Markdown, DOT and charts, one file
//! per format. They take result structs, never the simulator.
pub mod chart;
pub mod compare_chart;
pub mod csv;
pub mod dot;
pub mod markdown;
pub mod output;
pub mod run_chart;
pub mod sweep_chart;
pub mod topology;
