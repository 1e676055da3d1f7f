//! The balancers' choice among a callee's instances, as pure functions of a random
//! stream and the instances' state, so that their distributions can be tested without
//! running a simulation.

use rand::{Rng, RngExt};

/// `least_requests`: Envoy's least-request load balancer with equal weights and its
/// default `choice_count` of 2 ("power of two choices", M. Mitzenmacher, "The power of
/// two choices in randomized load balancing", 1996/2001).
///
/// Two instances are drawn independently and uniformly from `0..n`, **with
/// replacement**, as Envoy's `LeastRequestLoadBalancer::unweightedHostPick` does
/// (`random() % hosts.size()` per choice): both draws may land on the same instance,
/// which then is the choice whatever its load. The instance with fewer requests in it
/// (`in_system`: queued plus in service) wins; on a tie the first draw is kept, as
/// Envoy replaces its candidate only when the new sample has strictly fewer active
/// requests.
///
/// Drawing with replacement matters at small `n`: with two instances, the busier one is
/// still chosen when both draws land on it, with probability 1/4 (1/n^2 in general);
/// two distinct draws would always pick the less busy one, a join-the-shortest-queue
/// that is more optimistic than the proxies it models.
///
/// `n` must be at least 1. Always two draws, whatever `in_system` says, so the stream
/// advances the same way on every call.
pub fn least_requests<R: Rng + ?Sized>(rng: &mut R, n: u32, in_system: impl Fn(u32) -> u64) -> u32 {
    let first = rng.random_range(0..n);
    let second = rng.random_range(0..n);
    if in_system(second) < in_system(first) { second } else { first }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    /// Draws `least_requests` `draws` times over `loads` and counts each instance's picks.
    fn picks(loads: &[u64], draws: u64) -> Vec<u64> {
        let mut rng = stream(7, "test/balancer");
        let mut count = vec![0u64; loads.len()];
        for _ in 0..draws {
            count[least_requests(&mut rng, loads.len() as u32, |i| loads[i as usize]) as usize] += 1;
        }
        count
    }

    /// With replacement, the busier of two instances is chosen exactly when both draws
    /// land on it: probability 1/4 (distinct draws would give 0). Tolerance: 5 standard
    /// deviations of a binomial proportion over 100,000 draws (+-0.0069).
    #[test]
    fn the_busier_of_two_instances_gets_a_quarter() {
        let draws = 100_000;
        for loads in [[5, 0], [0, 5], [1, 0]] {
            let count = picks(&loads, draws);
            let busier = if loads[0] > loads[1] { 0 } else { 1 };
            let share = count[busier] as f64 / draws as f64;
            let tolerance = 5.0 * (0.25 * 0.75 / draws as f64).sqrt();
            assert!((share - 0.25).abs() < tolerance, "loads {loads:?}: busier share {share}");
        }
    }

    /// One busy instance among n is chosen with probability 1/n^2; the idle ones share
    /// the rest evenly, (1 - 1/n^2)/(n - 1) each. Tolerance: 5 binomial standard
    /// deviations per instance.
    #[test]
    fn one_busy_instance_among_four_gets_one_sixteenth() {
        let draws = 160_000;
        let count = picks(&[0, 0, 9, 0], draws);
        for (i, &c) in count.iter().enumerate() {
            let want = if i == 2 { 1.0 / 16.0 } else { (1.0 - 1.0 / 16.0) / 3.0 };
            let tolerance = 5.0 * (want * (1.0 - want) / draws as f64).sqrt();
            let share = c as f64 / draws as f64;
            assert!((share - want).abs() < tolerance, "instance {i}: share {share}, want {want}");
        }
    }

    /// On a tie the first draw is kept (Envoy replaces its candidate only on strictly
    /// fewer requests), and every call takes exactly two draws from the stream.
    #[test]
    fn ties_keep_the_first_draw() {
        let mut rng = stream(3, "test/balancer");
        let mut replay = stream(3, "test/balancer");
        for _ in 0..1000 {
            let chosen = least_requests(&mut rng, 5, |_| 2);
            let first = replay.random_range(0..5u32);
            let _second = replay.random_range(0..5u32);
            assert_eq!(chosen, first);
        }
        // One instance: both draws are 0.
        assert_eq!(least_requests(&mut rng, 1, |_| 0), 0);
    }
}
