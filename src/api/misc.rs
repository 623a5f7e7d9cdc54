//! Routes 24–25: health and version. Never authenticated, never rate-limited.

use poem_openapi::{ApiResponse, OpenApi, payload::Json};
use sea_orm::ConnectionTrait;

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

#[OpenApi(tag = "ApiTags::Misc")]
impl MiscApi {
    /// Health
    ///
    /// Pings the database; 503 in the envelope when it does not answer.
    #[oai(path = "/health", method = "get", operation_id = "miscHealth")]
    async fn health(&self) -> Result<HealthResponse, ApiError> {
        let ping =
            tokio::time::timeout(std::time::Duration::from_secs(2), self.state.db.execute_unprepared("SELECT 1")).await;
        match ping {
            Ok(Ok(_)) => Ok(HealthResponse::Healthy(Json(HealthEnvelope::new(
                Health {
                    service: "clara-backend".into(),
                    status: "healthy".into(),
                    sandbox: self.state.sandbox.is_some(),
                },
                "Health check successful.",
            )))),
            failed => {
                tracing::error!(?failed, "health check: database did not answer");
                Err(ApiError::database_unavailable())
            }
        }
    }

    /// Version
    ///
    /// The server's version.
    #[oai(path = "/version", method = "get", operation_id = "miscVersion")]
    async fn version(&self) -> Json<VersionEnvelope> {
        Json(VersionEnvelope::new(Version { version: env!("CARGO_PKG_VERSION").into() }, "Version check successful."))
    }
}
