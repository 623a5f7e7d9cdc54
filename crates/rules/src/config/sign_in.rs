//! Google, Apple and passkeys.

use super::{
    ConfigError, DEFAULT_APPLE_JWKS_URL, DEFAULT_GOOGLE_JWKS_URL, Get, WebauthnConfig, invalid,
    settings::{Section, Setting},
    yes_or_no,
};

#[derive(Clone, Debug)]
pub struct SignIn {
    pub google_client_id: Option<String>,
    pub google_jwks_url: String,
    /// Sign in with Apple audiences (`APPLE_CLIENT_IDS`: bundle ids and service ids);
    /// empty: Apple sign-in answers 503.
    pub apple_client_ids: Vec<String>,
    pub apple_jwks_url: String,
    /// `APPLE_REQUIRE_NONCE` (default true): every Apple identity token must carry the
    /// SHA-256 hex of a nonce this server issued (`POST /auth/apple/nonce`), each used once.
    pub apple_require_nonce: bool,
    /// Passkeys (WebAuthn); None without `WEBAUTHN_RP_ID`, and the passkey routes answer 503.
    pub webauthn: Option<WebauthnConfig>,
}

impl SignIn {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let google_client_id = get("GOOGLE_CLIENT_ID").map(str::to_string);
        let google_jwks_url = get("GOOGLE_JWKS_URL").unwrap_or(DEFAULT_GOOGLE_JWKS_URL).to_string();
        url::Url::parse(&google_jwks_url).map_err(|e| invalid("GOOGLE_JWKS_URL", format!("not a URL ({e})")))?;
        let apple_client_ids: Vec<String> = get("APPLE_CLIENT_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
        let apple_jwks_url = get("APPLE_JWKS_URL").unwrap_or(DEFAULT_APPLE_JWKS_URL).to_string();
        url::Url::parse(&apple_jwks_url).map_err(|e| invalid("APPLE_JWKS_URL", format!("not a URL ({e})")))?;
        let apple_require_nonce = yes_or_no(get("APPLE_REQUIRE_NONCE"), "APPLE_REQUIRE_NONCE", true)?;
        let webauthn =
            WebauthnConfig::from_vars(get("WEBAUTHN_RP_ID"), get("WEBAUTHN_RP_NAME"), get("WEBAUTHN_ORIGINS"))?;
        Ok(Self { google_client_id, google_jwks_url, apple_client_ids, apple_jwks_url, apple_require_nonce, webauthn })
    }
}

/// The settings of `docs/configuration.md`'s section "Google, Apple and passkeys".
pub const SECTION: Section = Section {
    title: "Google, Apple and passkeys",
    settings: &[
        Setting {
            variable: "GOOGLE_CLIENT_ID",
            default: "unset (Google sign-in answers 503)",
            meaning: "the OAuth client id that ID tokens must be issued for (`aud`)",
        },
        Setting {
            variable: "GOOGLE_JWKS_URL",
            default: "`https://www.googleapis.com/oauth2/v3/certs`",
            meaning: "where Google's signing keys are fetched",
        },
        Setting {
            variable: "APPLE_CLIENT_IDS",
            default: "unset (Sign in with Apple answers 503)",
            meaning: "comma-separated bundle ids and service ids that Apple identity tokens must be issued for (`aud`)",
        },
        Setting {
            variable: "APPLE_JWKS_URL",
            default: "`https://appleid.apple.com/auth/keys`",
            meaning: "where Apple's signing keys are fetched",
        },
        Setting {
            variable: "APPLE_REQUIRE_NONCE",
            default: "`true`",
            meaning: "every Apple identity token must carry the SHA-256 hex of a nonce from `POST /auth/apple/nonce`, each nonce used once; `false` turns the server nonce off (a token still signs in once)",
        },
        Setting {
            variable: "WEBAUTHN_RP_ID",
            default: "unset (the passkey routes answer 503)",
            meaning: "the passkey relying-party id: the domain passkeys are bound to, e.g. `clara.example.com` ([Passkeys](sign-in.md#passkeys))",
        },
        Setting { variable: "WEBAUTHN_RP_NAME", default: "`Clara`", meaning: "the name authenticators show" },
        Setting {
            variable: "WEBAUTHN_ORIGINS",
            default: "`https://<WEBAUTHN_RP_ID>`",
            meaning: "comma-separated origins allowed to run passkey ceremonies (web front ends; each on the RP id or a subdomain); needs `WEBAUTHN_RP_ID`",
        },
    ],
};
