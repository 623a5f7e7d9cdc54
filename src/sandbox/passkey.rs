//! The sandbox's authenticator: answers the passkey options this server gives
//! (`navigator.credentials.create` / `.get` options) with the credential JSON a browser
//! would return, so that a script can run the passkey ceremonies the way the checkout page
//! lets it play the payment provider.
//!
//! It is a software authenticator holding nothing: each credential's P-256 private key
//! (and the user handle it was made for) is sealed into the credential id under a key made
//! per process, the way security keys wrap their keys into credential ids. The answers are
//! real WebAuthn (`none` attestation, ES256 signatures, counter 0 as synced passkeys send),
//! checked by webauthn-rs exactly as a browser's are. A credential made before a restart
//! cannot sign any more: register a new one.

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::services::sealed;

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

/// COSE algorithm ES256, the one this authenticator makes.
const ES256: i64 = -7;
/// Flags: user present, user verified (passkeys require both); with attested data.
const FLAGS_SIGN: u8 = 0x01 | 0x04;
const FLAGS_CREATE: u8 = FLAGS_SIGN | 0x40;

pub struct SoftAuthenticator {
    /// Seals private keys into credential ids.
    key: [u8; 32],
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        Self { key }
    }
}

/// `publicKey` of the options: the server's `data` (`{"publicKey": …}`) or the inner object.
fn public_key(options: &Value) -> Result<&Value, AuthenticatorError> {
    let inner = options.get("publicKey").unwrap_or(options);
    inner.is_object().then_some(inner).ok_or(Options("no publicKey object"))
}

fn text<'a>(value: &'a Value, field: &'static str) -> Result<&'a str, AuthenticatorError> {
    value.get(field).and_then(Value::as_str).ok_or(Options(field))
}

fn base64url(value: &str) -> Result<Vec<u8>, AuthenticatorError> {
    URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).map_err(|_| Options("base64url"))
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false}).to_string().into_bytes()
}

impl SoftAuthenticator {
    /// The credential `navigator.credentials.create` would return for these creation
    /// options, made at `origin`.
    pub fn attest(&self, options: &Value, origin: &str) -> Result<Value, AuthenticatorError> {
        let options = public_key(options)?;
        let challenge = text(options, "challenge")?;
        let rp_id = options.get("rp").map(|rp| text(rp, "id")).ok_or(Options("rp"))??;
        let user_handle = base64url(options.get("user").map(|user| text(user, "id")).ok_or(Options("user"))??)?;
        if user_handle.is_empty() || user_handle.len() > 64 {
            return Err(Options("user.id"));
        }
        let es256 = options
            .get("pubKeyCredParams")
            .and_then(Value::as_array)
            .is_some_and(|params| params.iter().any(|p| p.get("alg").and_then(Value::as_i64) == Some(ES256)));
        if !es256 {
            return Err(Options("pubKeyCredParams: ES256 (-7) is the algorithm this authenticator has"));
        }
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
            .map_err(|_| AuthenticatorError::Internal)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|_| AuthenticatorError::Internal)?;
        let mut wrapped = vec![user_handle.len() as u8];
        wrapped.extend_from_slice(&user_handle);
        wrapped.extend_from_slice(pkcs8.as_ref());
        let credential_id = sealed::seal(&self.key, &wrapped).ok_or(AuthenticatorError::Internal)?;
        // An uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        let (x, y) = point.get(1..).ok_or(AuthenticatorError::Internal)?.split_at(32);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_CREATE);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none, as `none` attestation says
        auth_data.extend_from_slice(&(credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&credential_id);
        cbor::cose_es256(&mut auth_data, x, y);
        let attestation = cbor::attestation_none(&auth_data);
        let id = URL_SAFE_NO_PAD.encode(&credential_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data("webauthn.create", challenge, origin)),
                "transports": ["internal"],
            },
            "extensions": {},
        }))
    }

    /// The credential `navigator.credentials.get` would return for these request options,
    /// at `origin`, signed by `credential_id` (the `id` [`Self::attest`] returned) or, when
    /// none is named, by the first of the options' `allowCredentials` made here.
    pub fn assert(
        &self,
        options: &Value,
        origin: &str,
        credential_id: Option<&str>,
    ) -> Result<Value, AuthenticatorError> {
        let options = public_key(options)?;
        let challenge = text(options, "challenge")?;
        let rp_id = text(options, "rpId")?;
        let allowed: Vec<&str> = options
            .get("allowCredentials")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(|c| c.get("id").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        let chosen = match credential_id {
            Some(id) => id,
            None => allowed.first().copied().ok_or(Options("credential_id: a discoverable sign-in names none"))?,
        };
        let raw_id = base64url(chosen)?;
        let wrapped = sealed::open(&self.key, &raw_id).ok_or(AuthenticatorError::UnknownCredential)?;
        let (&handle_len, rest) = wrapped.split_first().ok_or(AuthenticatorError::UnknownCredential)?;
        let (user_handle, pkcs8) = rest.split_at_checked(handle_len as usize).ok_or(AuthenticatorError::Internal)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
            .map_err(|_| AuthenticatorError::Internal)?;
        let client_data = client_data("webauthn.get", challenge, origin);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_SIGN);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature = pair.sign(&SystemRandom::new(), &signed).map_err(|_| AuthenticatorError::Internal)?;
        let id = URL_SAFE_NO_PAD.encode(&raw_id);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                "userHandle": URL_SAFE_NO_PAD.encode(user_handle),
            },
            "extensions": {},
        }))
    }
}

/// The little CBOR the two structures need (RFC 8949 definite lengths).
mod cbor {
    fn head(out: &mut Vec<u8>, major: u8, len: u64) {
        let major = major << 5;
        match len {
            0..=23 => out.push(major | len as u8),
            24..=0xff => out.extend_from_slice(&[major | 24, len as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(major | 26);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }

    fn int(out: &mut Vec<u8>, value: i64) {
        if value >= 0 { head(out, 0, value as u64) } else { head(out, 1, (-1 - value) as u64) }
    }

    fn bytes(out: &mut Vec<u8>, value: &[u8]) {
        head(out, 2, value.len() as u64);
        out.extend_from_slice(value);
    }

    fn text(out: &mut Vec<u8>, value: &str) {
        head(out, 3, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }

    /// The COSE_Key of an ES256 public key: kty EC2, alg ES256, crv P-256, x, y.
    pub fn cose_es256(out: &mut Vec<u8>, x: &[u8], y: &[u8]) {
        head(out, 5, 5);
        for (key, value) in [(1, 2), (3, super::ES256), (-1, 1)] {
            int(out, key);
            int(out, value);
        }
        int(out, -2);
        bytes(out, x);
        int(out, -3);
        bytes(out, y);
    }

    /// `{"fmt": "none", "attStmt": {}, "authData": …}`.
    pub fn attestation_none(auth_data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        head(&mut out, 5, 3);
        text(&mut out, "fmt");
        text(&mut out, "none");
        text(&mut out, "attStmt");
        head(&mut out, 5, 0);
        text(&mut out, "authData");
        bytes(&mut out, auth_data);
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn heads_use_the_shortest_form() {
            let mut out = Vec::new();
            super::int(&mut out, -7);
            super::int(&mut out, 24);
            super::bytes(&mut out, &[0; 300]);
            assert_eq!(&out[..5], &[0x26, 0x18, 24, 0x59, 0x01]);
            assert_eq!(out[5], 0x2c);
        }
    }
}
