//! The sandbox's authenticator: answers the passkey options this server gives
//! (`navigator.credentials.create` / `.get` options) with the credential JSON a browser
//! would return, so that a script can run the passkey ceremonies the way the checkout page
//! lets it play the payment provider.
//!
//! The authenticator is webauthn-authenticator-rs's `SoftPasskey` (ES256 keys, self
//! attestation, a signature counter), the one the tests use: this module only adapts the
//! options and answers to the wire and keeps what a passkey provider keeps beside the
//! key (the user handle a discoverable sign-in returns). Its keys live in this process's
//! memory (the sandbox is one process): a credential made before a restart cannot sign
//! any more, register a new one.

use std::{collections::HashMap, sync::Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;
use url::Url;
use webauthn_authenticator_rs::{AuthenticatorBackend, error::WebauthnCError, softpasskey::SoftPasskey};
use webauthn_rs_proto::{AllowCredentials, PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions};

/// Why options could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticatorError {
    #[error("the options are not WebAuthn options this authenticator can answer: {0}")]
    Options(&'static str),
    #[error("the credential was not made by this authenticator (or before a restart)")]
    UnknownCredential,
    #[error("the authenticator failed")]
    Internal,
}

use AuthenticatorError::Options;

/// COSE algorithm ES256, the one `SoftPasskey` makes.
const ES256: i64 = -7;
/// What `SoftPasskey` is given as the ceremony's timeout (it does not wait on anyone).
const TIMEOUT_MS: u32 = 60_000;

pub struct SoftAuthenticator {
    inner: Mutex<Provider>,
}

/// The authenticator and, per credential id, the user handle it was made for.
struct Provider {
    passkey: SoftPasskey,
    user_handles: HashMap<Vec<u8>, Vec<u8>>,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        // `true`: report user verification (a PIN or biometric), which passkeys require.
        Self { inner: Mutex::new(Provider { passkey: SoftPasskey::new(true), user_handles: HashMap::new() }) }
    }
}

/// `publicKey` of the options: the server's `data` (`{"publicKey": …}`) or the inner object.
fn public_key(options: &Value) -> Result<&Value, AuthenticatorError> {
    let inner = options.get("publicKey").unwrap_or(options);
    inner.is_object().then_some(inner).ok_or(Options("no publicKey object"))
}

fn origin_url(origin: &str) -> Result<Url, AuthenticatorError> {
    Url::parse(origin).map_err(|_| Options("origin"))
}

fn failed(error: WebauthnCError) -> AuthenticatorError {
    match error {
        WebauthnCError::NotSupported => Options("what the options ask is not supported"),
        _ => AuthenticatorError::Internal,
    }
}

impl SoftAuthenticator {
    fn provider(&self) -> std::sync::MutexGuard<'_, Provider> {
        // Nothing panics while holding the lock; a poisoned one still holds whole maps.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The credential `navigator.credentials.create` would return for these creation
    /// options, made at `origin`.
    pub fn attest(&self, options: &Value, origin: &str) -> Result<Value, AuthenticatorError> {
        let mut options: PublicKeyCredentialCreationOptions =
            serde_json::from_value(public_key(options)?.clone()).map_err(|_| Options("creation options"))?;
        let user_handle = options.user.id.to_vec();
        if user_handle.is_empty() || user_handle.len() > 64 {
            return Err(Options("user.id"));
        }
        if !options.pub_key_cred_params.iter().any(|param| param.alg == ES256) {
            return Err(Options("pubKeyCredParams: ES256 (-7) is the algorithm this authenticator has"));
        }
        // This provider keeps the credential itself (a discoverable one, as asked) and
        // stands for whatever attachment the server prefers.
        if let Some(selection) = options.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
            selection.authenticator_attachment = None;
        }
        let origin = origin_url(origin)?;
        let mut provider = self.provider();
        let credential = provider.passkey.perform_register(origin, options, TIMEOUT_MS).map_err(failed)?;
        provider.user_handles.insert(credential.raw_id.to_vec(), user_handle);
        serde_json::to_value(&credential).map_err(|_| AuthenticatorError::Internal)
    }

    /// The credential `navigator.credentials.get` would return for these request options,
    /// at `origin`, signed by `credential_id` (the `id` [`Self::attest`] returned) or, when
    /// none is named, by the first of the options' `allowCredentials`.
    pub fn assert(
        &self,
        options: &Value,
        origin: &str,
        credential_id: Option<&str>,
    ) -> Result<Value, AuthenticatorError> {
        let mut options: PublicKeyCredentialRequestOptions =
            serde_json::from_value(public_key(options)?.clone()).map_err(|_| Options("request options"))?;
        let chosen = match credential_id {
            Some(id) => URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).map_err(|_| Options("credential_id"))?,
            None => options
                .allow_credentials
                .first()
                .map(|allowed| allowed.id.to_vec())
                .ok_or(Options("credential_id: a discoverable sign-in names none"))?,
        };
        let origin = origin_url(origin)?;
        let mut provider = self.provider();
        let user_handle = provider.user_handles.get(&chosen).cloned().ok_or(AuthenticatorError::UnknownCredential)?;
        // The credential the person picked is the one the authenticator signs with.
        options.allow_credentials = vec![AllowCredentials { type_: "public-key".into(), id: chosen, transports: None }];
        let mut credential = provider.passkey.perform_auth(origin, options, TIMEOUT_MS).map_err(failed)?;
        credential.response.user_handle = Some(user_handle);
        serde_json::to_value(&credential).map_err(|_| AuthenticatorError::Internal)
    }
}
