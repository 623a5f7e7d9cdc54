//! The credit bands of `CREDIT_RATES`: which dollar amounts can be bought and how many
//! credits a dollar buys in each.

use super::money::parse_hundredths;

/// Stripe cannot charge more than $999,999.99 in one Checkout Session.
const MAX_CHARGE_CENTS: i64 = 99_999_999;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditBand {
    /// Smallest amount in the band, in cents (inclusive).
    pub lower_cents: i64,
    /// Largest amount in the band, in cents (inclusive).
    pub upper_cents: i64,
    /// Credits per dollar, in hundredths of a credit.
    pub rate_hundredths: i64,
    /// A Stripe Price of one dollar to sell this band with, if the operator made one.
    pub stripe_price_id: Option<String>,
}

impl CreditBand {
    /// Credits (hundredths) that `cents` buy in this band, rounded down.
    pub fn credits_for(&self, cents: i64) -> i64 {
        (i128::from(cents) * i128::from(self.rate_hundredths) / 100) as i64
    }

    /// Dollars (cents) that `credits` (hundredths) are worth at this rate, rounded to the cent.
    pub fn cents_for(&self, credits: i64) -> i64 {
        let numerator = i128::from(credits) * 100;
        let rate = i128::from(self.rate_hundredths);
        ((numerator + rate / 2) / rate) as i64
    }
}

/// At least one band, none overlapping; kept in the order configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditBands(Vec<CreditBand>);

pub const DEFAULT_CREDIT_RATES: &str = r#"[{"lower_limit":5,"upper_limit":10000,"rate":100}]"#;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    lower_limit: serde_json::Number,
    upper_limit: serde_json::Number,
    rate: serde_json::Number,
    #[serde(default)]
    stripe_price_id: Option<String>,
}

impl CreditBands {
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: Vec<RawBand> = serde_json::from_str(json).map_err(|e| format!("not a JSON list of bands ({e})"))?;
        if raw.is_empty() {
            return Err("needs at least one band".into());
        }
        let mut bands = Vec::with_capacity(raw.len());
        for (i, band) in raw.into_iter().enumerate() {
            let number = |n: &serde_json::Number, what: &str| {
                parse_hundredths(n).map_err(|e| format!("band {i}: {what} must be {e}"))
            };
            let band = CreditBand {
                lower_cents: number(&band.lower_limit, "lower_limit")?,
                upper_cents: number(&band.upper_limit, "upper_limit")?,
                rate_hundredths: number(&band.rate, "rate")?,
                stripe_price_id: band.stripe_price_id.filter(|p| !p.trim().is_empty()),
            };
            if band.lower_cents <= 0 || band.rate_hundredths <= 0 {
                return Err(format!("band {i}: lower_limit and rate must be positive"));
            }
            if band.lower_cents > band.upper_cents {
                return Err(format!("band {i}: lower_limit is above upper_limit"));
            }
            if band.upper_cents > MAX_CHARGE_CENTS {
                return Err(format!("band {i}: upper_limit is above Stripe's 999999.99"));
            }
            bands.push(band);
        }
        let mut sorted: Vec<&CreditBand> = bands.iter().collect();
        sorted.sort_by_key(|b| b.lower_cents);
        if let Some(pair) = sorted.windows(2).find(|pair| pair[1].lower_cents <= pair[0].upper_cents) {
            return Err(format!(
                "bands overlap: {}–{} and {}–{} (cents)",
                pair[0].lower_cents, pair[0].upper_cents, pair[1].lower_cents, pair[1].upper_cents
            ));
        }
        Ok(Self(bands))
    }

    pub fn all(&self) -> &[CreditBand] {
        &self.0
    }

    /// The band that holds `cents`, if any.
    pub fn find(&self, cents: i64) -> Option<&CreditBand> {
        self.0.iter().find(|b| (b.lower_cents..=b.upper_cents).contains(&cents))
    }

    /// The first configured band: its rate values admin credit changes in dollars.
    pub fn first(&self) -> &CreditBand {
        &self.0[0]
    }
}

impl Default for CreditBands {
    fn default() -> Self {
        Self::parse(DEFAULT_CREDIT_RATES).expect("the default bands parse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_band() {
        let bands = CreditBands::default();
        let band = bands.find(500).unwrap();
        assert_eq!(band.credits_for(500), 50_000);
        assert_eq!(band.cents_for(1000), 10);
        assert!(bands.find(499).is_none());
        assert!(bands.find(1_000_001).is_none());
        assert!(bands.find(1_000_000).is_some());
    }

    #[test]
    fn bad_bands_are_refused() {
        for bad in [
            "[]",
            "{}",
            r#"[{"lower_limit":5,"upper_limit":10,"rate":0}]"#,
            r#"[{"lower_limit":5,"upper_limit":10,"rate":-1}]"#,
            r#"[{"lower_limit":10,"upper_limit":5,"rate":1}]"#,
            r#"[{"lower_limit":0,"upper_limit":5,"rate":1}]"#,
            r#"[{"lower_limit":5,"upper_limit":10,"rate":1},{"lower_limit":10,"upper_limit":20,"rate":2}]"#,
            r#"[{"lower_limit":5,"upper_limit":10,"rate":1,"extra":1}]"#,
            r#"[{"lower_limit":5,"upper_limit":10000000,"rate":1}]"#,
        ] {
            assert!(CreditBands::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn separate_bands_with_fractions() {
        let bands = CreditBands::parse(
            r#"[{"lower_limit":100.01,"upper_limit":1000,"rate":120.5},{"lower_limit":5,"upper_limit":100,"rate":100}]"#,
        )
        .unwrap();
        assert_eq!(bands.find(10_001).unwrap().rate_hundredths, 12_050);
        assert_eq!(bands.find(10_000).unwrap().rate_hundredths, 10_000);
        assert_eq!(bands.first().rate_hundredths, 12_050);
    }
}
