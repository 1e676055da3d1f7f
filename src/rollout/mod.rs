//! `stormcast rollout`: replays the delivery of a change, not only the change. The
//! proposed version of one service runs as a canary beside its stable version; a
//! Flagger- or Argo-style controller (`controller`) shifts traffic to it step by step
//! while its analysis watches the canary, and promotes or rolls back.
//!
//! - [`combine`] builds the scenario a rollout runs: the base, plus the proposed
//!   version of the rolled-out service as a service of its own (`NAME-canary`);
//! - the simulator (`sim::rollout`) splits each request to the service between the two
//!   by the controller's weight and measures both;
//! - [`summary`] is one seed's account (`summary.json`'s `rollout`), [`many`] the
//!   account over seeds (`rollout.json`).

pub mod controller;
pub mod lint;
pub mod many;
pub mod summary;

use crate::model::rollout::{RolloutPlan, Strategy};
use crate::model::{Policy, PolicyOrigin, Scenario, Service};

/// Why a rollout cannot be replayed as asked.
#[derive(Debug, thiserror::Error)]
#[error("error: {0}")]
pub struct CombineError(pub String);

/// The scenario a rollout runs: `base` with the proposed version of the rolled-out
/// service appended as the canary (`NAME-canary`, with the proposed endpoints, calls,
/// client policies and instances), and the plan that ties them.
///
/// The proposed scenario may differ from the base only in that service (and the
/// policies its calls use): a rollout releases one service, and anything else changed
/// would not be in the canary. That is refused, naming what differs; `compare` judges
/// such a change.
pub fn combine(base: &Scenario, proposed: &Scenario, strategy: &Strategy) -> Result<Scenario, CombineError> {
    let name = &strategy.service;
    let names = |sc: &Scenario| sc.services.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", ");
    let stable = base.service_by_name(name).ok_or_else(|| {
        CombineError(format!(
            "the strategy `{}` rolls out service `{name}`, which `{}` does not have (services: {})",
            strategy.source,
            base.source,
            names(base)
        ))
    })?;
    let proposed_id = proposed.service_by_name(name).ok_or_else(|| {
        CombineError(format!("the proposed scenario has no service `{name}` (services: {})", names(proposed)))
    })?;
    let differs = differences(base, proposed, name);
    if !differs.is_empty() {
        return Err(CombineError(format!(
            "the proposed scenario changes more than service `{name}`: {}. A rollout releases one service; \
             judge other changes with `stormcast compare`",
            differs.join("; ")
        )));
    }
    let mut sc = base.clone();
    let mut canary: Service = proposed.services[proposed_id].clone();
    canary.name = canary_name(base, name);
    // The canary's policies come from the proposed scenario: appended, ids remapped.
    let remap = |p: Option<usize>, sc: &mut Scenario| {
        p.map(|p| {
            sc.policies.push(proposed.policies[p].clone());
            sc.policies.len() - 1
        })
    };
    canary.client = remap(canary.client, &mut sc);
    for ep in &mut canary.endpoints {
        for step in &mut ep.steps {
            for call in step.calls_mut() {
                call.policy = remap(call.policy, &mut sc);
            }
        }
    }
    let stable_svc = &base.services[stable];
    let endpoints: Vec<Option<usize>> =
        stable_svc.endpoints.iter().map(|e| canary.endpoints.iter().position(|c| c.name == e.name)).collect();
    for (e, twin) in endpoints.iter().enumerate() {
        let called = base.loads.iter().any(|l| l.target.service == stable && l.target.endpoint == e)
            || base
                .services
                .iter()
                .flat_map(|s| &s.endpoints)
                .flat_map(|ep| ep.steps.iter())
                .any(|st| st.calls().iter().any(|c| c.to.service == stable && c.to.endpoint == e));
        if twin.is_none() && called {
            return Err(CombineError(format!(
                "the proposed version of `{name}` has no endpoint `{}`, which its callers call",
                stable_svc.endpoints[e].name
            )));
        }
    }
    let canary_id = sc.services.len();
    sc.services.push(canary);
    sc.rollout = Some(Box::new(RolloutPlan { strategy: strategy.clone(), stable, canary: canary_id, endpoints }));
    sc.overlays = proposed.overlays.clone();
    Ok(sc)
}

/// `NAME-canary`, or with a number if the scenario already has a service of that name.
fn canary_name(sc: &Scenario, name: &str) -> String {
    let mut candidate = format!("{name}-canary");
    let mut n = 2;
    while sc.service_by_name(&candidate).is_some() {
        candidate = format!("{name}-canary-{n}");
        n += 1;
    }
    candidate
}

/// What the proposed scenario changes outside service `name`, in words.
fn differences(base: &Scenario, proposed: &Scenario, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if base.simulation != proposed.simulation {
        out.push("[simulation]".to_string());
    }
    let base_names: Vec<&str> = base.services.iter().map(|s| s.name.as_str()).collect();
    let proposed_names: Vec<&str> = proposed.services.iter().map(|s| s.name.as_str()).collect();
    if base_names != proposed_names {
        out.push(format!("the services ({} against {})", base_names.join(", "), proposed_names.join(", ")));
        return out;
    }
    for (a, b) in base.services.iter().zip(&proposed.services) {
        if a.name != name && !same_service(base, a, proposed, b) {
            out.push(format!("service `{}`", a.name));
        }
    }
    let loads_same = base.loads.len() == proposed.loads.len()
        && base.loads.iter().zip(&proposed.loads).all(|(a, b)| {
            let (mut a2, mut b2) = (a.clone(), b.clone());
            (a2.policy, b2.policy) = (None, None);
            a2 == b2 && resolved(base, a.policy) == resolved(proposed, b.policy)
        });
    if !loads_same {
        out.push("the loads".to_string());
    }
    if base.faults != proposed.faults {
        out.push("the faults".to_string());
    }
    out
}

/// Two services alike, with their policies compared by content (not by id or name).
fn same_service(a_sc: &Scenario, a: &Service, b_sc: &Scenario, b: &Service) -> bool {
    let strip = |s: &Service, sc: &Scenario| {
        let mut s = s.clone();
        let mut policies = vec![resolved(sc, s.client)];
        s.client = None;
        for ep in &mut s.endpoints {
            for step in &mut ep.steps {
                for call in step.calls_mut() {
                    policies.push(resolved(sc, call.policy));
                    call.policy = None;
                }
            }
        }
        (s, policies)
    };
    strip(a, a_sc) == strip(b, b_sc)
}

/// A policy's content, without its name and where it was written.
fn resolved(sc: &Scenario, p: Option<usize>) -> Option<Policy> {
    p.map(|p| Policy { name: String::new(), origin: PolicyOrigin::Named, ..sc.policies[p].clone() })
}
