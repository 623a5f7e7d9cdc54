//! The one way this server opens a Redis connection (the limiter's and the auth cache's),
//! so both wait for a reply as long as each other and as readiness does.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a command waits for its reply before Redis counts as unavailable; readiness
/// gives a PING as long. The client's default, half a second, took a loaded machine's late
/// reply for an outage, and an attempt the limiter could not count went uncounted (it was
/// let through then; it is refused now): ten wrong codes did not lock an account. Longer
/// would only hold requests while Redis is really stuck (a Redis that is down refuses at
/// once).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long opening (or reopening) the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Reconnection tries after the first, and the first pause between them (doubling). Every
/// command waits for a reconnection under way, so the client's defaults (six tries from
/// 100 ms: 6 to 12 s) held each Redis call of a request that long while Redis was gone,
/// and requests ended in the 30 s timeout. These give up within half a second.
const RECONNECT_RETRIES: usize = 2;
const RECONNECT_FIRST_PAUSE: Duration = Duration::from_millis(50);
const RECONNECT_LONGEST_PAUSE: Duration = Duration::from_millis(200);

/// A connection that reconnects on its own after Redis comes back.
pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(REPLY_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_min_delay(RECONNECT_FIRST_PAUSE)
        .set_max_delay(RECONNECT_LONGEST_PAUSE);
    ConnectionManager::new_with_config(redis::Client::open(url)?, config).await
}
