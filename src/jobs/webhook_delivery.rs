//! The delivery loop of each server process: claims due deliveries (a conditional update
//! per row, so of any number of instances exactly one makes each attempt), sends each as
//! a signed POST with a bounded number in flight, and records the outcome: delivered,
//! due again after the next delay of the schedule (with jitter), or failed.

use std::{sync::Arc, time::Duration};

use entity::{webhook_deliveries as deliveries, webhook_endpoints as endpoints};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use tokio::{
    sync::{Semaphore, watch},
    task::JoinHandle,
};

use crate::services::webhooks::{self as webhooks, DELIVERED, FAILED, PENDING, signing};
use crate::{services::ServiceResult, state::AppState};

/// How often an instance looks for due deliveries.
pub const POLL: Duration = Duration::from_millis(250);
/// Attempts in flight per instance.
pub const CONCURRENCY: usize = 16;
/// One attempt's time limit, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A claim lapses after this (its instance died mid-attempt): the delivery is due again.
const LEASE_MICROS: i64 = 60 * 1_000_000;
/// Bytes of a receiver's error kept in the log.
const MAX_ERROR_CHARS: usize = 200;

pub struct Deliverer {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Deliverer {
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(state.clone(), stopped));
        Self { stop, handle }
    }

    /// Stops claiming; attempts in flight finish (bounded by their 10 s limit).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }

    /// Stops at once, as a crash would: claimed deliveries are retried after their lease.
    pub fn abort(self) {
        self.handle.abort();
    }
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_flight = tokio::task::JoinSet::new();
    while !*stopped.borrow() {
        let free = slots.available_permits();
        // A full batch means more may be due: look again as soon as a slot frees.
        let mut more = false;
        if free > 0 {
            match claim_due(&state, free).await {
                Ok(claimed) => {
                    more = claimed.len() == free;
                    for (delivery, claim_id) in claimed {
                        let Ok(permit) = slots.clone().acquire_owned().await else { break };
                        let state = state.clone();
                        in_flight.spawn(async move {
                            attempt(&state, delivery, &claim_id).await;
                            drop(permit);
                        });
                    }
                }
                Err(err) => tracing::warn!(%err, "webhooks: claiming deliveries failed"),
            }
        }
        while in_flight.try_join_next().is_some() {}
        if more {
            if let Ok(permit) = slots.acquire().await {
                drop(permit);
            }
            continue;
        }
        match queue_depth(&state).await {
            Ok(depth) => state.metrics.webhook_queue.set(depth as i64),
            Err(err) => tracing::debug!(%err, "webhooks: counting the queue failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stopped.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Pending deliveries, for the queue-depth gauge.
pub async fn queue_depth(state: &AppState) -> ServiceResult<u64> {
    Ok(deliveries::Entity::find().filter(deliveries::Column::Status.eq(PENDING)).count(&state.db).await?)
}

/// Claims up to `room` due deliveries. Each claim moves the row's due time past the lease,
/// conditional on the due time read: of several instances reading the same row, one
/// update matches and the others match nothing.
async fn claim_due(state: &AppState, room: usize) -> ServiceResult<Vec<(deliveries::Model, String)>> {
    let now = state.clock.now_micros();
    let due = deliveries::Entity::find()
        .filter(deliveries::Column::Status.eq(PENDING))
        .filter(deliveries::Column::NextAttemptAt.lte(now))
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .limit(room as u64)
        .all(&state.db)
        .await?;
    let mut claimed = vec![];
    for delivery in due {
        let claim_id = uuid::Uuid::new_v4().simple().to_string();
        let won = deliveries::Entity::update_many()
            .col_expr(deliveries::Column::NextAttemptAt, Expr::value(Some(now + LEASE_MICROS)))
            .col_expr(deliveries::Column::ClaimId, Expr::value(Some(claim_id.clone())))
            .filter(deliveries::Column::Id.eq(delivery.id.as_str()))
            .filter(deliveries::Column::Status.eq(PENDING))
            .filter(deliveries::Column::NextAttemptAt.eq(delivery.next_attempt_at))
            .exec(&state.db)
            .await?
            .rows_affected
            == 1;
        if won {
            claimed.push((delivery, claim_id));
        }
    }
    Ok(claimed)
}

/// What one attempt came to.
struct Outcome {
    delivered: bool,
    status_code: Option<u16>,
    error: Option<String>,
}

/// One attempt, in a span of its own linked to the change that wrote the event.
async fn attempt(state: &AppState, delivery: deliveries::Model, claim_id: &str) {
    use tracing::Instrument;
    let span = tracing::info_span!(
        parent: None,
        "webhook attempt",
        otel.kind = "producer",
        webhook.id = %delivery.id,
        webhook.endpoint = %delivery.endpoint_id,
        webhook.event = %delivery.event_type,
        webhook.attempt = delivery.attempts + 1,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(stored) = &delivery.trace_context {
        crate::telemetry::link(&span, stored);
    }
    async {
        let outcome = match endpoints::Entity::find()
            .filter(endpoints::Column::Id.eq(delivery.endpoint_id.as_str()))
            .one(&state.db)
            .await
        {
            Ok(Some(endpoint)) => send(state, &endpoint, &delivery).await,
            Ok(None) => return, // deleted meanwhile: its log went with it
            Err(err) => Outcome { delivered: false, status_code: None, error: Some(format!("database: {err}")) },
        };
        if let Some(code) = outcome.status_code {
            tracing::Span::current().record("http.response.status_code", code);
        }
        if let Err(err) = record(state, &delivery, claim_id, outcome).await {
            tracing::warn!(delivery = %delivery.id, %err, "webhooks: recording an attempt failed");
        }
    }
    .instrument(span)
    .await
}

async fn send(state: &AppState, endpoint: &endpoints::Model, delivery: &deliveries::Model) -> Outcome {
    let failed = |error: String| Outcome { delivered: false, status_code: None, error: Some(error) };
    let (url, addresses) = match webhooks::target::resolve(state, &endpoint.url).await {
        Ok(found) => found,
        Err(reason) => return failed(reason),
    };
    let secrets = webhooks::signing_keys(state, endpoint);
    if secrets.is_empty() {
        return failed("the endpoint's secret cannot be read".into());
    }
    let timestamp = state.clock.now_secs();
    let signature = signing::header(&secrets, &delivery.id, timestamp, &delivery.payload);
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(crate::fetch::Pinned(addresses))
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("Clara-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => return failed(format!("client: {err}")),
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone());
    match crate::telemetry::send(request, "webhook", crate::telemetry::Propagate::No).await {
        Ok(response) => {
            let status = response.status();
            Outcome {
                delivered: status.is_success(),
                status_code: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            }
        }
        Err(err) if err.is_timeout() => failed("no answer within 10 s".into()),
        Err(err) if err.is_connect() => failed("the connection failed".into()),
        Err(err) => failed(err.without_url().to_string().chars().take(MAX_ERROR_CHARS).collect()),
    }
}

/// The delay before retry number `retry` (1-based) with ±20 % jitter, or None when the
/// schedule is used up.
pub fn next_delay_micros(schedule: &[u64], retry: usize) -> Option<i64> {
    let base = *schedule.get(retry.checked_sub(1)?)? as f64 * 1_000_000.0;
    let jitter = rand::Rng::random_range(&mut rand::rng(), 0.8..1.2);
    Some((base * jitter) as i64)
}

/// Stores the attempt's outcome, conditional on still holding the claim.
async fn record(state: &AppState, delivery: &deliveries::Model, claim_id: &str, outcome: Outcome) -> ServiceResult<()> {
    let now = state.clock.now_micros();
    let attempts = delivery.attempts + 1;
    let (status, next) = if outcome.delivered {
        (DELIVERED, None)
    } else {
        match next_delay_micros(&state.config.webhooks.webhook_retry_schedule, attempts as usize) {
            Some(delay) => (PENDING, Some(now + delay)),
            None => (FAILED, None),
        }
    };
    let label = match (outcome.delivered, status) {
        (true, _) => "delivered",
        (false, FAILED) => "failed",
        _ => "retried",
    };
    state.metrics.webhook_deliveries.with_label_values(&[label]).inc();
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(status))
        .col_expr(deliveries::Column::Attempts, Expr::value(attempts))
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(next))
        .col_expr(deliveries::Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(deliveries::Column::LastStatusCode, Expr::value(outcome.status_code.map(i32::from)))
        .col_expr(deliveries::Column::LastError, Expr::value(outcome.error))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.eq(delivery.id.as_str()))
        .filter(deliveries::Column::ClaimId.eq(claim_id))
        .exec(&state.db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_runs_out_into_failed_with_jitter_inside_twenty_percent() {
        let schedule = webhooks::DEFAULT_RETRY_SCHEDULE;
        for (retry, secs) in schedule.iter().enumerate() {
            let delay = next_delay_micros(&schedule, retry + 1).unwrap();
            let base = *secs as i64 * 1_000_000;
            assert!(delay >= base * 8 / 10 && delay <= base * 12 / 10, "{retry}: {delay}");
        }
        assert_eq!(next_delay_micros(&schedule, schedule.len() + 1), None);
        assert_eq!(next_delay_micros(&schedule, 0), None);
    }
}
