//! Everything a request handler may need, built once at start-up and shared: the rules'
//! state ([`Core`]) and what only the server's face and jobs use (the identity verifiers for
//! their "is it configured" answers, the model provider, the health checks, the sandbox).

use std::sync::Arc;

pub use rules::state::{Clock, Core, CoreInner};

use crate::clients::{agent::AgentClient, apple_jwks::AppleVerifier, google_jwks::GoogleVerifier};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The rules' state; `Inner` dereferences to it, so `state.db` and `&state` as a
    /// `&Core` work wherever an `AppState` is at hand.
    pub core: Core,
    pub google: GoogleVerifier,
    pub apple: AppleVerifier,
    /// None without `AGENT_API_BASE`.
    pub agent: Option<AgentClient>,
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

impl std::ops::Deref for Inner {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}
