//! The evidence-grounded loop against a scripted provider that issues tool
//! calls and a search fake on 127.0.0.1: the server runs each call and hands the result
//! back, keeps only retrieved sources, records its steps while it runs, stops at the step
//! limit, and falls back to one call for a provider that refuses tools.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    provider::{says, tool_call, verdict},
    search::FakeSearch,
    *,
};

async fn funded(app: &TestApp, email: &str) -> (String, String) {
    let (id, bearer) = app.active_user(email).await;
    app.give_credits(&id, 10_000).await;
    (id, bearer)
}

async fn start(app: &TestApp, id: &str, bearer: &str, text: &[u8]) -> String {
    let reply = app.analysis(id, bearer, &[("text", None, text)]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.data()["id"].as_str().unwrap().to_string()
}

fn result_of(task: &entity::tasks::Model) -> Value {
    serde_json::from_str(task.result.as_deref().unwrap_or("null")).unwrap()
}

fn search_env(search: &FakeSearch) -> Vec<(&'static str, String)> {
    vec![
        ("SEARCH_PROVIDER", "searxng".into()),
        ("SEARCH_API_BASE", search.url.clone()),
        ("FACT_CHECK_API_KEY", crate::support::search::GOOGLE_KEY.into()),
        ("FACT_CHECK_API_BASE", search.url.clone()),
    ]
}

#[tokio::test]
async fn searches_and_fact_checks_run_and_only_what_was_retrieved_is_cited() {
    let search = search::start().await;
    let env = search_env(&search);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (app, provider) = TestApp::with_agent(&env).await;
    let (id, bearer) = funded(&app, "evidence@example.com").await;
    let mut answer = verdict();
    answer["sources"] = json!(["https://fullfact.org/online/eiffel-tower-1999/", "https://invented.example/made-up"]);
    provider.script(Script::replies(
        vec![
            (0, tool_call("call_1", "web_search", json!({"query": "Eiffel Tower built 1999"}))),
            (0, tool_call("call_2", "fact_check_search", json!({"query": "Eiffel Tower 1999"}))),
            (0, says("The fact-check settles it.")),
            (0, says(&answer.to_string())),
        ],
        verdict(),
    ));
    let task_id = start(&app, &id, &bearer, b"The Eiffel Tower was built in 1999.").await;
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);

    // Every tool is offered, and each result went back to the model under its call id.
    let chats = provider.chats();
    assert_eq!(chats.len(), 4);
    let offered: Vec<&str> =
        chats[0]["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(offered, ["fetch_url", "web_search", "fact_check_search"]);
    let tool_messages: Vec<&Value> =
        chats[2]["messages"].as_array().unwrap().iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_messages[0]["tool_call_id"], "call_1");
    assert!(tool_messages[0]["content"].as_str().unwrap().contains("https://en.wikipedia.org/wiki/Eiffel_Tower"));
    assert_eq!(tool_messages[1]["tool_call_id"], "call_2");
    let checks = tool_messages[1]["content"].as_str().unwrap();
    assert!(checks.contains("Full Fact rated"), "{checks}");
    // The verdict is asked for with the schema once the model stops calling tools.
    assert_eq!(chats[3]["response_format"]["type"], "json_schema");

    let result = result_of(&task);
    assert_eq!(result["sources"], json!(["https://fullfact.org/online/eiffel-tower-1999/"]));
    let citation = &result["citations"][0];
    assert_eq!(citation["url"], "https://fullfact.org/online/eiffel-tower-1999/");
    assert_eq!(citation["title"], "The Eiffel Tower was not built in 1999");
    assert!(citation["excerpt"].as_str().unwrap().contains("Full Fact rated the claim"), "{citation}");
    assert!(citation["retrieved_at"].as_str().unwrap().ends_with("GMT"));

    let view = app.get(&format!("/users/{id}/tasks/{task_id}"), Some(&bearer)).await;
    let kinds: Vec<&str> =
        view.data()["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["search", "search", "reason", "reason", "conclude"], "{}", view.data()["steps"]);
    let dropped = &view.data()["steps"][3]["detail"];
    assert!(dropped.as_str().unwrap().contains("https://invented.example/made-up"), "{dropped}");
    assert_eq!((task.prompt_tokens, task.completion_tokens), (400, 80), "usage of the four calls is kept");
}

#[tokio::test]
async fn the_step_limit_ends_the_loop_with_a_verdict() {
    let search = search::start().await;
    let env = search_env(&search);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("AGENT_MAX_STEPS", "2"));
    let (app, provider) = TestApp::with_agent(&env).await;
    let (id, bearer) = funded(&app, "limit@example.com").await;
    let endless: Vec<(u64, Value)> = (0..10)
        .map(|n| (0, tool_call(&format!("call_{n}"), "web_search", json!({"query": format!("q{n}")}))))
        .collect();
    provider.script(Script::replies(endless, verdict()));
    let task_id = start(&app, &id, &bearer, b"A claim that needs endless searching.").await;
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    // Two tool rounds, then the verdict request (whose scripted reply is another tool call:
    // not a verdict, so the task fails; the point is that the loop stopped at two).
    let chats = provider.chats();
    assert_eq!(chats.len(), 3, "two rounds and the verdict request");
    assert!(chats[2]["response_format"].is_object());
    assert_eq!(chats[2]["tool_choice"], "none");
    let steps = clara_backend::services::steps::of(&task);
    assert!(steps.iter().any(|s| s.detail.contains("Step limit (2) reached")), "{steps:?}");
    assert_eq!(search.requests().len(), 2);
}

#[tokio::test]
async fn a_provider_that_refuses_tools_gets_one_call_with_the_evidence() {
    let search = search::start().await;
    let env = search_env(&search);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (app, provider) = TestApp::with_agent(&env).await;
    provider.script(Script::RefusesTools(verdict()));
    let (id, bearer) = funded(&app, "notools@example.com").await;
    let first = start(&app, &id, &bearer, b"The Eiffel Tower was completed in 1889.").await;
    let workers = app.start_workers();
    let task = app.finished_task(&first).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    let chats = provider.chats();
    assert_eq!(chats.len(), 2, "refused once, then one call");
    assert!(chats[0].get("tools").is_some() && chats[1].get("tools").is_none());
    // The server searched for the text itself and handed the results over.
    let last = chats[1]["messages"].as_array().unwrap().iter().rev().nth(1).unwrap()["content"].as_str().unwrap();
    assert!(last.contains("Evidence the server gathered") && last.contains("en.wikipedia.org"), "{last}");
    assert_eq!(clara_backend::services::steps::of(&task)[0].kind, clara_backend::services::steps::StepKind::Search);

    // Remembered: the next task is not offered tools at all.
    let second = start(&app, &id, &bearer, b"Another claim.").await;
    assert_eq!(app.finished_task(&second).await.status, "COMPLETED");
    workers.shutdown(Duration::from_secs(30)).await;
    let chats = provider.chats();
    assert_eq!(chats.len(), 3);
    assert!(chats[2].get("tools").is_none());
}

#[tokio::test]
async fn tools_off_makes_one_call() {
    let (app, provider) = TestApp::with_agent(&[("AGENT_TOOLS", "off")]).await;
    let (id, bearer) = funded(&app, "off@example.com").await;
    let task_id = start(&app, &id, &bearer, b"A claim.").await;
    let workers = app.start_workers();
    assert_eq!(app.finished_task(&task_id).await.status, "COMPLETED");
    workers.shutdown(Duration::from_secs(30)).await;
    let chats = provider.chats();
    assert_eq!(chats.len(), 1);
    assert!(chats[0].get("tools").is_none());
    assert_eq!(chats[0]["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn steps_are_visible_while_the_task_runs() {
    let search = search::start().await;
    let env = search_env(&search);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (app, provider) = TestApp::with_agent(&env).await;
    let (id, bearer) = funded(&app, "running@example.com").await;
    provider.script(Script::replies(
        vec![
            (0, tool_call("call_1", "web_search", json!({"query": "slow claim"}))),
            (1_500, says(&verdict().to_string())),
        ],
        verdict(),
    ));
    let task_id = start(&app, &id, &bearer, b"A slow claim.").await;
    let workers = app.start_workers();
    let mut seen_running = None;
    for _ in 0..100 {
        let view = app.get(&format!("/users/{id}/tasks/{task_id}"), Some(&bearer)).await;
        if view.data()["status"] == "RUNNING" && !view.data()["steps"].as_array().unwrap().is_empty() {
            seen_running = Some(view.data()["steps"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let steps = seen_running.expect("a RUNNING task shows its steps");
    assert_eq!(steps[0]["kind"], "search");
    assert_eq!(steps[0]["detail"], "slow claim");
    assert_eq!(app.finished_task(&task_id).await.status, "COMPLETED");
    workers.shutdown(Duration::from_secs(30)).await;
}

#[test]
fn agent_settings_are_checked() {
    use std::collections::HashMap;

    use clara_backend::config::Config;
    let parse = |extra: &[(&str, &str)]| {
        let mut vars: HashMap<String, String> = [("AGENT_API_BASE", "http://127.0.0.1:1/v1"), ("AGENT_MODEL", "m")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_map(&vars)
    };
    for (name, value) in
        [("AGENT_TOOLS", "sometimes"), ("AGENT_MAX_STEPS", "0"), ("AGENT_MAX_STEPS", "21"), ("AGENT_MAX_STEPS", "x")]
    {
        assert_eq!(parse(&[(name, value)]).unwrap_err().variable, name, "{value}");
    }
    let agent = parse(&[]).unwrap().agent.provider.unwrap();
    assert_eq!(agent.max_steps, clara_backend::config::DEFAULT_AGENT_MAX_STEPS);
    assert_eq!(agent.tools, clara_backend::config::ToolsMode::Auto);
}

#[tokio::test]
async fn operators_see_each_analysis_with_its_token_usage() {
    let (app, provider) = TestApp::with_agent(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let (id, bearer) = funded(&app, "usage@example.com").await;
    let (other, other_bearer) = funded(&app, "other@example.com").await;
    provider.script(Script::replies(
        vec![(0, tool_call("call_1", "fetch_url", json!({}))), (0, says(&verdict().to_string()))],
        verdict(),
    ));
    let task_id = start(&app, &id, &bearer, b"A claim.").await;
    let workers = app.start_workers();
    app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    // Queued only after the first has run: the provider's script is for one task (two
    // tasks run at once would share its answers, as CI saw once).
    start(&app, &other, &other_bearer, b"Another claim.").await;

    let page = app.get(&format!("/tasks?user_id={id}"), Some(ADMIN_KEY)).await;
    page.assert_success(200, "Tasks fetched successfully.");
    assert_eq!(page.total_count(), 1);
    let row = &page.data()[0];
    assert_eq!(row["id"], task_id.as_str());
    assert_eq!(row["status"], "COMPLETED");
    assert_eq!((row["prompt_tokens"].as_i64(), row["completion_tokens"].as_i64()), (Some(200), Some(40)));
    assert_eq!(row["attempts"], 1);
    assert!(row["steps"].as_u64().unwrap() >= 2, "{row}");
    assert_eq!(app.get("/tasks", Some(ADMIN_KEY)).await.total_count(), 2);

    app.get("/tasks", Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get("/tasks?limit=0", Some(ADMIN_KEY)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
}

/// Pages on 127.0.0.1: an article with boilerplate, a huge page, a redirect loop, a slow
/// page and a 404; records each request.
mod pages {
    use std::sync::{Arc, Mutex};

    use poem::{
        EndpointExt, Response, Route, Server, handler,
        http::StatusCode,
        listener::{Acceptor, Listener, TcpListener},
        web::{Data, Path},
    };

    pub const ARTICLE: &str = "<!doctype html><html><head><title>Tower records</title><script>var tracker = 'SCRIPT-NOISE';</script></head>\
<body><nav>NAV-NOISE Home About Subscribe</nav><article><h1>Tower records</h1><p>The Eiffel Tower was completed in March 1889 \
for the World's Fair, after two years of construction by Gustave Eiffel's company.</p><p>It was the tallest structure in the world \
until 1930, and it remains the most visited paid monument.</p></article><footer>FOOTER-NOISE cookie settings</footer></body></html>";

    #[handler]
    async fn page(Path(name): Path<String>, seen: Data<&Arc<Mutex<Vec<String>>>>) -> Response {
        seen.lock().unwrap().push(name.clone());
        match name.as_str() {
            "article" => Response::builder().content_type("text/html; charset=utf-8").body(ARTICLE),
            "huge" => Response::builder().content_type("text/plain").body("All work and no play. ".repeat(20_000)),
            "loop-a" => Response::builder().status(StatusCode::FOUND).header("Location", "/loop-b").finish(),
            "loop-b" => Response::builder().status(StatusCode::FOUND).header("Location", "/loop-a").finish(),
            "slow" => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                Response::builder().content_type("text/plain").body("late")
            }
            _ => Response::builder().status(StatusCode::NOT_FOUND).body("no such page"),
        }
    }

    pub struct Pages {
        pub base: String,
        pub seen: Arc<Mutex<Vec<String>>>,
    }

    pub async fn start() -> Pages {
        let seen = Arc::new(Mutex::new(vec![]));
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind pages");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/:name", poem::get(page)).data(seen.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Pages { base: format!("http://127.0.0.1:{port}"), seen }
    }
}

fn tool_contents(chat: &Value) -> Vec<String> {
    chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pages_are_fetched_read_without_boilerplate_and_cited_and_failures_are_tool_results() {
    let pages = pages::start().await;
    let (app, provider) = TestApp::with_agent(&[
        ("FETCH_ALLOW_PRIVATE_NETWORKS", "true"),
        ("FETCH_MAX_BYTES", "4096"),
        ("FETCH_TIMEOUT_SECS", "1"),
    ])
    .await;
    let (id, bearer) = funded(&app, "pages@example.com").await;
    let base = &pages.base;
    let mut answer = verdict();
    answer["sources"] = json!([format!("{base}/article"), format!("{base}/huge")]);
    provider.script(Script::replies(
        vec![
            (0, tool_call("c1", "fetch_url", json!({"url": format!("{base}/huge")}))),
            (0, tool_call("c2", "fetch_url", json!({"url": format!("{base}/loop-a")}))),
            (0, tool_call("c3", "fetch_url", json!({"url": format!("{base}/slow")}))),
            (0, tool_call("c4", "fetch_url", json!({"url": format!("{base}/missing")}))),
            (0, says(&answer.to_string())),
        ],
        verdict(),
    ));
    let text = format!("Was it finished in 1889? See {base}/article for the record.");
    let task_id = start(&app, &id, &bearer, text.as_bytes()).await;
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "failed fetches are tool results, not task failures: {:?}", task.error);

    // The URL in the text was fetched before the first model call, without its boilerplate.
    let chats = provider.chats();
    let first = chats[0]["messages"][1]["content"].to_string();
    assert!(first.contains("completed in March 1889"), "{first}");
    for noise in ["SCRIPT-NOISE", "NAV-NOISE", "FOOTER-NOISE"] {
        assert!(!first.contains(noise), "{noise} reached the model: {first}");
    }
    // Each failure came back to the model as its tool result.
    let results = tool_contents(&chats[4]);
    assert_eq!(results.len(), 4);
    assert!(results[0].contains("[cut]") && results[0].len() < 6_000, "the huge page is cut: {}", results[0].len());
    assert!(results[1].starts_with("Could not retrieve") && results[1].contains("loop"), "{}", results[1]);
    assert!(results[2].starts_with("Could not retrieve") && results[2].contains("took longer"), "{}", results[2]);
    assert!(results[3].starts_with("Could not retrieve") && results[3].contains("404"), "{}", results[3]);

    let result = result_of(&task);
    assert_eq!(result["sources"], json!([format!("{base}/article"), format!("{base}/huge")]));
    let citation = &result["citations"][0];
    assert_eq!(citation["title"], "Tower records");
    assert!(citation["excerpt"].as_str().unwrap().contains("completed in March 1889"), "{citation}");
    let fetches = clara_backend::services::steps::of(&task)
        .into_iter()
        .filter(|s| s.kind == clara_backend::services::steps::StepKind::Fetch)
        .count();
    assert_eq!(fetches, 5);
}

#[tokio::test]
async fn private_addresses_are_refused_as_tool_results_and_never_reached() {
    let pages = pages::start().await;
    let (app, provider) = TestApp::with_agent(&[]).await; // FETCH_ALLOW_PRIVATE_NETWORKS off
    let (id, bearer) = funded(&app, "ssrf@example.com").await;
    let base = &pages.base;
    provider.script(Script::replies(
        vec![
            (0, tool_call("c1", "fetch_url", json!({"url": format!("{base}/article")}))),
            (0, tool_call("c2", "fetch_url", json!({"url": "file:///etc/passwd"}))),
            (0, says(&verdict().to_string())),
        ],
        verdict(),
    ));
    let text = format!("Look at http://localhost:{}/article please", base.rsplit(':').next().unwrap());
    let task_id = start(&app, &id, &bearer, text.as_bytes()).await;
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    assert!(pages.seen.lock().unwrap().is_empty(), "no request reached the loopback page server");
    let chats = provider.chats();
    let first = chats[0]["messages"][1]["content"].to_string();
    // A refusal says why without naming the address a name resolved to.
    assert!(first.contains("Could not retrieve http://localhost"), "{first}");
    assert!(first.contains("refused: the address is not public"), "{first}");
    assert!(!first.contains("127.0.0.1"), "{first}");
    let results = tool_contents(&chats[2]);
    assert_eq!(results[0], format!("Could not retrieve {base}/article: refused: the address is not public"));
    assert!(results[1].starts_with("Could not retrieve file:///etc/passwd"), "{}", results[1]);
    assert_eq!(result_of(&task)["sources"], json!([]));
}
