//! clara-backend: the Clara API server.

// The rules live in their own crate (no HTTP framework, no outbound client); their modules
// are re-exported under the paths the rest of the server has always used.
pub use ::domain;
pub use rules::{address_key, auth_cache, config, limits, services, views};

pub mod agent;
pub mod api;
pub mod clients;
pub mod fetch;
pub mod health;
pub mod isolate;
pub mod jobs;
pub mod mcp;
pub mod metrics;
pub mod sandbox;
pub mod server;
pub mod spec;
pub mod state;
pub mod telemetry;

use std::{sync::Arc, time::Duration};

use migration::{Migrator, MigratorTrait};
use poem::{Endpoint, EndpointExt, Route, endpoint::make_sync, http::header::CONTENT_TYPE, web::Html};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::{
    clients::{
        agent::AgentClient, apple_jwks::AppleVerifier, google_jwks::GoogleVerifier, mailer::Mailer,
        stripe::StripeClient,
    },
    config::Config,
    services::{passwords::PasswordHasher, tokens::TokenKeys},
    state::{AppState, Clock, Core, CoreInner, Inner},
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Database(sea_orm::DbErr),
    #[error("DATABASE_URL: migrations failed: {0}")]
    Migration(sea_orm::DbErr),
    #[error("{0}")]
    Other(String),
}

/// How long a request waits for a PostgreSQL connection before it is answered 503
/// `database_unavailable`: an outage must not hold requests (and their clients) for long.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

pub async fn connect(database_url: &str) -> Result<DatabaseConnection, StartError> {
    let mut options = ConnectOptions::new(database_url);
    let sqlite = database_url.starts_with("sqlite");
    options
        .sqlx_logging(false)
        // A local file cannot go away: waiting out a busy pool beats refusing. A server can,
        // and then every second of waiting is a second a client hangs.
        .acquire_timeout(if sqlite { Duration::from_secs(10) } else { POSTGRES_ACQUIRE_TIMEOUT })
        // Each pooled connection is pinged before use, so the ones an outage broke are
        // replaced at once and the first request after it succeeds.
        .test_before_acquire(true)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    if sqlite {
        // One writer at a time either way; a small pool avoids lock convoys.
        options.max_connections(8);
    } else {
        options.max_connections(20);
    }
    Database::connect(options).await.map_err(StartError::Database)
}

/// Applies the migrations. Several processes may start at once: on PostgreSQL they take
/// turns under an advisory lock; on SQLite a process that loses the race tries again once
/// the winner is done (then nothing is left to apply).
pub async fn migrate(database_url: &str) -> Result<(), StartError> {
    use sea_orm::ConnectionTrait;
    const LOCK_KEY: i64 = 0x0063_6c61_7261; // "clara"
    let mut options = ConnectOptions::new(database_url);
    options.sqlx_logging(false).max_connections(1).min_connections(1).connect_timeout(Duration::from_secs(5));
    options.map_sqlx_sqlite_opts(|opts| opts.busy_timeout(Duration::from_secs(10)).foreign_keys(true));
    let conn = Database::connect(options).await.map_err(StartError::Database)?;
    let postgres = conn.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        conn.execute_unprepared(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
            .await
            .map_err(StartError::Migration)?;
    }
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        match Migrator::up(&conn, None).await {
            Err(err) if !postgres && attempt < 20 => {
                tracing::debug!(%err, attempt, "migration raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            other => break other,
        }
    };
    if postgres {
        let _ = conn.execute_unprepared(&format!("SELECT pg_advisory_unlock({LOCK_KEY})")).await;
    }
    let _ = conn.close().await;
    result.map_err(StartError::Migration)
}

/// An outbound HTTP client. The only way building one fails in practice is a machine (a
/// minimal container image, say) with no CA certificates for TLS: say so, and how to fix
/// it, instead of reqwest's bare "builder error".
pub fn http_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, StartError> {
    builder.connect_timeout(Duration::from_secs(5)).build().map_err(|err| {
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        if chain.contains("CA certificates") {
            StartError::Other(format!(
                "HTTP client: no CA certificates found, so no outbound TLS call (Stripe, Google, Apple, the \
                 model provider, search) could be verified. Install the system's CA bundle (Debian and \
                 Ubuntu: the `ca-certificates` package; Alpine: `ca-certificates`), or point SSL_CERT_FILE \
                 at a PEM bundle or SSL_CERT_DIR at a directory of certificates. ({chain})"
            ))
        } else {
            StartError::Other(format!("HTTP client: {chain}"))
        }
    })
}

/// Connects, migrates and builds the shared state.
pub async fn build_state(mut config: Config, clock: Clock) -> Result<AppState, StartError> {
    let sandbox_secret = config.sandbox.then(|| sandbox::webhook_secret(&config));
    if let Some(secret) = &sandbox_secret {
        sandbox::wire(&mut config, secret);
    }
    // Before the database is touched: a machine without CA certificates, or a broken
    // template (its file and line), stops the start at once.
    let http = http_client(reqwest::Client::builder().timeout(config.http.outbound_timeout))?;
    let mail_templates =
        clients::mail_templates::MailTemplates::from_config(&config).map_err(|e| StartError::Other(e.to_string()))?;
    migrate(&config.storage.database_url).await?;
    let db = connect(&config.storage.database_url).await?;
    let secret = match &config.accounts.jwt_secret {
        Some(secret) => secret.clone(),
        None => services::settings::get_or_insert(&db, "jwt_secret", || {
            use base64::Engine;
            let mut bytes = [0u8; 48];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        })
        .await
        .map_err(|e| StartError::Other(format!("JWT_SECRET: cannot keep a generated secret: {e}")))?,
    };
    let sandbox =
        sandbox_secret.map(|secret| std::sync::Arc::new(sandbox::Sandbox::new(&config, secret, http.clone())));
    let mailer = match &sandbox {
        Some(sandbox) => Mailer::Kept(std::sync::Arc::new(crate::sandbox::mail_drop::MailboxDrop {
            mailbox: sandbox.mailbox.clone(),
            clock: clock.clone(),
        })),
        None => Mailer::new(config.mail.smtp_url.as_deref(), &config.mail.mail_from, config.http.outbound_timeout)
            .map_err(|e| StartError::Other(e.to_string()))?,
    };
    let google = GoogleVerifier::new(
        config.sign_in.google_client_id.clone(),
        config.sign_in.google_jwks_url.clone(),
        http.clone(),
    );
    let apple = AppleVerifier::new(
        config.sign_in.apple_client_ids.clone(),
        config.sign_in.apple_jwks_url.clone(),
        http.clone(),
    );
    let stripe = config
        .billing
        .stripe_secret_key
        .as_deref()
        .map(|key| StripeClient::new(http.clone(), &config.billing.stripe_api_base, key));
    // The provider client has no overall timeout of its own: each call sets AGENT_TIMEOUT_MS.
    let agent_http = http_client(reqwest::Client::builder())?;
    let agent = config.agent.provider.clone().map(|agent| AgentClient::new(agent_http, agent));
    if agent.is_none() {
        tracing::warn!("AGENT_API_BASE is not set: Analysis answers 503");
    }
    let limits = match &config.storage.redis_url {
        Some(url) => limits::Limits::redis(url, &config.storage.redis_prefix, config.accounts.rate_limit_per_second)
            .await
            .map_err(|e| StartError::Other(format!("REDIS_URL: cannot connect: {e}")))?,
        None => limits::Limits::memory(config.accounts.rate_limit_per_second),
    };
    let auth_cache = match &config.storage.redis_url {
        Some(url) => auth_cache::AuthCache::shared(
            config.accounts.auth_cache_ttl,
            config.accounts.auth_cache_capacity,
            url,
            &config.storage.redis_prefix,
        )
        .await
        .map_err(|e| StartError::Other(format!("REDIS_URL: cannot connect: {e}")))?,
        None => auth_cache::AuthCache::local(config.accounts.auth_cache_ttl, config.accounts.auth_cache_capacity),
    };
    tokio::fs::create_dir_all(&config.analyses.attachments_dir).await.map_err(|e| {
        StartError::Other(format!("ATTACHMENTS_DIR: cannot create {}: {e}", config.analyses.attachments_dir.display()))
    })?;
    if config.accounts.public_api_keys.is_empty() {
        tracing::warn!("PUBLIC_API_KEYS is empty: public routes accept calls without a key");
    }
    if sandbox.is_some() {
        sandbox::announce(&config);
    } else {
        if stripe.is_none() || config.billing.client_url.is_none() {
            tracing::warn!("STRIPE_SECRET_KEY or CLIENT_URL is not set: Buy and Portal answer 503");
        }
        if config.mail.smtp_url.is_none() {
            tracing::warn!("SMTP_URL is not set: one-time codes are written to this log instead of mailed");
        }
    }
    let metrics = metrics::Metrics::new();
    let identity = clients::identity::Verifiers { google: google.clone(), apple: apple.clone() };
    let core = Core::new(CoreInner {
        db,
        tokens: TokenKeys::new(&secret),
        passwords: PasswordHasher::new(config.accounts.bcrypt_cost, metrics.password_hashes.clone()),
        mailer: Arc::new(mailer),
        mail_templates,
        identity: Arc::new(identity),
        stripe: stripe.map(|client| Arc::new(client) as Arc<dyn rules::payments::Payments>),
        limits,
        auth_cache,
        metrics,
        task_queue: Default::default(),
        task_events: Default::default(),
        clock,
        config,
    });
    Ok(AppState::new(Inner { core, google, apple, agent, health: Default::default(), sandbox }))
}

/// The committed OpenAPI document (`clara-backend openapi`): its server is a template
/// whose defaults are a local server.
pub fn openapi_json(state: &AppState) -> String {
    spec::finalize(&api::mount(state).raw_spec, &spec::Server::Variables)
}

/// The whole HTTP application.
pub fn app(state: AppState) -> impl Endpoint<Output = poem::Response> + 'static {
    use api::middleware::{
        RateLimit,
        policy::{DOCS_PAGE_POLICY, long_running, named, page},
    };
    let api::Mounted { endpoint: service, raw_spec, swagger_html } = api::mount(&state);
    // The served document names this server's public address; Swagger UI's copy names
    // the server the page came from, so "Try it out" calls it however it was reached.
    let spec = spec::finalize(&raw_spec, &spec::Server::Origin(&state.config.public_base()));
    let docs = swagger_html.replace(&raw_spec, &spec::finalize(&raw_spec, &spec::Server::SameOrigin));
    let spec_endpoint = make_sync(move |_| {
        poem::Response::builder().header(CONTENT_TYPE, "application/json; charset=utf-8").body(spec.clone())
    });
    let spec_endpoint = std::sync::Arc::new(spec_endpoint);
    let docs_endpoint = make_sync(move |_| Html(docs.clone()));
    let metrics_endpoint = poem::endpoint::make(|req: poem::Request| async move { metrics_response(&req).await });
    let cors = {
        let origins = &state.config.http.cors_allowed_origins;
        let mut cors = poem::middleware::Cors::new()
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allow_headers([
                "authorization",
                "content-type",
                "x-request-id",
                "idempotency-key",
                "traceparent",
                "tracestate",
            ])
            .expose_headers(["x-total-count", "retry-after", "x-request-id", "idempotent-replayed"])
            .max_age(600);
        if !origins.iter().any(|o| o == "*") {
            cors = cors.allow_origins(origins.iter().map(String::as_str));
        }
        cors
    };
    let timeout = state.config.http.request_timeout;
    let cors_enabled = !state.config.http.cors_allowed_origins.is_empty();
    let mut routes = Route::new().nest(api::BASE_PATH, service);
    if let Some(sandbox) = &state.sandbox {
        routes = sandbox::routes::mount(routes, sandbox.clone());
    }
    // Route policy where each route is mounted (`api::middleware::policy`): the spec, the
    // docs and the metrics are never metered; MCP is, and runs long when it starts an analysis.
    routes
        .at("/openapi.json", named("openapi", spec_endpoint.clone()))
        .at("/api/v1/openapi.json", named("openapi", spec_endpoint))
        .at("/docs", named("docs", page(DOCS_PAGE_POLICY, docs_endpoint)))
        .at("/mcp", named("mcp", long_running(mcp::McpEndpoint::new(state.clone()).with(RateLimit))))
        .at("/metrics", named("metrics", metrics_endpoint))
        .with(api::middleware::BodyLimit {
            limit: state.config.http.json_body_limit,
            // Every file at its largest, plus the text and the multipart framing.
            upload_limit: state.config.analyses.max_attachments as u64 * state.config.analyses.max_attachment_bytes
                + (1 << 20),
        })
        .with(api::middleware::ResolveClient)
        .with(api::middleware::Observe)
        .data(state)
        .with_if(cors_enabled, cors)
        .with(api::middleware::Harden { timeout })
        .catch_all_error(|err| async move { api::error::error_response(err) })
}

/// Serves the app on `acceptor` until `shutdown` resolves, with the analysis workers.
/// On shutdown: stop accepting, give in-flight requests and running analyses
/// `SHUTDOWN_GRACE_SECS`, then hand unfinished analyses back to PENDING.
pub async fn serve<A>(
    state: AppState,
    acceptor: A,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    A: poem::listener::Acceptor + 'static,
{
    let listening_on: Vec<_> =
        acceptor.local_addr().iter().filter_map(|a| a.as_socket_addr()).map(|a| a.ip()).collect();
    if metrics::closed_to_other_hosts(&listening_on, state.config.metrics_token.as_deref()) {
        tracing::warn!(
            "METRICS_TOKEN is not set and the server listens beyond loopback: /metrics answers only this machine (403 to others)"
        );
    }
    let workers = jobs::worker::Workers::start(&state);
    let deliverer = jobs::webhook_delivery::Deliverer::start(&state);
    let sweeper = tokio::spawn(services::uploads::sweep_forever(state.core.clone()));
    let purger = tokio::spawn(services::idempotency::purge_forever(state.core.clone()));
    let limits = server::ConnectionLimits {
        header_read_timeout: state.config.http.header_read_timeout,
        idle_timeout: state.config.http.idle_timeout,
        max_age: state.config.http.max_connection_age,
        // Uploads and MCP may run long (`api::middleware::policy::long_running`).
        longest_request: state.config.http.request_timeout * api::middleware::LONG_RUNNING_FACTOR,
        shutdown_grace: state.config.http.shutdown_grace,
    };
    let admission = server::admission::Admission::new(
        server::file_limit::effective_max_connections(state.config.http.max_connections),
        state.config.http.max_connections_per_address,
        state.config.http.trusted_proxies.clone(),
        state.metrics.connections_refused.clone(),
        state.metrics.connections_open.clone(),
    );
    let grace = limits.shutdown_grace;
    let served = server::run(acceptor, app(state), shutdown, limits, admission).await;
    tracing::info!("stopped accepting requests; stopping the analysis workers");
    workers.shutdown(grace).await;
    deliverer.shutdown().await;
    sweeper.abort();
    purger.abort();
    served
}

/// `/metrics`: Prometheus text, behind `METRICS_TOKEN` when it is set, for this machine
/// only when it is not (see [`metrics::scrape_access`]). Wrong tokens count toward the
/// address's admin-key lock: both are operators' secrets, guessed the same way.
async fn metrics_response(req: &poem::Request) -> poem::Response {
    use poem::IntoResponse;
    let Some(state) = req.data::<AppState>() else { return api::error::ApiError::internal().into_response() };
    let given = req.headers().get(poem::http::header::AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
    let forwarded = req.headers().contains_key("x-forwarded-for") || req.headers().contains_key("forwarded");
    let token = state.config.metrics_token.as_deref();
    let access = || metrics::scrape_access(token, given, &req.remote_addr().0, forwarded);
    if token.is_some() {
        let client = req.extensions().get::<api::middleware::ClientAddr>().and_then(|c| c.0);
        let allowed = || access() == metrics::ScrapeAccess::Allowed;
        if let Err(err) = services::throttle::admin_key(state, client, allowed).await {
            return api::error::ApiError::from(err).into_response();
        }
    } else {
        match access() {
            metrics::ScrapeAccess::Allowed => {}
            metrics::ScrapeAccess::Unauthorized => return api::error::ApiError::unauthorized().into_response(),
            metrics::ScrapeAccess::Forbidden => return api::error::ApiError::forbidden().into_response(),
        }
    }
    match services::tasks::stats(state).await {
        Ok((counts, oldest)) => poem::Response::builder()
            .header(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(state.metrics.render(&counts, oldest)),
        Err(err) => api::error::ApiError::from(err).into_response(),
    }
}
