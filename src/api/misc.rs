//! Routes 24–25: health and version, and the orchestrators' liveness and readiness
//! probes. Never authenticated, never rate-limited. The database and Redis are asked at
//! most once a second however many probes come (`crate::health`).

use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::outcomes::*;
use super::{ApiTags, error::ApiError, models::*};
use crate::state::AppState;

pub struct MiscApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The server and its database answer.
    #[oai(status = 200)]
    Healthy(Json<HealthEnvelope>),
}

impl MiscApi {
    fn envelope(&self, status: &str, message: &str) -> HealthEnvelope {
        let health =
            Health { service: "clara-backend".into(), status: status.into(), sandbox: self.state.sandbox.is_some() };
        HealthEnvelope::new(health, message)
    }
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("miscHealth", &[SERVER, DATABASE]),
    ("miscLive", &[SERVER]),
    ("miscReady", &[SERVER, DATABASE, &[(503, ErrorCode::RedisUnavailable), (503, ErrorCode::MigrationsPending)]]),
    ("miscVersion", &[SERVER]),
];

#[OpenApi(tag = "ApiTags::Misc")]
impl MiscApi {
    /// Health
    ///
    /// Whether the server and its database answer; 503 in the envelope when the database
    /// does not. The answer may be up to one second old: concurrent probes share one
    /// database ping.
    #[oai(path = "/health", method = "get", operation_id = "miscHealth")]
    async fn health(&self) -> Result<HealthResponse, ApiError> {
        if !self.state.health.database(&self.state.db).await {
            return Err(ApiError::database_unavailable());
        }
        Ok(HealthResponse::Healthy(Json(self.envelope("healthy", "Health check successful."))))
    }

    /// Liveness
    ///
    /// The process runs and serves HTTP; it asks nothing else. For an orchestrator's
    /// liveness probe (restart the process when this fails).
    #[oai(path = "/health/live", method = "get", operation_id = "miscLive")]
    async fn live(&self) -> Json<HealthEnvelope> {
        Json(self.envelope("alive", "The process is alive."))
    }

    /// Readiness
    ///
    /// Whether this process should get traffic: the database answers, Redis answers when
    /// `REDIS_URL` is set, and every migration this server needs is applied. 503 in the
    /// envelope says which is not (`database_unavailable`, `redis_unavailable`,
    /// `migrations_pending`). The answer may be up to one second old.
    #[oai(path = "/health/ready", method = "get", operation_id = "miscReady")]
    async fn ready(&self) -> Result<Json<HealthEnvelope>, ApiError> {
        self.state.health.ready(&self.state.db, &self.state.limits).await.map_err(ApiError::not_ready)?;
        Ok(Json(self.envelope("ready", "Ready to serve.")))
    }

    /// Version
    ///
    /// The server's version.
    #[oai(path = "/version", method = "get", operation_id = "miscVersion")]
    async fn version(&self) -> Json<VersionEnvelope> {
        Json(VersionEnvelope::new(Version { version: env!("CARGO_PKG_VERSION").into() }, "Version check successful."))
    }
}
