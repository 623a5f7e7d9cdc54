//! A notice without a code: a passkey was added to the account (a new way in, so its owner
//! hears of it even when a stolen session added it).

use minijinja::{Value, context};

use super::Kind;

/// The passkey name a sample shows.
pub const SAMPLE_PASSKEY_NAME: &str = "MacBook";

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("passkey_added.subject.txt", include_str!("../../../../../templates/email/passkey_added.subject.txt")),
    ("passkey_added.txt", include_str!("../../../../../templates/email/passkey_added.txt")),
    ("passkey_added.html", include_str!("../../../../../templates/email/passkey_added.html")),
];

/// The notice that a passkey named `passkey_name` was added.
#[derive(Debug, Clone)]
pub struct PasskeyAdded {
    pub passkey_name: String,
}

impl Kind for PasskeyAdded {
    fn name(&self) -> &'static str {
        "passkey_added"
    }

    fn context(&self) -> Value {
        context! { passkey_name => &self.passkey_name }
    }

    fn must_show(&self) -> (String, &'static str) {
        (self.passkey_name.clone(), "the passkey's name ({{ passkey_name }})")
    }

    fn log_line(&self, to: &str) -> String {
        format!("passkey \"{}\" added to the account of {to} (no SMTP_URL set, so logged)", self.passkey_name)
    }
}

pub(super) fn sample() -> PasskeyAdded {
    PasskeyAdded { passkey_name: SAMPLE_PASSKEY_NAME.to_string() }
}
