//! Who a verified token's claims are: the session or API key row that keeps the token alive
//! must still exist and belong to the user. Served from the authentication cache when it
//! can (`auth_cache`), else from the database, filling the cache.

use entity::{api_keys, sessions, users};
use sea_orm::EntityTrait;

use super::{
    ServiceError, ServiceResult,
    claims::{Claims, Role},
    sessions as sessions_service,
};
use crate::{
    auth_cache::{Credential, CredentialKind},
    state::Core,
};

/// A signed-in user and the session their token belongs to.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: users::Model,
    pub session_id: String,
}

/// The user behind a verified `clara_user_` token's claims whose session still exists.
pub async fn session(state: &Core, claims: &Claims) -> ServiceResult<SessionUser> {
    if claims.role != Role::User {
        return Err(ServiceError::Unauthorized);
    }
    let now_micros = state.clock.now_micros();
    let now = now_micros.div_euclid(1_000_000);
    let user = match cached(state, &claims.sub, &claims.jti, CredentialKind::Session, now).await {
        Some(user) => {
            let every = sessions_service::TOUCH_EVERY_SECS * 1_000_000;
            if state.auth_cache.claim_touch(&claims.sub, &claims.jti, now_micros, every) {
                sessions_service::touch(state, &claims.jti);
            }
            user
        }
        None => {
            let ticket = state.auth_cache.ticket(&claims.sub).await;
            let (session, user) = sessions::Entity::find_by_id(claims.jti.clone())
                .find_also_related(users::Entity)
                .one(&state.db)
                .await?
                .ok_or(ServiceError::Unauthorized)?;
            let user = user.ok_or(ServiceError::Unauthorized)?;
            if session.user_id != claims.sub || session.expires_at <= now {
                return Err(ServiceError::Unauthorized);
            }
            // The last use is recorded at most once a minute (off the request's path).
            let due = sessions_service::touch_due(session.last_used_at, now_micros);
            if due {
                sessions_service::touch(state, &session.id);
            }
            if let Some(ticket) = ticket {
                let last_used_at = if due { now_micros } else { session.last_used_at };
                let credential = Credential {
                    id: session.id,
                    kind: CredentialKind::Session,
                    expires_at: Some(session.expires_at),
                    last_used_at: Some(last_used_at),
                };
                state.auth_cache.fill(ticket, &user, credential);
            }
            user
        }
    };
    Ok(SessionUser { user, session_id: claims.jti.clone() })
}

/// The user for a credential checked recently, counted in the metrics.
async fn cached(
    state: &Core,
    user_id: &str,
    credential_id: &str,
    kind: CredentialKind,
    now_secs: i64,
) -> Option<users::Model> {
    let (lookup, user) = state.auth_cache.get(user_id, credential_id, kind, now_secs).await;
    state.metrics.auth_cache.with_label_values(&[lookup.label()]).inc();
    user.map(|user| (*user).clone())
}

/// The user behind a verified bearer token's claims, of either kind.
pub async fn bearer(state: &Core, claims: &Claims) -> ServiceResult<users::Model> {
    match claims.role {
        Role::ApiKey => api_key(state, claims).await,
        Role::User => Ok(session(state, claims).await?.user),
    }
}

/// The user behind a verified `clara_api_` token's claims whose key is still the user's
/// current one.
pub async fn api_key(state: &Core, claims: &Claims) -> ServiceResult<users::Model> {
    if claims.role != Role::ApiKey {
        return Err(ServiceError::Unauthorized);
    }
    let now = state.clock.now_secs();
    if let Some(user) = cached(state, &claims.sub, &claims.jti, CredentialKind::ApiKey, now).await {
        return Ok(user);
    }
    let ticket = state.auth_cache.ticket(&claims.sub).await;
    let (key, user) = api_keys::Entity::find_by_id(claims.jti.clone())
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    match user {
        Some(user) if key.user_id == claims.sub => {
            if let Some(ticket) = ticket {
                let credential =
                    Credential { id: key.id, kind: CredentialKind::ApiKey, expires_at: None, last_used_at: None };
                state.auth_cache.fill(ticket, &user, credential);
            }
            Ok(user)
        }
        _ => Err(ServiceError::Unauthorized),
    }
}
