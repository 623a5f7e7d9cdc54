//! Everything a request handler may need, built once at start-up and shared.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    clients::{
        agent::AgentClient, apple_jwks::AppleVerifier, google_jwks::GoogleVerifier, mailer::Mailer,
        stripe::StripeClient,
    },
    config::Config,
    services::{passwords::PasswordHasher, tokens::TokenKeys},
};

pub use domain::Clock;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub clock: Clock,
    pub tokens: TokenKeys,
    pub passwords: PasswordHasher,
    pub mailer: Mailer,
    /// The e-mails' templates, checked at start-up.
    pub mail_templates: crate::clients::mail_templates::MailTemplates,
    pub google: GoogleVerifier,
    pub apple: AppleVerifier,
    /// None without `STRIPE_SECRET_KEY`.
    pub stripe: Option<StripeClient>,
    /// None without `AGENT_API_BASE`.
    pub agent: Option<AgentClient>,
    pub limits: crate::limits::Limits,
    /// Authenticated callers remembered between requests.
    pub auth_cache: crate::auth_cache::AuthCache,
    pub metrics: crate::metrics::Metrics,
    /// Wakes an idle worker of this process when a task is queued.
    pub task_queue: Arc<tokio::sync::Notify>,
    /// Wakes this process's task event streams when their task gets events.
    pub task_events: Arc<crate::services::task_events::Hub>,
    /// The health routes' shared, briefly cached checks.
    pub health: crate::health::HealthChecks,
    /// Sandbox mode's doubles; None on a real server.
    pub sandbox: Option<Arc<crate::sandbox::Sandbox>>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
