//! The MCP server at `/mcp`: rmcp's Streamable HTTP transport, stateless (no per-process
//! sessions, so any server process can answer any request), mounted in the poem app
//! behind the same bearer credentials as the REST API. Each tool calls the service
//! function its REST route calls and returns the same JSON.

use std::sync::Arc;

use base64::Engine;
use http_body_util::BodyExt;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::types::ToJSON;
use rmcp::{
    ErrorData, ServerHandler,
    handler::server::{tool::Extension, wrapper::Parameters},
    model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    api::{error::ApiError, models},
    domain::{hundredths_to_number, parse_hundredths},
    services::{ServiceError, billing, ledger, tasks},
    state::AppState,
};

/// Who the request's bearer token belongs to; put on the HTTP request for the tools.
#[derive(Clone, Debug)]
struct McpCaller {
    user_id: String,
    /// The request's span while traces are exported (`Span::none()` otherwise). rmcp runs
    /// the tool on tasks it spawns; rmcp 3.11 happens to carry its own `serve_inner` span
    /// (a child of this one) into them, but the tool span is put under this one explicitly
    /// so that the tool's trace does not hang on that detail of rmcp.
    span: tracing::Span,
}

#[derive(Clone)]
pub struct ClaraMcp {
    state: AppState,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PageArgs {
    /// How many to return, 1 to 100 (default 20).
    pub limit: Option<u64>,
    /// How many of the newest to skip (default 0).
    pub offset: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TransactionArgs {
    /// The transaction id, `transaction_…`.
    pub transaction_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TaskArgs {
    /// The task id, `task_…`.
    pub task_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// The task id, `task_…`.
    pub task_id: String,
    /// How long to wait at most, in seconds (1 to 60; 30 when left out).
    pub timeout_secs: Option<u64>,
}

/// Longest `wait_for_task` trusts the task's event wake-up without reading the row again
/// (a wake-up lost to a database hiccup costs this much at most).
const WAIT_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest a `wait_for_task` call holds its request.
pub const MAX_WAIT_SECS: u64 = 60;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AnalysisFile {
    /// The file name with its extension, e.g. `photo.jpg` or `report.pdf`.
    pub name: String,
    /// The file's bytes, base64-encoded.
    pub content_base64: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AnalysisArgs {
    /// The claim, question or URL to fact-check.
    pub text: Option<String>,
    /// Files to check (see supported_attachments), at most 5 by default.
    pub files: Option<Vec<AnalysisFile>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CheckoutArgs {
    /// US dollars to spend, at most two decimals, inside a band of get_credit_rate.
    pub amount: f64,
    /// Path on the web app to come back to after paying, e.g. `/billing` (default: none).
    pub return_path: Option<String>,
}

type ToolResult = Result<CallToolResult, ErrorData>;

/// A domain error as a tool error carrying the envelope (message, status, code).
fn tool_error(err: impl Into<ApiError>) -> ToolResult {
    let err: ApiError = err.into();
    let body = err.body();
    let envelope = json!({"data": null, "message": body.message, "status": "error", "code": body.code});
    let mut result = CallToolResult::error(vec![ContentBlock::text(body.message.clone())]);
    result.structured_content = Some(envelope);
    Ok(result)
}

fn ok(data: Value) -> ToolResult {
    Ok(CallToolResult::structured(data))
}

fn page(args: &PageArgs) -> Result<(u64, u64), ServiceError> {
    let limit = args.limit.unwrap_or(20);
    let offset = args.offset.unwrap_or(0);
    if !(1..=100).contains(&limit) || offset > (1 << 53) - 1 {
        return Err(ServiceError::InvalidInput("limit or offset"));
    }
    Ok((limit, offset))
}

impl ClaraMcp {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The caller's current row (balances move between calls).
    async fn user(&self, parts: &http::request::Parts) -> Result<entity::users::Model, ApiError> {
        let caller = parts.extensions.get::<McpCaller>().ok_or_else(ApiError::unauthorized)?;
        Ok(crate::services::users::find_user(&self.state, &caller.user_id).await?)
    }

    async fn active_user(&self, parts: &http::request::Parts) -> Result<entity::users::Model, ApiError> {
        let user = self.user(parts).await?;
        if user.is_active { Ok(user) } else { Err(ApiError::not_active()) }
    }
}

#[tool_router]
impl ClaraMcp {
    #[tool(description = "Get the signed-in Clara user: id, e-mail, names, credit balance, activation and 2FA state.")]
    async fn get_user(&self, Extension(parts): Extension<http::request::Parts>) -> ToolResult {
        match self.user(&parts).await {
            Ok(user) => ok(models::User::from(&user).to_json().unwrap_or_default()),
            Err(err) => tool_error(err),
        }
    }

    #[tool(description = "List the user's credit transactions (purchases, analysis debits, refunds), newest first, \
                          with the total count.")]
    async fn list_transactions(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<PageArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let (limit, offset) = page(&args)?;
            let (rows, total) = ledger::list(&self.state.db, &user.id, limit, offset).await?;
            let items: Vec<Value> =
                rows.iter().map(|t| crate::views::transaction(t).to_json().unwrap_or_default()).collect();
            Ok::<_, ApiError>(json!({"transactions": items, "total": total}))
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "Get one of the user's credit transactions by id.")]
    async fn get_transaction(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<TransactionArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let row = ledger::find(&self.state.db, &user.id, &args.transaction_id).await?;
            Ok::<_, ApiError>(crate::views::transaction(&row).to_json().unwrap_or_default())
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "List the user's fact-checking analyses (tasks), newest first, with the total count.")]
    async fn list_tasks(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<PageArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let (limit, offset) = page(&args)?;
            let (rows, total) = tasks::list(&self.state.db, &user.id, limit, offset).await?;
            let items: Vec<Value> = rows.iter().map(|t| crate::views::task(t).to_json().unwrap_or_default()).collect();
            Ok::<_, ApiError>(json!({"tasks": items, "total": total}))
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "Get one analysis by id. Poll it after start_analysis: status goes PENDING, RUNNING, then \
                          COMPLETED (with result: verdict, confidence, summary, findings, sources, citations) or \
                          FAILED (with error; the credits are refunded). steps shows what the agent did so far; \
                          wait_for_task saves polling.")]
    async fn get_task(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<TaskArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let row = tasks::find(&self.state.db, &user.id, &args.task_id).await?;
            Ok::<_, ApiError>(crate::views::task(&row).to_json().unwrap_or_default())
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "Wait for an analysis to finish (COMPLETED or FAILED) and return it, instead of polling \
                          get_task: waits up to timeout_secs (at most 60, default 30) and returns the task as it is \
                          then; call again if it is still PENDING or RUNNING. Its steps show what the agent did.")]
    async fn wait_for_task(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<WaitArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let wait = std::time::Duration::from_secs(args.timeout_secs.unwrap_or(30).clamp(1, MAX_WAIT_SECS));
            let deadline = tokio::time::Instant::now() + wait;
            // Woken by the task's events (written by whichever instance runs it), not polled.
            let subscription = self.state.task_events.subscribe(&self.state.db, &args.task_id);
            loop {
                let woken = subscription.notify.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let row = tasks::find(&self.state.db, &user.id, &args.task_id).await?;
                let finished = row.status == tasks::COMPLETED || row.status == tasks::FAILED;
                if finished || tokio::time::Instant::now() >= deadline {
                    return Ok::<_, ApiError>(crate::views::task(&row).to_json().unwrap_or_default());
                }
                let recheck = deadline.min(tokio::time::Instant::now() + WAIT_RECHECK);
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep_until(recheck) => {}
                }
            }
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "The file extensions start_analysis accepts, by kind (audio, image, pdf, video).")]
    async fn supported_attachments(&self, Extension(parts): Extension<http::request::Parts>) -> ToolResult {
        if let Err(err) = self.user(&parts).await {
            return tool_error(err);
        }
        let supported = tasks::supported(&self.state);
        use crate::domain::attachments::Category;
        let list = |c| supported.extensions(c).to_vec();
        ok(json!({
            "audio": list(Category::Audio), "image": list(Category::Image),
            "pdf": list(Category::Pdf), "video": list(Category::Video),
        }))
    }

    #[tool(description = "Start a fact-checking analysis of a claim, question or URL (text) and/or files (base64 \
                          with their names). Costs credits (20 by default), refunded if it fails. Returns the task \
                          at PENDING; poll get_task for the verdict.")]
    async fn start_analysis(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<AnalysisArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            if self.state.agent.is_none() {
                return Err(ServiceError::NotConfigured("AGENT_API_BASE and AGENT_MODEL").into());
            }
            let files = args.files.unwrap_or_default();
            let text = args.text.filter(|t| !t.trim().is_empty());
            if files.len() > self.state.config.analyses.max_attachments
                || (text.is_none() && files.is_empty())
                || text.as_ref().is_some_and(|t| t.len() > tasks::MAX_TEXT_BYTES)
            {
                return Err(ApiError::invalid_parameters());
            }
            let read = async |dir: &std::path::Path| {
                let mut stored = vec![];
                for (index, file) in files.iter().enumerate() {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(file.content_base64.trim())
                        .map_err(|_| ServiceError::InvalidInput("content_base64"))?;
                    stored.push(tasks::store_attachment(&self.state, dir, index, &file.name, &bytes[..]).await?);
                }
                Ok::<_, ApiError>((text, stored))
            };
            let task = tasks::start_analysis(&self.state, &user, read).await?;
            Ok(crate::views::task(&task).to_json().unwrap_or_default())
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "The credit price bands: which US dollar amounts can be bought (lower_limit to upper_limit) \
                          and how many credits a dollar buys in each (rate).")]
    async fn get_credit_rate(&self, Extension(parts): Extension<http::request::Parts>) -> ToolResult {
        if let Err(err) = self.user(&parts).await {
            return tool_error(err);
        }
        let bands: Vec<Value> = self
            .state
            .config
            .billing
            .credit_bands
            .all()
            .iter()
            .map(|b| models::Rate::from(b).to_json().unwrap_or_default())
            .collect();
        ok(json!({"rates": bands}))
    }

    #[tool(description = "Create a Stripe Checkout link for buying credits with US dollars. Give the link to the \
                          user; the credits arrive once they pay.")]
    async fn create_checkout_link(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<CheckoutArgs>,
    ) -> ToolResult {
        let run = async {
            let user = self.active_user(&parts).await?;
            let cents = serde_json::Number::from_f64(args.amount)
                .and_then(|n| parse_hundredths(&n).ok())
                .ok_or_else(ApiError::invalid_parameters)?;
            let return_path = args.return_path.unwrap_or_default();
            let checkout = billing::buy(&self.state, &user, cents, &return_path).await?;
            Ok::<_, ApiError>(json!({
                "url": checkout.url,
                "value_in_credits": hundredths_to_number(checkout.credits),
                "value_in_fiat": hundredths_to_number(checkout.cents),
                "return_path": return_path,
            }))
        };
        run.await.map_or_else(tool_error, ok)
    }

    #[tool(description = "Check that the Clara service and its database are up.")]
    async fn health(&self) -> ToolResult {
        use sea_orm::ConnectionTrait;
        match self.state.db.execute_unprepared("SELECT 1").await {
            Ok(_) => ok(json!({"service": "clara-backend", "status": "healthy"})),
            Err(_) => tool_error(ApiError::database_unavailable()),
        }
    }

    #[tool(description = "The Clara server's version.")]
    async fn version(&self) -> ToolResult {
        ok(json!({"version": env!("CARGO_PKG_VERSION")}))
    }
}

#[tool_handler]
impl ServerHandler for ClaraMcp {
    /// The router's call, inside a `tools/call <tool>` span under the request's span (with
    /// traces on): the trace names the tool, and its queries and outbound calls are under it.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        use tracing::Instrument;
        let parent = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpCaller>())
            .map_or_else(tracing::Span::none, |caller| caller.span.clone());
        let span = if parent.is_none() {
            tracing::Span::none()
        } else {
            tracing::info_span!(
                parent: &parent,
                "mcp tool",
                otel.name = %format!("tools/call {}", request.name),
                "mcp.method.name" = "tools/call",
                "gen_ai.tool.name" = %request.name,
            )
        };
        let call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        Self::tool_router().call(call).instrument(span).await
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("clara-backend", env!("CARGO_PKG_VERSION")).with_title("Clara"))
            .with_instructions(
                "Clara fact-checks claims, posts and files against evidence it retrieves, and cites only that. \
                 Use start_analysis to check something, then wait_for_task (or get_task) until it is COMPLETED. Analyses cost credits: see get_user for the balance, get_credit_rate and \
                 create_checkout_link to buy more.",
            )
    }
}

/// The `/mcp` endpoint: authenticates the bearer token (401 in the envelope before any
/// MCP processing), then hands the request to rmcp.
pub struct McpEndpoint {
    state: AppState,
    service: StreamableHttpService<ClaraMcp, NeverSessionManager>,
}

impl McpEndpoint {
    pub fn new(state: AppState) -> Self {
        let handler_state = state.clone();
        let mut config = StreamableHttpServerConfig::default().disable_allowed_hosts();
        // Stateless and plain JSON: any process can answer any request.
        config.legacy_session_mode = false;
        config.json_response = true;
        config.max_request_body_bytes = state.config.http.json_body_limit;
        let service = StreamableHttpService::new(
            move || Ok(ClaraMcp::new(handler_state.clone())),
            Arc::new(NeverSessionManager::default()),
            config,
        );
        Self { state, service }
    }
}

impl Endpoint for McpEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let user = match crate::api::credentials::bearer_claims(&self.state.tokens, &req) {
            Some(claims) => match crate::services::authenticate::bearer(&self.state, &claims).await {
                Ok(user) => Some(user),
                // Not the caller's fault: a 503 to retry, as the REST routes answer.
                Err(err @ ServiceError::DatabaseUnavailable(_)) => return Ok(ApiError::from(err).into_response()),
                Err(_) => None,
            },
            None => None,
        };
        let Some(user) = user else {
            let mut response = ApiError::unauthorized().into_response();
            response.headers_mut().insert("WWW-Authenticate", http::HeaderValue::from_static("Bearer"));
            return Ok(response);
        };
        crate::api::middleware::record_user(&req, &user.id);
        let mut req = req;
        let bytes = req.take_body().into_bytes().await.map_err(|_| ApiError::empty_body())?;
        let mut request = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .body(http_body_util::Full::new(bytes))
            .map_err(|_| ApiError::invalid_parameters())?;
        *request.headers_mut() = req.headers().clone();
        let span = if crate::telemetry::enabled() { tracing::Span::current() } else { tracing::Span::none() };
        request.extensions_mut().insert(McpCaller { user_id: user.id, span });
        let response = self.service.handle(request).await;
        Ok(Response::from(response.map(|body| body.map_err(|never| -> std::io::Error { match never {} }))))
    }
}
