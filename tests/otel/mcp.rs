//! An MCP tool call (`get_user` over `/mcp`, which reads the caller's row): rmcp runs the
//! tool on a task of its own, and its query must still be in the request's trace.

use clara_backend::telemetry::Guard;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use poem::http::Method;
use serde_json::json;

use crate::{
    receiver::{Received, attribute, descends, in_trace, render, unhex, until},
    support::TestApp,
};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN_ID: &str = "b7ad6b7169203331";

pub async fn check(received: &Received, guard: &Guard) {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("mcp-traced@example.com").await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01");
    let call =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_user", "arguments": {}}});
    let reply = app
        .raw(
            Method::POST,
            "/mcp",
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                // rmcp refuses a request without one; the in-process client sends none.
                ("Host", "127.0.0.1"),
                ("MCP-Protocol-Version", "2025-06-18"),
                ("traceparent", traceparent.as_str()),
            ],
            Some(poem::Body::from_json(&call).unwrap()),
        )
        .await;
    assert_eq!(reply.status, 200, "body: {}", reply.body);
    assert_eq!(reply.body["result"]["structuredContent"]["id"], user_id.as_str(), "{}", reply.body);

    let trace_id = unhex(TRACE_ID);
    let tool_name = "tools/call get_user";
    let all = until(received, guard, |all| {
        let trace = in_trace(all, &trace_id);
        trace.iter().any(|s| s.kind == SpanKind::Server as i32) && trace.iter().any(|s| s.name == tool_name)
    })
    .await;
    let trace = in_trace(&all, &trace_id);
    let mut tree = String::new();
    render(&trace, &unhex(CALLER_SPAN_ID), 0, &mut tree);
    println!("MCP call, trace {TRACE_ID}:\n{tree}");

    let request = trace.iter().find(|s| s.kind == SpanKind::Server as i32).expect("the request span");
    assert_eq!(request.name, "mcp", "{tree}");
    assert_eq!(attribute(request, "user.id").as_deref(), Some(user_id.as_str()));
    // The tool: a span of its own under the request span...
    let tool = trace.iter().find(|s| s.name == tool_name).unwrap_or_else(|| panic!("no tool span:\n{tree}"));
    assert_eq!(tool.parent_span_id, request.span_id, "{tree}");
    assert_eq!(attribute(tool, "gen_ai.tool.name").as_deref(), Some("get_user"));
    assert_eq!(attribute(tool, "mcp.method.name").as_deref(), Some("tools/call"));
    // ...with the tool's query (reading the caller's row) under it.
    let query = trace.iter().find(|s| attribute(s, "db.system").is_some() && s.parent_span_id == tool.span_id);
    let query = query.unwrap_or_else(|| panic!("no query under the tool span:\n{tree}"));
    assert_eq!(attribute(query, "db.operation").as_deref(), Some("SELECT"));
    for span in trace.iter().filter(|s| s.span_id != request.span_id) {
        assert!(descends(&trace, span, request), "{} is not under the request span:\n{tree}", span.name);
    }
}
