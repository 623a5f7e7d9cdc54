//! OpenTelemetry traces, end to end: the app exports over OTLP/HTTP to a receiver on
//! 127.0.0.1 that decodes what arrives with the OpenTelemetry protobuf types. A purchase
//! that calls a fake Stripe (also on 127.0.0.1) comes with a caller's `traceparent`; a
//! worker runs an analysis against a fake model provider; an MCP tool reads the database.
//!
//! Its own test binary: the tracing subscriber, the propagator and the exporter are
//! process-wide, and the exporter's endpoint comes from the environment. One test only,
//! so that nothing else in this process reads the environment while it is set.

#[allow(dead_code, unused_imports)]
#[path = "../api/support/mod.rs"]
mod support;

mod mcp;
mod purchase;
mod receiver;
mod task_run;

use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

#[test]
fn requests_task_runs_and_mcp_tools_are_traced() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(traces());
}

async fn traces() {
    let (endpoint, received) = receiver::start().await;
    // SAFETY: the only test in this binary, and nothing else here reads the environment yet.
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
        std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        std::env::remove_var("OTEL_SERVICE_NAME");
        std::env::remove_var("OTEL_SDK_DISABLED");
        std::env::remove_var("OTEL_TRACES_SAMPLER");
    }
    let (layer, guard) = clara_backend::telemetry::init::<tracing_subscriber::Registry>()
        .expect("the exporter builds")
        .expect("an endpoint is set, so there is a layer");
    tracing_subscriber::registry().with(layer).init();
    assert!(clara_backend::telemetry::enabled());

    purchase::check(&received, &guard).await;
    task_run::check(&received, &guard).await;
    mcp::check(&received, &guard).await;

    // Shutting the exporter down blocks until its thread is done.
    tokio::task::block_in_place(|| drop(guard));
}
