//! MCP at /mcp, driven by the rmcp SDK's own client over real HTTP.

use base64::Engine;
use poem::{
    Server,
    http::Method,
    listener::{Acceptor, Listener, TcpListener},
};
use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig},
};
use serde_json::{Value, json};

use crate::support::{provider::PNG, *};

const TOOLS: [&str; 12] = [
    "create_checkout_link",
    "get_credit_rate",
    "get_task",
    "get_transaction",
    "get_user",
    "health",
    "list_tasks",
    "list_transactions",
    "start_analysis",
    "supported_attachments",
    "version",
    "wait_for_task",
];

/// Serves the app on a real port; returns the MCP URL.
async fn serve(app: &TestApp) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("address").port();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(clara_backend::app(app.state.clone())));
    format!("http://127.0.0.1:{port}/mcp")
}

async fn connect(url: &str, bearer: Option<&str>) -> Result<RunningService<RoleClient, ()>, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(bearer) = bearer {
        config = config.auth_header(bearer.trim_start_matches("Bearer ").to_string());
    }
    ().serve(StreamableHttpClientTransport::from_config(config)).await.map_err(|e| e.to_string())
}

async fn call(client: &RunningService<RoleClient, ()>, name: &'static str, arguments: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name);
    if let Value::Object(map) = arguments {
        params = params.with_arguments(map);
    }
    client.call_tool(params).await.unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The structured content of a successful call, checked against its text copy.
#[track_caller]
fn data(result: &CallToolResult) -> Value {
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let structured = result.structured_content.clone().expect("structured content");
    let text = result.content[0].as_text().expect("a text copy").text.clone();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), structured);
    structured
}

#[tokio::test]
async fn both_token_kinds_initialize_and_see_every_tool() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("mcp@example.com").await;
    let key = app.get(&format!("/users/{user_id}/api_key"), Some(&bearer)).await;
    let key = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    let url = serve(&app).await;
    let names = regex::Regex::new(r"^[a-zA-Z0-9_-]{1,64}$").unwrap();
    for credential in [&bearer, &key] {
        let client = connect(&url, Some(credential)).await.expect("initialize");
        let info = client.peer_info().expect("server info");
        assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("clara-backend"), "{info:?}");
        let tools = client.list_all_tools().await.expect("list tools");
        let mut listed: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
        listed.sort();
        assert_eq!(listed, TOOLS);
        for tool in &tools {
            assert!(names.is_match(&tool.name), "{}", tool.name);
            assert!(tool.description.as_deref().is_some_and(|d| d.len() > 20), "{}", tool.name);
            assert_eq!(tool.input_schema.get("type"), Some(&json!("object")), "{}", tool.name);
        }
        let user = data(&call(&client, "get_user", json!({})).await);
        assert_eq!(user["id"], user_id.as_str());
        client.cancel().await.ok();
    }
}

#[tokio::test]
async fn no_or_bad_credentials_are_refused_before_any_session() {
    let app = TestApp::new().await;
    let url = serve(&app).await;
    assert!(connect(&url, None).await.is_err());
    assert!(connect(&url, Some("Bearer clara_user_forged")).await.is_err());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    for auth in [None, Some("Bearer nonsense"), Some("clara_user_without_scheme")] {
        let mut headers = vec![("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth));
        }
        let reply = app.raw(Method::POST, "/mcp", &headers, Some(poem::Body::from_json(&initialize).unwrap())).await;
        reply.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
}

#[tokio::test]
async fn every_tool_answers_like_its_rest_route() {
    let stripe = stripe::start().await;
    let mut extra: Vec<(&str, String)> = stripe::env(&stripe);
    extra.push(("ADMIN_API_KEY", ADMIN_KEY.to_string()));
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (app, provider) = TestApp::with_agent(&extra).await;
    let (user_id, bearer) = app.active_user("tools@example.com").await;
    app.give_credits(&user_id, 5_000).await;
    let url = serve(&app).await;
    let client = connect(&url, Some(&bearer)).await.expect("initialize");

    assert_eq!(data(&call(&client, "health", json!({})).await)["status"], "healthy");
    assert_eq!(data(&call(&client, "version", json!({})).await)["version"], env!("CARGO_PKG_VERSION"));
    let rates = data(&call(&client, "get_credit_rate", json!({})).await);
    assert_eq!(rates["rates"][0]["rate"], 100.0);
    let formats = data(&call(&client, "supported_attachments", json!({})).await);
    assert_eq!(formats["pdf"], json!([".pdf"]));

    let transactions = data(&call(&client, "list_transactions", json!({"limit": 5})).await);
    assert_eq!(transactions["total"], 1);
    let transaction_id = transactions["transactions"][0]["id"].as_str().unwrap().to_string();
    let one = data(&call(&client, "get_transaction", json!({"transaction_id": transaction_id})).await);
    assert_eq!(one["value_in_credits"], 50.0);

    let started = data(
        &call(
            &client,
            "start_analysis",
            json!({"text": "Is this photo real?", "files": [
                {"name": "photo.png", "content_base64": base64::engine::general_purpose::STANDARD.encode(PNG)}
            ]}),
        )
        .await,
    );
    assert_eq!(started["status"], "PENDING");
    assert_eq!(started["attachments"], json!(["photo.png"]));
    let task_id = started["id"].as_str().unwrap().to_string();
    // Before any worker runs, a short wait comes back with the task as it is.
    let waited = data(&call(&client, "wait_for_task", json!({"task_id": task_id, "timeout_secs": 1})).await);
    assert_eq!(waited["status"], "PENDING");
    let workers = app.start_workers();
    let finished = data(&call(&client, "wait_for_task", json!({"task_id": task_id, "timeout_secs": 30})).await);
    workers.shutdown(std::time::Duration::from_secs(30)).await;
    assert_eq!(finished["status"], "COMPLETED");
    assert_eq!(finished["steps"].as_array().unwrap().last().unwrap()["kind"], "conclude");
    let task = data(&call(&client, "get_task", json!({"task_id": task_id})).await);
    assert_eq!(task["status"], "COMPLETED");
    assert_eq!(task["result"]["verdict"], "FALSE");
    assert_eq!(task["result"]["citations"], json!([]));
    assert_eq!(task["steps"], finished["steps"]);
    assert_eq!(provider.chats().len(), 1);
    let tasks = data(&call(&client, "list_tasks", json!({})).await);
    assert_eq!(tasks["total"], 1);

    let checkout = data(&call(&client, "create_checkout_link", json!({"amount": 5, "return_path": "/billing"})).await);
    assert_eq!(checkout["value_in_credits"], 500.0);
    assert!(checkout["url"].as_str().unwrap().starts_with("https://checkout.stripe.test/"));
    assert_eq!(stripe.requests_to("/v1/checkout/sessions").len(), 1);
    assert_eq!(app.balance(&user_id).await, 3_000, "50 credits, one analysis of 20");
    client.cancel().await.ok();
}

#[tokio::test]
async fn domain_errors_come_back_as_tool_errors() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (_, bearer) = app.active_user("errors@example.com").await;
    let url = serve(&app).await;
    let client = connect(&url, Some(&bearer)).await.expect("initialize");
    let cases = [
        (
            "get_transaction",
            json!({"transaction_id": "transaction_00000000000000000000000000000000"}),
            "transaction_not_found",
            "Transaction with the given identifier does not exist.",
        ),
        ("get_task", json!({"task_id": "nope"}), "task_not_found", "Task with the given identifier does not exist."),
        (
            "wait_for_task",
            json!({"task_id": "nope"}),
            "task_not_found",
            "Task with the given identifier does not exist.",
        ),
        (
            "start_analysis",
            json!({"text": "A claim."}),
            "insufficient_credits",
            "You do not have enough credits to perform this action.",
        ),
        ("start_analysis", json!({}), "invalid_parameters", MSG_INVALID),
        ("list_tasks", json!({"limit": 0}), "invalid_parameters", MSG_INVALID),
        (
            "create_checkout_link",
            json!({"amount": 5}),
            "not_configured",
            "This feature is not configured on the server. Set STRIPE_SECRET_KEY and CLIENT_URL to enable it.",
        ),
    ];
    for (tool, arguments, code, message) in cases {
        let result = call(&client, tool, arguments).await;
        assert_eq!(result.is_error, Some(true), "{tool}: {result:?}");
        assert_eq!(result.content[0].as_text().unwrap().text, message, "{tool}");
        let envelope = result.structured_content.clone().unwrap();
        assert_eq!(envelope["code"], code, "{tool}");
        assert_eq!(envelope["status"], "error");
    }
    assert_eq!(app.snapshot().await[5], 0, "no task was made");
    client.cancel().await.ok();
}
