//! The rules of the product: the use cases (accounts, sessions, one-time codes, 2FA, passkeys,
//! API keys, the ledger, billing, tasks, idempotency, webhooks) and the ports they need (mail,
//! payments, name resolution). It depends on no HTTP framework and no outbound client: the
//! server's face calls in, and its adapters implement the ports.

pub use domain;

pub mod address_key;
pub mod auth_cache;
pub mod config;
pub mod identity;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod payments;
pub mod redis_link;
pub mod services;
pub mod state;
pub mod trace_context;
pub mod views;

pub use state::{Clock, Core, CoreInner};
