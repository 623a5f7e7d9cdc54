//! The account as the API shows it, and the request that edits it.

use super::*;
use entity::users;

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
    #[oai(flatten)]
    pub user: User,
    /// `clara_user_<JWT>`: send it as `Authorization: Bearer <token>`.
    pub token: String,
}

impl UserWithToken {
    pub fn new(user: &users::Model, token: String) -> Self {
        Self { user: User::from(user), token }
    }

    fn example_value() -> Self {
        let mut user = Self::new(&users_example(), String::new());
        user.user.is_active = false;
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

envelope!(
    /// Success envelope around a User.
    UserEnvelope, User);

envelope!(
    /// Success envelope around a User with its session token.
    UserWithTokenEnvelope, UserWithToken);

envelope!(
    /// Success envelope around a page of Users, newest first.
    UserListEnvelope, Vec<User>);

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

impl poem_openapi::types::Example for UpdateUserRequest {
    fn example() -> Self {
        Self::example_value()
    }
}
