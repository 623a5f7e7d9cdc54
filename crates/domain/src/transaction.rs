//! A movement of credits as the API shows it (and `credits.changed` events carry it).
//! `rules::views` builds one from a row.

use serde::{Deserialize, Serialize};

use crate::task::EXAMPLE_DATE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum), oai(rename_all = "SCREAMING_SNAKE_CASE"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    /// Credits added (a purchase, an admin change, a refund).
    Credit,
    /// Credits spent or removed.
    Debit,
}

/// A movement of credits. The balance is the sum of CREDITs minus DEBITs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object), oai(example))]
pub struct Transaction {
    pub id: String,
    pub user_id: String,
    #[cfg_attr(feature = "openapi", oai(rename = "type"))]
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub description: String,
    /// Credits moved, always positive; `type` gives the direction.
    pub value_in_credits: f64,
    /// What they were worth in US dollars.
    pub value_in_fiat: f64,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl Transaction {
    /// The example the spec shows.
    pub fn example_value() -> Self {
        Self {
            id: "transaction_52d462f898e54b3983c186567259b74a".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            kind: TransactionType::Credit,
            description: "User bought 500 credits for $5.".into(),
            value_in_credits: 500.0,
            value_in_fiat: 5.0,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::Example for Transaction {
    fn example() -> Self {
        Self::example_value()
    }
}
