//! A service's `adaptive_concurrency` table (Envoy's gradient controller), with Envoy's
//! defaults (`AdaptiveConcurrency`'s constants) and its ranges.

use super::{Validator, what};
use crate::model::resilience::concurrency::AdaptiveConcurrency as Ac;
use crate::scenario::raw::RawAdaptiveConcurrency;
use toml::Spanned;

impl Validator {
    /// `interval` and `min_rtt_interval` required and positive (Envoy has no default for
    /// either); `sample_percentile` in (0, 100]; `buffer` and `jitter` fractions in [0, 1]
    /// (Envoy's percentages, written as `sr_threshold` is); `min_concurrency`,
    /// `max_concurrency` and `request_count` at least 1, the minimum at most the maximum.
    pub(super) fn adaptive_concurrency(&mut self, a: &Spanned<RawAdaptiveConcurrency>, ctx: &str) -> Option<Ac> {
        let raw = a.get_ref();
        let mut required = |v, key: &str| match v {
            Some(v) => self.positive_duration(v, &what(key, ctx)),
            None => {
                self.error_help(
                    a.span(),
                    format!("missing `{key}` in {ctx}"),
                    "Envoy requires both `interval` (the limit's update period) and `min_rtt_interval`",
                );
                None
            }
        };
        let interval = required(raw.interval.as_ref(), "interval");
        let min_rtt_interval = required(raw.min_rtt_interval.as_ref(), "min_rtt_interval");
        let sample_percentile = match &raw.sample_percentile {
            Some(v) => self.number(v, &what("sample_percentile", ctx), 0.0, true, 100.0),
            None => Some(Ac::SAMPLE_PERCENTILE),
        };
        let mut fraction = |v: &Option<Spanned<f64>>, key: &str, default: f64| match v {
            Some(v) => self.probability(v, &what(key, ctx)),
            None => Some(default),
        };
        let buffer = fraction(&raw.buffer, "buffer", Ac::BUFFER);
        let jitter = fraction(&raw.jitter, "jitter", Ac::JITTER);
        let min_concurrency =
            self.count_u32(&raw.min_concurrency, &what("min_concurrency", ctx), u64::from(Ac::MIN_CONCURRENCY));
        let max_concurrency =
            self.count_u32(&raw.max_concurrency, &what("max_concurrency", ctx), u64::from(Ac::MAX_CONCURRENCY));
        let request_count =
            self.count_u32(&raw.request_count, &what("request_count", ctx), u64::from(Ac::REQUEST_COUNT));
        if min_concurrency > max_concurrency {
            let span = raw.max_concurrency.as_ref().or(raw.min_concurrency.as_ref()).map_or(a.span(), |v| v.span());
            self.error(
                span,
                format!(
                    "`min_concurrency` ({min_concurrency}) is above `max_concurrency` ({max_concurrency}) in {ctx}"
                ),
            );
            return None;
        }
        Some(Ac {
            interval: interval?,
            sample_percentile: sample_percentile?,
            buffer: buffer?,
            min_concurrency,
            max_concurrency,
            min_rtt_interval: min_rtt_interval?,
            request_count,
            jitter: jitter?,
        })
    }
}
