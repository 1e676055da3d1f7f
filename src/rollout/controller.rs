//! The rollout controllers: Flagger's and Argo Rollouts' decision rules as state
//! machines over simulated time. They know nothing of the simulator: at each wake-up
//! they ask a [`Measure`] for the canary's metrics over a window, decide, and say when
//! to wake them next. So their timing can be checked on hand-derived traces.
//!
//! Flagger (`pkg/controller/scheduler.go`, `advanceCanary`), one tick every `interval`
//! from `start`:
//! - tick 0: "starting canary analysis": no checks; the weight goes to its first step;
//! - each later tick: if the failed checks (counted over the whole analysis) have
//!   reached `threshold`, roll back (weight 0). Else run the checks: one failed (or
//!   inconclusive: no canary traffic in its window, which Flagger also counts as a
//!   failure, "Halt advancement no values found") adds a failed check and the weight
//!   stays; all passing advance the weight one step, or, at the maximum, promote: the
//!   canary spec is copied to the primary (from here every request meets the new
//!   version);
//! - the next tick routes all traffic to the primary: the rollout is promoted then.
//!
//! So with all checks passing, promotion comes `interval x (steps + 1)` after `start`
//! (steps = max_weight / step_weight when it divides); with all failing, rollback comes
//! `interval x (threshold + 1)` after `start`.
//!
//! Argo Rollouts (`rollout/canary.go`, `analysis/analysis.go`): steps in order;
//! `set_weight` is immediate, `pause` waits (for ever without a duration), `analysis`
//! starts a run and waits for it. A run's metrics each measure at its start plus
//! `initial_delay`, then every `interval`, `count` times. A measurement is failed when
//! the failure condition holds (or, without one, when the success condition does not);
//! successful when the success condition holds (or, without one, when the failure
//! condition does not); inconclusive when there are both and neither holds, or when the
//! window had no canary traffic. A metric fails when failed measurements exceed
//! `failure_limit`, is inconclusive when inconclusive ones exceed `inconclusive_limit`,
//! and succeeds after `count` measurements. A failed metric aborts the rollout (weight
//! 0); an inconclusive one pauses it for a person, which a simulation never has, so it
//! ends unfinished. The background analysis runs from its starting step to the end.

use crate::engine::{SimDuration, SimTime};
use crate::model::rollout::{Analysis, AnalysisMetric, Argo, ArgoStep, Check, Flagger, Metric, Strategy, Style};

/// Where the controller gets its numbers: a metric over the canary's (or the stable
/// version's) traffic in the window `(now - window, now]`; `None` when there was none.
pub trait Measure {
    fn canary(&mut self, metric: Metric, window: SimDuration, now: SimTime) -> Option<f64>;
    fn stable(&mut self, metric: Metric, window: SimDuration, now: SimTime) -> Option<f64>;
}

/// How a rollout ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    RolledBack,
    Unfinished,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::RolledBack => "rolled_back",
            Outcome::Unfinished => "unfinished",
        }
    }
}

/// A check's or measurement's result.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// No canary traffic in its window, or (Argo) neither condition held.
    Inconclusive,
}

/// One check (Flagger) or measurement (Argo), as it was taken.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CheckRecord {
    pub at_s: f64,
    /// The canary's weight (percent) while the window was measured, at the check.
    pub weight: u32,
    /// The Argo analysis it belongs to (`None` for Flagger).
    pub analysis: Option<String>,
    pub check: String,
    pub metric: &'static str,
    /// The canary's value (ratio, ms or requests/s); `None` without canary traffic.
    pub value: Option<f64>,
    /// The stable version's value over the same window, for comparison.
    pub stable: Option<f64>,
    pub result: Verdict,
}

/// The weight from a time on.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct WeightChange {
    pub at_s: f64,
    pub weight: u32,
}

/// A rollout's course: its decisions so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Course {
    pub outcome: Outcome,
    pub decided: Option<SimTime>,
    pub checks: Vec<CheckRecord>,
    pub weights: Vec<WeightChange>,
    /// Why it ended as it did (or is stuck), in words.
    pub reason: String,
}

/// What a check measures: its name (and its analysis, for Argo), metric and window.
struct Probe<'a> {
    analysis: Option<&'a str>,
    name: &'a str,
    metric: Metric,
    window: SimDuration,
}

/// A controller for one strategy.
pub struct Controller<'s> {
    strategy: &'s Strategy,
    weight: u32,
    course: Course,
    state: State,
}

enum State {
    Flagger(FlaggerState),
    Argo(ArgoState),
    Done,
}

struct FlaggerState {
    tick: u64,
    /// Index of the current weight in `Flagger::weights` (meaningful from tick 1).
    step: usize,
    failed: u32,
    promoting: bool,
}

struct ArgoState {
    step: usize,
    pause_until: Option<SimTime>,
    /// Paused for a person (an indefinite pause, or an inconclusive analysis).
    paused: bool,
    inline: Option<Run>,
    background: Option<Run>,
}

/// An analysis run.
struct Run {
    analysis: usize,
    metrics: Vec<MetricRun>,
}

struct MetricRun {
    next: Option<SimTime>,
    taken: u32,
    failed: u32,
    inconclusive: u32,
    phase: Phase,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    // Best to worst, as Argo orders completed phases.
    Successful,
    Running,
    Inconclusive,
    Failed,
}

impl<'s> Controller<'s> {
    pub fn new(strategy: &'s Strategy) -> Controller<'s> {
        let state = match &strategy.style {
            Style::Flagger(_) => State::Flagger(FlaggerState { tick: 0, step: 0, failed: 0, promoting: false }),
            Style::Argo(_) => {
                State::Argo(ArgoState { step: 0, pause_until: None, paused: false, inline: None, background: None })
            }
        };
        let course = Course {
            outcome: Outcome::Unfinished,
            decided: None,
            checks: Vec::new(),
            weights: vec![WeightChange { at_s: 0.0, weight: 0 }],
            reason: "the rollout had not started when the run ended".to_string(),
        };
        Controller { strategy, weight: 0, course, state }
    }

    /// When the controller first wakes: the rollout's start.
    pub fn first_wake(&self) -> SimTime {
        SimTime::ZERO + self.strategy.start
    }

    /// The canary's share of the rolled-out service's traffic now, percent.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    pub fn course(&self) -> &Course {
        &self.course
    }

    /// What the course says at the end of a run at `end`: an unfinished rollout says
    /// where it stood and what would decide it.
    pub fn into_course(mut self, end: SimTime) -> Course {
        if self.course.outcome == Outcome::Unfinished && !matches!(self.state, State::Done) {
            self.course.reason = self.unfinished_reason(end);
        }
        self.course
    }

    /// Acts at `now` on everything due; returns when to wake next (`None`: never).
    pub fn wake(&mut self, now: SimTime, m: &mut dyn Measure) -> Option<SimTime> {
        let strategy = self.strategy;
        match &strategy.style {
            Style::Flagger(f) => self.flagger_tick(f, now, m),
            Style::Argo(a) => self.argo_wake(a, now, m),
        }
    }

    fn set_weight(&mut self, weight: u32, now: SimTime) {
        if weight == self.weight {
            return;
        }
        self.weight = weight;
        let at_s = now.as_secs_f64();
        match self.course.weights.last_mut() {
            // Two changes at one instant: only the last one ever carried traffic.
            Some(last) if last.at_s == at_s => last.weight = weight,
            _ => self.course.weights.push(WeightChange { at_s, weight }),
        }
    }

    fn decide(&mut self, outcome: Outcome, now: SimTime, reason: String) {
        self.set_weight(if outcome == Outcome::Promoted { 100 } else { 0 }, now);
        self.course.outcome = outcome;
        self.course.decided = Some(now);
        self.course.reason = reason;
        self.state = State::Done;
    }

    /// Measures `probe` on the canary (and the stable version, for comparison), judges
    /// the value with `verdict` (no traffic: inconclusive) and records the check.
    fn check(
        &mut self,
        now: SimTime,
        m: &mut dyn Measure,
        probe: Probe<'_>,
        verdict: impl Fn(f64) -> Verdict,
    ) -> Verdict {
        let Probe { analysis, name, metric, window } = probe;
        let value = m.canary(metric, window, now);
        let stable = m.stable(metric, window, now);
        let result = value.map_or(Verdict::Inconclusive, verdict);
        self.course.checks.push(CheckRecord {
            at_s: now.as_secs_f64(),
            weight: self.weight,
            analysis: analysis.map(str::to_string),
            check: name.to_string(),
            metric: metric.name(),
            value,
            stable,
            result,
        });
        result
    }

    // ---- Flagger -------------------------------------------------------------------

    fn flagger_tick(&mut self, f: &Flagger, now: SimTime, m: &mut dyn Measure) -> Option<SimTime> {
        let State::Flagger(s) = &mut self.state else { return None };
        let next = Some(now + f.interval);
        if s.promoting {
            self.decide(
                Outcome::Promoted,
                now,
                "every check passed at the maximum weight: all traffic routed to the new version".to_string(),
            );
            return None;
        }
        if s.tick == 0 {
            s.tick = 1;
            self.set_weight(f.weights[0], now);
            self.course.reason = "the analysis was under way".to_string();
            return next;
        }
        s.tick += 1;
        if s.failed >= f.threshold {
            let failed = s.failed;
            self.decide(
                Outcome::RolledBack,
                now,
                format!("{failed} failed checks reached the threshold ({})", f.threshold),
            );
            return None;
        }
        let mut all_pass = true;
        for c in &f.checks {
            let Check { name, metric, window, .. } = c;
            let probe = Probe { analysis: None, name, metric: *metric, window: *window };
            let verdict = self.check(now, m, probe, |v| flagger_verdict(c, v));
            all_pass &= verdict == Verdict::Pass;
        }
        let State::Flagger(s) = &mut self.state else { return None };
        if !all_pass {
            s.failed += 1;
            return next;
        }
        if s.step + 1 < f.weights.len() {
            s.step += 1;
            let w = f.weights[s.step];
            self.set_weight(w, now);
        } else {
            // Promoting: the primary now runs the canary's spec.
            s.promoting = true;
            self.set_weight(100, now);
        }
        next
    }

    // ---- Argo ----------------------------------------------------------------------

    fn argo_wake(&mut self, a: &Argo, now: SimTime, m: &mut dyn Measure) -> Option<SimTime> {
        loop {
            let State::Argo(s) = &mut self.state else { return None };
            // The background analysis starts with its starting step.
            if let Some(bg) = &a.background
                && s.background.is_none()
                && s.step >= bg.starting_step
            {
                s.background = Some(Run::start(bg.analysis, &a.analyses[bg.analysis], now));
            }
            self.measure_runs(a, now, m);
            let State::Argo(s) = &mut self.state else { return None };
            if let Some(bg) = &s.background {
                match bg.phase() {
                    Phase::Failed => {
                        let name = &a.analyses[bg.analysis].name;
                        let reason = format!("background analysis `{name}` failed");
                        self.decide(Outcome::RolledBack, now, reason);
                        return None;
                    }
                    Phase::Inconclusive if !s.paused => {
                        s.paused = true;
                        let name = &a.analyses[bg.analysis].name;
                        self.course.reason = format!(
                            "paused: background analysis `{name}` was inconclusive; Argo waits for a person to resume or abort"
                        );
                    }
                    _ => {}
                }
            }
            if s.paused {
                return self.argo_next(now);
            }
            let Some(step) = a.steps.get(s.step) else {
                self.decide(
                    Outcome::Promoted,
                    now,
                    "every step completed: the new version is the stable one".to_string(),
                );
                return None;
            };
            match step {
                ArgoStep::SetWeight(w) => {
                    s.step += 1;
                    let w = *w;
                    self.set_weight(w, now);
                    self.course.reason = "the rollout was under way".to_string();
                }
                ArgoStep::Pause(None) => {
                    s.paused = true;
                    self.course.reason = format!(
                        "paused at step {} (a pause without a duration): Argo waits for a person to promote it",
                        s.step + 1
                    );
                }
                ArgoStep::Pause(Some(d)) => {
                    let until = *s.pause_until.get_or_insert(now + *d);
                    if now < until {
                        return self.argo_next(now);
                    }
                    s.pause_until = None;
                    s.step += 1;
                }
                ArgoStep::Analysis(i) => {
                    let run = s.inline.get_or_insert_with(|| Run::start(*i, &a.analyses[*i], now));
                    if run.metrics.iter().any(|r| r.next == Some(now)) {
                        continue; // Started now: take its first measurements.
                    }
                    let name = &a.analyses[*i].name;
                    match run.phase() {
                        Phase::Successful => {
                            s.inline = None;
                            s.step += 1;
                        }
                        Phase::Failed => {
                            let reason = format!("analysis `{name}` (step {}) failed", s.step + 1);
                            self.decide(Outcome::RolledBack, now, reason);
                            return None;
                        }
                        Phase::Inconclusive => {
                            s.paused = true;
                            self.course.reason = format!(
                                "paused: analysis `{name}` (step {}) was inconclusive; Argo waits for a person to resume or abort",
                                s.step + 1
                            );
                        }
                        Phase::Running => return self.argo_next(now),
                    }
                }
            }
        }
    }

    /// Takes every measurement due at `now`, in the inline run then the background one.
    fn measure_runs(&mut self, a: &Argo, now: SimTime, m: &mut dyn Measure) {
        for background in [false, true] {
            let State::Argo(s) = &mut self.state else { return };
            let Some(run) = (if background { s.background.as_ref() } else { s.inline.as_ref() }) else { continue };
            let analysis: &Analysis = &a.analyses[run.analysis];
            let due: Vec<usize> = (0..run.metrics.len()).filter(|&i| run.metrics[i].next == Some(now)).collect();
            for i in due {
                let spec = &analysis.metrics[i];
                let probe = Probe {
                    analysis: Some(&analysis.name),
                    name: &spec.name,
                    metric: spec.metric,
                    window: spec.window,
                };
                let verdict = self.check(now, m, probe, |v| argo_verdict(spec, v));
                let State::Argo(s) = &mut self.state else { return };
                let run = if background { s.background.as_mut() } else { s.inline.as_mut() }.expect("run in progress");
                run.metrics[i].record(spec, verdict, now);
            }
        }
    }

    /// The next time something is due: a pause's end or a measurement.
    fn argo_next(&self, _now: SimTime) -> Option<SimTime> {
        let State::Argo(s) = &self.state else { return None };
        let measurements =
            s.inline.iter().chain(s.background.iter()).flat_map(|r| r.metrics.iter().filter_map(|m| m.next));
        measurements.chain(s.pause_until.filter(|_| !s.paused)).min()
    }

    fn unfinished_reason(&self, end: SimTime) -> String {
        let end_s = end.as_secs_f64();
        match (&self.state, &self.strategy.style) {
            (State::Flagger(s), Style::Flagger(f)) if s.tick > 0 => {
                let steps_left = (f.weights.len() - 1 - s.step.min(f.weights.len() - 1)) as u64;
                // Ticks still needed with every check passing: the steps left, the
                // promoting tick, and the tick that routes all traffic.
                let ticks = if s.promoting { 1 } else { steps_left + 2 };
                let earliest = end_s + (f.interval.as_secs_f64() * ticks as f64);
                format!(
                    "the run ended at {end_s} s at weight {}% with {} failed check(s) of {}: a longer run would decide it (promotion at the earliest about {earliest} s)",
                    self.weight, s.failed, f.threshold
                )
            }
            (State::Argo(_), _) if self.course.reason.starts_with("paused") => self.course.reason.clone(),
            (State::Argo(s), Style::Argo(a)) => format!(
                "the run ended at {end_s} s at step {} of {} (weight {}%): a longer run would decide it",
                (s.step + 1).min(a.steps.len()),
                a.steps.len(),
                self.weight
            ),
            _ => format!(
                "the run ended at {end_s} s before the rollout started ({} s): start it earlier or run longer",
                self.strategy.start.as_secs_f64()
            ),
        }
    }
}

fn flagger_verdict(c: &Check, v: f64) -> Verdict {
    let ok = c.min.is_none_or(|m| v >= m) && c.max.is_none_or(|m| v <= m);
    if ok { Verdict::Pass } else { Verdict::Fail }
}

/// Argo's `EvaluateResult`: the failure condition wins; without one, failing the
/// success condition fails; without a success condition, not failing succeeds.
fn argo_verdict(spec: &AnalysisMetric, v: f64) -> Verdict {
    let success = spec.success.map(|c| c.holds(v));
    let failure = spec.failure.map(|c| c.holds(v));
    let (success, failure) = match (success, failure) {
        (Some(s), None) => (s, !s),
        (None, Some(f)) => (!f, f),
        (Some(s), Some(f)) => (s, f),
        (None, None) => (true, false),
    };
    if failure {
        Verdict::Fail
    } else if success {
        Verdict::Pass
    } else {
        Verdict::Inconclusive
    }
}

impl Run {
    fn start(index: usize, analysis: &Analysis, now: SimTime) -> Run {
        let metrics = analysis
            .metrics
            .iter()
            .map(|m| MetricRun {
                next: Some(now + m.initial_delay),
                taken: 0,
                failed: 0,
                inconclusive: 0,
                phase: Phase::Running,
            })
            .collect();
        Run { analysis: index, metrics }
    }

    /// The run's phase: the worst of its completed metrics once any has failed or been
    /// inconclusive (the run then terminates), or once all have completed.
    fn phase(&self) -> Phase {
        let worst = self.metrics.iter().map(|m| m.phase).max().unwrap_or(Phase::Successful);
        if worst >= Phase::Inconclusive {
            worst
        } else if self.metrics.iter().all(|m| m.phase == Phase::Successful) {
            Phase::Successful
        } else {
            Phase::Running
        }
    }
}

impl MetricRun {
    /// Counts a measurement and sets the metric's phase and next measurement.
    fn record(&mut self, spec: &AnalysisMetric, verdict: Verdict, now: SimTime) {
        self.taken += 1;
        match verdict {
            Verdict::Fail => self.failed += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            Verdict::Pass => {}
        }
        if self.failed > spec.failure_limit {
            self.phase = Phase::Failed;
        }
        if self.inconclusive > spec.inconclusive_limit {
            self.phase = Phase::Inconclusive;
        }
        let complete = spec.effective_count().is_some_and(|n| self.taken >= n);
        if self.phase == Phase::Running && complete {
            self.phase = Phase::Successful;
        }
        self.next = match (self.phase, spec.interval) {
            (Phase::Running, Some(interval)) => Some(now + interval),
            _ => None,
        };
    }
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
