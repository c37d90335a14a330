//! Amounts in a token's units (`1.5` ETH) and in its base units (1500000000000000000 wei), the
//! way a user types and reads them; the decimals come from the contracts' registered tokens
//! ([`crate::Client::tokens`]).

use crate::SdkError;

/// `text` in units of a token with `decimals` decimals, as base units: digits, optionally a
/// point and at most `decimals` more digits. Anything else — a sign, a grouping separator, an
/// exponent, more decimals than the token has, a value beyond 128 bits — is refused, never
/// rounded.
pub fn parse_units(text: &str, decimals: u8) -> Result<u128, SdkError> {
    let bad = |why: String| SdkError::Invalid(format!("amount {text:?}: {why}"));
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (text.contains('.') && !digits(frac)) {
        return Err(bad("not a decimal number (e.g. 1.25)".into()));
    }
    if frac.len() > usize::from(decimals) {
        return Err(bad(if decimals == 0 {
            "the token has no decimals".into()
        } else {
            format!("the token has {decimals} decimals")
        }));
    }
    let scale = 10u128
        .checked_pow(u32::from(decimals))
        .ok_or_else(|| bad(format!("{decimals} decimals is beyond 128 bits")))?;
    let too_big = || bad("too large".into());
    let whole: u128 = int.parse().map_err(|_| too_big())?;
    let part: u128 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = usize::from(decimals));
        padded.parse().map_err(|_| too_big())?
    };
    whole
        .checked_mul(scale)
        .and_then(|v| v.checked_add(part))
        .ok_or_else(too_big)
}

/// Base units `value` of a token with `decimals` decimals in its units, exactly (no trailing
/// zeros after the point, no point for a whole amount).
pub fn format_units(value: u128, decimals: u8) -> String {
    let d = usize::from(decimals);
    let s = format!("{value:0>width$}", width = d + 1);
    let (int, frac) = s.split_at(s.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_both_ways() {
        assert_eq!(parse_units("1.5", 18).unwrap(), 1_500_000_000_000_000_000);
        assert_eq!(parse_units("0.000001", 6).unwrap(), 1);
        assert_eq!(parse_units("42", 0).unwrap(), 42);
        assert_eq!(parse_units("007.10", 2).unwrap(), 710);
        assert_eq!(format_units(1_500_000_000_000_000_000, 18), "1.5");
        assert_eq!(format_units(1, 6), "0.000001");
        assert_eq!(format_units(5_000_000, 6), "5");
        assert_eq!(format_units(0, 18), "0");
        assert_eq!(format_units(u128::MAX, 0), u128::MAX.to_string());
    }

    #[test]
    fn bad_amounts_are_refused_with_the_reason() {
        for (text, decimals, why) in [
            ("1.0000001", 6, "the token has 6 decimals"),
            ("1.5", 0, "the token has no decimals"),
            ("", 18, "not a decimal number"),
            (".5", 18, "not a decimal number"),
            ("1.", 18, "not a decimal number"),
            ("-1", 18, "not a decimal number"),
            ("1e18", 18, "not a decimal number"),
            ("1,000", 6, "not a decimal number"),
            (" 1", 6, "not a decimal number"),
            ("1.2.3", 6, "not a decimal number"),
            ("340282366920938463463374607431768211456", 0, "too large"),
            ("340282366920938463464", 18, "too large"),
        ] {
            let e = parse_units(text, decimals).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_identity(v in any::<u128>(), d in 0u8..=24) {
            prop_assert_eq!(parse_units(&format_units(v, d), d).unwrap(), v);
        }
    }
}
