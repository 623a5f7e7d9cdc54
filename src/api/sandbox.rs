//! The sandbox's documented routes, present only in sandbox mode: the
//! mailbox, the payment simulator's pages and its Pay, the Google and Apple ID-token
//! minters, and the software passkey authenticator. They take no credential. The doubles' wire endpoints are in `crate::sandbox::routes`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::{Html, Json},
};

use super::outcomes::*;
use super::{
    ApiTags,
    body::{JsonBody, Text},
    error::ApiError,
    middleware::policy::sandbox_page,
    models::SuccessStatus,
    sandbox_auth::{
        SandboxAppleIdTokenRequest, SandboxAssertionRequest, SandboxAttestationRequest, SandboxCredential,
        SandboxCredentialEnvelope,
    },
};
use doubles::{
    identity::{AppleToken, GoogleToken, apple_token, google_token},
    keys::SigningKey,
};

use crate::{
    domain::{Email, http_date},
    sandbox::{self, Sandbox, checkout, pages, passkey::AuthenticatorError},
    services::{Resource, ServiceError},
    state::AppState,
};

pub struct SandboxApi {
    pub state: AppState,
    pub sandbox: Arc<Sandbox>,
}

/// A mail the server sent, as the sandbox's mailbox kept it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SandboxMail {
    pub id: String,
    /// The recipient, lower-cased.
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: the same document SMTP sends as the mail's HTML alternative to
    /// `text`, rendered from the same template (an operator's `EMAIL_TEMPLATES_DIR`
    /// override included).
    pub html: String,
    /// The one-time code's type (`ACTIVATION`, `TWO_FACTOR_AUTH`, `CHANGE_PASSWORD`, `DELETE_ACCOUNT`), when the mail carries a code;
    /// null for a notice (such as a passkey added).
    #[oai(nullable)]
    pub otp_type: Option<String>,
    /// The one-time code the mail carries; null for a notice.
    #[oai(nullable)]
    pub code: Option<String>,
    /// When it was sent (HTTP date).
    pub created_at: String,
}

impl poem_openapi::types::Example for SandboxMail {
    fn example() -> Self {
        Self {
            id: "0b7f6f1e-4c1a-4a53-9b8e-1b0f3c5d2a10".into(),
            to: "hello@crazi.co".into(),
            subject: "Welcome to Clara: activate your account".into(),
            text: "Hello Vibhanshu,\n\nWelcome to Clara! Use this code to activate your account:\n\n    245522\n…"
                .into(),
            html: "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n…Welcome to Clara…\
                   Thanks for signing up! Use this code to activate your account:…245522…</html>\n"
                .into(),
            otp_type: Some("ACTIVATION".into()),
            code: Some("245522".into()),
            created_at: "Thu, 27 Nov 2025 00:10:11 GMT".into(),
        }
    }
}

/// Success envelope around the mails sent to one address, newest first.
#[derive(Debug, Clone, Object)]
pub struct SandboxMailListEnvelope {
    pub data: Vec<SandboxMail>,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

/// What to mint a Google ID token for.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SandboxIdTokenRequest {
    /// The Google account's address.
    pub email: Text,
    /// The display name (Google's `name`; split into `given_name` and `family_name`).
    pub name: Option<Text>,
    /// Google's `email_verified`; true when left out. Sign-in refuses a false one.
    pub email_verified: Option<bool>,
}

impl poem_openapi::types::Example for SandboxIdTokenRequest {
    fn example() -> Self {
        Self {
            email: Text("hello@crazi.co".into()),
            name: Some(Text("Vibhanshu Rathod".into())),
            email_verified: Some(true),
        }
    }
}

/// An ID token for `POST /auth/google` (or, from the Apple minter, `POST /auth/apple`) on
/// this sandbox server (refused by any other).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SandboxIdToken {
    pub id_token: String,
}

impl poem_openapi::types::Example for SandboxIdToken {
    fn example() -> Self {
        Self {
            id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNsYXJhLXNhbmRib3gtMSJ9.eyJlbWFpbCI6ImhlbGxvQGNyYXppLmNvIn0.sig"
                .into(),
        }
    }
}

/// Success envelope around a minted ID token.
#[derive(Debug, Clone, Object)]
pub struct SandboxIdTokenEnvelope {
    pub data: SandboxIdToken,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

/// A simulated payment.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SandboxPayment {
    pub session_id: String,
    /// Always `paid`.
    pub payment_status: String,
    /// False when the session had been paid before (its credits were added once).
    pub credited: bool,
    /// Credits bought, as Buy quoted them.
    pub credits: f64,
    /// US dollars paid.
    pub amount_usd: f64,
    /// Where a browser goes next (Buy's success URL).
    pub success_url: String,
}

impl poem_openapi::types::Example for SandboxPayment {
    fn example() -> Self {
        Self {
            session_id: "cs_sandbox_5b0f6a0e2d7c4f0b9a3e1c2d4b6a8f00".into(),
            payment_status: "paid".into(),
            credited: true,
            credits: 500.0,
            amount_usd: 5.0,
            success_url: "http://127.0.0.1:8000/api/v1/sandbox/app/billing?stripe_status=success".into(),
        }
    }
}

/// Success envelope around a simulated payment.
#[derive(Debug, Clone, Object)]
pub struct SandboxPaymentEnvelope {
    pub data: SandboxPayment,
    /// A sentence for people; use `status` (and `code` on errors) in code.
    pub message: String,
    pub status: SuccessStatus,
}

#[derive(ApiResponse)]
pub enum PayResponse {
    /// Paid: the signed `checkout.session.completed` went through the webhook.
    #[oai(status = 200)]
    Paid(Json<SandboxPaymentEnvelope>),
    /// Paid, from a browser (`Accept: text/html`, as the checkout page's Pay button sends):
    /// on to the success URL.
    #[oai(status = 303)]
    Redirect(#[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum PageResponse {
    /// The page.
    #[oai(status = 200)]
    Page(Html<String>),
}

/// The origin the authenticator reports: the one asked for, else the relying party's first
/// (sandbox mode always has one), else this server's.
fn origin_for(state: &AppState, asked: Option<Text>) -> String {
    match (asked, &state.config.sign_in.webauthn) {
        (Some(origin), _) => origin.0,
        (None, Some(webauthn)) => webauthn.origins[0].origin().ascii_serialization(),
        (None, None) => state.config.public_base(),
    }
}

fn credential_answer(
    answer: Result<serde_json::Value, AuthenticatorError>,
) -> Result<Json<SandboxCredentialEnvelope>, ApiError> {
    let credential = match answer {
        Ok(credential) => credential,
        Err(AuthenticatorError::Internal) => return Err(ApiError::internal()),
        Err(_) => return Err(ApiError::invalid_parameters()),
    };
    let credential_id = credential["id"].as_str().unwrap_or_default().to_string();
    let serde_json::Value::Object(credential) = credential else { return Err(ApiError::internal()) };
    Ok(Json(SandboxCredentialEnvelope {
        data: SandboxCredential { credential: credential.into_iter().collect(), credential_id },
        message: "Credential created successfully.".into(),
        status: SuccessStatus::Success,
    }))
}

fn wants_html(req: &Request) -> bool {
    req.headers()
        .get(poem::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    // Sandbox mode only: no credential, no rate limit, and only the portal reads the database.
    ("sandboxMailbox", &[SERVER, PARAMS]),
    ("sandboxCheckoutPage", &[SERVER, NO_SESSION]),
    ("sandboxCheckoutPay", &[SERVER, NO_SESSION]),
    ("sandboxPortalPage", &[SERVER, DATABASE, &[(404, ErrorCode::CustomerNotFound)]]),
    ("sandboxGoogleIdToken", &[SERVER, JSON_BODY]),
    ("sandboxAppleIdToken", &[SERVER, JSON_BODY]),
    ("sandboxPasskeyAttestation", &[SERVER, JSON_BODY]),
    ("sandboxPasskeyAssertion", &[SERVER, JSON_BODY]),
];

#[OpenApi(tag = "ApiTags::Sandbox")]
impl SandboxApi {
    /// Mailbox
    ///
    /// Every mail the server sent to this address (sandbox mode keeps them instead of
    /// sending them), newest first, with its one-time code apart. Kept in memory, the
    /// newest 10,000 in all.
    #[oai(path = "/sandbox/mailbox/:email", method = "get", operation_id = "sandboxMailbox")]
    async fn mailbox(&self, email: Path<String>) -> Result<Json<SandboxMailListEnvelope>, ApiError> {
        let email: Email = email.0.parse().map_err(|_| ApiError::invalid_parameters())?;
        let mails = self
            .sandbox
            .mailbox
            .for_address(email.as_str())
            .into_iter()
            .map(|m| SandboxMail {
                id: m.id,
                to: m.to,
                subject: m.subject,
                text: m.text,
                html: m.html,
                otp_type: m.otp_type,
                code: m.code,
                created_at: http_date(m.created_at),
            })
            .collect();
        Ok(Json(SandboxMailListEnvelope {
            data: mails,
            message: "Mails fetched successfully.".into(),
            status: SuccessStatus::Success,
        }))
    }

    /// Checkout page
    ///
    /// The page Buy's `url` opens: the amount, the credits, Pay and Cancel. Pay completes
    /// the payment as Pay checkout does and then opens the success URL; Cancel opens the
    /// cancel URL.
    #[oai(
        path = "/sandbox/checkout/:session_id",
        method = "get",
        operation_id = "sandboxCheckoutPage",
        transform = "sandbox_page"
    )]
    async fn checkout_page(&self, session_id: Path<String>) -> Result<PageResponse, ApiError> {
        let session =
            self.sandbox.stripe.sessions.get(&session_id.0).ok_or(ServiceError::NotFound(Resource::CheckoutSession))?;
        Ok(PageResponse::Page(Html(pages::checkout(&session))))
    }

    /// Pay checkout
    ///
    /// Completes a sandbox Checkout Session: sends Stripe's signed
    /// `checkout.session.completed` for it to this server's webhook, which credits the
    /// account once (paying again credits nothing more). Scripts get the outcome; a browser
    /// (`Accept: text/html`) is sent on to the success URL.
    #[oai(path = "/sandbox/checkout/:session_id/pay", method = "post", operation_id = "sandboxCheckoutPay")]
    async fn pay(&self, req: &Request, session_id: Path<String>) -> Result<PayResponse, ApiError> {
        let paid =
            checkout::pay(&self.sandbox, self.state.clock.now_secs(), &session_id.0).await.map_err(
                |err| match err {
                    checkout::PayError::UnknownSession => {
                        ApiError::from(ServiceError::NotFound(Resource::CheckoutSession))
                    }
                    checkout::PayError::Delivery(detail) => {
                        tracing::error!(%detail, "SANDBOX: the webhook refused the simulator's event");
                        ApiError::internal()
                    }
                },
            )?;
        if wants_html(req) {
            return Ok(PayResponse::Redirect(paid.session.success_url));
        }
        let message =
            if paid.credited { "Payment completed; credits added." } else { "Already paid; nothing changed." };
        Ok(PayResponse::Paid(Json(SandboxPaymentEnvelope {
            data: SandboxPayment {
                credits: paid.session.credits().parse().unwrap_or_default(),
                amount_usd: paid.session.amount_cents as f64 / 100.0,
                session_id: paid.session.id,
                payment_status: "paid".into(),
                credited: paid.credited,
                success_url: paid.session.success_url,
            },
            message: message.into(),
            status: SuccessStatus::Success,
        })))
    }

    /// Billing portal page
    ///
    /// The page Portal's `url` opens: the account's purchases, newest first, and a way back
    /// to `return_url`.
    #[oai(
        path = "/sandbox/portal/:customer_id",
        method = "get",
        operation_id = "sandboxPortalPage",
        transform = "sandbox_page"
    )]
    async fn portal_page(
        &self,
        customer_id: Path<String>,
        /// Where Back leads (Portal sets it to `CLIENT_URL`).
        return_url: Query<Option<String>>,
    ) -> Result<PageResponse, ApiError> {
        let (email, purchases) =
            pages::purchases(&self.state, &customer_id.0).await?.ok_or(ServiceError::NotFound(Resource::Customer))?;
        let back = return_url.0.filter(|url| url.starts_with("http://") || url.starts_with("https://"));
        Ok(PageResponse::Page(Html(pages::portal(&email, &purchases, back.as_deref()))))
    }

    /// Mint Google ID token
    ///
    /// An ID token shaped and signed as Google's, for Google sign-in on this sandbox server
    /// (whose Google key set is the sandbox's own). Any other server refuses it.
    #[oai(path = "/sandbox/google/id_token", method = "post", operation_id = "sandboxGoogleIdToken")]
    async fn google_id_token(
        &self,
        body: JsonBody<SandboxIdTokenRequest>,
    ) -> Result<Json<SandboxIdTokenEnvelope>, ApiError> {
        let email: Email = body.0.email.0.parse().map_err(|_| ApiError::invalid_parameters())?;
        let id_token = google_token(
            SigningKey::sandbox(),
            &GoogleToken {
                audience: sandbox::GOOGLE_CLIENT_ID,
                email: email.as_str(),
                name: body.0.name.as_ref().map(|n| n.0.as_str()),
                email_verified: body.0.email_verified.unwrap_or(true),
            },
        );
        Ok(Json(SandboxIdTokenEnvelope {
            data: SandboxIdToken { id_token },
            message: "ID token minted successfully.".into(),
            status: SuccessStatus::Success,
        }))
    }
    /// Mint Apple identity token
    ///
    /// An identity token shaped and signed as Sign in with Apple's, for Sign in with Apple on
    /// this sandbox server (whose Apple key set is the sandbox's own). `nonce` becomes the
    /// token's `nonce` claim as given: send the SHA-256 hex of a nonce from Apple nonce, as an
    /// app puts it in its Apple request. Any other server refuses the token.
    #[oai(path = "/sandbox/apple/id_token", method = "post", operation_id = "sandboxAppleIdToken")]
    async fn apple_id_token(
        &self,
        body: JsonBody<SandboxAppleIdTokenRequest>,
    ) -> Result<Json<SandboxIdTokenEnvelope>, ApiError> {
        let email: Email = body.0.email.0.parse().map_err(|_| ApiError::invalid_parameters())?;
        let request = AppleToken {
            audience: sandbox::APPLE_CLIENT_ID,
            email: email.as_str(),
            nonce: body.0.nonce.as_ref().map(|n| n.0.as_str()),
            email_verified: body.0.email_verified.unwrap_or(true),
        };
        Ok(Json(SandboxIdTokenEnvelope {
            data: SandboxIdToken { id_token: apple_token(SigningKey::sandbox(), &request) },
            message: "ID token minted successfully.".into(),
            status: SuccessStatus::Success,
        }))
    }

    /// Answer passkey creation options
    ///
    /// The sandbox's software authenticator answers the options of Passkey creation options
    /// as `navigator.credentials.create` would: a new ES256 passkey, user-verified, with
    /// self attestation. Send `credential` to Add passkey. The authenticator keeps its keys
    /// in this server process's memory only. Options it cannot answer (no ES256, no
    /// challenge, not an object) are the 400.
    #[oai(path = "/sandbox/passkey/attestation", method = "post", operation_id = "sandboxPasskeyAttestation")]
    async fn passkey_attestation(
        &self,
        body: JsonBody<SandboxAttestationRequest>,
    ) -> Result<Json<SandboxCredentialEnvelope>, ApiError> {
        let origin = origin_for(&self.state, body.0.origin);
        let options = serde_json::Value::Object(body.0.options.into_iter().collect());
        credential_answer(self.sandbox.authenticator.attest(&options, &origin))
    }

    /// Answer passkey sign-in options
    ///
    /// The software authenticator signs the options of Passkey sign-in options (or of any
    /// request options naming its credentials) as `navigator.credentials.get` would, with
    /// the passkey `credential_id` names (a person picks one in a discoverable sign-in). Send
    /// `credential` to Passkey sign-in with the options' `challenge_id`. A credential this
    /// process did not make, or options it cannot answer, are the 400.
    #[oai(path = "/sandbox/passkey/assertion", method = "post", operation_id = "sandboxPasskeyAssertion")]
    async fn passkey_assertion(
        &self,
        body: JsonBody<SandboxAssertionRequest>,
    ) -> Result<Json<SandboxCredentialEnvelope>, ApiError> {
        let origin = origin_for(&self.state, body.0.origin);
        let options = serde_json::Value::Object(body.0.options.into_iter().collect());
        let credential_id = body.0.credential_id.as_ref().map(|c| c.0.as_str());
        credential_answer(self.sandbox.authenticator.assert(&options, &origin, credential_id))
    }
}
