//! The HTTP face: one `#[OpenApi]` struct per area, composed once in [`service`].

pub mod admin;
pub mod agent;
pub mod api_keys;
pub mod auth;
pub mod body;
pub mod error;
pub mod error_catalog;
pub mod idempotency;
pub mod middleware;
pub mod misc;
pub mod models;
pub mod observed;
pub mod security;
pub mod stripe;
pub mod tasks;
pub mod transactions;
pub mod users;

use entity::users as user_rows;
use poem_openapi::{OpenApiService, Tags};

use self::error::ApiError;
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
    /// Operators, with the admin key.
    Admin,
}

/// The order of the Clara docs, which the spec's `tags` follow.
pub const TAG_ORDER: [ApiTags; 9] = [
    ApiTags::Auth,
    ApiTags::User,
    ApiTags::ApiKey,
    ApiTags::Transaction,
    ApiTags::Task,
    ApiTags::Agent,
    ApiTags::Stripe,
    ApiTags::Misc,
    ApiTags::Admin,
];

pub type Apis = (
    auth::AuthApi,
    users::UsersApi,
    api_keys::ApiKeysApi,
    transactions::TransactionsApi,
    tasks::TasksApi,
    agent::AgentApi,
    stripe::StripeApi,
    misc::MiscApi,
    admin::AdminApi,
);

pub fn service(state: &AppState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi { state: state.clone() },
            users::UsersApi { state: state.clone() },
            api_keys::ApiKeysApi { state: state.clone() },
            transactions::TransactionsApi { state: state.clone() },
            tasks::TasksApi { state: state.clone() },
            agent::AgentApi { state: state.clone() },
            stripe::StripeApi { state: state.clone() },
            misc::MiscApi { state: state.clone() },
            admin::AdminApi { state: state.clone() },
        ),
        "Clara API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "The Clara back end: accounts, credits and AI fact-checking analyses. Every body is the envelope \
         `{data, message, status}`; errors add a stable `code`. Each operation lists the statuses it can \
         answer and, for each, its possible `code`s. Two answers belong to no operation: a path that does not \
         exist is 404 `route_not_found`, and a method a path does not have is 405 `method_not_allowed`.",
    )
    .server("/api/v1")
    .license(poem_openapi::LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
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

/// Page size when `limit` is left out.
pub fn default_limit() -> u64 {
    20
}
