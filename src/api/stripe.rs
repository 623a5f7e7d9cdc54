//! Routes 20–23: credit rates, buying through Stripe Checkout, the billing portal and
//! the webhook that settles purchases.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, OpenApi,
    param::Header,
    payload::Json,
    registry::{MetaMediaType, MetaRequest, Registry},
    types::Type,
};

use super::outcomes::*;
use super::{ApiTags, active, body::JsonBody, error::ApiError, idempotency::idempotent, models::*, security::Caller};
use crate::{
    domain::hundredths_to_number,
    services::billing::{self, WebhookOutcome as Outcome},
    state::AppState,
};

pub struct StripeApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum CheckoutCreated {
    /// Send the buyer to `url`.
    #[oai(status = 201)]
    Created(Json<CheckoutEnvelope>),
}

#[derive(ApiResponse)]
pub enum PortalCreated {
    /// Send the user to `url`.
    #[oai(status = 201)]
    Created(Json<PortalSessionEnvelope>),
}

/// A webhook body exactly as Stripe sent it: the signature covers these bytes, so they
/// are kept raw and parsed only after verification.
pub struct RawStripeEvent(pub Vec<u8>);

impl<'a> ApiExtractor<'a> for RawStripeEvent {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        StripeEvent::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some("The Stripe event, byte for byte as Stripe signed it."),
            content: vec![MetaMediaType { content_type: "application/json", schema: StripeEvent::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(_req: &'a Request, body: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        let bytes =
            body.take().map_err(|_| ApiError::empty_body())?.into_bytes().await.map_err(|_| ApiError::empty_body())?;
        Ok(Self(bytes.to_vec()))
    }
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("stripeRate", &[SERVER, DATABASE, LIMITED, CREDENTIALS]),
    ("stripePortal", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, PAYMENT, NOT_CONFIGURED, IDEMPOTENCY]),
    ("stripeBuy", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, ACTIVE, &[(404, ErrorCode::RateNotFound)], PAYMENT, NOT_CONFIGURED, IDEMPOTENCY]),
    ("stripeWebhook", &[SERVER, DATABASE, WEBHOOK, NO_USER, NOT_CONFIGURED]),
    ("stripeSettle", &[SERVER, DATABASE, WEBHOOK, NO_USER, NOT_CONFIGURED]),
];

#[OpenApi(tag = "ApiTags::Stripe")]
impl StripeApi {
    /// Rate
    ///
    /// The bands of amounts that can be bought and how many credits a dollar buys in each.
    #[oai(path = "/stripe/rate", method = "get", operation_id = "stripeRate")]
    async fn rate(&self, _caller: Caller) -> Result<Json<RateListEnvelope>, ApiError> {
        let bands = self.state.config.billing.credit_bands.all().iter().map(Rate::from).collect();
        Ok(Json(RateListEnvelope::new(
            bands,
            "Credits rate fetched successfully. Upper limit and lower limit are in fiat. Rate is in credits per \
             dollar. Any amount beyond the limits will not be credited.",
        )))
    }

    /// Portal
    ///
    /// A Stripe billing-portal session for the caller (their Stripe customer is made on
    /// first use). 503 when Stripe is not configured; 502 when Stripe fails.
    ///
    /// Safe to retry with an `Idempotency-Key`: a repeat is answered from the first
    /// request, marked `Idempotent-Replayed: true`.
    #[oai(path = "/stripe/portal", method = "post", operation_id = "stripePortal", transform = "idempotent")]
    async fn portal(
        &self,
        caller: Caller,
        /// 1–255 visible ASCII characters that make retries safe: the first request with a
        /// key runs, and a retry with the same key and body within 24 hours gets the same
        /// answer, with `Idempotent-Replayed: true`, and does nothing again. The same key with
        /// another body: 422 `idempotency_key_reused`; while the first still runs: 409
        /// `idempotency_key_in_use`.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"))]
        _idempotency_key: Header<Option<String>>,
    ) -> Result<PortalCreated, ApiError> {
        let user = active(&caller.0)?;
        let url = billing::portal(&self.state, user).await?;
        Ok(PortalCreated::Created(Json(PortalSessionEnvelope::new(
            PortalSession { url },
            "Customer portal session created successfully.",
        ))))
    }

    /// Buy
    ///
    /// A Stripe Checkout page for `amount` US dollars, which must fall inside a Rate band
    /// (404 otherwise). Credits are added when Stripe confirms the payment through the
    /// webhook. 503 when Stripe is not configured; 502 when Stripe fails.
    ///
    /// Safe to retry with an `Idempotency-Key`: a repeat is answered from the first
    /// request, marked `Idempotent-Replayed: true`.
    #[oai(path = "/stripe/buy", method = "post", operation_id = "stripeBuy", transform = "idempotent")]
    async fn buy(
        &self,
        caller: Caller,
        /// 1–255 visible ASCII characters that make retries safe: the first request with a
        /// key runs, and a retry with the same key and body within 24 hours gets the same
        /// answer, with `Idempotent-Replayed: true`, and does nothing again. The same key with
        /// another body: 422 `idempotency_key_reused`; while the first still runs: 409
        /// `idempotency_key_in_use`.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"))]
        _idempotency_key: Header<Option<String>>,
        body: JsonBody<BuyRequest>,
    ) -> Result<CheckoutCreated, ApiError> {
        let user = active(&caller.0)?;
        let request = body.0;
        let checkout = billing::buy(&self.state, user, request.amount.0, &request.return_path.0).await?;
        Ok(CheckoutCreated::Created(Json(CheckoutEnvelope::new(
            Checkout {
                url: checkout.url,
                value_in_credits: hundredths_to_number(checkout.credits),
                value_in_fiat: hundredths_to_number(checkout.cents),
                return_path: request.return_path.0,
            },
            "Checkout session created successfully.",
        ))))
    }
}

/// Stripe's signed deliveries: not metered (see `crate::api::Apis`).
pub struct StripeDeliveriesApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Stripe")]
impl StripeDeliveriesApi {
    /// Webhook
    ///
    /// Stripe's deliveries. The body is verified against `STRIPE_WEBHOOK_SECRET` with the
    /// `Stripe-Signature` header (5-minute tolerance). A paid Checkout Session credits its
    /// user once, however often it is delivered; other events are acknowledged and ignored.
    #[oai(path = "/stripe/webhook", method = "post", operation_id = "stripeWebhook")]
    async fn webhook(
        &self,
        /// `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe sends it.
        #[oai(name = "Stripe-Signature")]
        signature: Header<String>,
        body: RawStripeEvent,
    ) -> Result<Json<WebhookReceiptEnvelope>, ApiError> {
        let (event_id, outcome) = billing::handle_webhook(&self.state, &body.0, &signature.0).await?;
        let (outcome, message) = match outcome {
            Outcome::Credited => (WebhookOutcome::Credited, "Webhook event processed successfully."),
            Outcome::Duplicate => (WebhookOutcome::Duplicate, "Webhook event was already processed."),
            Outcome::Ignored => (WebhookOutcome::Ignored, "Webhook event ignored."),
        };
        Ok(Json(WebhookReceiptEnvelope::new(WebhookReceipt { event_id, outcome }, message)))
    }

    /// Webhook (alias)
    ///
    /// The same as Webhook, at the path the Clara docs also name.
    #[oai(path = "/stripe/settle", method = "post", operation_id = "stripeSettle")]
    async fn settle(
        &self,
        /// `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe sends it.
        #[oai(name = "Stripe-Signature")]
        signature: Header<String>,
        body: RawStripeEvent,
    ) -> Result<Json<WebhookReceiptEnvelope>, ApiError> {
        self.webhook(signature, body).await
    }
}
