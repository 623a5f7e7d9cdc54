//! Response and request objects of the wire contract. Entities never leave the server
//! directly; they are mapped into these.

use super::body::{Decimal2, Text};
use crate::domain::{CreditBand, credits_to_number, http_date, hundredths_to_number};
pub use domain::analysis::{AnalysisResult, Citation, StepKind, Verdict};
use poem_openapi::{Enum, Object, types::MaybeUndefined};

/// A success envelope around `data`: the one shape every success answer has.
macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident, $data:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, poem_openapi::Object)]
        pub struct $name {
            pub data: $data,
            /// A sentence for people; use `status` (and `code` on errors) in code.
            pub message: String,
            pub status: $crate::api::models::SuccessStatus,
        }

        impl $name {
            pub fn new(data: $data, message: &str) -> Self {
                Self { data, message: message.to_string(), status: $crate::api::models::SuccessStatus::Success }
            }
        }
    };
}
pub(crate) use envelope;

macro_rules! examples {
    ($($ty:ty),+) => {
        $(impl poem_openapi::types::Example for $ty {
            fn example() -> Self {
                Self::example_value()
            }
        })+
    };
}

mod api_key;
mod auth;
mod billing;
mod sessions;
mod system;
mod tasks;
mod users;

pub use api_key::*;
pub use auth::*;
pub use billing::*;
pub use sessions::*;
pub use system::*;
pub use tasks::*;
pub use users::*;

use domain::task::EXAMPLE_DATE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SuccessStatus {
    Success,
}

/// An always-null `data`.
#[derive(Debug, Clone, Object)]
pub struct Empty {}

/// Success envelope whose `data` is null.
#[derive(Debug, Clone, Object)]
pub struct NullEnvelope {
    #[oai(nullable)]
    pub data: Option<Empty>,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

impl NullEnvelope {
    pub fn new(message: &str) -> Self {
        Self { data: None, message: message.to_string(), status: SuccessStatus::Success }
    }
}
