//! Request and answer bodies of registration, sign-in, one-time codes and two-factor authentication.

use super::*;

/// Authenticator-app enrolment: add `secret` (or scan `otpauth_url` as a QR code) in
/// the app, then confirm with Enable 2FA and the app's current code.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_url: String,
}

impl TotpEnrolment {
    fn example_value() -> Self {
        Self {
            secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            otpauth_url: "otpauth://totp/Clara%3Ahello%40crazi.co?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Clara&algorithm=SHA1&digits=6&period=30".into(),
        }
    }
}

envelope!(
    /// Success envelope of an authenticator-app enrolment.
    TotpEnrolmentEnvelope, TotpEnrolment);

envelope!(
    /// Success envelope around a new set of recovery codes.
    RecoveryCodesEnvelope, RecoveryCodes);

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct RegisterRequest {
    /// 1 to 50 characters; stored title-cased.
    pub first_name: Text,
    /// 1 to 50 characters; stored title-cased.
    pub last_name: Option<Text>,
    /// Stored lower-case.
    pub email: Text,
    /// 8 to 72 bytes.
    pub password: Text,
}

impl RegisterRequest {
    fn example_value() -> Self {
        Self {
            first_name: "Vibhanshu".into(),
            last_name: Some("Rathod".into()),
            email: "hello@crazi.co".into(),
            password: "e|YUiO2PIj7E'0&V".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct GoogleRequest {
    /// The ID token Google Sign-In gave the client.
    pub id_token: Text,
    /// The second factor, needed when the account has 2FA on (as for Login).
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Option<Text>,
}

impl GoogleRequest {
    fn example_value() -> Self {
        Self {
            id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJlbWFpbCI6ImhlbGxvQGNyYXppLmNvIn0.sig".into(),
            code: Some("245522".into()),
        }
    }
}

/// Login's optional body. `{}`, `{"code": null}` and no body at all are the same.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    /// Needed only when 2FA is on: an e-mailed TWO_FACTOR_AUTH code (while no app is
    /// enrolled), the authenticator app's current code, or a recovery code.
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Option<Text>,
}

impl LoginRequest {
    fn example_value() -> Self {
        Self { code: Some("245522".into()) }
    }
}

/// A one-time code: e-mailed, or from an authenticator app where 2FA allows it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct CodeRequest {
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub code: Text,
}

impl CodeRequest {
    fn example_value() -> Self {
        Self { code: "245522".into() }
    }
}

/// A second factor: an e-mailed TWO_FACTOR_AUTH code, the authenticator app's current
/// code, or (once 2FA is on) one of the recovery codes.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SecondFactorRequest {
    /// Six digits, or a recovery code like `abcde-23456`.
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Text,
}

impl SecondFactorRequest {
    fn example_value() -> Self {
        Self { code: "245522".into() }
    }
}

/// Ten single-use codes, each accepted once wherever a 2FA code is. Shown only now.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

impl RecoveryCodes {
    fn example_value() -> Self {
        Self { codes: vec!["k7mqx-3vhpt".into(), "9drwa-ueb4n".into()] }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ChangePasswordRequest {
    /// The new password, 8 to 72 bytes.
    pub password: Text,
    /// A CHANGE_PASSWORD code from Send OTP.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub code: Text,
}

impl ChangePasswordRequest {
    fn example_value() -> Self {
        Self { password: "e|YUiO2PIj7E'0&V".into(), code: "217503".into() }
    }
}

impl poem_openapi::types::Example for TotpEnrolment {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for RegisterRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for GoogleRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for CodeRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for ChangePasswordRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

examples!(SecondFactorRequest, LoginRequest, RecoveryCodes);
