//! What the rules need, built once at start-up by the server and shared: the database, the
//! settings, the clock, and the ports to the outside world (mail, payments).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use domain::Clock;

use crate::{
    auth_cache::AuthCache,
    config::Config,
    identity::IdentityTokens,
    limits::Limits,
    mail::{SendMail, templates::MailTemplates},
    metrics::Metrics,
    payments::Payments,
    services::{passwords::PasswordHasher, task_events::Hub, tokens::TokenKeys},
};

/// The rules' shared state; cheap to clone.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub clock: Clock,
    pub tokens: TokenKeys,
    pub passwords: PasswordHasher,
    pub mailer: Arc<dyn SendMail>,
    /// The e-mails' templates, checked at start-up.
    pub mail_templates: MailTemplates,
    /// Google's and Apple's identity tokens.
    pub identity: Arc<dyn IdentityTokens>,
    /// None without `STRIPE_SECRET_KEY`.
    pub stripe: Option<Arc<dyn Payments>>,
    pub limits: Limits,
    /// Authenticated callers remembered between requests.
    pub auth_cache: AuthCache,
    pub metrics: Metrics,
    /// Wakes an idle worker of this process when a task is queued.
    pub task_queue: Arc<tokio::sync::Notify>,
    /// Wakes this process's task event streams when their task gets events.
    pub task_events: Arc<Hub>,
}

impl Core {
    pub fn new(inner: CoreInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for Core {
    type Target = CoreInner;

    fn deref(&self) -> &CoreInner {
        &self.0
    }
}
