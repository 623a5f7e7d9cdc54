//! The mails that carry a one-time code: one kind per code type, and `welcome`, the
//! activation code sent on sign-up with a greeting.

use minijinja::{Value, context};

use super::Kind;
use crate::domain::OtpType;

/// The code a sample shows.
pub const SAMPLE_CODE: &str = "428163";

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("welcome.subject.txt", include_str!("../../../../../templates/email/welcome.subject.txt")),
    ("welcome.txt", include_str!("../../../../../templates/email/welcome.txt")),
    ("welcome.html", include_str!("../../../../../templates/email/welcome.html")),
    ("activation.subject.txt", include_str!("../../../../../templates/email/activation.subject.txt")),
    ("activation.txt", include_str!("../../../../../templates/email/activation.txt")),
    ("activation.html", include_str!("../../../../../templates/email/activation.html")),
    ("two_factor_auth.subject.txt", include_str!("../../../../../templates/email/two_factor_auth.subject.txt")),
    ("two_factor_auth.txt", include_str!("../../../../../templates/email/two_factor_auth.txt")),
    ("two_factor_auth.html", include_str!("../../../../../templates/email/two_factor_auth.html")),
    ("change_password.subject.txt", include_str!("../../../../../templates/email/change_password.subject.txt")),
    ("change_password.txt", include_str!("../../../../../templates/email/change_password.txt")),
    ("change_password.html", include_str!("../../../../../templates/email/change_password.html")),
    ("delete_account.subject.txt", include_str!("../../../../../templates/email/delete_account.subject.txt")),
    ("delete_account.txt", include_str!("../../../../../templates/email/delete_account.txt")),
    ("delete_account.html", include_str!("../../../../../templates/email/delete_account.html")),
];

/// A mail carrying `code`, of type `otp_type`, living `ttl_minutes`.
#[derive(Debug, Clone)]
pub struct CodeMail {
    otp_type: OtpType,
    /// The activation code sent on sign-up: the `welcome` kind.
    welcome: bool,
    code: String,
    ttl_minutes: u64,
}

impl CodeMail {
    pub fn new(otp_type: OtpType, welcome: bool, code: &str, ttl_minutes: u64) -> Self {
        Self { otp_type, welcome, code: code.to_string(), ttl_minutes }
    }
}

impl Kind for CodeMail {
    fn name(&self) -> &'static str {
        match self.otp_type {
            OtpType::Activation if self.welcome => "welcome",
            OtpType::Activation => "activation",
            OtpType::TwoFactorAuth => "two_factor_auth",
            OtpType::ChangePassword => "change_password",
            OtpType::DeleteAccount => "delete_account",
        }
    }

    fn context(&self) -> Value {
        context! {
            otp_type => self.otp_type.as_str(),
            purpose => self.otp_type.purpose(),
            code => &self.code,
            ttl_minutes => self.ttl_minutes,
            ttl => ttl_text(self.ttl_minutes),
        }
    }

    fn must_show(&self) -> (String, &'static str) {
        (self.code.clone(), "the code ({{ code }})")
    }

    fn log_line(&self, to: &str) -> String {
        let (otp_type, code) = (self.otp_type.as_str(), &self.code);
        format!("{otp_type} code for {to}: {code} (no SMTP_URL set, so it is logged instead of mailed)")
    }

    fn code(&self) -> Option<(String, String)> {
        Some((self.otp_type.as_str().to_string(), self.code.clone()))
    }
}

pub(super) fn samples(ttl_minutes: u64) -> Vec<Box<dyn Kind>> {
    [
        (OtpType::Activation, true),
        (OtpType::Activation, false),
        (OtpType::TwoFactorAuth, false),
        (OtpType::ChangePassword, false),
        (OtpType::DeleteAccount, false),
    ]
    .into_iter()
    .map(|(otp_type, welcome)| Box::new(CodeMail::new(otp_type, welcome, SAMPLE_CODE, ttl_minutes)) as Box<dyn Kind>)
    .collect()
}

/// `10 minutes`, `1 minute`, `2 hours`.
pub fn ttl_text(minutes: u64) -> String {
    let (n, unit) =
        if minutes >= 60 && minutes.is_multiple_of(60) { (minutes / 60, "hour") } else { (minutes, "minute") };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_reads_naturally() {
        assert_eq!(ttl_text(1), "1 minute");
        assert_eq!(ttl_text(10), "10 minutes");
        assert_eq!(ttl_text(60), "1 hour");
        assert_eq!(ttl_text(90), "90 minutes");
        assert_eq!(ttl_text(1440), "24 hours");
    }
}
