//! A float that survives a partial result's JSON bit for bit.
//!
//! A finite value is written as a JSON number, the shortest text that reads back as
//! the same `f64` (serde_json's writer; its `float_roundtrip` feature makes the reader
//! exact too). JSON has no NaN or infinity, and serde_json would write them as `null`,
//! so a value that is not finite is written as a string of its bits,
//! `"f64:7ff8000000000000"`: NaN's sign and payload come back too, and they matter
//! where values are sorted with `total_cmp`.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An `f64` written exactly (see the module's doc).
#[derive(Clone, Copy, Debug)]
pub struct Exact(pub f64);

const PREFIX: &str = "f64:";

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&format!("{PREFIX}{:016x}", self.0.to_bits()))
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExactVisitor)
    }
}

struct ExactVisitor;

impl Visitor<'_> for ExactVisitor {
    type Value = Exact;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, or \"f64:\" and 16 hex digits")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Exact, E> {
        Ok(Exact(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Exact, E> {
        Ok(Exact(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Exact, E> {
        Ok(Exact(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Exact, E> {
        v.strip_prefix(PREFIX)
            .filter(|hex| hex.len() == 16)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .map(|bits| Exact(f64::from_bits(bits)))
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::Exact;

    fn round_trip(v: f64) -> f64 {
        let text = serde_json::to_string(&Exact(v)).unwrap();
        serde_json::from_str::<Exact>(&text).unwrap().0
    }

    #[test]
    fn every_kind_of_value_comes_back_with_its_bits() {
        let values = [
            0.0,
            -0.0,
            0.1 + 0.2,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            123456789.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for v in values {
            assert_eq!(round_trip(v).to_bits(), v.to_bits(), "{v}");
        }
        assert_eq!(serde_json::to_string(&Exact(f64::NAN)).unwrap(), "\"f64:7ff8000000000000\"");
        assert_eq!(serde_json::to_string(&Exact(0.25)).unwrap(), "0.25");
    }

    #[test]
    fn random_bit_patterns_come_back() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            assert_eq!(round_trip(v).to_bits(), x);
        }
    }
}
