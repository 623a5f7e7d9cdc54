//! One set of doubles of the outside services the Clara API talks to, each speaking the real
//! service's protocol so that the server's own clients are what talks to them:
//!
//! - [`stripe`]: Stripe's API (customers, Checkout and billing-portal sessions), and its
//!   signed `checkout.session.completed` event;
//! - [`model`]: an OpenAI-compatible model provider, deterministic unless scripted;
//! - [`search`]: SearXNG, Brave, Tavily and Google Fact Check Tools;
//! - [`keys`] and [`identity`]: Google's and Apple's key sets and the tokens they sign;
//! - [`smtp`] and [`mail`]: an SMTP server and the mailbox it (or a sandbox's mailer) fills;
//! - [`relay`]: a TCP relay to a service the tests run for real (PostgreSQL, Redis), to cut
//!   or slow it (tests only).
//!
//! Each HTTP double is mounted by `--sandbox` under the server's own paths, and served on
//! 127.0.0.1 by the tests ([`serve::serve`]); both go through [`faults`], which can make it
//! fail or stall and (when served) records what it received.

pub mod faults;
pub mod identity;
pub mod keys;
pub mod mail;
pub mod model;
pub mod relay;
pub mod search;
pub mod serve;
pub mod smtp;
pub mod stripe;

pub use faults::{Fault, Faults, Recorded};
pub use serve::{Double, Served, endpoint, serve};
