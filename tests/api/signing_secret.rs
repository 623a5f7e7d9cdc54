//! The signing secret: a server on PostgreSQL (or reachable from other hosts) refuses to
//! start without `JWT_SECRET`, so a read-only copy of the database cannot forge tokens.

use std::{process::Stdio, time::Duration};

#[tokio::test]
async fn the_binary_on_postgres_without_jwt_secret_refuses_to_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: had the server tried the database, it would say so.
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_clara-backend"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("PORT", "0")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let output =
        tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await.expect("exits quickly").unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refuses to start; stderr: {stderr}");
    assert!(stderr.contains("JWT_SECRET"), "names the variable: {stderr}");
    assert!(!stderr.contains("cannot open the database"), "refused before the database: {stderr}");
}
