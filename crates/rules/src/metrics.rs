//! The server's Prometheus metrics: what is counted and the text exposition. Who may read
//! them is the face's concern (`/metrics`).

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub emails: IntCounterVec,
    pub webhooks: IntCounterVec,
    pub auth_cache: IntCounterVec,
    pub password_hashes: IntCounterVec,
    /// Writes of a session's last use (at most one per session and minute per process).
    pub session_touches: prometheus::IntCounter,
    /// Connections closed at accept because a cap was full, by cap (`total`, `per_address`).
    pub connections_refused: IntCounterVec,
    /// Connections open now.
    pub connections_open: prometheus::IntGauge,
    tasks: IntGaugeVec,
    queue_age: prometheus::IntGauge,
    /// Webhook delivery attempts by outcome (delivered, retried, failed).
    pub webhook_deliveries: IntCounterVec,
    /// Webhook deliveries waiting (pending), as this process last counted.
    pub webhook_queue: prometheus::IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("clara".into()), None).expect("a valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by operation id and status."),
            &["operation", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by operation id.")
                .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["operation"],
        )
        .expect("valid metric");
        let emails = IntCounterVec::new(Opts::new("emails_total", "E-mails by result (sent, failed)."), &["result"])
            .expect("valid metric");
        let webhooks = IntCounterVec::new(
            Opts::new("stripe_webhooks_total", "Stripe webhook deliveries by outcome."),
            &["outcome"],
        )
        .expect("valid metric");
        let auth_cache = IntCounterVec::new(
            Opts::new("auth_cache_lookups_total", "Credential checks by cache result (hit, miss, bypass)."),
            &["result"],
        )
        .expect("valid metric");
        let password_hashes = IntCounterVec::new(
            Opts::new("password_hashes_total", "bcrypt runs by kind (hash, verify, dummy)."),
            &["kind"],
        )
        .expect("valid metric");
        let session_touches = prometheus::IntCounter::new(
            "session_last_use_writes_total",
            "Writes of a session's last use, at most one per session and minute in each process.",
        )
        .expect("valid metric");
        let connections_refused = IntCounterVec::new(
            Opts::new(
                "connections_refused_total",
                "Connections closed as soon as accepted because MAX_CONNECTIONS (total) or MAX_CONNECTIONS_PER_ADDRESS (per_address) was reached.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let connections_open =
            prometheus::IntGauge::new("connections_open", "Connections open now.").expect("valid metric");
        let tasks =
            IntGaugeVec::new(Opts::new("tasks", "Analysis tasks by status."), &["status"]).expect("valid metric");
        let queue_age =
            prometheus::IntGauge::new("task_queue_age_seconds", "Age of the oldest PENDING task (0 when none).")
                .expect("valid metric");
        let webhook_deliveries = IntCounterVec::new(
            Opts::new("webhook_deliveries_total", "Outgoing webhook attempts by outcome (delivered, retried, failed)."),
            &["outcome"],
        )
        .expect("valid metric");
        let webhook_queue = prometheus::IntGauge::new("webhook_queue_depth", "Outgoing webhook deliveries pending.")
            .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(emails.clone()),
            Box::new(webhooks.clone()),
            Box::new(auth_cache.clone()),
            Box::new(password_hashes.clone()),
            Box::new(session_touches.clone()),
            Box::new(connections_refused.clone()),
            Box::new(connections_open.clone()),
            Box::new(tasks.clone()),
            Box::new(queue_age.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(webhook_queue.clone()),
        ] {
            registry.register(collector).expect("metrics register once");
        }
        Self {
            registry,
            requests,
            latency,
            emails,
            webhooks,
            auth_cache,
            password_hashes,
            session_touches,
            connections_refused,
            connections_open,
            tasks,
            queue_age,
            webhook_deliveries,
            webhook_queue,
        }
    }

    /// The text exposition, with the task gauges set from the given counts.
    pub fn render(&self, tasks_by_status: &[(&str, i64)], oldest_pending_age: i64) -> String {
        for (status, count) in tasks_by_status {
            self.tasks.with_label_values(&[status]).set(*count);
        }
        self.queue_age.set(oldest_pending_age.max(0));
        let mut out = vec![];
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
