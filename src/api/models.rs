//! Response and request objects of the wire contract. Entities never leave the server
//! directly; they are mapped into these.

use entity::{api_keys, tasks, transactions, users};
use poem_openapi::{Enum, Object, types::MaybeUndefined};

use super::body::{Decimal2, Text};
use crate::domain::{CreditBand, credits_to_number, http_date, hundredths_to_number};

const EXAMPLE_DATE: &str = "Thu, 27 Nov 2025 00:10:11 GMT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SuccessStatus {
    Success,
}

/// A Clara account.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    #[oai(nullable)]
    pub last_name: Option<String>,
    pub credits: f64,
    pub is_active: bool,
    pub is_2fa_enabled: bool,
    pub is_dark_mode: bool,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl User {
    fn example_value() -> Self {
        Self {
            id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            email: "hello@crazi.co".into(),
            first_name: "Vibhanshu".into(),
            last_name: Some("Rathod".into()),
            credits: 0.0,
            is_active: true,
            is_2fa_enabled: false,
            is_dark_mode: true,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

impl From<&users::Model> for User {
    fn from(user: &users::Model) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            credits: credits_to_number(user.credits),
            is_active: user.is_active,
            is_2fa_enabled: user.is_2fa_enabled,
            is_dark_mode: user.is_dark_mode,
            created_at: http_date(user.created_at),
            updated_at: http_date(user.updated_at),
        }
    }
}

/// A Clara account with a fresh session token (register, login, Google sign-in).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserWithToken {
    pub id: String,
    pub email: String,
    pub first_name: String,
    #[oai(nullable)]
    pub last_name: Option<String>,
    pub credits: f64,
    pub is_active: bool,
    pub is_2fa_enabled: bool,
    pub is_dark_mode: bool,
    pub created_at: String,
    pub updated_at: String,
    /// `clara_user_<JWT>`: send it as `Authorization: Bearer <token>`.
    pub token: String,
}

impl UserWithToken {
    pub fn new(user: &users::Model, token: String) -> Self {
        let u = User::from(user);
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            credits: u.credits,
            is_active: u.is_active,
            is_2fa_enabled: u.is_2fa_enabled,
            is_dark_mode: u.is_dark_mode,
            created_at: u.created_at,
            updated_at: u.updated_at,
            token,
        }
    }

    fn example_value() -> Self {
        let mut user = Self::new(&users_example(), String::new());
        user.is_active = false;
        user.token = "clara_user_eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzVlNWNlMTFhZDhlZDRhMzI4ZGYwM2ZmZDE5ZmE4MGVjIn0.sig".into();
        user
    }
}

fn users_example() -> users::Model {
    let example = User::example_value();
    users::Model {
        id: example.id,
        email: example.email,
        password_hash: None,
        first_name: example.first_name,
        last_name: example.last_name,
        credits: 0,
        is_active: true,
        is_2fa_enabled: false,
        is_dark_mode: true,
        totp_secret: None,
        totp_pending_secret: None,
        totp_last_step: None,
        stripe_customer_id: None,
        created_at: 1_764_202_211_000_000,
        updated_at: 1_764_202_211_000_000,
    }
}

/// An always-null `data`.
#[derive(Debug, Clone, Object)]
pub struct Empty {}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Health {
    pub service: String,
    /// `healthy` (`/health`), `alive` (`/health/live`) or `ready` (`/health/ready`).
    pub status: String,
    /// True on a server started in sandbox mode (every outside service a built-in double).
    pub sandbox: bool,
}

impl Health {
    fn example_value() -> Self {
        Self { service: "clara-backend".into(), status: "healthy".into(), sandbox: false }
    }
}

/// The server's version.
#[derive(Debug, Clone, Object)]
// `ServerVersion` in the spec: C# generators rename a `Version` type, and a member may not
// share its class's name there.
#[oai(example, rename = "ServerVersion")]
pub struct Version {
    pub version: String,
}

impl Version {
    fn example_value() -> Self {
        Self { version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// Authenticator-app enrolment: add `secret` (or scan `otpauth_url` as a QR code) in
/// the app, then confirm with Enable 2FA and the app's current code.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_url: String,
}

impl TotpEnrolment {
    fn example_value() -> Self {
        Self {
            secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            otpauth_url: "otpauth://totp/Clara%3Ahello%40crazi.co?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Clara&algorithm=SHA1&digits=6&period=30".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    True,
    False,
    Misleading,
    Unverifiable,
    NotAClaim,
}

/// What the agent concluded.
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct AnalysisResult {
    pub verdict: Verdict,
    /// 0 to 1.
    pub confidence: f64,
    pub summary: String,
    /// The specific points established.
    pub findings: Vec<String>,
    /// The URLs behind the findings: only pages the server retrieved for this task.
    pub sources: Vec<String>,
    /// What each source said, as retrieved: one per source, in the same order.
    #[serde(default)]
    pub citations: Vec<Citation>,
}

/// A source the server retrieved for the task, and the passage the verdict rests on.
#[derive(Debug, Clone, Object, serde::Deserialize, serde::Serialize)]
pub struct Citation {
    pub url: String,
    pub title: String,
    /// A passage of the retrieved text (not the model's words).
    pub excerpt: String,
    /// HTTP date of the retrieval.
    pub retrieved_at: String,
}

/// What kind of thing the agent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A web or fact-check search.
    Search,
    /// A page or document retrieved.
    Fetch,
    /// The model thinking, or the server checking its answer.
    Reason,
    /// The verdict.
    Conclude,
}

/// One thing the agent did, in order; visible while the task runs.
#[derive(Debug, Clone, Object)]
pub struct TaskStep {
    pub kind: StepKind,
    /// A short line: the query, the URL, what was dropped.
    pub detail: String,
    /// HTTP date.
    pub at: String,
}

/// An analysis. Poll it until `status` is COMPLETED (with `result`) or FAILED (with
/// `error`; the cost is refunded unless a file exceeded the reading limits). Named
/// `AnalysisTask` in the spec: a schema called `Task` would shadow Swift's concurrency
/// `Task` in generated clients.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "AnalysisTask")]
pub struct Task {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Set when COMPLETED.
    #[oai(nullable)]
    pub result: Option<AnalysisResult>,
    /// The `text` sent, if any.
    #[oai(nullable)]
    pub input: Option<String>,
    /// The names of the files sent.
    pub attachments: Vec<String>,
    /// Credits the analysis cost (refunded if it failed, unless a file exceeded the
    /// reading limits).
    pub credits_used: f64,
    /// Why it failed, when FAILED, in a sentence. A file that exhausted the reading
    /// limits (time, memory, text) fails it with "The PDF … exceeded the reading limits:
    /// …", and then the credits are not refunded; any other failure (the model provider,
    /// the server) is refunded.
    #[oai(nullable)]
    pub error: Option<String>,
    /// What the agent has done so far (searches, retrievals, reasoning, the verdict).
    pub steps: Vec<TaskStep>,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl From<&tasks::Model> for Task {
    fn from(row: &tasks::Model) -> Self {
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            status: match row.status.as_str() {
                "RUNNING" => TaskStatus::Running,
                "COMPLETED" => TaskStatus::Completed,
                "FAILED" => TaskStatus::Failed,
                _ => TaskStatus::Pending,
            },
            result: row.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            input: row.input.clone(),
            attachments: crate::services::tasks::attachments_of(row).into_iter().map(|a| a.name).collect(),
            credits_used: hundredths_to_number(row.credits_used),
            error: row.error.clone(),
            steps: crate::services::steps::of(row)
                .into_iter()
                .map(|step| TaskStep { kind: step.kind, detail: step.detail, at: http_date(step.at) })
                .collect(),
            created_at: http_date(row.created_at),
            updated_at: http_date(row.updated_at),
        }
    }
}

impl Task {
    fn example_value() -> Self {
        Self {
            id: "task_0b6f8c4f9d2e4a7b8c1d2e3f4a5b6c7d".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            status: TaskStatus::Pending,
            result: None,
            input: Some("The Eiffel Tower was completed in 1889.".into()),
            attachments: vec!["photo.jpg".into()],
            credits_used: 20.0,
            error: None,
            steps: vec![TaskStep {
                kind: StepKind::Fetch,
                detail: "https://www.toureiffel.paris/en/the-monument/history".into(),
                at: EXAMPLE_DATE.into(),
            }],
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// An analysis as operators see it: its state and what it cost at the model provider.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AdminTask {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Times a worker took it up (more than one after an interrupted run).
    #[oai(validator(minimum(value = "0")))]
    pub attempts: i32,
    /// Tokens the provider read, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub prompt_tokens: i64,
    /// Tokens the provider wrote, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub completion_tokens: i64,
    /// Steps the agent took in its last run.
    pub steps: u32,
    /// Credits the analysis cost (refunded if it failed, unless a file exceeded the
    /// reading limits).
    pub credits_used: f64,
    /// HTTP date in GMT.
    pub created_at: String,
    /// HTTP date in GMT.
    pub updated_at: String,
}

impl From<&tasks::Model> for AdminTask {
    fn from(row: &tasks::Model) -> Self {
        let task = Task::from(row);
        Self {
            id: task.id,
            user_id: task.user_id,
            status: task.status,
            attempts: row.attempts,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            steps: task.steps.len() as u32,
            credits_used: task.credits_used,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

impl poem_openapi::types::Example for AdminTask {
    fn example() -> Self {
        Self {
            id: "task_0b6f8c4f9d2e4a7b8c1d2e3f4a5b6c7d".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            status: TaskStatus::Completed,
            attempts: 1,
            prompt_tokens: 5_120,
            completion_tokens: 412,
            steps: 5,
            credits_used: 20.0,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// File extensions Analysis accepts, by kind. Audio and video are listed only when the
/// server can transcribe them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SupportedAttachments {
    pub audio: Vec<String>,
    pub image: Vec<String>,
    pub pdf: Vec<String>,
    pub video: Vec<String>,
}

impl SupportedAttachments {
    fn example_value() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            audio: vec![],
            image: list(&crate::domain::attachments::IMAGE_EXTENSIONS),
            pdf: list(&crate::domain::attachments::PDF_EXTENSIONS),
            video: vec![],
        }
    }
}

/// The user's API key: a long-lived credential for scripts, servers and MCP clients.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ApiKey {
    pub id: String,
    /// `clara_api_<JWT>`: send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub user_id: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl ApiKey {
    pub fn new(key: &api_keys::Model, token: String) -> Self {
        Self {
            id: key.id.clone(),
            token,
            user_id: key.user_id.clone(),
            created_at: http_date(key.created_at),
            updated_at: http_date(key.updated_at),
        }
    }

    fn example_value() -> Self {
        Self {
            id: "api_key_8a1f0c2e5b7d4e6f9a0b1c2d3e4f5a6b".into(),
            token: "clara_api_eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzVlNWNlMTFhZDhlZDRhMzI4ZGYwM2ZmZDE5ZmE4MGVjIn0.sig".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    /// Credits added (a purchase, an admin change, a refund).
    Credit,
    /// Credits spent or removed.
    Debit,
}

/// A movement of credits. The balance is the sum of CREDITs minus DEBITs.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Transaction {
    pub id: String,
    pub user_id: String,
    #[oai(rename = "type")]
    pub kind: TransactionType,
    pub description: String,
    /// Credits moved, always positive; `type` gives the direction.
    pub value_in_credits: f64,
    /// What they were worth in US dollars.
    pub value_in_fiat: f64,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl From<&transactions::Model> for Transaction {
    fn from(row: &transactions::Model) -> Self {
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            kind: if row.kind == crate::services::ledger::DEBIT {
                TransactionType::Debit
            } else {
                TransactionType::Credit
            },
            description: row.description.clone(),
            value_in_credits: hundredths_to_number(row.value_in_credits),
            value_in_fiat: hundredths_to_number(row.value_in_fiat),
            created_at: http_date(row.created_at),
            updated_at: http_date(row.updated_at),
        }
    }
}

impl Transaction {
    fn example_value() -> Self {
        Self {
            id: "transaction_52d462f898e54b3983c186567259b74a".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            kind: TransactionType::Credit,
            description: "User bought 500 credits for $5.".into(),
            value_in_credits: 500.0,
            value_in_fiat: 5.0,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// A band of purchasable amounts and its price.
#[derive(Debug, Clone, Object)]
// `CreditRate` in the spec: C# refuses a member named like its class (`Rate.rate` would be
// generated as `VarRate`). The wire's field names are unchanged.
#[oai(example, rename = "CreditRate")]
pub struct Rate {
    /// Smallest amount in US dollars (inclusive).
    pub lower_limit: f64,
    /// Largest amount in US dollars (inclusive).
    pub upper_limit: f64,
    /// Credits per US dollar.
    pub rate: f64,
    /// The Stripe Price (of one dollar) this band is sold with, if any.
    #[oai(nullable)]
    pub stripe_price_id: Option<String>,
}

impl From<&CreditBand> for Rate {
    fn from(band: &CreditBand) -> Self {
        Self {
            lower_limit: hundredths_to_number(band.lower_cents),
            upper_limit: hundredths_to_number(band.upper_cents),
            rate: hundredths_to_number(band.rate_hundredths),
            stripe_price_id: band.stripe_price_id.clone(),
        }
    }
}

impl Rate {
    fn example_value() -> Self {
        Self { lower_limit: 5.0, upper_limit: 10000.0, rate: 100.0, stripe_price_id: None }
    }
}

/// A Stripe Checkout page for a purchase.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Checkout {
    /// Send the buyer here. Credits arrive when Stripe confirms the payment.
    pub url: String,
    /// Credits the purchase will add.
    pub value_in_credits: f64,
    /// US dollars it costs.
    pub value_in_fiat: f64,
    /// The path given, echoed.
    pub return_path: String,
}

impl Checkout {
    fn example_value() -> Self {
        Self {
            url: "https://checkout.stripe.com/c/pay/cs_test_b1VbQddiB8glIwXq9TJrqDwnrHm4ukkRV1VewkBbb7Zq96ms5HYfqBYMe2"
                .into(),
            value_in_credits: 500.0,
            value_in_fiat: 5.0,
            return_path: "/billing".into(),
        }
    }
}

/// A Stripe page.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PortalSession {
    /// Send the user here to manage billing.
    pub url: String,
}

impl PortalSession {
    fn example_value() -> Self {
        Self { url: "https://billing.stripe.com/p/session/test_YWNjdF8xU0ZyMm1Ld1luNXJKcDlOLF9UVXQ4T1BaZ0x3".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum WebhookOutcome {
    /// The purchase was credited now.
    Credited,
    /// This Checkout Session was credited before; nothing changed.
    Duplicate,
    /// An event that moves no credits.
    Ignored,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Object)]
pub struct WebhookReceipt {
    pub event_id: String,
    pub outcome: WebhookOutcome,
}

/// The part of a Stripe event this server reads; the whole event is signed and sent as is.
#[derive(Debug, Clone, Object)]
pub struct StripeEvent {
    /// `evt_…`
    pub id: String,
    /// e.g. `checkout.session.completed`.
    #[oai(rename = "type")]
    pub kind: String,
    pub data: StripeEventData,
}

#[derive(Debug, Clone, Object)]
pub struct StripeEventData {
    /// The Checkout Session (`id`, `payment_status`, `amount_total`, `metadata`) for checkout events.
    pub object: std::collections::HashMap<String, serde_json::Value>,
}

macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident, $data:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Object)]
        pub struct $name {
            pub data: $data,
            /// A sentence for people; use `status` (and `code` on errors) in code.
            pub message: String,
            pub status: SuccessStatus,
        }

        impl $name {
            pub fn new(data: $data, message: &str) -> Self {
                Self { data, message: message.to_string(), status: SuccessStatus::Success }
            }
        }
    };
}

envelope!(
    /// Success envelope around a User.
    UserEnvelope, User);
envelope!(
    /// Success envelope around a User with its session token.
    UserWithTokenEnvelope, UserWithToken);
/// Success envelope whose `data` is null.
#[derive(Debug, Clone, Object)]
pub struct NullEnvelope {
    #[oai(nullable)]
    pub data: Option<Empty>,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

impl NullEnvelope {
    pub fn new(message: &str) -> Self {
        Self { data: None, message: message.to_string(), status: SuccessStatus::Success }
    }
}
envelope!(
    /// Success envelope of the health check.
    HealthEnvelope, Health);
envelope!(
    /// Success envelope of the version check.
    VersionEnvelope, Version);
envelope!(
    /// Success envelope of an authenticator-app enrolment.
    TotpEnrolmentEnvelope, TotpEnrolment);

envelope!(
    /// Success envelope around a new set of recovery codes.
    RecoveryCodesEnvelope, RecoveryCodes);
envelope!(
    /// Success envelope around a page of security events, newest first.
    SecurityEventListEnvelope, Vec<SecurityEvent>);
envelope!(
    /// Success envelope around a page of the caller's sessions, newest first.
    SessionListEnvelope, Vec<Session>);
envelope!(
    /// Success envelope around a Task.
    TaskEnvelope, Task);
envelope!(
    /// Success envelope around a page of Tasks, newest first.
    TaskListEnvelope, Vec<Task>);
envelope!(
    /// Success envelope around the supported attachment types.
    SupportedAttachmentsEnvelope, SupportedAttachments);
envelope!(
    /// Success envelope around an API key.
    ApiKeyEnvelope, ApiKey);
envelope!(
    /// Success envelope around a Transaction.
    TransactionEnvelope, Transaction);
envelope!(
    /// Success envelope around a page of Transactions, newest first.
    TransactionListEnvelope, Vec<Transaction>);
envelope!(
    /// Success envelope around a page of analyses as operators see them, newest first.
    AdminTaskListEnvelope, Vec<AdminTask>);
envelope!(
    /// Success envelope around a page of Users, newest first.
    UserListEnvelope, Vec<User>);
envelope!(
    /// Success envelope around the credit bands.
    RateListEnvelope, Vec<Rate>);
envelope!(
    /// Success envelope around a Checkout page.
    CheckoutEnvelope, Checkout);
envelope!(
    /// Success envelope around a billing-portal page.
    PortalSessionEnvelope, PortalSession);
envelope!(
    /// Success envelope of a webhook delivery.
    WebhookReceiptEnvelope, WebhookReceipt);

// ---- request bodies ----

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct BuyRequest {
    /// US dollars, at most two decimals, inside one of the Rate bands.
    pub amount: Decimal2,
    /// Where Stripe sends the buyer back: `""` or a path on the web app starting with `/`.
    /// `?stripe_status=success` or `cancel` is added.
    #[oai(validator(max_length = 2048))]
    pub return_path: Text,
}

impl BuyRequest {
    fn example_value() -> Self {
        Self { amount: Decimal2(500), return_path: "/billing".into() }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SetCreditsRequest {
    /// The new balance, not negative, at most two decimals.
    pub credits: Decimal2,
}

impl SetCreditsRequest {
    fn example_value() -> Self {
        Self { credits: Decimal2(1000) }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct RegisterRequest {
    /// 1 to 50 characters; stored title-cased.
    pub first_name: Text,
    /// 1 to 50 characters; stored title-cased.
    pub last_name: Option<Text>,
    /// Stored lower-case.
    pub email: Text,
    /// 8 to 72 bytes.
    pub password: Text,
}

impl RegisterRequest {
    fn example_value() -> Self {
        Self {
            first_name: "Vibhanshu".into(),
            last_name: Some("Rathod".into()),
            email: "hello@crazi.co".into(),
            password: "e|YUiO2PIj7E'0&V".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct GoogleRequest {
    /// The ID token Google Sign-In gave the client.
    pub id_token: Text,
    /// The second factor, needed when the account has 2FA on (as for Login).
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Option<Text>,
}

impl GoogleRequest {
    fn example_value() -> Self {
        Self {
            id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJlbWFpbCI6ImhlbGxvQGNyYXppLmNvIn0.sig".into(),
            code: Some("245522".into()),
        }
    }
}

/// Login's optional body. `{}`, `{"code": null}` and no body at all are the same.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    /// Needed only when 2FA is on: an e-mailed TWO_FACTOR_AUTH code (while no app is
    /// enrolled), the authenticator app's current code, or a recovery code.
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Option<Text>,
}

impl LoginRequest {
    fn example_value() -> Self {
        Self { code: Some("245522".into()) }
    }
}

/// A one-time code: e-mailed, or from an authenticator app where 2FA allows it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct CodeRequest {
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub code: Text,
}

impl CodeRequest {
    fn example_value() -> Self {
        Self { code: "245522".into() }
    }
}

/// A second factor: an e-mailed TWO_FACTOR_AUTH code, the authenticator app's current
/// code, or (once 2FA is on) one of the recovery codes.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SecondFactorRequest {
    /// Six digits, or a recovery code like `abcde-23456`.
    #[oai(validator(pattern = r"^([0-9]{6}|[a-z0-9]{5}-[a-z0-9]{5})$"))]
    pub code: Text,
}

impl SecondFactorRequest {
    fn example_value() -> Self {
        Self { code: "245522".into() }
    }
}

/// Ten single-use codes, each accepted once wherever a 2FA code is. Shown only now.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

impl RecoveryCodes {
    fn example_value() -> Self {
        Self { codes: vec!["k7mqx-3vhpt".into(), "9drwa-ueb4n".into()] }
    }
}

/// One of the caller's signed-in sessions (CONTRACT §6.5).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Session {
    /// `session_…`
    pub id: String,
    /// When it was made (sign-in), HTTP date in GMT.
    pub created_at: String,
    /// When it was last used, HTTP date in GMT; recorded at most once a minute, so up to a
    /// minute behind.
    pub last_used_at: String,
    /// The `User-Agent` it was made with (first 256 characters), if any.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The client address it was made from, if known.
    #[oai(nullable)]
    pub ip_address: Option<String>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl Session {
    pub fn new(row: &entity::sessions::Model, current_session_id: &str) -> Self {
        Self {
            id: row.id.clone(),
            created_at: http_date(row.created_at),
            last_used_at: http_date(row.last_used_at),
            user_agent: row.user_agent.clone(),
            ip_address: row.ip_address.clone(),
            current: row.id == current_session_id,
        }
    }
}

impl poem_openapi::types::Example for Session {
    fn example() -> Self {
        Self {
            id: "session_9a1c0e7d5b3f4e2a8c6d4b2a0f1e3d5c".into(),
            created_at: EXAMPLE_DATE.into(),
            last_used_at: EXAMPLE_DATE.into(),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
            ip_address: Some("203.0.113.7".into()),
            current: true,
        }
    }
}

/// A security-relevant event of an account.
#[derive(Debug, Clone, Object)]
pub struct SecurityEvent {
    pub id: String,
    /// The account, when known (kept after it is deleted).
    #[oai(nullable)]
    pub user_id: Option<String>,
    /// `login_succeeded`, `login_failed`, `login_locked`, `password_changed`,
    /// `two_factor_enabled`, `two_factor_disabled`, `recovery_codes_created`,
    /// `api_key_reset`, `account_deleted`, `admin_credits_changed`, `admin_account_deleted`,
    /// `session_ended`, `other_sessions_ended`.
    /// `passkey_added`, `passkey_deleted`, `passkey_possibly_cloned`.
    pub kind: String,
    #[oai(nullable)]
    pub client_address: Option<String>,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    #[oai(nullable)]
    pub detail: Option<String>,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// Repeated failed or locked logins of one account (or, for unknown accounts, one
    /// address) within 15 minutes add up in one event: how many there were.
    #[oai(validator(minimum(value = "1")))]
    pub count: i32,
    /// When the last of them happened (HTTP date); null for a single event.
    #[oai(nullable)]
    pub last_at: Option<String>,
}

impl From<&entity::security_events::Model> for SecurityEvent {
    fn from(row: &entity::security_events::Model) -> Self {
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            kind: row.kind.clone(),
            client_address: row.client_address.clone(),
            user_agent: row.user_agent.clone(),
            detail: row.detail.clone(),
            created_at: http_date(row.created_at),
            count: row.count,
            last_at: row.last_at.map(http_date),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ChangePasswordRequest {
    /// The new password, 8 to 72 bytes.
    pub password: Text,
    /// A CHANGE_PASSWORD code from Send OTP.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub code: Text,
}

impl ChangePasswordRequest {
    fn example_value() -> Self {
        Self { password: "e|YUiO2PIj7E'0&V".into(), code: "217503".into() }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct UpdateUserRequest {
    /// Not null.
    pub first_name: MaybeUndefined<Text>,
    /// null clears it.
    #[oai(nullable)]
    pub last_name: MaybeUndefined<Text>,
    /// Not null.
    pub is_dark_mode: MaybeUndefined<bool>,
}

impl UpdateUserRequest {
    fn example_value() -> Self {
        Self {
            first_name: MaybeUndefined::Value("Vibhanshu".into()),
            last_name: MaybeUndefined::Value("Rathod".into()),
            is_dark_mode: MaybeUndefined::Value(false),
        }
    }
}

impl poem_openapi::types::Example for User {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for UserWithToken {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for Version {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for TotpEnrolment {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for RegisterRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for GoogleRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for CodeRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for ChangePasswordRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

impl poem_openapi::types::Example for UpdateUserRequest {
    fn example() -> Self {
        Self::example_value()
    }
}

macro_rules! examples {
    ($($ty:ty),+) => {
        $(impl poem_openapi::types::Example for $ty {
            fn example() -> Self {
                Self::example_value()
            }
        })+
    };
}

examples!(
    SecondFactorRequest,
    LoginRequest,
    RecoveryCodes,
    Task,
    SupportedAttachments,
    ApiKey,
    Transaction,
    Rate,
    Checkout,
    PortalSession,
    BuyRequest,
    SetCreditsRequest
);
