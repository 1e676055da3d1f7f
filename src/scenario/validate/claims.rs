//! What a scenario claims about its results: `[gates]` (judged by `compare`) and
//! `[[expect]]` (checked by `check --expect`).

use super::{Validator, what};
use crate::model::Gates;
use crate::model::expect::{ExpectCheck, ExpectRun, Expectation};
use crate::scenario::raw::RawScenario;
use toml::Spanned;

impl Validator {
    /// `[[expect]]`: a claim, a path, one check, and one of `seed`/`seeds`.
    pub(super) fn expectations(&mut self, raw: &RawScenario, default_seed: u64) -> Vec<Expectation> {
        let mut out = Vec::new();
        for (i, e) in raw.expect.iter().enumerate() {
            let ctx = format!("[[expect]] #{}", i + 1);
            let r = e.get_ref();
            let claim = r.claim.as_ref().map(|c| c.get_ref().clone());
            let claim = self.required(claim, r.claim.is_none().then(|| e.span()), "claim", &ctx);
            let path = r.path.as_ref().map(|p| p.get_ref().clone());
            let path = self.required(path, r.path.is_none().then(|| e.span()), "path", &ctx);
            if let Some(p) = &r.path
                && (p.get_ref().is_empty() || p.get_ref().split('.').any(str::is_empty))
            {
                self.error(p.span(), format!("{}: a dotted path such as `loads.users.recovery_s`", what("path", &ctx)));
            }
            let run = match (&r.seed, &r.seeds) {
                (Some(_), Some(s)) => {
                    self.error(s.span(), format!("{ctx}: `seed` (one run) or `seeds` (a sweep), not both"));
                    None
                }
                (_, Some(s)) => {
                    self.count(s, &what("seeds", &ctx), 1, 1000, None).map(|n| ExpectRun::Sweep { seeds: n })
                }
                (Some(s), None) => self.count(s, &what("seed", &ctx), 0, u64::MAX, None).map(ExpectRun::Seed),
                (None, None) => Some(ExpectRun::Seed(default_seed)),
            };
            let checks = [r.equals.is_some(), r.min.is_some() || r.max.is_some(), r.null.is_some()];
            let check = match checks.iter().filter(|&&c| c).count() {
                1 => {
                    if let Some(v) = &r.equals {
                        serde_json::to_value(v.get_ref()).ok().map(ExpectCheck::Equals)
                    } else if let Some(n) = &r.null {
                        if !*n.get_ref() {
                            self.error(n.span(), format!("{}: only `null = true` is a check", what("null", &ctx)));
                        }
                        Some(ExpectCheck::Null)
                    } else {
                        let bound = |v: &Option<Spanned<f64>>| v.as_ref().map(|x| *x.get_ref());
                        Some(ExpectCheck::Range { min: bound(&r.min), max: bound(&r.max) })
                    }
                }
                _ => {
                    self.error_help(
                        e.span(),
                        format!("{ctx}: needs exactly one check"),
                        "write `equals = VALUE`, or `min`/`max` (a number range), or `null = true`",
                    );
                    None
                }
            };
            let sets = r.set.iter().map(|s| s.get_ref().clone()).collect();
            if let (Some(claim), Some(path), Some(run), Some(check)) = (claim, path, run, check) {
                out.push(Expectation { claim, run, sets, path, check });
            }
        }
        out
    }

    pub(super) fn gates(&mut self, raw: &RawScenario) -> Gates {
        let Some(g) = &raw.gates else { return Gates::default() };
        let g = g.get_ref();
        let ctx = "[gates]";
        // Risks are probabilities; increases are differences of probabilities, which a
        // gate may set below zero to demand an improvement.
        Gates {
            max_slo_risk: g.max_slo_risk.as_ref().and_then(|v| self.probability(v, &what("max_slo_risk", ctx))),
            max_slo_risk_increase: g
                .max_slo_risk_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_slo_risk_increase", ctx), -1.0, false, 1.0)),
            max_p99_increase: g
                .max_p99_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_p99_increase", ctx), -1.0, false, f64::INFINITY)),
            max_metastable_risk: g
                .max_metastable_risk
                .as_ref()
                .and_then(|v| self.probability(v, &what("max_metastable_risk", ctx))),
            max_metastable_risk_increase: g
                .max_metastable_risk_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_metastable_risk_increase", ctx), -1.0, false, 1.0)),
        }
    }
}
