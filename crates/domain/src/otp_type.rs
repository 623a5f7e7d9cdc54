/// An e-mailed one-time code: six digits. The request validators in `api::models` use
/// the same literal; `spec::constraints` checks that they agree.
pub const OTP_CODE_PATTERN: &str = r"^[0-9]{6}$";
/// A second factor: six digits (e-mailed or an authenticator app's), or a recovery code.
pub const SECOND_FACTOR_PATTERN: &str = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$";

/// What a one-time code is for. Case-sensitive on the wire: `activation` is a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum), oai(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum OtpType {
    Activation,
    TwoFactorAuth,
    ChangePassword,
    /// Beyond the Clara docs: confirms self-service account deletion.
    DeleteAccount,
}

impl OtpType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "ACTIVATION",
            Self::TwoFactorAuth => "TWO_FACTOR_AUTH",
            Self::ChangePassword => "CHANGE_PASSWORD",
            Self::DeleteAccount => "DELETE_ACCOUNT",
        }
    }

    /// What the code is for, as the e-mail's `purpose` (docs/email.md).
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Activation => "activate your account",
            Self::TwoFactorAuth => "confirm a two-factor authentication step",
            Self::ChangePassword => "change your password",
            Self::DeleteAccount => "delete your account (this cannot be undone)",
        }
    }
}
