//! The seeds worth replaying, most informative first: what the terminal table and
//! `report.html` list (sweep.json keeps every one, in seed order).

use super::SweepResult;

/// One seed to replay: its command and each load's reasons (`load: why, why`).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedToReplay {
    pub seed: u64,
    pub command: String,
    pub reasons: Vec<String>,
}

/// Every seed of `r.replay`, ordered so that a short list says the most: first, for each
/// distinct set of reasons (in order of first appearance), its worst seed; then the
/// others, worst first. A seed is worse when one of its loads ended with a lower success
/// rate, then a higher p99; ties keep seed order.
pub fn informative_seeds(r: &SweepResult) -> Vec<SeedToReplay> {
    let mut seeds: Vec<SeedToReplay> = Vec::new();
    for replay in &r.replay {
        let why = format!("{}: {}", replay.load, replay.why.join(", "));
        match seeds.last_mut() {
            Some(s) if s.seed == replay.seed => s.reasons.push(why),
            _ => seeds.push(SeedToReplay { seed: replay.seed, command: replay.command.clone(), reasons: vec![why] }),
        }
    }
    // (lowest success rate, highest p99) of the seed's loads: smaller sorts first.
    let severity = |seed: u64| {
        let run = r.runs.iter().find(|run| run.seed == seed);
        let loads = run.map(|run| run.loads.as_slice()).unwrap_or_default();
        let success = loads.iter().map(|l| l.success_rate).fold(1.0_f64, f64::min);
        let p99 = loads.iter().filter_map(|l| l.p99_ms).fold(0.0_f64, f64::max);
        (success, -p99)
    };
    let mut by_severity: Vec<(usize, (f64, f64))> =
        seeds.iter().enumerate().map(|(i, s)| (i, severity(s.seed))).collect();
    by_severity.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then(a.0.cmp(&b.0)));
    let mut first_of_kind: Vec<usize> = Vec::new();
    let mut kinds: Vec<&Vec<String>> = Vec::new();
    for s in &seeds {
        if !kinds.contains(&&s.reasons) {
            kinds.push(&s.reasons);
        }
    }
    for kind in kinds {
        if let Some(&(i, _)) = by_severity.iter().find(|(i, _)| seeds[*i].reasons == *kind) {
            first_of_kind.push(i);
        }
    }
    let rest = by_severity.iter().map(|&(i, _)| i).filter(|i| !first_of_kind.contains(i));
    let order: Vec<usize> = first_of_kind.iter().copied().chain(rest).collect();
    order.into_iter().map(|i| seeds[i].clone()).collect()
}
