//! Conversions from validated `f64` configuration values to the integer fixed-point
//! units the state machines decide with, so every threshold comparison is exact.

/// Parts per million in one whole (a rate of 1.0).
pub const PPM_ONE: u64 = 1_000_000;

/// Milli-units in one whole (one token).
pub const MILLI_ONE: u64 = 1_000;

/// A fraction in (0, 1] as parts per million, rounded to the nearest ppm.
///
/// Rounding (rather than truncating) makes decimal inputs such as 0.29, whose `f64` is
/// slightly below 0.29, land on the value the user wrote. Out-of-range input is clamped
/// instead of panicking: NaN and anything <= 0 become 1 ppm (the smallest rate that
/// still needs at least one counted event to be reached), anything >= 1 becomes 1.0.
pub fn fraction_to_ppm(rate: f64) -> u64 {
    if rate.is_nan() || rate <= 0.0 {
        1
    } else if rate >= 1.0 {
        PPM_ONE
    } else {
        // In range, so the product is in (0, 1e6) and the cast cannot saturate.
        ((rate * PPM_ONE as f64).round() as u64).max(1)
    }
}

/// A non-negative ratio (not capped at 1) as parts per million, rounded to nearest.
/// NaN and negative values give 0; huge values saturate.
pub fn ratio_to_ppm(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        0
    } else {
        // `as` saturates at u64::MAX for values beyond its range.
        (ratio * PPM_ONE as f64).round() as u64
    }
}

/// A non-negative amount as thousandths, rounded to nearest (gRPC implementations keep
/// three decimals of `maxTokens` and `tokenRatio`). NaN and negative values give 0.
pub fn to_milli(value: f64) -> u64 {
    if value.is_nan() || value <= 0.0 { 0 } else { (value * MILLI_ONE as f64).round() as u64 }
}

/// `numerator / denominator >= ppm / 1e6`, computed exactly in integers.
///
/// An empty denominator never reaches a threshold.
pub fn rate_reached(numerator: u64, denominator: u64, ppm: u64) -> bool {
    denominator > 0 && u128::from(numerator) * u128::from(PPM_ONE) >= u128::from(ppm) * u128::from(denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rates_round_to_what_the_user_wrote() {
        assert_eq!(fraction_to_ppm(0.5), 500_000);
        assert_eq!(fraction_to_ppm(0.29), 290_000);
        assert_eq!(fraction_to_ppm(1.0), PPM_ONE);
        assert_eq!(fraction_to_ppm(0.0), 1);
        assert_eq!(fraction_to_ppm(f64::NAN), 1);
        assert_eq!(fraction_to_ppm(7.0), PPM_ONE);
        assert_eq!(ratio_to_ppm(0.2), 200_000);
        assert_eq!(ratio_to_ppm(-1.0), 0);
        assert_eq!(to_milli(0.1), 100);
        assert_eq!(to_milli(10.0), 10_000);
    }

    #[test]
    fn rate_comparison_is_exact_at_the_boundary() {
        assert!(rate_reached(1, 2, 500_000));
        assert!(!rate_reached(49, 100, 500_000));
        assert!(rate_reached(29, 100, fraction_to_ppm(0.29)));
        assert!(!rate_reached(0, 0, 1));
    }
}
