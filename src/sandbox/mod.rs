//! Sandbox mode: the server hosts a double of every outside service and
//! points its own integrations at them, so the whole journey runs with no account anywhere.
//!
//! Each double speaks the real service's protocol and is reached through the real client
//! code: mail goes through the mailer into a mailbox, Stripe is a Stripe-shaped API on this
//! server whose payments arrive as signed webhooks, Google ID tokens and Apple identity tokens
//! are checked by the real verifiers against key sets this server serves, passkeys run their
//! real ceremonies with a software authenticator, and analyses go to an OpenAI-compatible
//! deterministic model on this server. The doubles are the `doubles` crate's, the same the
//! tests serve on 127.0.0.1; this module wires them into the server. Never on unless asked
//! for (`--sandbox` or `SANDBOX=true`); see `docs/sandbox.md`.

pub mod checkout;
pub mod mail_drop;
pub mod pages;
pub mod passkey;
pub mod routes;

use std::{sync::Arc, time::Duration};

pub use doubles::model::{MODEL, TRANSCRIPTION_MODEL};
use doubles::{keys::SigningKey, mail::Mailbox};

use crate::config::{AgentConfig, Config, WebauthnConfig};

/// The Stripe secret key the sandbox's clients use (a test key: never a live one).
pub const STRIPE_SECRET_KEY: &str = "sk_test_sandbox";
/// The audience of the sandbox's Google ID tokens.
pub const GOOGLE_CLIENT_ID: &str = "clara-sandbox.apps.googleusercontent.com";
/// The audience (service id) of the sandbox's Apple identity tokens.
pub const APPLE_CLIENT_ID: &str = "co.clara.sandbox";

pub use crate::config::sandbox::{
    APP_PATH, APPLE_KEYS_PATH, GOOGLE_CERTS_PATH, MODEL_API_PATH, PAGES_PATH, PREFIX, SEARCH_PATH, STRIPE_API_PATH,
};

/// The secret the payment simulator signs its webhooks with: `STRIPE_WEBHOOK_SECRET` when
/// set (so a client team's own tests can sign deliveries too; it reaches nothing outside),
/// otherwise one made for this process.
pub fn webhook_secret(config: &Config) -> String {
    config.billing.stripe_webhook_secret.clone().unwrap_or_else(Sandbox::new_webhook_secret)
}

/// Points every integration of `config` at this server's doubles.
pub fn wire(config: &mut Config, webhook_secret: &str) {
    let own = config.loopback_url();
    config.mail.smtp_url = None;
    config.billing.stripe_secret_key = Some(STRIPE_SECRET_KEY.into());
    config.billing.stripe_webhook_secret = Some(webhook_secret.into());
    config.billing.stripe_api_base = format!("{own}{STRIPE_API_PATH}");
    if config.billing.client_url.is_none() {
        config.billing.client_url = Some(format!("{}{APP_PATH}", config.public_base()));
    }
    config.sign_in.google_client_id = Some(GOOGLE_CLIENT_ID.into());
    config.sign_in.google_jwks_url = format!("{own}{GOOGLE_CERTS_PATH}");
    config.sign_in.apple_client_ids = vec![APPLE_CLIENT_ID.into()];
    config.sign_in.apple_jwks_url = format!("{own}{APPLE_KEYS_PATH}");
    if config.sign_in.webauthn.is_none() {
        config.sign_in.webauthn = relying_party(config);
    }
    config.agent.provider = Some(AgentConfig {
        api_base: format!("{own}{MODEL_API_PATH}"),
        api_key: None,
        model: MODEL.into(),
        transcription_model: Some(TRANSCRIPTION_MODEL.into()),
        timeout: Duration::from_secs(30),
        tools: crate::config::ToolsMode::Auto,
        max_steps: crate::config::DEFAULT_AGENT_MAX_STEPS,
    });
    config.agent.search = Some(crate::config::SearchConfig {
        provider: crate::config::SearchProvider::Searxng,
        api_base: format!("{own}{SEARCH_PATH}"),
        api_key: None,
    });
}

/// Passkeys' relying party when `WEBAUTHN_RP_ID` is not set: `PUBLIC_URL`'s host and origin
/// when it names a domain, else `localhost` and `http://localhost:<port>` (the one http
/// origin browsers let run WebAuthn). The sandbox's authenticator answers for any origin.
fn relying_party(config: &Config) -> Option<WebauthnConfig> {
    let public = url::Url::parse(&config.public_base()).ok()?;
    let (rp_id, origin) = match public.host() {
        Some(url::Host::Domain(domain)) if domain != "localhost" => {
            (domain.to_string(), public.origin().ascii_serialization())
        }
        _ => ("localhost".to_string(), format!("http://localhost:{}", config.http.port)),
    };
    let relying_party =
        WebauthnConfig { rp_id, rp_name: "Clara (sandbox)".into(), origins: vec![url::Url::parse(&origin).ok()?] };
    relying_party.build().ok().map(|_| relying_party)
}

/// The start-up lines that say, loudly, what the sandbox replaced.
pub fn announce(config: &Config) {
    let own = config.loopback_url();
    let public = config.public_base();
    tracing::warn!(
        "SANDBOX MODE: every outside service is a built-in double; no real mail, payment, Google account or model is used"
    );
    tracing::warn!("SANDBOX: mail is kept in the mailbox: GET {public}{PREFIX}/mailbox/<email>");
    tracing::warn!(
        "SANDBOX: Stripe is simulated at {own}{STRIPE_API_PATH}; checkout pages at {public}{PREFIX}/checkout/<session>"
    );
    tracing::warn!(
        "SANDBOX: Google ID tokens from POST {public}{PREFIX}/google/id_token are accepted (key set {own}{GOOGLE_CERTS_PATH})"
    );
    tracing::warn!(
        "SANDBOX: Apple identity tokens from POST {public}{PREFIX}/apple/id_token are accepted (key set {own}{APPLE_KEYS_PATH})"
    );
    if let Some(webauthn) = &config.sign_in.webauthn {
        tracing::warn!(
            "SANDBOX: passkeys for RP id {} ({}); the software authenticator answers at POST {public}{PREFIX}/passkey/attestation and /assertion",
            webauthn.rp_id,
            webauthn.origins.iter().map(url::Url::as_str).collect::<Vec<_>>().join(", ")
        );
    }
    tracing::warn!(
        "SANDBOX: analyses run on the deterministic model {MODEL} at {own}{MODEL_API_PATH} ('#fail' in the text fails one)"
    );
}

/// The sandbox's state, shared by its routes: the doubles and what pays through them.
pub struct Sandbox {
    pub mailbox: Arc<Mailbox>,
    pub stripe: Arc<doubles::stripe::Stripe>,
    pub model: Arc<doubles::model::Model>,
    pub search: Arc<doubles::search::Search>,
    /// Google's and Apple's key set: the sandbox key ([`SigningKey::sandbox`]).
    pub keys: Arc<doubles::keys::KeySet>,
    /// Answers passkey options as a browser's authenticator would.
    pub authenticator: passkey::SoftAuthenticator,
    /// Signs the webhooks the payment simulator sends (made per process).
    pub webhook_secret: String,
    /// This server over loopback, where the simulator delivers its webhooks.
    pub own_url: String,
    /// This server as browsers reach it: the checkout and portal links.
    pub public_url: String,
    pub http: reqwest::Client,
}

impl Sandbox {
    pub fn new(config: &Config, webhook_secret: String, http: reqwest::Client) -> Self {
        let own = config.loopback_url();
        let pages = format!("{}{PREFIX}", config.public_base());
        Self {
            mailbox: Default::default(),
            stripe: Arc::new(doubles::stripe::Stripe::new(STRIPE_SECRET_KEY, &pages)),
            model: Default::default(),
            search: Arc::new(doubles::search::Search::with_pages(&format!("{own}{PAGES_PATH}"))),
            keys: Arc::new(doubles::keys::KeySet::of(&[SigningKey::sandbox()])),
            authenticator: passkey::SoftAuthenticator::default(),
            webhook_secret,
            own_url: own,
            public_url: config.public_base(),
            http,
        }
    }

    /// A fresh secret for the simulator's webhooks.
    pub fn new_webhook_secret() -> String {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        format!("whsec_sandbox_{}", data_encoding::HEXLOWER.encode(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::ConfigError;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>())
    }

    #[test]
    fn sandbox_is_off_unless_asked_for() {
        assert!(!parse(&[]).unwrap().sandbox);
        assert!(parse(&[("SANDBOX", "true")]).unwrap().sandbox);
        assert!(!parse(&[("SANDBOX", "false")]).unwrap().sandbox);
        assert_eq!(parse(&[("SANDBOX", "maybe")]).unwrap_err().variable, "SANDBOX");
    }

    #[test]
    fn a_live_stripe_key_is_refused_with_its_own_line() {
        let err = parse(&[("SANDBOX", "true"), ("STRIPE_SECRET_KEY", "sk_live_abc")]).unwrap_err();
        assert_eq!(err.variable, "STRIPE_SECRET_KEY");
        assert!(err.to_string().contains("live Stripe key"), "{err}");
        // Without the sandbox a live key is the normal production setting.
        assert!(parse(&[("STRIPE_SECRET_KEY", "sk_live_abc")]).is_ok());
    }

    #[test]
    fn real_integrations_are_named_when_refused() {
        let err = parse(&[("SANDBOX", "1"), ("SMTP_URL", "smtp://127.0.0.1:25"), ("AGENT_MODEL", "gpt")]).unwrap_err();
        assert_eq!(err.variable, "SANDBOX");
        let text = err.to_string();
        assert!(text.contains("SMTP_URL") && text.contains("AGENT_MODEL"), "{text}");
        assert!(!text.contains("GOOGLE_CLIENT_ID"), "{text}");
    }

    #[test]
    fn real_infrastructure_is_refused_naming_the_setting() {
        let secret = "s".repeat(32);
        for (vars, variable) in [
            (
                vec![("DATABASE_URL", "postgres://clara@127.0.0.1/clara"), ("JWT_SECRET", secret.as_str())],
                "DATABASE_URL",
            ),
            (vec![("DATABASE_URL", "postgresql://clara@127.0.0.1/clara")], "DATABASE_URL"),
            (vec![("REDIS_URL", "redis://127.0.0.1:6379")], "REDIS_URL"),
            (vec![("HOST", "0.0.0.0"), ("JWT_SECRET", secret.as_str())], "HOST"),
            (vec![("HOST", "::")], "HOST"),
            (vec![("HOST", "192.0.2.10")], "HOST"),
        ] {
            let mut with_sandbox = vars.clone();
            with_sandbox.push(("SANDBOX", "true"));
            assert_eq!(parse(&with_sandbox).unwrap_err().variable, variable, "{vars:?}");
            assert!(parse(&with_sandbox).unwrap_err().to_string().contains(variable));
        }
        for host in ["127.0.0.1", "::1", "127.0.0.2"] {
            assert!(parse(&[("SANDBOX", "true"), ("HOST", host)]).is_ok(), "{host}");
        }
        assert!(parse(&[("SANDBOX", "true"), ("DATABASE_URL", "sqlite://sandbox.db?mode=rwc")]).is_ok());
    }

    #[test]
    fn local_services_are_allowed_by_name_and_only_on_this_machine() {
        let secret = "s".repeat(32);
        let with = |db: &'static str, redis: &'static str| {
            let vars = [
                ("SANDBOX", "true"),
                ("SANDBOX_LOCAL_SERVICES", "true"),
                ("DATABASE_URL", db),
                ("REDIS_URL", redis),
                ("JWT_SECRET", secret.as_str()),
            ];
            parse(&vars).map(|_| ()).map_err(|e| e.variable)
        };
        assert_eq!(with("postgres://postgres@127.0.0.1:5432/bench", "redis://localhost:6379"), Ok(()));
        assert_eq!(with("postgres://postgres@[::1]/bench", "redis://127.0.0.1"), Ok(()));
        assert_eq!(with("postgres://clara@db.example.com/clara", "redis://127.0.0.1").unwrap_err(), "DATABASE_URL");
        assert_eq!(with("postgres://postgres@127.0.0.1/bench", "redis://192.0.2.7:6379").unwrap_err(), "REDIS_URL");
        let host = [
            ("SANDBOX", "true"),
            ("SANDBOX_LOCAL_SERVICES", "true"),
            ("HOST", "0.0.0.0"),
            ("JWT_SECRET", secret.as_str()),
        ];
        assert_eq!(parse(&host).unwrap_err().variable, "HOST");
    }

    #[test]
    fn wiring_points_every_integration_at_this_server() {
        let mut config = parse(&[("SANDBOX", "true"), ("HOST", "127.0.0.1"), ("PORT", "9000")]).unwrap();
        wire(&mut config, "whsec_x");
        assert_eq!(config.billing.stripe_api_base, "http://127.0.0.1:9000/api/v1/sandbox/stripe");
        assert_eq!(config.sign_in.google_jwks_url, "http://127.0.0.1:9000/api/v1/sandbox/google/certs");
        assert_eq!(config.sign_in.apple_jwks_url, "http://127.0.0.1:9000/api/v1/sandbox/apple/auth/keys");
        assert_eq!(config.sign_in.apple_client_ids, [APPLE_CLIENT_ID]);
        let webauthn = config.sign_in.webauthn.clone().expect("passkeys on");
        assert_eq!((webauthn.rp_id.as_str(), webauthn.origins[0].as_str()), ("localhost", "http://localhost:9000/"));
        assert_eq!(config.billing.client_url.as_deref(), Some("http://127.0.0.1:9000/api/v1/sandbox/app"));
        assert_eq!(config.agent.provider.unwrap().api_base, "http://127.0.0.1:9000/api/v1/sandbox/model/v1");
        assert!(config.mail.smtp_url.is_none());
        assert_eq!(config.billing.stripe_webhook_secret.as_deref(), Some("whsec_x"));
    }

    #[test]
    fn public_url_leads_browsers_elsewhere() {
        let mut config = parse(&[("SANDBOX", "true"), ("PUBLIC_URL", "https://sandbox.example.com/")]).unwrap();
        wire(&mut config, "whsec_x");
        assert_eq!(config.billing.client_url.as_deref(), Some("https://sandbox.example.com/api/v1/sandbox/app"));
        assert_eq!(config.billing.stripe_api_base, "http://127.0.0.1:8000/api/v1/sandbox/stripe");
        let webauthn = config.sign_in.webauthn.expect("passkeys on");
        assert_eq!(webauthn.rp_id, "sandbox.example.com");
        assert_eq!(webauthn.origins[0].as_str(), "https://sandbox.example.com/");
    }
}
