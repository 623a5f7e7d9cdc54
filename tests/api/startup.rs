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
