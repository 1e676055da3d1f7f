//! Fuzz target for the scenario loader: any bytes must give `Ok` or a located error,
//! never a panic or a hang. A scenario that loads must also get a work estimate that
//! is a number (the CLI refuses runs by it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stormcast::scenario::{LoadError, load_bytes};
use stormcast::sim::estimate::estimated_events;

fuzz_target!(|data: &[u8]| {
    match load_bytes("fuzz.toml", data) {
        Ok(scenario) => {
            let events = estimated_events(&scenario);
            assert!(events >= 0.0, "estimate {events} for a valid scenario");
        }
        Err(LoadError::Read { .. }) => panic!("load_bytes never reads a file"),
        Err(e @ LoadError::Invalid { .. }) => {
            let diagnostics = e.diagnostics();
            assert!(!diagnostics.is_empty(), "an error without a diagnostic");
            for d in diagnostics {
                // Every problem names the file; a located one has a real line and column.
                assert_eq!(d.file, "fuzz.toml", "{d}");
                if let Some(l) = &d.location {
                    assert!(l.line >= 1 && l.column >= 1, "{d}");
                }
            }
            // Rendering must not panic either.
            let _ = e.to_string();
        }
    }
});
