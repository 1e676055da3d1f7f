//! Seeds worth replaying, and the commands that replay them.

use super::{CompareReplay, PairedLoad};

pub(super) fn replays_of(load: &PairedLoad, base_prefix: &str, proposed_prefix: &str) -> Vec<CompareReplay> {
    let worst = load
        .per_seed
        .iter()
        .filter_map(|s| s.p99_ms_diff.filter(|d| *d > 0.0).map(|d| (s.seed, d)))
        // The first seed wins ties, so the choice is deterministic.
        .fold(None, |best: Option<(u64, f64)>, (seed, d)| match best {
            Some((_, bd)) if bd >= d => best,
            _ => Some((seed, d)),
        })
        .map(|(seed, _)| seed);
    let mut out = Vec::new();
    for s in &load.per_seed {
        let mut why = Vec::new();
        if worst == Some(s.seed) {
            why.push("largest_p99_increase");
        }
        if s.proposed_slo_violated && !s.base_slo_violated {
            why.push("slo_violated_only_in_proposed");
        }
        if s.proposed_recovery_s.is_none() && s.base_recovery_s.is_some() {
            why.push("never_recovered_only_in_proposed");
        }
        if !why.is_empty() {
            out.push(CompareReplay {
                seed: s.seed,
                load: load.name.clone(),
                why,
                command: format!("{proposed_prefix} --seed {}", s.seed),
                base_command: format!("{base_prefix} --seed {}", s.seed),
            });
        }
    }
    out
}
