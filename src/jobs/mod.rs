//! The background work of a server process: the task worker (the analysis loop over the
//! queue) and webhook deliveries (the outbox sent over HTTP). Both drive the rules.

pub mod webhook_delivery;
pub mod worker;
