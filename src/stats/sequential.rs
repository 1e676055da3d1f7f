//! A group-sequential plan: seeds run in batches, and after each batch (a *look*) every
//! gate is judged at a confidence level chosen so that the chance of a wrong decision
//! over all the looks together stays at most what one fixed-seed 95% judgement allows.
//!
//! The method: an alpha-spending function (K. K. G. Lan and D. L. DeMets, "Discrete
//! sequential boundaries for clinical trials", Biometrika 70 (1983) 659-663), with the
//! Pocock-type spending function of that paper, alpha(t) = alpha ln(1 + (e - 1) t), over
//! the information time t = seeds run / `max_seeds`. Each look k spends the increment
//! alpha(t_k) - alpha(t_{k-1}) on each side of every gate, and judges with a two-sided
//! interval at twice that miss rate. By the union bound over the looks (Bonferroni), the
//! chance that a gate is ever wrongly passed (its truth above its limit, some look's
//! interval below it) is at most the sum of the increments, alpha(1) = alpha, and
//! likewise for a wrong fail; this holds whatever the intervals' correlation between
//! looks and whenever the run stops, at the price of being conservative (the looks'
//! intervals overlap, so the true error rate is below alpha). The Pocock-type function
//! spends evenly enough that a large effect is decided at the first looks, where an
//! O'Brien-Fleming-type one would spend almost nothing.
//!
//! `alpha` per side is 0.025, the one-sided miss rate of the 95% intervals a
//! fixed-seed `compare` judges with.

use super::confidence::Confidence;

/// The miss rate per side of a gate over the whole plan: a fixed-seed 95% interval's.
pub const ALPHA_PER_SIDE: f64 = 0.025;

/// The default most seeds a sequential `compare` runs.
pub const DEFAULT_MAX_SEEDS: u64 = 200;
/// The default seeds per look.
pub const DEFAULT_BATCH: u64 = 20;

/// How a sequential run looks: batches of `batch` seeds up to `max_seeds` (the last
/// batch shorter if `batch` does not divide it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub max_seeds: u64,
    pub batch: u64,
}

impl Plan {
    /// Both at least 1 (the CLI refuses less), `batch` at most `max_seeds`.
    pub fn new(max_seeds: u64, batch: u64) -> Plan {
        assert!(max_seeds >= 1 && (1..=max_seeds).contains(&batch), "plan: {batch} seeds per look of {max_seeds}");
        Plan { max_seeds, batch }
    }

    /// The planned number of looks, ceil(max_seeds / batch).
    pub fn looks(self) -> u64 {
        self.max_seeds.div_ceil(self.batch)
    }

    /// The seeds run by look `k` (1-based).
    pub fn seeds_at(self, k: u64) -> u64 {
        (k * self.batch).min(self.max_seeds)
    }

    /// The share of the error rate per side spent by the time `seeds` seeds have run.
    pub fn spent(self, seeds: u64) -> f64 {
        let t = seeds as f64 / self.max_seeds as f64;
        ALPHA_PER_SIDE * (1.0 + (std::f64::consts::E - 1.0) * t).ln()
    }

    /// The level of look `k`'s intervals: two-sided, missing with twice the increment
    /// spent at that look.
    pub fn confidence_at(self, k: u64) -> Confidence {
        let increment = self.spent(self.seeds_at(k)) - self.spent(self.seeds_at(k - 1));
        Confidence::two_sided(2.0 * increment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The increments add up to the plan's error rate, every look gets a share, and the
    /// shares fall as the plan goes on (Pocock-type: front-loaded, but not much).
    #[test]
    fn the_plan_spends_alpha_over_its_looks() {
        let plan = Plan::new(200, 10);
        assert_eq!((plan.looks(), plan.seeds_at(20), plan.seeds_at(21)), (20, 200, 200));
        let alphas: Vec<f64> = (1..=plan.looks()).map(|k| plan.confidence_at(k).alpha()).collect();
        let total: f64 = alphas.iter().sum::<f64>() / 2.0;
        assert!((total - ALPHA_PER_SIDE).abs() < 1e-15, "{total}");
        assert!(alphas.windows(2).all(|w| w[1] < w[0]), "{alphas:?}");
        // The first look: 0.025 ln(1 + (e - 1)/20) = 0.0020606 per side.
        assert!((alphas[0] / 2.0 - 0.0020606).abs() < 1e-7, "{}", alphas[0]);
        // A plan whose batch does not divide it: the last look is at the budget.
        let odd = Plan::new(25, 10);
        assert_eq!((odd.looks(), odd.seeds_at(3)), (3, 25));
        assert!((odd.spent(25) - ALPHA_PER_SIDE).abs() < 1e-15);
    }
}
