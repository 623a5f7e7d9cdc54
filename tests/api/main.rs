//! In-process tests of the whole API. One binary, one module per area.

mod support;

mod auth;
mod bad_input;
mod google;
mod misc;
mod otp;
mod two_factor;
mod users;
