use poem_openapi::Enum;

/// What a one-time code is for. Case-sensitive on the wire: `activation` is a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
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

    /// What the e-mail says the code is for.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Activation => "activate your Clara account",
            Self::TwoFactorAuth => "confirm a two-factor authentication step",
            Self::ChangePassword => "change your Clara password",
            Self::DeleteAccount => "delete your Clara account (this cannot be undone)",
        }
    }
}
