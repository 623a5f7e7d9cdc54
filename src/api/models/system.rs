//! The server's health and version.

use super::*;

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Health {
    pub service: String,
    /// `healthy` (`/health`), `alive` (`/health/live`) or `ready` (`/health/ready`).
    pub status: String,
    /// True on a server started in sandbox mode (every outside service a built-in double).
    pub sandbox: bool,
}

impl Health {
    fn example_value() -> Self {
        Self { service: "clara-backend".into(), status: "healthy".into(), sandbox: false }
    }
}

/// The server's version.
#[derive(Debug, Clone, Object)]
// `ServerVersion` in the spec: C# generators rename a `Version` type, and a member may not
// share its class's name there.
#[oai(example, rename = "ServerVersion")]
pub struct Version {
    pub version: String,
}

impl Version {
    fn example_value() -> Self {
        Self { version: env!("CARGO_PKG_VERSION").into() }
    }
}

envelope!(
    /// Success envelope of the health check.
    HealthEnvelope, Health);

envelope!(
    /// Success envelope of the version check.
    VersionEnvelope, Version);

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for Version {
    fn example() -> Self {
        Self::example_value()
    }
}
