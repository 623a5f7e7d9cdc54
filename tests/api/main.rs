//! In-process tests of the whole API. One binary, one module per area.

mod support;

mod account_safety;
mod admin;
mod agent;
mod api_keys;
mod auth;
mod auth_cache;
mod bad_input;
mod billing;
mod db_outage;
mod fuzz_pdf;
mod google;
mod hardening;
mod hostile_auth;
mod idempotency;
mod isolation;
mod ledger;
mod limits;
mod mcp;
mod metrics_access;
mod misc;
mod otp;
mod pdf_gen;
mod per_address;
mod properties;
mod scale_out;
mod shutdown;
mod signing_secret;
mod slow_clients;
mod transactions;
mod two_factor;
mod uploads;
mod users;
mod webhook;
