//! Routes 18–19: what the agent can read, and starting an analysis from a multipart form
//! that is streamed to disk (memory stays bounded whatever the request's size).

use std::path::Path as FsPath;

use poem::{FromRequest, Request, RequestBody, web::Multipart};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, OpenApi,
    param::{Header, Path},
    payload::Json,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
};
use tokio::io::AsyncReadExt;

use super::outcomes::*;
use super::{
    ApiTags, error::ApiError, idempotency::idempotent, middleware::policy::upload, models::*, own_active_user,
    own_user, security::Caller,
};
use crate::{
    domain::attachments::{Category, Supported},
    services::{
        ServiceError,
        tasks::{self, MAX_TEXT_BYTES, StoredAttachment},
    },
    state::AppState,
};

pub struct AgentApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum TaskCreated {
    /// The task, at PENDING. Poll Tasks › View for the result.
    #[oai(status = 201)]
    Created(Json<TaskEnvelope>),
}

/// The analysis route's policy: `Idempotency-Key` honoured, and it takes an upload (a
/// multipart body up to the upload cap, and the time that takes).
fn idempotent_upload<E: poem::Endpoint>(endpoint: E) -> impl poem::Endpoint {
    upload(idempotent(endpoint))
}

/// The analysis form, not yet read: it is streamed only after the caller is checked.
pub struct AnalysisForm(Multipart);

fn binary() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")))
}

impl<'a> ApiExtractor<'a> for AnalysisForm {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(FORM_SCHEMA.to_string(), |_| form_schema());
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Reference(FORM_SCHEMA.to_string()),
            }],
            required: true,
        })
    }

    async fn from_request(req: &'a Request, body: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        <Multipart as FromRequest>::from_request(req, body).await.map(Self).map_err(|_| ApiError::empty_body().into())
    }
}

/// The form's name in the spec (a named schema, not an inline one that generators
/// would call `agentAnalysis_request`).
const FORM_SCHEMA: &str = "AnalysisForm";

/// `text` and `files`, named. No `additionalProperties`: openapi-generator refuses form
/// parameters with them, and TypeScript generators' index signature clashes with the
/// named fields. Files under other field names are still accepted (see `read_form`),
/// and the description says so.
fn form_schema() -> MetaSchema {
    let mut text = MetaSchema::new("string");
    text.description =
        Some("A claim, a question or a URL to check: up to 100,000 bytes of UTF-8 (25,000 characters always fit).");
    // Characters, as JSON Schema counts them, of at most four bytes each.
    text.max_length = Some(MAX_TEXT_BYTES / 4);
    let mut files = MetaSchema::new("array");
    files.description = Some(
        "Up to MAX_ATTACHMENTS files (5 by default), each under MAX_ATTACHMENT_BYTES, of a type listed by \
             Supported Attachments.",
    );
    files.items = Some(Box::new(binary()));
    let mut form = MetaSchema::new("object");
    form.description = Some(
        "The analysis form: at least one of `text` and a file. Send files as `files` (repeat the field for \
             several); files sent under any other field name (the Clara docs name the field after the file) are \
             accepted too.",
    );
    form.properties =
        vec![("text", MetaSchemaRef::Inline(Box::new(text))), ("files", MetaSchemaRef::Inline(Box::new(files)))];
    form.example = Some(serde_json::json!({"text": "The Eiffel Tower was completed in 1889."}));
    form
}

fn supported(state: &AppState) -> Supported {
    tasks::supported(state)
}

/// Reads the form into `dir`: the text and the files, each checked as it streams in.
async fn read_form(
    state: &AppState,
    mut form: Multipart,
    dir: &FsPath,
) -> Result<(Option<String>, Vec<StoredAttachment>), ApiError> {
    let invalid = ApiError::invalid_parameters;
    let mut text: Option<String> = None;
    let mut files = vec![];
    while let Some(field) = form.next_field().await.map_err(|_| invalid())? {
        let Some(raw_name) = field.file_name().map(str::to_string) else {
            // An empty `files` slot (Swagger UI sends one when no file is chosen) is no file.
            if field.name() == Some("files") {
                let bytes = field.bytes().await.map_err(|_| invalid())?;
                if bytes.is_empty() {
                    continue;
                }
                return Err(invalid());
            }
            // A plain field: only `text`, once.
            if field.name() != Some("text") || text.is_some() {
                return Err(invalid());
            }
            let mut reader = field.into_async_read().take(MAX_TEXT_BYTES as u64 + 1);
            let mut bytes = vec![];
            reader.read_to_end(&mut bytes).await.map_err(|_| invalid())?;
            if bytes.len() > MAX_TEXT_BYTES {
                return Err(invalid());
            }
            text = Some(String::from_utf8(bytes).map_err(|_| invalid())?);
            continue;
        };
        if files.len() >= state.config.analyses.max_attachments {
            return Err(invalid());
        }
        let stored = tasks::store_attachment(state, dir, files.len(), &raw_name, field.into_async_read()).await?;
        files.push(stored);
    }
    let text = text.filter(|t| !t.trim().is_empty());
    if text.is_none() && files.is_empty() {
        return Err(invalid());
    }
    Ok((text, files))
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("agentSupportedAttachments", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    ("agentAnalysis", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, ACTIVE, NOT_YOURS, &[(403, ErrorCode::InsufficientCredits)], NOT_CONFIGURED, IDEMPOTENCY]),
];

#[OpenApi(tag = "ApiTags::Agent")]
impl AgentApi {
    /// Supported Attachments
    ///
    /// The file extensions Analysis accepts, by kind.
    #[oai(
        path = "/users/:user_id/agent/supported_attachments",
        method = "get",
        operation_id = "agentSupportedAttachments"
    )]
    async fn supported_attachments(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Json<SupportedAttachmentsEnvelope>, ApiError> {
        own_user(&caller.0, &user_id.0)?;
        let supported = supported(&self.state);
        let list = |c| supported.extensions(c).iter().map(|e| e.to_string()).collect();
        Ok(Json(SupportedAttachmentsEnvelope::new(
            SupportedAttachments {
                audio: list(Category::Audio),
                image: list(Category::Image),
                pdf: list(Category::Pdf),
                video: list(Category::Video),
            },
            "Supported attachments fetched successfully.",
        )))
    }

    /// Analysis
    ///
    /// Starts a fact-check of `text` and/or files (multipart). The cost
    /// (`ANALYSIS_COST_CREDITS`, 20 by default) is debited now and refunded if the task
    /// fails, except when a file exhausts the reading limits (a PDF whose reading takes
    /// too long, needs too much memory or yields too much text): that task fails with an
    /// `error` saying so ("… exceeded the reading limits: …") and keeps its cost. Answers
    /// at once with the task at PENDING; a worker runs it, at most
    /// `TASKS_PER_USER_RUNNING` (2 by default) of one user's tasks at once, the others
    /// waiting at PENDING. 503 when no model provider is configured.
    ///
    /// Safe to retry with an `Idempotency-Key`: a repeat is answered from the first
    /// request, marked `Idempotent-Replayed: true`.
    #[oai(
        path = "/users/:user_id/agent/analysis",
        method = "post",
        operation_id = "agentAnalysis",
        transform = "idempotent_upload"
    )]
    async fn analysis(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// 1–255 visible ASCII characters that make retries safe: the first request with a
        /// key runs, and a retry with the same key and body within 24 hours gets the same
        /// answer, with `Idempotent-Replayed: true`, and does nothing again. The same key with
        /// another body: 422 `idempotency_key_reused`; while the first still runs: 409
        /// `idempotency_key_in_use`.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"))]
        _idempotency_key: Header<Option<String>>,
        form: AnalysisForm,
    ) -> Result<TaskCreated, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        if self.state.agent.is_none() {
            return Err(ServiceError::NotConfigured("AGENT_API_BASE and AGENT_MODEL").into());
        }
        let task =
            tasks::start_analysis(&self.state, user, async |dir| read_form(&self.state, form.0, dir).await).await?;
        Ok(TaskCreated::Created(Json(TaskEnvelope::new(crate::views::task(&task), "Task created successfully."))))
    }
}
