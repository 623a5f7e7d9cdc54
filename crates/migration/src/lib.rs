//! One migration per table or change. They run at start-up and through `clara-backend migrate`.

pub use sea_orm_migration::prelude::*;

mod shape;

mod m20261123_000001_create_users;
mod m20261123_000002_create_sessions;
mod m20261123_000003_create_otp_codes;
mod m20261123_000004_create_settings;
mod m20261123_000005_add_stripe_customer;
mod m20261123_000006_create_transactions;
mod m20261123_000007_create_api_keys;
mod m20261123_000008_create_tasks;
mod m20261123_000009_create_recovery_codes;
mod m20261123_000010_create_security_events;
mod m20261125_000011_aggregate_security_events;
mod m20261125_000012_create_idempotency_keys;
mod m20261126_000013_task_steps_and_usage;
mod m20261126_000014_session_details;
mod m20261126_000015_passkeys;
mod m20261203_000016_task_trace_context;
mod m20261205_000017_passkey_challenge_session;
mod m20261205_000018_apple_single_use;
mod m20261205_000019_create_task_events;
mod m20261205_000020_create_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_sessions::Migration),
            Box::new(m20261123_000003_create_otp_codes::Migration),
            Box::new(m20261123_000004_create_settings::Migration),
            Box::new(m20261123_000005_add_stripe_customer::Migration),
            Box::new(m20261123_000006_create_transactions::Migration),
            Box::new(m20261123_000007_create_api_keys::Migration),
            Box::new(m20261123_000008_create_tasks::Migration),
            Box::new(m20261123_000009_create_recovery_codes::Migration),
            Box::new(m20261123_000010_create_security_events::Migration),
            Box::new(m20261125_000011_aggregate_security_events::Migration),
            Box::new(m20261125_000012_create_idempotency_keys::Migration),
            Box::new(m20261126_000013_task_steps_and_usage::Migration),
            Box::new(m20261126_000014_session_details::Migration),
            Box::new(m20261126_000015_passkeys::Migration),
            Box::new(m20261203_000016_task_trace_context::Migration),
            Box::new(m20261205_000017_passkey_challenge_session::Migration),
            Box::new(m20261205_000018_apple_single_use::Migration),
            Box::new(m20261205_000019_create_task_events::Migration),
            Box::new(m20261205_000020_create_webhooks::Migration),
        ]
    }
}
