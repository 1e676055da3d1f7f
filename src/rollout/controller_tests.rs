//! The controllers on hand-derived traces: the metrics are scripted, so each decision
//! time follows from Flagger's and Argo's rules alone (the module doc of `controller`).

use super::*;
use crate::model::rollout::{Background, Condition, FailureCondition, Percentile, RolloutExpect};

/// Scripted metrics: the canary's value at each time (in seconds) comes from `f`.
struct Script<F: FnMut(Metric, f64) -> Option<f64>>(F);

impl<F: FnMut(Metric, f64) -> Option<f64>> Measure for Script<F> {
    fn canary(&mut self, metric: Metric, _window: SimDuration, now: SimTime) -> Option<f64> {
        (self.0)(metric, now.as_secs_f64())
    }
    fn stable(&mut self, _: Metric, _: SimDuration, _: SimTime) -> Option<f64> {
        Some(1.0)
    }
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn strategy(start: u64, style: Style) -> Strategy {
    Strategy {
        source: "test".into(),
        service: "svc".into(),
        start: secs(start),
        style,
        expect: RolloutExpect::default(),
    }
}

fn flagger(step: u32, max: u32, threshold: u32) -> Style {
    let check = |metric, min, max| Check { name: "c".into(), metric, min, max, window: secs(60) };
    Style::Flagger(Flagger {
        interval: secs(60),
        weights: Flagger::step_weights(step, max),
        threshold,
        checks: vec![
            check(Metric::SuccessRate, Some(0.99), None),
            check(Metric::Latency(Percentile::P99), None, Some(500.0)),
        ],
    })
}

/// Runs the controller to its end (or `until` seconds), waking it when it asks.
fn drive(strategy: &Strategy, until: u64, m: &mut dyn Measure) -> Course {
    let mut c = Controller::new(strategy);
    let mut next = Some(c.first_wake());
    let end = SimTime::ZERO + secs(until);
    while let Some(t) = next.filter(|&t| t < end) {
        next = c.wake(t, m);
    }
    c.into_course(end)
}

fn weights(course: &Course) -> Vec<(f64, u32)> {
    course.weights.iter().map(|w| (w.at_s, w.weight)).collect()
}

/// Flagger, every check passing: interval 60 s, step 10, max 50, start 30 s. Tick 0
/// (30 s) sets 10; ticks 1-4 (90, 150, 210, 270 s) pass and step to 20..50; tick 5
/// (330 s) passes at the maximum and copies the spec to the primary; tick 6 (390 s)
/// routes all traffic to it: promoted at start + interval x (50/10 + 1) = 390 s.
#[test]
fn flagger_promotes_after_one_interval_per_step_plus_the_promotion_step() {
    let s = strategy(30, flagger(10, 50, 5));
    let course = drive(&s, 3600, &mut Script(|m, _| Some(if m == Metric::SuccessRate { 1.0 } else { 100.0 })));
    assert_eq!(course.outcome, Outcome::Promoted);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(390)));
    assert_eq!(
        weights(&course),
        [(0.0, 0), (30.0, 10), (90.0, 20), (150.0, 30), (210.0, 40), (270.0, 50), (330.0, 100)]
    );
    // Two checks per tick, ticks 1 to 5.
    assert_eq!(course.checks.len(), 10);
    assert!(course.checks.iter().all(|c| c.result == Verdict::Pass));
}

/// Flagger, the success rate failing every time, threshold 5: ticks 1-5 (90..330 s)
/// each add a failed check and keep the weight at 10; tick 6 (390 s) finds 5 >= 5 and
/// rolls back: start + interval x (threshold + 1).
#[test]
fn flagger_rolls_back_the_tick_after_the_threshold_is_reached() {
    let s = strategy(30, flagger(10, 50, 5));
    let course = drive(&s, 3600, &mut Script(|m, _| Some(if m == Metric::SuccessRate { 0.8 } else { 100.0 })));
    assert_eq!(course.outcome, Outcome::RolledBack);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(390)));
    assert_eq!(weights(&course), [(0.0, 0), (30.0, 10), (390.0, 0)]);
    let failed: Vec<f64> = course.checks.iter().filter(|c| c.result == Verdict::Fail).map(|c| c.at_s).collect();
    assert_eq!(failed, [90.0, 150.0, 210.0, 270.0, 330.0]);
}

/// Failed checks accumulate over the analysis (Flagger never resets them on a pass):
/// threshold 2, fail at 90 s, pass at 150 s (weight 20), fail at 210 s, roll back at
/// 270 s.
#[test]
fn flagger_failed_checks_are_not_reset_by_a_pass() {
    let s = strategy(30, flagger(10, 50, 2));
    let failing = |m: Metric, t: f64| m == Metric::SuccessRate && (t == 90.0 || t == 210.0);
    let course = drive(&s, 3600, &mut Script(|m, t| Some(if failing(m, t) { 0.5 } else { 1.0 })));
    assert_eq!(course.outcome, Outcome::RolledBack);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(270)));
    assert_eq!(weights(&course), [(0.0, 0), (30.0, 10), (150.0, 20), (270.0, 0)]);
}

/// No canary traffic in a window: the check is inconclusive, never a pass, and Flagger
/// counts it as a failed check ("Halt advancement no values found").
#[test]
fn flagger_no_traffic_is_inconclusive_and_counts_as_failed() {
    let s = strategy(0, flagger(10, 50, 1));
    let course = drive(&s, 3600, &mut Script(|_, _| None));
    assert!(course.checks.iter().all(|c| c.result == Verdict::Inconclusive && c.value.is_none()));
    assert_eq!(course.outcome, Outcome::RolledBack);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(120)));
}

/// Flagger issue #189: a maximum that is not a multiple of the step is overshot
/// (20, 40, 60 for step 20, max 50); a list is followed as written.
#[test]
fn flagger_weights_follow_next_step_weight() {
    assert_eq!(Flagger::step_weights(20, 50), [20, 40, 60]);
    assert_eq!(Flagger::step_weights(10, 50), [10, 20, 30, 40, 50]);
    assert_eq!(Flagger::step_weights(30, 100), [30, 60, 90, 100]);
    assert_eq!(Flagger::listed_weights(&[1, 5, 25, 80]), [1, 5, 25, 80]);
}

/// A run that ends first is unfinished, and says where it stood and what would decide it.
#[test]
fn flagger_unfinished_says_what_would_decide_it() {
    let s = strategy(30, flagger(10, 50, 5));
    let course = drive(&s, 200, &mut Script(|_, _| Some(1.0)));
    assert_eq!(course.outcome, Outcome::Unfinished);
    assert_eq!(course.decided, None);
    assert!(course.reason.contains("weight 30%") && course.reason.contains("longer run"), "{}", course.reason);
}

fn argo_metric(interval: Option<u64>, count: Option<u32>, failure_limit: u32) -> AnalysisMetric {
    AnalysisMetric {
        name: "success".into(),
        metric: Metric::SuccessRate,
        interval: interval.map(secs),
        count,
        initial_delay: SimDuration::ZERO,
        failure_limit,
        inconclusive_limit: 0,
        success: Some(Condition { min: Some(0.99), max: None }),
        failure: None,
        window: secs(30),
    }
}

fn argo(steps: Vec<ArgoStep>, metric: AnalysisMetric, background: Option<usize>) -> Style {
    Style::Argo(Argo {
        steps,
        analyses: vec![Analysis { name: "a".into(), metrics: vec![metric] }],
        background: background.map(|starting_step| Background { analysis: 0, starting_step }),
    })
}

/// Argo, everything passing: start 10 s; set 20; pause 60 s (to 70 s); an analysis of
/// two measurements 30 s apart (70 s, 100 s) succeeds at 100 s; set 50; pause 30 s;
/// every step done at 130 s: promoted.
#[test]
fn argo_promotes_when_every_step_is_done() {
    let steps = vec![
        ArgoStep::SetWeight(20),
        ArgoStep::Pause(Some(secs(60))),
        ArgoStep::Analysis(0),
        ArgoStep::SetWeight(50),
        ArgoStep::Pause(Some(secs(30))),
    ];
    let s = strategy(10, argo(steps, argo_metric(Some(30), Some(2), 0), None));
    let course = drive(&s, 3600, &mut Script(|_, _| Some(1.0)));
    assert_eq!(course.outcome, Outcome::Promoted);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(130)));
    assert_eq!(weights(&course), [(0.0, 0), (10.0, 20), (100.0, 50), (130.0, 100)]);
    let at: Vec<f64> = course.checks.iter().map(|c| c.at_s).collect();
    assert_eq!(at, [70.0, 100.0]);
}

/// The reference's example 11: with `failure_limit` 0 one failed measurement aborts;
/// with 3, the 4th does (measurements at 0, 30, 60, 90 s after the analysis starts).
#[test]
fn argo_failure_limit_counts_failures_beyond_the_limit() {
    let steps = vec![ArgoStep::SetWeight(20), ArgoStep::Analysis(0), ArgoStep::SetWeight(100)];
    for (limit, abort_at) in [(0, 5), (3, 95)] {
        let s = strategy(5, argo(steps.clone(), argo_metric(Some(30), Some(10), limit), None));
        let course = drive(&s, 3600, &mut Script(|_, _| Some(0.5)));
        assert_eq!(course.outcome, Outcome::RolledBack, "limit {limit}");
        assert_eq!(course.decided, Some(SimTime::ZERO + secs(abort_at)), "limit {limit}");
        assert_eq!(course.checks.len() as u32, limit + 1);
    }
}

/// Both conditions, a value between them: inconclusive, which pauses the rollout for a
/// person; the run ends unfinished, saying so.
#[test]
fn argo_inconclusive_pauses_for_a_person() {
    let mut metric = argo_metric(None, None, 0);
    metric.failure = Some(FailureCondition { below: Some(0.9), above: None });
    let steps = vec![ArgoStep::SetWeight(20), ArgoStep::Analysis(0), ArgoStep::SetWeight(100)];
    let s = strategy(0, argo(steps, metric, None));
    let course = drive(&s, 3600, &mut Script(|_, _| Some(0.95)));
    assert_eq!(course.outcome, Outcome::Unfinished);
    assert_eq!(course.checks.len(), 1);
    assert_eq!(course.checks[0].result, Verdict::Inconclusive);
    assert!(course.reason.contains("inconclusive") && course.reason.contains("person"), "{}", course.reason);
    assert_eq!(weights(&course), [(0.0, 20)]);
}

/// A background analysis (every 30 s, no count) from step 0 aborts the rollout during a
/// long pause when its second measurement fails (at start + 30 s).
#[test]
fn argo_background_failure_aborts_during_a_pause() {
    let steps = vec![ArgoStep::SetWeight(20), ArgoStep::Pause(Some(secs(600))), ArgoStep::SetWeight(100)];
    let s = strategy(100, argo(steps, argo_metric(Some(30), None, 0), Some(0)));
    let course = drive(&s, 3600, &mut Script(|_, t| Some(if t >= 130.0 { 0.5 } else { 1.0 })));
    assert_eq!(course.outcome, Outcome::RolledBack);
    assert_eq!(course.decided, Some(SimTime::ZERO + secs(130)));
    assert!(course.reason.contains("background"), "{}", course.reason);
}

/// A pause without a duration waits for a person: unfinished, whatever the metrics.
#[test]
fn argo_indefinite_pause_is_unfinished() {
    let steps = vec![ArgoStep::SetWeight(20), ArgoStep::Pause(None), ArgoStep::SetWeight(100)];
    let s = strategy(0, argo(steps, argo_metric(None, None, 0), None));
    let course = drive(&s, 3600, &mut Script(|_, _| Some(1.0)));
    assert_eq!(course.outcome, Outcome::Unfinished);
    assert!(course.reason.contains("pause without a duration"), "{}", course.reason);
}

/// Argo's `EvaluateResult`: the failure condition wins when both hold; without a failure
/// condition, missing the success condition fails; without a success condition, not
/// failing succeeds.
#[test]
fn argo_measurement_verdicts() {
    let mut m = argo_metric(None, None, 0);
    assert_eq!(argo_verdict(&m, 0.995), Verdict::Pass);
    assert_eq!(argo_verdict(&m, 0.98), Verdict::Fail);
    m.failure = Some(FailureCondition { below: None, above: Some(0.5) });
    assert_eq!(argo_verdict(&m, 0.995), Verdict::Fail, "both hold: failed");
    assert_eq!(argo_verdict(&m, 0.3), Verdict::Inconclusive);
    m.success = None;
    assert_eq!(argo_verdict(&m, 0.3), Verdict::Pass);
}
