//! The caller's sessions: which devices are signed in, and ending them.
//! Session tokens only: an API key cannot see or end sessions.

use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::outcomes::*;
use super::{
    ApiTags,
    auth::origin,
    error::ApiError,
    models::*,
    own_active_user,
    paging::{Limit, Offset},
    security::UserSession,
};
use crate::{
    services::{
        events::{self, EventKind},
        sessions,
    },
    state::AppState,
};

pub struct SessionsApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum SessionPage {
    /// A page of sessions, newest first; the caller's own has `current: true`.
    #[oai(status = 200)]
    Ok(
        Json<SessionListEnvelope>,
        /// How many live sessions the user has in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

#[derive(ApiResponse)]
pub enum Ended {
    /// Done; no body. The ended sessions' tokens are refused from now on.
    #[oai(status = 204)]
    NoContent,
}

type Result<T> = std::result::Result<T, ApiError>;

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("sessionsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("sessionsDelete", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::SessionNotFound)]]),
    ("sessionsDeleteOthers", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
];

#[OpenApi(tag = "ApiTags::Auth")]
impl SessionsApi {
    /// Sessions
    ///
    /// The caller's live sessions, newest first, each with when it was made and last used
    /// (recorded at most once a minute), and the user agent and client address it was made
    /// from. The session of the token making the request has `current: true`. User token
    /// only. `X-Total-Count` gives the total.
    #[oai(path = "/users/:user_id/sessions", method = "get", operation_id = "sessionsList")]
    async fn list(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<SessionPage> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let (rows, total) = sessions::list(&self.state, &user.id, limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(|row| Session::new(row, &session.0.session_id)).collect();
        Ok(SessionPage::Ok(Json(SessionListEnvelope::new(data, "Sessions fetched successfully.")), total))
    }

    /// End a session
    ///
    /// Ends one of the caller's sessions (the current one too, as Logout does): its token
    /// is refused at once, on every server. User token only. Another user's session, or
    /// one that has ended: 404 `session_not_found`.
    #[oai(path = "/users/:user_id/sessions/:session_id", method = "delete", operation_id = "sessionsDelete")]
    async fn delete(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// `session_…`
        session_id: Path<String>,
    ) -> Result<Ended> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        sessions::end(&self.state, &user.id, &session_id.0).await?;
        let detail = Some(format!("session: {}", session_id.0));
        events::record(&self.state, EventKind::SessionEnded, Some(&user.id), &origin(req), detail).await;
        Ok(Ended::NoContent)
    }

    /// End other sessions
    ///
    /// Ends every session of the caller but the one making the request: their tokens are
    /// refused at once, on every server. The API key ends too (whoever held one of those
    /// sessions could have read it; View API key makes a new one). Passkeys stay. User
    /// token only.
    #[oai(path = "/users/:user_id/sessions", method = "delete", operation_id = "sessionsDeleteOthers")]
    async fn delete_others(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Ended> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let ended = sessions::end_others(&self.state, &user.id, &session.0.session_id).await?;
        let detail = Some(format!("ended: {ended}"));
        events::record(&self.state, EventKind::OtherSessionsEnded, Some(&user.id), &origin(req), detail).await;
        Ok(Ended::NoContent)
    }
}
