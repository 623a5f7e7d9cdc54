//! Parsed types: a value of one of these has already been checked, so the rest of the
//! code never validates it again.

pub mod analysis;
pub mod attachments;
mod clock;
mod email;
mod html;
mod ids;
mod money;
mod names;
mod otp_type;
mod password;
mod rates;
pub mod task;
mod time;
pub mod transaction;

pub use clock::Clock;
pub use email::Email;
pub use html::escape_html;
pub use ids::{IdPrefix, new_id};
pub use money::{MAX_HUNDREDTHS, format_decimal, format_trimmed, format_usd, hundredths_to_number, parse_hundredths};
pub use names::PersonName;
pub use otp_type::{OTP_CODE_PATTERN, OtpType, SECOND_FACTOR_PATTERN};
pub use password::Password;
pub use rates::{CreditBand, CreditBands, DEFAULT_CREDIT_RATES};
pub use time::{Timestamp, http_date};

/// A value that did not parse; the API answers it with the schema 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub &'static str);

/// Credits are integer hundredths in the database and JSON numbers on the wire.
pub fn credits_to_number(hundredths: i64) -> f64 {
    hundredths_to_number(hundredths)
}
