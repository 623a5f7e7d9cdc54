//! SeaORM entities. Rows only: the HTTP layer never serializes these directly.

pub mod api_keys;
pub mod apple_single_use;
pub mod idempotency_keys;
pub mod otp_codes;
pub mod passkey_challenges;
pub mod passkeys;
pub mod recovery_codes;
pub mod security_events;
pub mod sessions;
pub mod settings;
pub mod task_events;
pub mod tasks;
pub mod transactions;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
