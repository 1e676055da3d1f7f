//! Autoscaling that cannot be in time: a load spike shorter than the time an HPA needs
//! to have a new replica taking traffic (`sync_period` to see it, then `startup`).

use super::{Anchor, Context, Lint, LintKind};
use crate::format::compact;
use crate::model::graph::{reachable, services_of};

impl Context<'_> {
    /// For each autoscaled service a spiking load reaches: each spike over before the
    /// autoscaler's help can arrive.
    pub(super) fn autoscaling_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let s = self.s;
        let end_s = s.simulation.duration.as_secs_f64();
        for (l, load) in s.loads.iter().enumerate() {
            let spikes = load.spikes(end_s);
            if spikes.is_empty() {
                continue;
            }
            let reached = services_of(&reachable(s, [load.target]));
            for (svc, cfg) in s
                .services
                .iter()
                .zip(&reached)
                .filter_map(|(svc, &r)| Some((svc, svc.autoscaling.as_ref().filter(|_| r)?)))
            {
                let (sync, startup) = (cfg.sync_period.as_secs_f64(), cfg.startup.as_secs_f64());
                for &(start, end, _) in spikes.iter().filter(|(start, end, _)| end - start < sync + startup) {
                    let message = format!(
                        "load `{}` spikes for {} s (from {} s to {} s), but a replica `{}`'s autoscaler adds for it takes traffic {} s (`startup`) after the first sync that sees the spike, up to {} s (`sync_period` + `startup`) after it starts: the spike is over before any help arrives; absorb it with headroom (`instances`, `min_replicas`) or a shorter start-up",
                        load.name,
                        compact(end - start),
                        compact(start),
                        compact(end),
                        svc.name,
                        compact(startup),
                        compact(sync + startup),
                    );
                    let keys = vec![format!("services.{}.autoscaling.startup", svc.name), format!("load[{l}].profile")];
                    out.push((
                        Anchor::Load(l),
                        Lint {
                            kind: LintKind::AutoscalingTooSlow,
                            path: vec![format!("load:{}", load.name), svc.name.clone()],
                            keys,
                            message,
                        },
                    ));
                }
            }
        }
    }
}
