//! The HTTP face: one `#[OpenApi]` struct per area, composed once in [`service`].

pub mod admin;
pub mod agent;
pub mod api_keys;
pub mod apple;
pub mod auth;
pub mod body;
pub mod credentials;
pub mod error;
pub mod error_code;
pub mod fingerprint;
pub mod fresh_proof;
pub mod idempotency;
pub mod middleware;
pub mod misc;
pub mod models;
pub mod observed;
pub mod outcomes;
pub mod paging;
pub mod passkeys;
pub mod sandbox;
pub mod sandbox_auth;
pub mod security;
pub mod sessions;
pub mod stripe;
pub mod task_events;
pub mod tasks;
pub mod transactions;
pub mod users;
pub mod webhooks;

/// The API's path under a server's origin.
pub const BASE_PATH: &str = "/api/v1";

use entity::users as user_rows;
use poem_openapi::{OpenApiService, Tags};

use self::{error::ApiError, middleware::policy::Metered};
use crate::state::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Sign-up, sign-in, sessions, one-time codes and two-factor authentication.
    Auth,
    /// The caller's own account.
    User,
    /// The caller's API key, a long-lived credential for scripts and MCP clients.
    ApiKey,
    /// The caller's credit movements.
    Transaction,
    /// The caller's analyses.
    Task,
    /// Fact-checking analyses by the agent.
    Agent,
    /// Credit rates, buying credits and the billing portal, through Stripe.
    Stripe,
    /// Health and version.
    Misc,
    /// Webhook endpoints: the caller's back end hears about analyses and credits.
    Webhook,
    /// Operators, with the admin key.
    Admin,
    /// SANDBOX MODE ONLY: the built-in doubles of the outside services (mailbox, payments,
    /// Google). These routes exist only on a server started with `--sandbox`.
    Sandbox,
}

/// The order of the Clara docs, which the spec's `tags` follow.
pub const TAG_ORDER: [ApiTags; 11] = [
    ApiTags::Auth,
    ApiTags::User,
    ApiTags::ApiKey,
    ApiTags::Transaction,
    ApiTags::Task,
    ApiTags::Agent,
    ApiTags::Stripe,
    ApiTags::Misc,
    ApiTags::Webhook,
    ApiTags::Admin,
    ApiTags::Sandbox,
];

/// Every area, in the order of the spec. Each is [`Metered`] by the rate limiter but the
/// probes (`Misc`) and Stripe's signed deliveries, whose own retry schedule a 429 would
/// only delay; the sandbox's area, present only in sandbox mode, is not metered either
/// (this server's own clients call its doubles).
pub type Apis = (
    Metered<auth::AuthApi>,
    Metered<apple::AppleApi>,
    Metered<sessions::SessionsApi>,
    Metered<passkeys::PasskeysAuthApi>,
    Metered<users::UsersApi>,
    Metered<passkeys::PasskeysApi>,
    Metered<api_keys::ApiKeysApi>,
    Metered<transactions::TransactionsApi>,
    Metered<tasks::TasksApi>,
    Metered<task_events::TaskEventsApi>,
    Metered<agent::AgentApi>,
    Metered<stripe::StripeApi>,
    stripe::StripeDeliveriesApi,
    misc::MiscApi,
    Metered<admin::AdminApi>,
    Metered<webhooks::WebhooksApi>,
);

fn apis(state: &AppState) -> Apis {
    (
        Metered(auth::AuthApi { state: state.clone() }),
        Metered(apple::AppleApi { state: state.clone() }),
        Metered(sessions::SessionsApi { state: state.clone() }),
        Metered(passkeys::PasskeysAuthApi { state: state.clone() }),
        Metered(users::UsersApi { state: state.clone() }),
        Metered(passkeys::PasskeysApi { state: state.clone() }),
        Metered(api_keys::ApiKeysApi { state: state.clone() }),
        Metered(transactions::TransactionsApi { state: state.clone() }),
        Metered(tasks::TasksApi { state: state.clone() }),
        Metered(task_events::TaskEventsApi { state: state.clone() }),
        Metered(agent::AgentApi { state: state.clone() }),
        Metered(stripe::StripeApi { state: state.clone() }),
        stripe::StripeDeliveriesApi { state: state.clone() },
        misc::MiscApi { state: state.clone() },
        Metered(admin::AdminApi { state: state.clone() }),
        Metered(webhooks::WebhooksApi { state: state.clone() }),
    )
}

/// Every area's statuses table, each written beside its routes.
pub const STATUSES: &[outcomes::Statuses] = &[
    auth::STATUSES,
    apple::STATUSES,
    passkeys::STATUSES,
    sessions::STATUSES,
    users::STATUSES,
    api_keys::STATUSES,
    transactions::STATUSES,
    tasks::STATUSES,
    webhooks::STATUSES,
    task_events::STATUSES,
    agent::STATUSES,
    stripe::STATUSES,
    misc::STATUSES,
    admin::STATUSES,
    sandbox::STATUSES,
];

const DESCRIPTION: &str = "The Clara back end: accounts, credits and AI fact-checking analyses. Every body is the envelope \
     `{data, message, status}`; errors add a stable `code`. Each operation lists the statuses it can \
     answer and, for each, its possible `code`s. Two answers belong to no operation: a path that does not \
     exist is 404 `route_not_found`, and a method a path does not have is 405 `method_not_allowed`.";

const SANDBOX_DESCRIPTION: &str = "**SANDBOX MODE.** This server was started with `--sandbox`: every outside \
     service is a built-in double. Mail is kept in the mailbox (`GET /sandbox/mailbox/{email}`) instead of \
     being sent; Buy and Portal open sandbox pages on this server, and paying there credits the account \
     through the real webhook; `POST /sandbox/google/id_token` mints tokens Google sign-in accepts here only; \
     analyses run on a deterministic model (`#fail` in the text makes one fail). No real money, mail or \
     model is involved. The `Sandbox` routes exist only in this mode.\n\n";

fn describe<T: poem_openapi::OpenApi>(service: OpenApiService<T, ()>, sandbox: bool) -> OpenApiService<T, ()> {
    let description = if sandbox { format!("{SANDBOX_DESCRIPTION}{DESCRIPTION}") } else { DESCRIPTION.to_string() };
    service
        .description(description)
        .server(BASE_PATH)
        .license(poem_openapi::LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
}

/// The API as mounted: its endpoint, its raw spec and the Swagger UI page.
pub struct Mounted {
    pub endpoint: poem::endpoint::BoxEndpoint<'static>,
    pub raw_spec: String,
    pub swagger_html: String,
}

fn mounted<T: poem_openapi::OpenApi + 'static>(service: OpenApiService<T, ()>) -> Mounted {
    use poem::EndpointExt;
    Mounted { raw_spec: service.spec(), swagger_html: service.swagger_ui_html(), endpoint: service.boxed() }
}

/// Every area composed once; in sandbox mode, the `Sandbox` routes too.
pub fn mount(state: &AppState) -> Mounted {
    let title = "Clara API";
    let version = env!("CARGO_PKG_VERSION");
    match &state.sandbox {
        None => mounted(describe(OpenApiService::new(apis(state), title, version), false)),
        Some(sandbox_state) => {
            let api = (apis(state), sandbox::SandboxApi { state: state.clone(), sandbox: sandbox_state.clone() });
            mounted(describe(OpenApiService::new(api, title, version), true))
        }
    }
}

/// The path must name the caller (403 otherwise, whether or not that user exists).
pub fn own_user<'a>(caller: &'a user_rows::Model, user_id: &str) -> Result<&'a user_rows::Model, ApiError> {
    if caller.id == user_id { Ok(caller) } else { Err(ApiError::forbidden()) }
}

/// The account must be activated.
pub fn active(user: &user_rows::Model) -> Result<&user_rows::Model, ApiError> {
    if user.is_active { Ok(user) } else { Err(ApiError::not_active()) }
}

/// As [`own_user`], and the account must be activated.
pub fn own_active_user<'a>(caller: &'a user_rows::Model, user_id: &str) -> Result<&'a user_rows::Model, ApiError> {
    active(own_user(caller, user_id)?)
}
