//! Instance lifecycle configs known to hurt: a rolling restart that takes every instance
//! out at once, and a disruption budget that a rolling restart can never satisfy.

use super::{Anchor, Context, Lint, LintKind};
use crate::model::FaultKind;

impl Context<'_> {
    pub(super) fn lifecycle_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let s = self.s;
        for (i, f) in s.faults.iter().enumerate() {
            let FaultKind::RollingRestart { max_unavailable } = f.kind else { continue };
            let svc = &s.services[f.target.service()];
            let (n, floor) = (svc.instances, svc.min_available.unwrap_or(0));
            let path = vec![format!("fault #{}", i + 1), svc.name.clone()];
            let mut add = |kind, message: String, keys: Vec<String>| {
                out.push((Anchor::Scenario, Lint { kind, path: path.clone(), keys, message }));
            };
            if floor >= n {
                add(
                    LintKind::BudgetBlocksRestart,
                    format!(
                        "the rolling restart of `{}` (fault #{}) can never evict an instance: `min_available` ({floor}) is not below its {n} instances, so every eviction is refused and it never finishes",
                        svc.name,
                        i + 1
                    ),
                    vec![format!("services.{}.min_available", svc.name), format!("fault[{i}].kind")],
                );
            } else if max_unavailable >= n && floor == 0 {
                add(
                    LintKind::RollingRestartTakesAll,
                    format!(
                        "the rolling restart of `{}` (fault #{}) takes all {n} instances out at once (`max_unavailable` = {max_unavailable}, no `min_available`): nothing serves for its `startup`",
                        svc.name,
                        i + 1
                    ),
                    vec![format!("fault[{i}].max_unavailable"), format!("services.{}.min_available", svc.name)],
                );
            }
        }
    }
}
