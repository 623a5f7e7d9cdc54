//! The one way this server opens a Redis connection (the limiter's and the auth cache's),
//! so both wait for a reply as long as each other and as readiness does.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a command waits for its reply before Redis counts as unavailable; readiness
/// gives a PING as long. The client's default, half a second, took a loaded machine's late
/// reply for an outage, and what the limiter cannot count it lets through: ten wrong codes
/// did not lock an account. Longer would only hold requests while Redis is really stuck
/// (a Redis that is down refuses at once).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long opening (or reopening) the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection that reconnects on its own after Redis comes back.
pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(REPLY_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    ConnectionManager::new_with_config(redis::Client::open(url)?, config).await
}
