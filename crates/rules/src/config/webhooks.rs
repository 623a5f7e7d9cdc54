//! Outgoing webhooks to users' endpoints.

use super::{
    ConfigError, Get, invalid,
    settings::{Section, Setting},
    yes_or_no,
};

#[derive(Clone, Debug)]
pub struct Webhooks {
    /// Seconds to wait before each retry of a webhook delivery, in order.
    pub webhook_retry_schedule: Vec<u64>,
    /// Outgoing webhooks may target http URLs and private addresses (tests only).
    pub webhook_allow_private_networks: bool,
}

impl Webhooks {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let webhook_allow_private_networks =
            yes_or_no(get("WEBHOOK_ALLOW_PRIVATE_NETWORKS"), "WEBHOOK_ALLOW_PRIVATE_NETWORKS", false)?;
        let webhook_retry_schedule = match get("WEBHOOK_RETRY_SCHEDULE") {
            None => crate::services::webhooks::DEFAULT_RETRY_SCHEDULE.to_vec(),
            Some(text) => text
                .split(',')
                .map(|part| part.trim().parse::<u64>().ok().filter(|secs| (1..=7 * 86_400).contains(secs)))
                .collect::<Option<Vec<u64>>>()
                .filter(|delays| delays.len() <= 20)
                .ok_or_else(|| {
                    invalid("WEBHOOK_RETRY_SCHEDULE", "must be up to 20 comma-separated seconds, each 1 to 604800")
                })?,
        };
        Ok(Self { webhook_retry_schedule, webhook_allow_private_networks })
    }
}

/// The settings of `docs/configuration.md`'s section "Webhooks".
pub const SECTION: Section = Section {
    title: "Webhooks",
    settings: &[
        Setting {
            variable: "WEBHOOK_RETRY_SCHEDULE",
            default: "`5,300,1800,7200,18000,36000,36000`",
            meaning: "seconds before each retry of a webhook delivery that got no 2xx (each ±20 % jitter); after the last, the delivery is `failed` (up to 20 values, each 1–604800)",
        },
        Setting {
            variable: "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
            default: "`false`",
            meaning: "`true` lets webhook endpoints use http and private or loopback addresses (tests only); otherwise https to public addresses only, checked at creation and on every resolved address before each attempt. Sandbox mode allows loopback targets",
        },
    ],
};
