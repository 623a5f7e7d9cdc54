//! The bodies of the sandbox's sign-in doubles (documented in the sandbox spec only): the
//! Apple identity-token minter and the software passkey authenticator. The routes are in
//! [`super::sandbox`].

use std::collections::BTreeMap;

use poem_openapi::Object;
use serde_json::{Value, json};

use super::{body::Text, models::SuccessStatus};

/// What to mint an Apple identity token for.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SandboxAppleIdTokenRequest {
    /// The Apple account's address (a private relay address is fine).
    pub email: Text,
    /// The token's `nonce` claim, as given: what the app puts in its Apple request, the
    /// SHA-256 (lowercase hex) of a nonce from Apple nonce. Left out, the token has none
    /// (and Sign in with Apple refuses it while the server requires a nonce).
    pub nonce: Option<Text>,
    /// Apple's `email_verified`; true when left out. Sign-in refuses a false one.
    pub email_verified: Option<bool>,
}

impl poem_openapi::types::Example for SandboxAppleIdTokenRequest {
    fn example() -> Self {
        Self {
            email: Text("hello@crazi.co".into()),
            nonce: Some(Text("9f2c1b7e4a0d3c6b8e5f1a2d4c7b9e0f3a6d8c1b5e7f9a2c4d6b8e0f1a3c5d7e".into())),
            email_verified: Some(true),
        }
    }
}

/// Passkey creation options to answer, as Passkey creation options returned them.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SandboxAttestationRequest {
    /// The `data` of Passkey creation options (`{"publicKey": …}`), or its `publicKey`.
    pub options: BTreeMap<String, Value>,
    /// The page origin the browser would report; the relying party's first allowed origin
    /// when left out.
    pub origin: Option<Text>,
}

/// Passkey sign-in options to answer.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SandboxAssertionRequest {
    /// The `data` of Passkey sign-in options (`{"publicKey": …}`), or its `publicKey`.
    pub options: BTreeMap<String, Value>,
    /// Which credential signs: the `credential_id` an attestation returned. Needed for a
    /// discoverable sign-in (no `allowCredentials`), where a person would pick one.
    pub credential_id: Option<Text>,
    /// As for the attestation.
    pub origin: Option<Text>,
}

/// The credential a browser would return, ready for the registering or signing-in route.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SandboxCredential {
    /// `PublicKeyCredential` as JSON: send it as `credential`.
    pub credential: BTreeMap<String, Value>,
    /// The credential id (base64url): name it in later assertions.
    pub credential_id: String,
}

/// Success envelope around an authenticator's answer.
#[derive(Debug, Clone, Object)]
pub struct SandboxCredentialEnvelope {
    pub data: SandboxCredential,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

fn object(value: Value) -> BTreeMap<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

impl poem_openapi::types::Example for SandboxAttestationRequest {
    fn example() -> Self {
        Self {
            options: object(json!({"publicKey": {
                "rp": {"name": "Clara (sandbox)", "id": "localhost"},
                "user": {"id": "q83vEjRWeJCrze8SNFZ4kA", "name": "ada@example.com", "displayName": "Ada Lovelace"},
                "challenge": "sG5Hw3I8a7cHc0kQ9S3e8pX2yVbL4mRzT1uJqNfDkWo",
                "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            }})),
            origin: Some(Text("http://localhost:8000".into())),
        }
    }
}

impl poem_openapi::types::Example for SandboxAssertionRequest {
    fn example() -> Self {
        Self {
            options: object(json!({"publicKey": {
                "challenge": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo",
                "rpId": "localhost",
                "allowCredentials": [],
                "userVerification": "required",
            }})),
            credential_id: Some(Text("m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o".into())),
            origin: None,
        }
    }
}

impl poem_openapi::types::Example for SandboxCredential {
    fn example() -> Self {
        Self {
            credential: object(json!({
                "id": "m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o",
                "rawId": "m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o",
                "type": "public-key",
                "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0", "authenticatorData": "SZYN5Y", "signature": "MEUCIQ", "userHandle": "q83vEjRWeJCrze8SNFZ4kA"},
                "extensions": {},
            })),
            credential_id: "m3Yc5wX0rT7uZ1bN4kH9jD6fG8sA2eL5pQ0vR3o".into(),
        }
    }
}
