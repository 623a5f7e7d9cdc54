//! The body of an operation that adds a way into the account (passkey creation options,
//! authenticator enrolment): the fresh proof `services::fresh_proof` checks.

use poem_openapi::Object;

use super::body::Text;
use crate::services::fresh_proof::Proof;

/// The proof, besides the session, that adding a way into the account needs: the
/// account's `password` while 2FA is off; while 2FA is on, a current second factor in
/// `code` (as for Login: the app's code or a recovery code once an app is enrolled, else a
/// TWO_FACTOR_AUTH code from Send OTP); an account with neither a password nor 2FA (Google
/// or Apple sign-in only) sends a TWO_FACTOR_AUTH code from Send OTP in `code`. Without it
/// (or with a wrong one) the answer is the 401 whose `data.proof` names what to send.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct FreshProofRequest {
    /// The account's password (2FA off).
    #[oai(validator(min_length = 1, max_length = 72), skip_serializing_if_is_none)]
    pub password: Option<Text>,
    /// Six digits, or a recovery code like `abcde-23456`.
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"), skip_serializing_if_is_none)]
    pub code: Option<Text>,
}

impl poem_openapi::types::Example for FreshProofRequest {
    fn example() -> Self {
        Self { password: Some("correct horse battery staple".into()), code: None }
    }
}

impl FreshProofRequest {
    /// The proof of an optional body (no body: no proof, the 401 then says which is wanted).
    pub fn proof(body: &Option<Self>) -> Proof<'_> {
        match body {
            Some(body) => Proof {
                password: body.password.as_ref().map(|p| p.0.as_str()),
                code: body.code.as_ref().map(|c| c.0.as_str()),
            },
            None => Proof::default(),
        }
    }
}
