//! Exact money: credits are integer hundredths, dollars are integer cents. JSON numbers
//! are accepted only when they say exactly that (at most two decimals), so no binary
//! float ever reaches the database.

use super::ParseError;

/// The largest amount of credits or cents we accept anywhere (10^12 hundredths).
pub const MAX_HUNDREDTHS: i64 = 1_000_000_000_000;

/// A decimal with at most two fraction digits, as hundredths: `10` → 1000, `0.1` → 10.
/// `1e2`, `0.001`, negative numbers and values above [`MAX_HUNDREDTHS`] are refused.
pub fn parse_hundredths(number: &serde_json::Number) -> Result<i64, ParseError> {
    const ERR: ParseError = ParseError("a non-negative number with at most two decimals");
    if let Some(whole) = number.as_u64() {
        return i64::try_from(whole).ok().and_then(|w| w.checked_mul(100)).filter(|h| *h <= MAX_HUNDREDTHS).ok_or(ERR);
    }
    if number.is_i64() {
        return Err(ERR);
    }
    // serde_json prints an f64 in its shortest exact form (`10.5`, `0.1`), which is the
    // decimal the client wrote.
    let text = number.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ERR);
    }
    let whole: i64 = whole.parse().map_err(|_| ERR)?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().map_err(|_| ERR)? };
    whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).filter(|h| *h <= MAX_HUNDREDTHS).ok_or(ERR)
}

/// Hundredths as the JSON number clients see (`1050` → `10.5`).
pub fn hundredths_to_number(hundredths: i64) -> f64 {
    // Exact for every value below 2^53 hundredths; the division is correctly rounded.
    hundredths as f64 / 100.0
}

/// `10.0`, `10.5`, `10.25`: how the Clara docs write balances in descriptions.
pub fn format_decimal(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    let (whole, fraction) = (abs / 100, abs % 100);
    match fraction {
        0 => format!("{sign}{whole}.0"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

/// `500`, `500.5`: a whole number without a decimal point.
pub fn format_trimmed(hundredths: i64) -> String {
    if hundredths % 100 == 0 { (hundredths / 100).to_string() } else { format_decimal(hundredths) }
}

/// `5`, `5.50`: dollars as a receipt writes them.
pub fn format_usd(cents: i64) -> String {
    if cents % 100 == 0 { (cents / 100).to_string() } else { format!("{}.{:02}", cents / 100, cents % 100) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<i64, ParseError> {
        let serde_json::Value::Number(n) = serde_json::from_str(json).unwrap() else { panic!("{json}") };
        parse_hundredths(&n)
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse("10"), Ok(1000));
        assert_eq!(parse("10.0"), Ok(1000));
        assert_eq!(parse("0.1"), Ok(10));
        assert_eq!(parse("0.29"), Ok(29));
        assert_eq!(parse("1.5"), Ok(150));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("10000000000"), Ok(MAX_HUNDREDTHS));
    }

    #[test]
    fn other_numbers_are_refused() {
        for bad in ["-1", "-0.5", "0.001", "1e30", "10000000000.01", "18446744073709551615", "1.005"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_decimal(0), "0.0");
        assert_eq!(format_decimal(1000), "10.0");
        assert_eq!(format_decimal(1050), "10.5");
        assert_eq!(format_decimal(1025), "10.25");
        assert_eq!(format_decimal(5), "0.05");
        assert_eq!(format_trimmed(50000), "500");
        assert_eq!(format_trimmed(50050), "500.5");
        assert_eq!(format_usd(500), "5");
        assert_eq!(format_usd(550), "5.50");
        assert_eq!(hundredths_to_number(10), 0.1);
    }
}
