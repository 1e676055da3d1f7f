//! Conformance of the HPA with kube-controller-manager's algorithm, on traces derived by
//! hand from `replica_calculator.go` and `horizontal.go` (module docs).

use super::*;

fn utilization(target: f64) -> Autoscaling {
    Autoscaling {
        min_replicas: 1,
        max_replicas: 10,
        target: ScaleTarget::Utilization(target),
        sync_period: SimDuration::from_secs(15),
        tolerance: 0.1,
        scale_up: ScalingRules::default_up(),
        scale_down: ScalingRules::default_down(),
        startup: SimDuration::from_secs(30),
    }
}

fn at(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

const HALF: ScaleTarget = ScaleTarget::Utilization(0.5);

/// Without unready or missing pods: `ceil(ratio x ready)`, or no change within tolerance.
#[test]
fn ready_pods_scale_by_the_usage_ratio() {
    // Mean 0.9 over a 0.5 target: ratio 1.8, ceil(1.8 x 2) = 4.
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(0.9), Pod::Ready(0.9)]), 4);
    // Ratio 1.05 and 0.96: within the tolerance, no change.
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(0.5), Pod::Ready(0.55)]), 2);
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(0.5), Pod::Ready(0.46)]), 2);
    // Ratio 0.4: ceil(0.4 x 2) = 1.
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(0.2), Pod::Ready(0.2)]), 1);
    // A per-replica rate: 30/s and 50/s over a 20/s target, ratio 2: 4.
    assert_eq!(replicas_for_metric(ScaleTarget::Rate(20.0), 0.1, 2, &[Pod::Ready(30.0), Pod::Ready(50.0)]), 4);
    // No ready pod with a sample: no change.
    assert_eq!(replicas_for_metric(HALF, 0.1, 3, &[Pod::Unready, Pod::Missing]), 3);
}

/// On a scale-up, unready pods count at 0: one saturated ready pod and one starting
/// give (1.0 + 0) / (0.5 x 2) = 1, within tolerance: no change while it starts.
#[test]
fn unready_pods_hold_a_scale_up() {
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(1.0), Pod::Unready]), 2);
    // Ready pods at 1.0 x 2 and one starting: (2.0) / (0.5 x 3) = 1.33, ceil(1.33 x 3) = 4.
    assert_eq!(replicas_for_metric(HALF, 0.1, 3, &[Pod::Ready(1.0), Pod::Ready(1.0), Pod::Unready]), 4);
    // On a scale-down, unready pods are left out: ratio 0.4 over the ready one, 1.
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(0.2), Pod::Unready]), 1);
}

/// Missing pods count at 0 on a scale-up, and at max(100%, target) on a scale-down; a
/// new ratio within tolerance or across 1 the other way changes nothing.
#[test]
fn missing_pods_damp_both_directions() {
    // Scale-up: (1.0 + 0) / (0.5 x 2) = 1.0: no change.
    assert_eq!(replicas_for_metric(HALF, 0.1, 2, &[Pod::Ready(1.0), Pod::Missing]), 2);
    // Scale-down: ratio 0.4; with the missing pod at 100%, (0.2 + 0.2 + 1.0) / (0.5 x 3)
    // = 0.933, within tolerance: no change (it would be 1 without the missing pod).
    assert_eq!(replicas_for_metric(HALF, 0.1, 3, &[Pod::Ready(0.2), Pod::Ready(0.2), Pod::Missing]), 3);
    // Ratio 0.9 (outside a 0.05 tolerance) becomes (0.45 + 1.0) / 1.0 = 1.45: across 1,
    // no change.
    assert_eq!(replicas_for_metric(HALF, 0.05, 2, &[Pod::Ready(0.45), Pod::Missing]), 2);
    // A rate target: a missing pod counts at the target on a scale-down: (5 + 20) /
    // (20 x 2) = 0.625, ceil(0.625 x 2) = 2, the current count.
    assert_eq!(replicas_for_metric(ScaleTarget::Rate(20.0), 0.1, 2, &[Pod::Ready(5.0), Pod::Missing]), 2);
    // Three pods, one missing: (2 + 2 + 20) / 60 = 0.4, ceil(0.4 x 3) = 2.
    let pods = [Pod::Ready(2.0), Pod::Ready(2.0), Pod::Missing];
    assert_eq!(replicas_for_metric(ScaleTarget::Rate(20.0), 0.1, 3, &pods), 2);
}

/// The default scale-up policies (4 pods or 100% per 15 s, the larger): from 1 replica
/// at most 5 in one step, and the period's start undoes the step just made.
#[test]
fn scale_up_is_limited_per_period() {
    let mut cfg = utilization(0.1);
    cfg.max_replicas = 100;
    let mut hpa = Hpa::default();
    // t = 15: one pod at 1.0, ratio 10: wants 10; the limit is max(1 + 4, 2 x 1) = 5.
    assert_eq!(hpa.sync(&cfg, at(15), 1, &[Pod::Ready(1.0)]), 5);
    // t = 20: the +4 of t = 15 is within 15 s: the period started at 1 replica, limit 5.
    let five = [Pod::Ready(1.0); 5];
    assert_eq!(hpa.sync(&cfg, at(20), 5, &five), 5);
    // t = 30: 15 s later the event has left the period (strictly after the cutoff):
    // start 5, limit max(9, 10) = 10; the metric wants ceil(10 x 5) = 50.
    assert_eq!(hpa.sync(&cfg, at(30), 5, &five), 10);
    // `select_policy = "min"` takes the least permissive: min(10 + 4, 20) = 14.
    cfg.scale_up.select_policy = Select::Min;
    let ten = [Pod::Ready(1.0); 10];
    assert_eq!(hpa.sync(&cfg, at(45), 10, &ten), 14);
    // `disabled`: no scale-up at all.
    cfg.scale_up.select_policy = Select::Disabled;
    assert_eq!(hpa.sync(&cfg, at(60), 14, &[Pod::Ready(1.0); 14]), 14);
}

/// The default scale-down window (300 s) keeps the largest recommendation of the last
/// 300 s: scaled up to 4 at t = 15 on a burst, the HPA keeps 4 while the load is low
/// until that recommendation is 300 s old (t = 315), then goes to 1 at once (100% per
/// 15 s allows it, and min_replicas is 1).
#[test]
fn scale_down_waits_out_the_stabilization_window() {
    let cfg = utilization(0.5);
    let mut hpa = Hpa::default();
    // 1 pod at 2.0 (a ratio of 4): wants 4; the limit is max(1 + 4, 2) = 5.
    assert_eq!(hpa.sync(&cfg, at(15), 1, &[Pod::Ready(2.0)]), 4);
    let low = [Pod::Ready(0.125); 4];
    for t in (30..315).step_by(15) {
        assert_eq!(hpa.sync(&cfg, at(t), 4, &low), 4, "t = {t}");
    }
    assert_eq!(hpa.sync(&cfg, at(315), 4, &low), 1);
}

/// A controller starting with a scale-down window takes the current count as its first
/// recommendation: no scale-down in its first window.
#[test]
fn a_new_controller_does_not_scale_down_at_once() {
    let cfg = utilization(0.5);
    let mut hpa = Hpa::default();
    let low = [Pod::Ready(0.1); 3];
    assert_eq!(hpa.sync(&cfg, at(15), 3, &low), 3);
    assert_eq!(hpa.sync(&cfg, at(300), 3, &low), 3);
    // 315 - 15 = 300: the first recommendation has left the window.
    assert_eq!(hpa.sync(&cfg, at(315), 3, &low), 1);
    // Without a window, the first sync scales down.
    let mut quick = cfg.clone();
    quick.scale_down.stabilization_window = SimDuration::ZERO;
    assert_eq!(Hpa::default().sync(&quick, at(15), 3, &low), 1);
}

/// Scale-down policies: 1 pod per 60 s takes one replica a minute; `percent` rounds
/// down; bounds are enforced before the metric.
#[test]
fn scale_down_policies_and_bounds() {
    let mut cfg = utilization(0.5);
    cfg.scale_down = ScalingRules {
        stabilization_window: SimDuration::ZERO,
        select_policy: Select::Max,
        policies: vec![ScalingPolicy { kind: PolicyKind::Pods, value: 1, period: SimDuration::from_secs(60) }],
    };
    let mut hpa = Hpa::default();
    let low = |n: usize| vec![Pod::Ready(0.05); n];
    assert_eq!(hpa.sync(&cfg, at(15), 6, &low(6)), 5);
    assert_eq!(hpa.sync(&cfg, at(30), 5, &low(5)), 5, "the period started at 6: 6 - 1");
    assert_eq!(hpa.sync(&cfg, at(75), 5, &low(5)), 4, "60 s after the first step");
    // 50% per 15 s from 5: floor(2.5) = 2, the lowest allowed (select max: most change).
    cfg.scale_down.policies =
        vec![ScalingPolicy { kind: PolicyKind::Percent, value: 50, period: SimDuration::from_secs(15) }];
    assert_eq!(Hpa::default().sync(&cfg, at(15), 5, &low(5)), 2);
    // Above max_replicas or below min_replicas: brought inside first, whatever the metric.
    cfg.min_replicas = 3;
    assert_eq!(Hpa::default().sync(&cfg, at(15), 12, &low(12)), 10);
    assert_eq!(Hpa::default().sync(&cfg, at(15), 1, &low(1)), 3);
    // The metric wants 1; min_replicas holds 3.
    assert_eq!(Hpa::default().sync(&cfg, at(15), 4, &low(4)), 3);
}
