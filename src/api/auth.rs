//! Routes 1–9 and 29: sign-up, sign-in, sessions, one-time codes and 2FA.

use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path},
    payload::Json,
};

use super::outcomes::*;
use super::{
    ApiTags,
    body::{JsonBody, OptionalJsonBody},
    error::ApiError,
    fresh_proof::FreshProofRequest,
    idempotency::idempotent,
    middleware::ClientAddr,
    models::*,
    own_active_user,
    security::{BasicCredentials, OptionalPublicAccess, PublicAccess, PublicOrSession, UserSession},
};
use crate::{
    domain::{Email, OtpType, Password, PersonName},
    services::{
        ServiceError,
        accounts::{self, NewAccount},
        events::{self, EventKind, Origin},
        fresh_proof,
        throttle::{self, Attempt},
    },
    state::AppState,
};

pub struct AuthApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum SignedInCreated {
    /// The account, with a session token.
    #[oai(status = 201)]
    Created(Json<UserWithTokenEnvelope>),
}

#[derive(ApiResponse)]
pub enum NullCreated {
    #[oai(status = 201)]
    Created(Json<NullEnvelope>),
}

#[derive(ApiResponse)]
pub enum RecoveryCodesCreated {
    /// The new set; the previous set no longer works.
    #[oai(status = 201)]
    Created(Json<RecoveryCodesEnvelope>),
}

#[derive(ApiResponse)]
pub enum TotpCreated {
    #[oai(status = 201)]
    Created(Json<TotpEnrolmentEnvelope>),
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done; no body.
    #[oai(status = 204)]
    NoContent,
}

type Result<T> = std::result::Result<T, ApiError>;

/// The client address the rate-limit middleware found.
pub(super) fn client(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<ClientAddr>().and_then(|c| c.0)
}

/// Where the request came from, for the security trail.
pub fn origin(req: &Request) -> Origin {
    Origin {
        address: client(req).map(|ip| ip.to_string()),
        user_agent: req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_string),
    }
}

fn email_from_path(raw: &str) -> Result<Email> {
    raw.parse().map_err(|_| ApiError::invalid_parameters())
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("authRegister", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(400, ErrorCode::UserExists)], MAIL, IDEMPOTENCY]),
    ("authGoogle", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, NOT_CONFIGURED]),
    ("authLogin", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR]),
    ("authLogout", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    ("authChangePassword", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, NO_USER]),
    ("authSendOtp", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, &[(400, ErrorCode::AlreadyActive)], NO_USER, MAIL]),
    ("authActivate", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(400, ErrorCode::AlreadyActive)], NO_USER]),
    ("authEnable2fa", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
    ("authDisable2fa", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
    ("authStartTotp", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, FRESH_PROOF, ACTIVE, NOT_YOURS, NO_USER]),
    ("authRecoveryCodes", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
];

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register
    ///
    /// Creates an inactive account, e-mails an ACTIVATION code and returns a session
    /// token at once. Until activation the token works only for Logout, View and Update;
    /// activation ends it (log in after activating).
    ///
    /// Safe to retry with an `Idempotency-Key`: a repeat is answered from the first
    /// request, marked `Idempotent-Replayed: true`.
    #[oai(path = "/auth/register", method = "post", operation_id = "authRegister", transform = "idempotent")]
    async fn register(
        &self,
        request: &Request,
        _auth: PublicAccess,
        /// 1–255 visible ASCII characters that make retries safe: the first request with a
        /// key runs, and a retry with the same key and body within 24 hours gets the same
        /// answer, with `Idempotent-Replayed: true`, and does nothing again. The same key with
        /// another body: 422 `idempotency_key_reused`; while the first still runs: 409
        /// `idempotency_key_in_use`.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"))]
        _idempotency_key: Header<Option<String>>,
        body: JsonBody<RegisterRequest>,
    ) -> Result<SignedInCreated> {
        let req = body.0;
        let account = (|| {
            Some(NewAccount {
                first_name: PersonName::parse(&req.first_name.0).ok()?,
                last_name: match &req.last_name {
                    Some(last) => Some(PersonName::parse(&last.0).ok()?),
                    None => None,
                },
                email: req.email.0.parse().ok()?,
                password: Password::parse(req.password.0.clone()).ok()?,
            })
        })()
        .ok_or_else(ApiError::invalid_parameters)?;
        throttle::may_sign_up(&self.state, client(request)).await?;
        let (user, token) = accounts::register(&self.state, account, client(request), &origin(request)).await?;
        Ok(SignedInCreated::Created(Json(UserWithTokenEnvelope::new(
            UserWithToken::new(&user, token),
            "User registered successfully.",
        ))))
    }

    /// Google OAuth
    ///
    /// Signs in with a Google ID token. A new e-mail makes an active account (message
    /// `User registered successfully.`); a known one logs in (`User logged in successfully.`).
    /// With 2FA on, `code` is needed as for Login (else the 401 with
    /// `data.is_2fa_enabled: true`). A registered but never-activated account is
    /// activated, and the password and sessions its registrant set are dropped.
    #[oai(path = "/auth/google", method = "post", operation_id = "authGoogle")]
    async fn google(
        &self,
        req: &Request,
        _auth: OptionalPublicAccess,
        body: JsonBody<GoogleRequest>,
    ) -> Result<SignedInCreated> {
        let code = body.0.code.map(|c| c.0);
        let (user, token, created) =
            accounts::google(&self.state, &body.0.id_token.0, code.as_deref(), client(req), &origin(req)).await?;
        let message = if created { "User registered successfully." } else { "User logged in successfully." };
        Ok(SignedInCreated::Created(Json(UserWithTokenEnvelope::new(UserWithToken::new(&user, token), message))))
    }

    /// Login
    ///
    /// Basic auth with e-mail and password. With 2FA on, `code` is a TWO_FACTOR_AUTH
    /// code from Send OTP or the current code of the enrolled authenticator app; without
    /// it the 401 carries `data.is_2fa_enabled: true`.
    #[oai(path = "/auth/session", method = "post", operation_id = "authLogin")]
    async fn login(
        &self,
        req: &Request,
        credentials: BasicCredentials,
        body: OptionalJsonBody<LoginRequest>,
    ) -> Result<Json<UserWithTokenEnvelope>> {
        let code = body.0.and_then(|b| b.code).map(|c| c.0);
        let origin = origin(req);
        let attempt = accounts::login(
            &self.state,
            &credentials.0.username,
            &credentials.0.password,
            code.as_deref(),
            client(req),
            &origin,
        );
        let outcome = throttle::guarded(
            &self.state,
            Attempt::Login,
            &credentials.0.username,
            client(req),
            code.is_some(),
            attempt,
        )
        .await;
        let kind = match &outcome {
            Ok(_) => EventKind::LoginSucceeded,
            Err(ServiceError::RateLimited(_)) => EventKind::LoginLocked,
            Err(ServiceError::Unauthorized) => EventKind::LoginFailed,
            Err(ServiceError::TwoFactor { .. }) if code.is_some() => EventKind::LoginFailed,
            Err(_) => return Err(outcome.err().map(ApiError::from).unwrap_or_else(ApiError::internal)),
        };
        let user_id = match &outcome {
            Ok((user, _)) => Some(user.id.clone()),
            Err(_) => accounts::user_id_for_email(&self.state, &credentials.0.username).await,
        };
        let detail = (kind != EventKind::LoginSucceeded).then(|| format!("email: {}", credentials.0.username.trim()));
        events::record(&self.state, kind, user_id.as_deref(), &origin, detail).await;
        let (user, token) = outcome?;
        Ok(Json(UserWithTokenEnvelope::new(UserWithToken::new(&user, token), "User logged in successfully.")))
    }

    /// Logout
    ///
    /// Ends the session of the token; the token is refused from then on.
    #[oai(path = "/auth/session", method = "delete", operation_id = "authLogout")]
    async fn logout(&self, session: UserSession) -> Result<NoContent> {
        accounts::logout(&self.state, &session.0.user.id, &session.0.session_id).await?;
        Ok(NoContent::NoContent)
    }

    /// Change Password
    ///
    /// Sets a new password with a CHANGE_PASSWORD code. With the public key every
    /// session of the user ends; with a user token every other session ends.
    #[oai(path = "/users/:user_email/password", method = "patch", operation_id = "authChangePassword")]
    async fn change_password(
        &self,
        req: &Request,
        auth: PublicOrSession,
        /// The account's e-mail address.
        user_email: Path<String>,
        body: JsonBody<ChangePasswordRequest>,
    ) -> Result<Json<NullEnvelope>> {
        let keep_session = match &auth {
            PublicOrSession::Session(UserSession(session)) => {
                if !session.user.email.eq_ignore_ascii_case(user_email.0.trim()) {
                    return Err(ApiError::forbidden());
                }
                Some(session.session_id.as_str())
            }
            PublicOrSession::Public(_) => None,
        };
        let email = email_from_path(&user_email.0)?;
        let password = Password::parse(body.0.password.0).map_err(|_| ApiError::invalid_parameters())?;
        let attempt =
            accounts::change_password(&self.state, &email, &password, &body.0.code.0, keep_session, client(req));
        throttle::guarded(&self.state, Attempt::Code, email.as_str(), client(req), true, attempt).await?;
        let user_id = accounts::user_id_for_email(&self.state, email.as_str()).await;
        events::record(&self.state, EventKind::PasswordChanged, user_id.as_deref(), &origin(req), None).await;
        Ok(Json(NullEnvelope::new("User password changed successfully.")))
    }

    /// Send OTP
    ///
    /// E-mails a 6-digit code of the given type, valid 10 minutes, single use; a new
    /// code replaces the previous one of the same type.
    #[oai(path = "/users/:user_email/otp/:otp_type", method = "post", operation_id = "authSendOtp")]
    async fn send_otp(
        &self,
        req: &Request,
        _auth: PublicAccess,
        /// The account's e-mail address.
        user_email: Path<String>,
        /// What the code is for (case-sensitive).
        otp_type: Path<OtpType>,
    ) -> Result<NullCreated> {
        let email = email_from_path(&user_email.0)?;
        throttle::may_send_code(&self.state, email.as_str(), otp_type.0, client(req)).await?;
        accounts::send_otp(&self.state, &email, otp_type.0).await?;
        Ok(NullCreated::Created(Json(NullEnvelope::new("OTP sent successfully."))))
    }

    /// Activate
    ///
    /// Activates the account with its ACTIVATION code. The code proves the address, not
    /// that whoever registered it owns it: every session (Register's token included) and
    /// API key made before activation ends, on every server. Log in afterwards.
    #[oai(path = "/users/:user_email/activate", method = "post", operation_id = "authActivate")]
    async fn activate(
        &self,
        req: &Request,
        _auth: PublicAccess,
        /// The account's e-mail address.
        user_email: Path<String>,
        body: JsonBody<CodeRequest>,
    ) -> Result<Json<UserEnvelope>> {
        let email = email_from_path(&user_email.0)?;
        let attempt = accounts::activate(&self.state, &email, &body.0.code.0);
        let user = throttle::guarded(&self.state, Attempt::Code, email.as_str(), client(req), true, attempt).await?;
        Ok(Json(UserEnvelope::new(User::from(&user), "User activated successfully.")))
    }

    /// Enable 2FA
    ///
    /// Turns 2FA on with a TWO_FACTOR_AUTH code from Send OTP, or with the current code
    /// of an authenticator app enrolled through `authStartTotp`. Once an app is enrolled,
    /// e-mailed codes no longer count as a second factor.
    #[oai(path = "/users/:user_id/2fa", method = "post", operation_id = "authEnable2fa")]
    async fn enable_2fa(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<SecondFactorRequest>,
    ) -> Result<Json<NullEnvelope>> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let attempt = accounts::set_two_factor(&self.state, user, true, &body.0.code.0);
        throttle::guarded(&self.state, Attempt::Code, &user.email, client(req), true, attempt).await?;
        events::record(&self.state, EventKind::TwoFactorEnabled, Some(&user.id), &origin(req), None).await;
        Ok(Json(NullEnvelope::new("User 2FA enabled successfully.")))
    }

    /// Disable 2FA
    ///
    /// Turns 2FA off with a TWO_FACTOR_AUTH code or the app's current code.
    #[oai(path = "/users/:user_id/2fa", method = "delete", operation_id = "authDisable2fa")]
    async fn disable_2fa(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<SecondFactorRequest>,
    ) -> Result<NoContent> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let attempt = accounts::set_two_factor(&self.state, user, false, &body.0.code.0);
        throttle::guarded(&self.state, Attempt::Code, &user.email, client(req), true, attempt).await?;
        events::record(&self.state, EventKind::TwoFactorDisabled, Some(&user.id), &origin(req), None).await;
        Ok(NoContent::NoContent)
    }

    /// Start authenticator-app enrolment
    ///
    /// Makes a TOTP secret for an authenticator app. 2FA is not on until Enable 2FA is
    /// called with the app's current code. An authenticator is a new way in, so besides the
    /// session the body carries a fresh proof: the account's `password` while 2FA is off;
    /// while 2FA is on, a current second factor in `code` (the app's code or a recovery
    /// code; a TWO_FACTOR_AUTH code while no app is enrolled); without a password or 2FA
    /// (Google or Apple sign-in only), a TWO_FACTOR_AUTH code from Send OTP in `code`.
    /// Missing or wrong: 401 `two_factor_required` (2FA on) or `proof_required` (2FA off),
    /// with `data.proof` naming what to send; wrong guesses count toward the same locks as
    /// Login. Confirming the new app keeps the recovery codes.
    #[oai(path = "/users/:user_id/2fa/totp", method = "post", operation_id = "authStartTotp")]
    async fn start_totp(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: OptionalJsonBody<FreshProofRequest>,
    ) -> Result<TotpCreated> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        fresh_proof::check(&self.state, user, FreshProofRequest::proof(&body.0), client(req)).await?;
        let (secret, otpauth_url) = accounts::start_totp_enrolment(&self.state, user).await?;
        Ok(TotpCreated::Created(Json(TotpEnrolmentEnvelope::new(
            TotpEnrolment { secret, otpauth_url },
            "TOTP enrolment started successfully.",
        ))))
    }

    /// Recovery codes
    ///
    /// Makes a new set of ten single-use recovery codes (the old set stops working) and
    /// shows it once. Each is accepted once wherever a 2FA code is (login, Disable 2FA,
    /// this route). Needs 2FA on and a current second factor in `code`.
    #[oai(path = "/users/:user_id/2fa/recovery_codes", method = "post", operation_id = "authRecoveryCodes")]
    async fn recovery_codes(
        &self,
        req: &Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<SecondFactorRequest>,
    ) -> Result<RecoveryCodesCreated> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let attempt = accounts::new_recovery_codes(&self.state, user, &body.0.code.0);
        let codes = throttle::guarded(&self.state, Attempt::Code, &user.email, client(req), true, attempt).await?;
        events::record(&self.state, EventKind::RecoveryCodesCreated, Some(&user.id), &origin(req), None).await;
        Ok(RecoveryCodesCreated::Created(Json(RecoveryCodesEnvelope::new(
            RecoveryCodes { codes },
            "Recovery codes created successfully.",
        ))))
    }
}
