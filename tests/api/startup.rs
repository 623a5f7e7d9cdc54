//! The binary's start-up and probe commands, run as an operator (or a container) would.

use std::{process::Stdio, time::Duration};

use poem::listener::{Acceptor, Listener, TcpListener};

use crate::support::*;

async fn run_binary(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_clara-backend"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("the binary starts");
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output()).await.expect("exits").unwrap()
}

#[tokio::test]
async fn without_ca_certificates_the_start_says_so_and_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    // rustls reads only these when they are set: an empty bundle is a machine without CAs.
    let empty_bundle = dir.path().join("empty.pem");
    std::fs::write(&empty_bundle, "").unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("clara.db").display());
    let output = run_binary(
        &["serve"],
        &[
            ("DATABASE_URL", &database),
            ("PORT", "0"),
            ("SSL_CERT_FILE", empty_bundle.to_str().unwrap()),
            ("SSL_CERT_DIR", dir.path().to_str().unwrap()),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refuses to start; stderr: {stderr}");
    assert!(stderr.contains("no CA certificates found"), "says what is missing: {stderr}");
    assert!(stderr.contains("ca-certificates") && stderr.contains("SSL_CERT_FILE"), "says how to fix it: {stderr}");
}

#[tokio::test]
async fn healthcheck_exits_0_while_the_server_answers_and_1_once_it_is_gone() {
    let app = TestApp::new().await;
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async {
        stopped.await.ok();
    }));
    // Plain HTTP to itself: it needs no CA certificates (a minimal image may lack them).
    let dir = tempfile::tempdir().unwrap();
    let empty_bundle = dir.path().join("empty.pem");
    std::fs::write(&empty_bundle, "").unwrap();
    let no_cas = [("SSL_CERT_FILE", empty_bundle.to_str().unwrap()), ("SSL_CERT_DIR", dir.path().to_str().unwrap())];
    let up = run_binary(&["healthcheck"], &[("PORT", &port), no_cas[0], no_cas[1]]).await;
    assert!(up.status.success(), "healthy: {}", String::from_utf8_lossy(&up.stderr));
    stop.send(()).unwrap();
    server.await.unwrap().expect("the server stops cleanly");
    let down = run_binary(&["healthcheck"], &[("PORT", &port)]).await;
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(!down.status.success(), "a stopped server is unhealthy");
    assert!(stderr.contains("clara-backend healthcheck:"), "says why: {stderr}");
}

/// `serve` with `env` must refuse to start, naming `variable` on stderr.
async fn refuses_to_serve(args: &[&str], env: &[(&str, &str)], variable: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("clara.db").display());
    let mut env: Vec<(&str, &str)> = env.to_vec();
    if !env.iter().any(|(name, _)| *name == "DATABASE_URL") {
        env.push(("DATABASE_URL", &database));
    }
    env.push(("PORT", "0"));
    let output = run_binary(args, &env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{env:?}: refuses to start; stderr: {stderr}");
    assert!(stderr.contains(variable), "{env:?}: names {variable}: {stderr}");
}

// A sandbox next to real infrastructure: its token minter and mailbox would open every
// account of a real database, to anyone who can reach it. The values are never connected
// to: the start is refused while the settings are read.
#[tokio::test]
async fn the_sandbox_refuses_a_postgres_database_a_redis_url_or_a_reachable_host() {
    let secret = "s".repeat(32);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("DATABASE_URL", "postgres://clara@127.0.0.1:5432/clara"), ("JWT_SECRET", &secret)], "DATABASE_URL"),
        (&[("REDIS_URL", "redis://127.0.0.1:6379")], "REDIS_URL"),
        (&[("HOST", "0.0.0.0"), ("JWT_SECRET", &secret)], "HOST"),
        (&[("HOST", "::"), ("JWT_SECRET", &secret)], "HOST"),
    ];
    for (env, variable) in cases {
        refuses_to_serve(&["serve", "--sandbox"], env, variable).await;
    }
}

// A 2-character METRICS_TOKEN fell to guessing in 0.4 s.
#[tokio::test]
async fn a_metrics_token_shorter_than_32_characters_refuses_the_start() {
    refuses_to_serve(&["serve"], &[("METRICS_TOKEN", &"t".repeat(31))], "METRICS_TOKEN").await;
}
