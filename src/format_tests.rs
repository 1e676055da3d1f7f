//! The formatters at their edges: zero, negatives, rounding boundaries, NaN and
//! infinities where a caller can pass them.

use super::*;

#[test]
fn compact_ticks() {
    assert_eq!(compact(0.0), "0");
    assert_eq!(compact(2.5), "2.5");
    assert_eq!(compact(120.0), "120");
    assert_eq!(compact(12_500.0), "12.5k");
    assert_eq!(compact(0.05), "0.05");
    assert_eq!(compact(-0.05), "-0.05");
    assert_eq!(compact(9_999.0), "9999");
    assert_eq!(compact(10_000.0), "10k");
    assert_eq!(compact(3_000_000.0), "3M");
    assert_eq!(compact(-12_500.0), "-12.5k");
    // 99.96 has one decimal (>= 10) and rounds up to 100.0, trimmed.
    assert_eq!(compact(99.96), "100");
    assert_eq!(compact(0.0004), "0");
}

#[test]
fn significant_report_values() {
    assert_eq!(significant(0.0), "0");
    assert_eq!(significant(1234.4), "1234");
    assert_eq!(significant(12.34), "12.3");
    assert_eq!(significant(1.5), "1.5");
    assert_eq!(significant(0.25), "0.25");
    assert_eq!(significant(0.001), "0.001");
    assert_eq!(significant(0.0005), "5.0e-4");
    assert_eq!(significant(-0.0005), "-5.0e-4");
    assert_eq!(significant(-12.34), "-12.3");
    assert_eq!(significant(f64::NAN), "NaN");
    assert_eq!(signed_significant(0.0), "0");
    assert_eq!(signed_significant(-0.0), "0");
    assert_eq!(signed_significant(1.5), "+1.5");
    assert_eq!(signed_significant(-1.5), "-1.5");
}

#[test]
fn signed_one_decimal_values() {
    assert_eq!(signed_one_decimal(0.0), "0");
    assert_eq!(signed_one_decimal(1.25), "+1.2");
    assert_eq!(signed_one_decimal(-0.04), "-0.0");
    assert_eq!(signed_one_decimal(12.0), "+12.0");
}

#[test]
fn table_values() {
    assert_eq!(decimals_by_size(0.0), "0.00");
    assert_eq!(decimals_by_size(1.234), "1.23");
    assert_eq!(decimals_by_size(9.999), "10.00");
    assert_eq!(decimals_by_size(10.0), "10.0");
    assert_eq!(decimals_by_size(100.0), "100");
    assert_eq!(decimals_by_size(-5.0), "-5.00");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    assert_eq!(whole(11_999.5), "12000");
    assert_eq!(whole(-0.4), "-0");
    assert_eq!(two_decimals(6.1), "6.1");
    assert_eq!(two_decimals(3600.0), "3600");
    assert_eq!(two_decimals(0.004), "0");
    assert_eq!(two_decimals(f64::INFINITY), "inf");
}

#[test]
fn percentages() {
    assert_eq!(percent(0.0), "0.0%");
    assert_eq!(percent(0.125), "12.5%");
    assert_eq!(percent(-0.5), "-50.0%");
    assert_eq!(percent_whole(0.0), "0%");
    assert_eq!(percent_whole(0.955), "96%");
    assert_eq!(percent_whole(1.05), "105%");
    assert_eq!(percent_two_decimals(0.99251), "99.25%");
    assert_eq!(percent_two_decimals(0.0), "0.00%");
    assert_eq!(percent_short(0.0), "0%");
    assert_eq!(percent_short(1.0), "100%");
    assert_eq!(percent_short(0.125), "12.5%");
    assert_eq!(percent_short(0.12), "12%");
    assert_eq!(percent_short(0.99999), "100%");
    assert_eq!(signed_percent(0.0), "+0.0%");
    assert_eq!(signed_percent(-0.125), "-12.5%");
    assert_eq!(signed_percent_or_zero(0.0), "0%");
    assert_eq!(signed_percent_or_zero(0.125), "+12.5%");
    assert_eq!(signed_pp(0.0), "0 pp");
    assert_eq!(signed_pp(0.015), "+1.5 pp");
    assert_eq!(signed_pp(-0.015), "-1.5 pp");
    assert_eq!(percent_interval(0.125, 0.081, 0.18), " 12.5% [8.1, 18.0]");
    assert_eq!(percent_interval(1.0, 0.9, 1.0), "100.0% [90.0, 100.0]");
}

#[test]
fn byte_counts() {
    assert_eq!(bytes(0.0), "0 kB");
    assert_eq!(bytes(512e3), "512 kB");
    assert_eq!(bytes(1e6), "1.0 MB");
    assert_eq!(bytes(4.2e9), "4.2 GB");
    assert_eq!(bytes(3e12), "3.0 TB");
}

/// A wait that is long but representable is given in years, not in billions of seconds.
#[test]
fn a_wait_of_years_is_given_in_years() {
    assert_eq!(duration_ns(YEAR_NS * 31.5), "31.5 years");
    assert_eq!(duration_ns(SATURATED_NS), "over 584 years");
    assert_eq!(duration_ns(3.6e12), "3600s");
    assert_eq!(
        (up_to_duration_ns(6.1e9), about_duration_ns(6.1e9)),
        ("up to 6.1s".to_string(), "about 6.1s".to_string())
    );
}

#[test]
fn durations_in_every_unit() {
    assert_eq!(duration_ns(0.0), "0ns");
    assert_eq!(duration_ns(999.0), "999ns");
    assert_eq!(duration_ns(1_500.0), "1.5us");
    assert_eq!(duration_ns(2.5e6), "2.5ms");
    assert_eq!(duration_ns(f64::INFINITY), "unbounded");
    assert_eq!(duration_ns(f64::NAN), "unbounded");
    assert_eq!(up_to_duration_ns(SATURATED_NS), "without bound (over 584 years)");
    assert_eq!(about_duration_ns(SATURATED_NS), "over 584 years");
}

/// Replay commands quote a scenario path only when it needs it.
#[test]
fn replay_commands_quote_the_path() {
    assert_eq!(shell_word("scenarios/x.toml"), "scenarios/x.toml");
    assert_eq!(shell_word("my scenarios/x.toml"), "'my scenarios/x.toml'");
    assert_eq!(shell_word("it's.toml"), r"'it'\''s.toml'");
}

#[test]
fn shell_words() {
    assert_eq!(shell_word("scenarios/shop.toml"), "scenarios/shop.toml");
    assert_eq!(shell_word("services.api.instances=4"), "services.api.instances=4");
    assert_eq!(shell_word("a,b:c@d+e"), "a,b:c@d+e");
    assert_eq!(shell_word(""), "''");
    assert_eq!(shell_word("my file.toml"), "'my file.toml'");
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word("$HOME"), "'$HOME'");
}

#[test]
fn counts_are_singular_for_one() {
    assert_eq!(count_of(1, "load"), "1 load");
    assert_eq!(count_of(0, "fault"), "0 faults");
    assert_eq!(count_of(2, "policy"), "2 policies");
    assert_eq!(count_of(1, "policy"), "1 policy");
}
