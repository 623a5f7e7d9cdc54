//! The test harness: the full app in-process over a fresh database (SQLite by default,
//! PostgreSQL when `TEST_DATABASE_URL` is set), with the outside services' doubles
//! (`crates/doubles`) served on 127.0.0.1.

pub mod google;
pub mod h2_client;
mod mail;
pub mod provider;
pub mod search;
pub mod stripe;

use std::collections::HashMap;

use clara_backend::{
    build_state,
    config::Config,
    state::{AppState, Clock},
};
use poem::{Endpoint, EndpointExt, Response, http::Method, test::TestClient};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

pub use doubles::{Fault, model::Script, relay::Relay};

pub use self::{provider::FakeProvider, stripe::FakeStripe};

pub struct TestApp {
    pub client: TestClient<poem::endpoint::BoxEndpoint<'static, Response>>,
    pub state: AppState,
    /// Where the app's mail goes (over SMTP; a sandbox app keeps its own mailbox).
    pub smtp: doubles::smtp::ServedSmtp,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: poem::http::HeaderMap,
}

impl Reply {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `X-Total-Count` as a number.
    #[track_caller]
    pub fn total_count(&self) -> u64 {
        self.headers.get("x-total-count").expect("X-Total-Count").to_str().unwrap().parse().unwrap()
    }

    /// Asserts the error envelope with its status, code and message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["status"], "error", "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["message"], message, "body: {}", self.body);
        assert!(self.body.get("data").is_some(), "envelope has data: {}", self.body);
    }

    #[track_caller]
    pub fn assert_success(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["status"], "success", "body: {}", self.body);
        assert_eq!(self.body["message"], message, "body: {}", self.body);
    }
}

pub const MSG_EMPTY: &str = "Request body is empty.";
pub const MSG_INVALID: &str = "One or more required parameters are either not given or have invalid schema.";
pub const MSG_UNAUTHORIZED: &str = "Authorization header or OTP is either missing, invalid or expired.";
pub const MSG_NOT_ACTIVE: &str = "Please activate your account to access the requested resource.";
pub const MSG_FORBIDDEN: &str = "You do not have access to the requested resource.";

pub const PASSWORD: &str = "correct horse battery";
/// 32 characters or more: the length a shared database or reachable host requires.
pub const ADMIN_KEY: &str = "admin-key-for-tests-0123456789abcdef";
/// On PostgreSQL the server needs a secret from the environment (see `Config::from_map`).
pub const JWT_SECRET: &str = "jwt-secret-for-tests-0123456789abcdef";

/// A fresh database URL: a file in `dir`, or a new PostgreSQL database.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let pid = std::process::id();
            let name = format!("clara_test_{pid}_{}", uuid::Uuid::new_v4().simple());
            drop_databases_of_earlier_runs(&admin_url);
            let admin = Database::connect(&admin_url).await.expect("TEST_DATABASE_URL connects");
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            admin.close().await.ok();
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!("sqlite://{}/test.db?mode=rwc", dir.display()),
    }
}

/// Each run leaves its databases behind (a test cannot drop its own while the pool is
/// open); the first test of the next run starts removing them, on a thread of its own that
/// no test waits for. PostgreSQL checkpoints at every `DROP DATABASE` (about a second each
/// on this machine, far more while tests write): dropping a whole run's 340 databases before
/// the next test could start held that test for nine minutes. A process that ends first
/// leaves the rest to the next. The databases of a test process still running here (its pid
/// is in their names) are left alone, so two suites can share one server.
fn drop_databases_of_earlier_runs(admin_url: &str) {
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if STARTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let admin_url = admin_url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let Ok(admin) = Database::connect(&admin_url).await else { return };
            let listed = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT datname FROM pg_database WHERE datname LIKE 'clara\\_test\\_%'",
                ))
                .await;
            for row in listed.unwrap_or_default() {
                let Ok(name) = row.try_get::<String>("", "datname") else { continue };
                if made_by_a_running_process(&name) {
                    continue;
                }
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.ok();
            }
        });
    });
}

/// Whether the process whose pid a test database's name carries (`clara_test_<pid>_<uuid>`)
/// still runs on this machine. Where there is no `/proc`, or the server is another machine's,
/// the answer is no (or, for a pid that happens to be in use here, a database kept one run
/// longer).
fn made_by_a_running_process(database: &str) -> bool {
    database
        .strip_prefix("clara_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

#[test]
fn a_test_database_is_kept_while_its_process_runs() {
    let own = format!("clara_test_{}_0123456789abcdef", std::process::id());
    assert!(made_by_a_running_process(&own));
    // No process has pid 0 in /proc; names that carry no pid are not anyone's.
    assert!(!made_by_a_running_process("clara_test_0_0123456789abcdef"));
    assert!(!made_by_a_running_process("clara_test_x_0123456789abcdef"));
    assert!(!made_by_a_running_process("postgres"));
}

/// The test defaults: a fresh database and files, cheap hashing, no limits in the way.
async fn default_vars(dir: &std::path::Path) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = HashMap::new();
    let database_url = fresh_database(dir).await;
    if !database_url.starts_with("sqlite") {
        vars.insert("JWT_SECRET".into(), JWT_SECRET.into());
    }
    vars.insert("DATABASE_URL".into(), database_url);
    vars.insert("BCRYPT_COST".into(), "4".into());
    // Tests make many calls a second with one token; the rate-limit tests lower this.
    vars.insert("RATE_LIMIT_PER_SECOND".into(), "1000000".into());
    // Every in-process request comes from one (unknown) address.
    vars.insert("SIGNUPS_PER_ADDRESS_HOUR".into(), "1000000".into());
    if let Ok(redis) = std::env::var("TEST_REDIS_URL")
        && !redis.is_empty()
    {
        vars.insert("REDIS_URL".into(), redis);
        vars.insert("REDIS_PREFIX".into(), format!("clara-test:{}:", uuid::Uuid::new_v4().simple()));
    }
    vars.insert("ATTACHMENTS_DIR".into(), dir.join("attachments").display().to_string());
    // The test binary is not the server: untrusted files go to the real one.
    vars.insert("EXTRACTOR_PROGRAM".into(), env!("CARGO_BIN_EXE_clara-backend").into());
    vars
}

/// The `Authorization` header of a Basic login.
pub fn basic(email: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{email}:{password}")))
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// An app whose configuration has these variables on top of the test defaults.
    pub async fn with_env(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = doubles::smtp::serve(Default::default()).await;
        let mut vars = default_vars(dir.path()).await;
        vars.insert("SMTP_URL".into(), smtp.url.clone());
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_map(&vars).expect("test configuration parses");
        let state = build_state(config, Clock::default()).await.expect("app builds");
        let client = TestClient::new(clara_backend::app(state.clone()).boxed());
        Self { client, state, smtp, _dir: dir }
    }

    /// An app on the test Redis (`TEST_REDIS_URL`) reached through a relay the test can cut
    /// or slow; None without a test Redis (the test then skips).
    pub async fn with_redis_through_relay() -> Option<(Self, Relay)> {
        let redis_url = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty())?;
        let (relay, through_relay) = Relay::to_redis(&redis_url).await;
        Some((Self::with_env(&[("REDIS_URL", &through_relay)]).await, relay))
    }

    /// A sandbox server (`--sandbox`) listening on 127.0.0.1 with its workers, since its
    /// doubles are reached over HTTP at its own address; `client` talks to the same state
    /// in-process.
    pub async fn sandbox(extra: &[(&str, &str)]) -> Self {
        use poem::listener::{Acceptor, Listener, TcpListener};
        let dir = tempfile::tempdir().expect("temp dir");
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let mut vars = default_vars(dir.path()).await;
        // The sandbox runs on SQLite, alone: it refuses PostgreSQL and Redis.
        vars.insert("DATABASE_URL".into(), format!("sqlite://{}/sandbox.db?mode=rwc", dir.path().display()));
        vars.remove("REDIS_URL");
        vars.remove("REDIS_PREFIX");
        vars.insert("SANDBOX".into(), "true".into());
        vars.insert("PORT".into(), port.to_string());
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_map(&vars).expect("sandbox configuration parses");
        let state = build_state(config, Clock::default()).await.expect("sandbox builds");
        tokio::spawn(clara_backend::serve(state.clone(), acceptor, std::future::pending()));
        let client = TestClient::new(clara_backend::app(state.clone()).boxed());
        // Unused: the sandbox keeps mail in its mailbox.
        let smtp = doubles::smtp::serve(Default::default()).await;
        Self { client, state, smtp, _dir: dir }
    }

    /// This server's address, for a sandbox app.
    pub fn base_url(&self) -> String {
        self.state.config.loopback_url()
    }

    /// Another server process on the same database and files, with its own clock.
    pub async fn second_process(&self) -> AppState {
        build_state(self.state.config.clone(), Clock::default()).await.expect("second process builds")
    }

    pub async fn raw(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<poem::Body>) -> Reply {
        let mut request = self.client.request(method, path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.0;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().into_bytes().await.expect("body reads");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)))
        };
        Reply { status, body, headers }
    }

    /// A JSON call under /api/v1 with an optional `Authorization` value.
    pub async fn call(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Reply {
        let mut headers = vec![];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth));
        }
        let body = body.map(|b| {
            headers.push(("Content-Type", "application/json"));
            poem::Body::from_vec(serde_json::to_vec(&b).unwrap())
        });
        self.raw(method, &format!("/api/v1{path}"), &headers, body).await
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        self.call(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: Option<&str>, body: Option<Value>) -> Reply {
        self.call(Method::POST, path, auth, body).await
    }

    /// Registers an account; returns (user id, bearer header).
    pub async fn register(&self, email: &str) -> (String, String) {
        let reply = self
            .post(
                "/auth/register",
                None,
                Some(json!({"first_name": "ada", "last_name": "lovelace", "email": email, "password": PASSWORD})),
            )
            .await;
        reply.assert_success(201, "User registered successfully.");
        let id = reply.data()["id"].as_str().unwrap().to_string();
        let token = reply.data()["token"].as_str().unwrap().to_string();
        (id, format!("Bearer {token}"))
    }

    /// Registers, activates with the mailed code and logs in (activation ends the sessions
    /// made before it, Register's included); returns (user id, bearer header).
    pub async fn active_user(&self, email: &str) -> (String, String) {
        let (id, _) = self.register(email).await;
        let code = self.last_code_for(email).await;
        self.post(&format!("/users/{email}/activate"), None, Some(json!({"code": code})))
            .await
            .assert_success(200, "User activated successfully.");
        (id, self.session(email).await)
    }

    /// As [`Self::active_user`], with 2FA on (through an e-mailed code).
    pub async fn two_factor_user(&self, email: &str) -> (String, String) {
        let (id, bearer) = self.active_user(email).await;
        self.enable_mailed_2fa(&id, email, &bearer).await;
        (id, bearer)
    }

    /// A code of `kind` (`TWO_FACTOR_AUTH`, `DELETE_ACCOUNT`, …) mailed to `email` now: the
    /// clock moves past the minute that must pass between two codes of a kind.
    pub async fn mailed_code(&self, email: &str, kind: &str) -> String {
        self.state.clock.advance(std::time::Duration::from_secs(61));
        self.post(&format!("/users/{email}/otp/{kind}"), None, None)
            .await
            .assert_success(201, "OTP sent successfully.");
        self.last_code_for(email).await
    }

    /// Turns 2FA on for the user with a code mailed to `email`.
    pub async fn enable_mailed_2fa(&self, id: &str, email: &str, bearer: &str) {
        let code = self.mailed_code(email, "TWO_FACTOR_AUTH").await;
        self.post(&format!("/users/{id}/2fa"), Some(bearer), Some(json!({"code": code})))
            .await
            .assert_success(200, "User 2FA enabled successfully.");
    }

    /// Logs in with the test password (no 2FA); returns the bearer header.
    pub async fn session(&self, email: &str) -> String {
        let reply = self.login(email, PASSWORD, None).await;
        reply.assert_success(200, "User logged in successfully.");
        format!("Bearer {}", reply.data()["token"].as_str().unwrap())
    }

    /// Logs in with Basic; returns the reply.
    pub async fn login(&self, email: &str, password: &str, code: Option<&str>) -> Reply {
        self.post("/auth/session", Some(&basic(email, password)), code.map(|c| json!({"code": c}))).await
    }

    pub async fn count<E: EntityTrait>(&self, _entity: E) -> u64
    where
        E::Model: Sync,
    {
        E::find().count(&self.state.db).await.expect("count")
    }

    /// Row counts of every table, to show that a refused request changed nothing.
    pub async fn snapshot(&self) -> [u64; 6] {
        [
            self.count(entity::users::Entity).await,
            self.count(entity::sessions::Entity).await,
            self.count(entity::otp_codes::Entity).await,
            self.count(entity::transactions::Entity).await,
            self.count(entity::api_keys::Entity).await,
            self.count(entity::tasks::Entity).await,
        ]
    }

    /// An app pointed at the Stripe double, with an admin key, plus extra variables.
    pub async fn with_stripe(extra: &[(&str, &str)]) -> (Self, FakeStripe) {
        let stripe = stripe::start().await;
        let env = stripe::env(&stripe);
        let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        vars.push(("ADMIN_API_KEY", ADMIN_KEY));
        vars.extend_from_slice(extra);
        (Self::with_env(&vars).await, stripe)
    }

    /// An app pointed at the model double (workers not started).
    pub async fn with_agent(extra: &[(&str, &str)]) -> (Self, FakeProvider) {
        let provider = provider::start().await;
        let api_base = format!("{}/v1", provider.url);
        let mut vars: Vec<(&str, &str)> = vec![
            ("AGENT_API_BASE", api_base.as_str()),
            ("AGENT_MODEL", "test-model"),
            ("AGENT_API_KEY", "provider-key"),
            ("AGENT_TIMEOUT_MS", "800"),
            ("WORKER_CONCURRENCY", "2"),
        ];
        vars.extend_from_slice(extra);
        (Self::with_env(&vars).await, provider)
    }

    pub fn start_workers(&self) -> clara_backend::jobs::worker::Workers {
        clara_backend::jobs::worker::Workers::start(&self.state)
    }

    /// Posts a multipart analysis.
    pub async fn analysis(&self, user_id: &str, auth: &str, parts: &[provider::FormPart<'_>]) -> Reply {
        let (content_type, body) = provider::multipart(parts);
        self.raw(
            Method::POST,
            &format!("/api/v1/users/{user_id}/agent/analysis"),
            &[("Authorization", auth), ("Content-Type", &content_type)],
            Some(poem::Body::from_vec(body)),
        )
        .await
    }

    /// Waits until the task is COMPLETED or FAILED; returns its row.
    pub async fn finished_task(&self, task_id: &str) -> entity::tasks::Model {
        use sea_orm::{ColumnTrait, QueryFilter};
        for _ in 0..400 {
            let task = entity::tasks::Entity::find()
                .filter(entity::tasks::Column::Id.eq(task_id))
                .one(&self.state.db)
                .await
                .unwrap()
                .expect("task exists");
            if task.status == "COMPLETED" || task.status == "FAILED" {
                return task;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("task {task_id} did not finish");
    }

    /// Files left under the attachments directory.
    pub fn stored_files(&self) -> usize {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum())
                .unwrap_or(0)
        }
        count(&self.state.config.analyses.attachments_dir)
    }

    /// The stored balance in hundredths.
    pub async fn balance(&self, user_id: &str) -> i64 {
        entity::users::Entity::find_by_id(user_id).one(&self.state.db).await.unwrap().expect("user exists").credits
    }

    /// The user's transactions, oldest first.
    pub async fn transactions_of(&self, user_id: &str) -> Vec<entity::transactions::Model> {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        entity::transactions::Entity::find()
            .filter(entity::transactions::Column::UserId.eq(user_id))
            .order_by_asc(entity::transactions::Column::Seq)
            .all(&self.state.db)
            .await
            .unwrap()
    }

    /// Asserts the ledger invariant: CREDITs minus DEBITs equal the balance.
    #[track_caller]
    pub fn assert_ledger_balances(&self, rows: &[entity::transactions::Model], balance: i64) {
        let sum: i64 =
            rows.iter().map(|t| if t.kind == "DEBIT" { -t.value_in_credits } else { t.value_in_credits }).sum();
        assert_eq!(sum, balance, "the transactions explain the balance");
        assert!(balance >= 0);
    }

    /// Sets a balance through the ledger (hundredths), as a purchase would.
    pub async fn give_credits(&self, user_id: &str, hundredths: i64) {
        clara_backend::services::ledger::move_credits(
            &self.state.db,
            &self.state.clock,
            clara_backend::services::ledger::Movement {
                user_id: user_id.to_string(),
                credits: hundredths,
                fiat_cents: hundredths / 100,
                description: "Test credit.".into(),
                stripe_session_id: None,
                expected_balance: None,
            },
        )
        .await
        .expect("credit");
        // As the purchase path does after its commit.
        self.state.auth_cache.forget(user_id).await;
    }

    /// Posts a raw webhook body with an optional `Stripe-Signature`.
    pub async fn webhook(&self, path: &str, payload: &[u8], signature: Option<&str>) -> Reply {
        let mut headers = vec![("Content-Type", "application/json; charset=utf-8")];
        if let Some(signature) = signature {
            headers.push(("Stripe-Signature", signature));
        }
        self.raw(Method::POST, &format!("/api/v1{path}"), &headers, Some(poem::Body::from_vec(payload.to_vec()))).await
    }

    /// Posts an event signed now with the test webhook secret.
    pub async fn signed_webhook(&self, event: &Value) -> Reply {
        let payload = serde_json::to_vec(event).unwrap();
        let header = stripe::signature(stripe::WEBHOOK_SECRET, stripe::now_secs(), &payload);
        self.webhook("/stripe/webhook", &payload, Some(&header)).await
    }
}

/// Keeps `E: Endpoint` in scope for boxed endpoints.
#[allow(dead_code)]
fn _assert_endpoint<E: Endpoint>(_: &E) {}
