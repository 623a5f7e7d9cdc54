//! Tokens and keys, passwords, sessions and codes, the authentication cache, request limits.

use std::time::Duration;

use super::{
    ConfigError, Get, MIN_SECRET_BYTES, invalid, parse_number,
    settings::{Section, Setting},
};

#[derive(Clone, Debug)]
pub struct Accounts {
    /// None: generated once and kept in the database (allowed only for a local SQLite
    /// server; see `Config::from_map`).
    pub jwt_secret: Option<String>,
    pub public_api_keys: Vec<String>,
    pub admin_api_key: Option<String>,
    pub bcrypt_cost: u32,
    pub session_ttl: Duration,
    pub otp_ttl: Duration,
    /// How long an authenticated caller is remembered (0 turns the cache off).
    pub auth_cache_ttl: Duration,
    /// Users remembered at most by the authentication cache.
    pub auth_cache_capacity: usize,
    /// Requests per second per credential (per address when anonymous).
    pub rate_limit_per_second: std::num::NonZeroU32,
    /// Sign-ups one client address may make in an hour.
    pub signups_per_address_hour: u32,
}

impl Accounts {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let jwt_secret = get("JWT_SECRET").map(str::to_string);
        if let Some(secret) = &jwt_secret
            && secret.len() < MIN_SECRET_BYTES
        {
            return Err(invalid("JWT_SECRET", format!("must be at least {MIN_SECRET_BYTES} bytes")));
        }
        let public_api_keys = get("PUBLIC_API_KEYS")
            .map(|v| v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let admin_api_key = get("ADMIN_API_KEY").map(str::to_string);
        let bcrypt_cost = parse_number::<u32>(get("BCRYPT_COST"), "BCRYPT_COST", 12)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(invalid("BCRYPT_COST", format!("{bcrypt_cost} is outside 4..=31")));
        }
        let session_days = parse_number::<u64>(get("SESSION_TTL_DAYS"), "SESSION_TTL_DAYS", 7)?;
        if !(1..=365).contains(&session_days) {
            return Err(invalid("SESSION_TTL_DAYS", "must be between 1 and 365"));
        }
        let otp_minutes = parse_number::<u64>(get("OTP_TTL_MINUTES"), "OTP_TTL_MINUTES", 10)?;
        if !(1..=1440).contains(&otp_minutes) {
            return Err(invalid("OTP_TTL_MINUTES", "must be between 1 and 1440"));
        }
        let rate = parse_number::<u32>(get("RATE_LIMIT_PER_SECOND"), "RATE_LIMIT_PER_SECOND", 10)?;
        let rate_limit_per_second = std::num::NonZeroU32::new(rate)
            .filter(|r| r.get() <= 1_000_000)
            .ok_or_else(|| invalid("RATE_LIMIT_PER_SECOND", "must be between 1 and 1000000"))?;
        let signups_per_address_hour =
            parse_number::<u32>(get("SIGNUPS_PER_ADDRESS_HOUR"), "SIGNUPS_PER_ADDRESS_HOUR", 20)?;
        if !(1..=1_000_000).contains(&signups_per_address_hour) {
            return Err(invalid("SIGNUPS_PER_ADDRESS_HOUR", "must be between 1 and 1000000"));
        }
        let auth_cache_secs = parse_number::<u64>(get("AUTH_CACHE_TTL_SECS"), "AUTH_CACHE_TTL_SECS", 30)?;
        if auth_cache_secs > 3_600 {
            return Err(invalid("AUTH_CACHE_TTL_SECS", "must be between 0 and 3600"));
        }
        let auth_cache_capacity = parse_number::<usize>(get("AUTH_CACHE_CAPACITY"), "AUTH_CACHE_CAPACITY", 10_000)?;
        if auth_cache_capacity > 10_000_000 {
            return Err(invalid("AUTH_CACHE_CAPACITY", "must be between 0 and 10000000"));
        }
        Ok(Self {
            jwt_secret,
            public_api_keys,
            admin_api_key,
            bcrypt_cost,
            session_ttl: Duration::from_secs(session_days * 86_400),
            otp_ttl: Duration::from_secs(otp_minutes * 60),
            auth_cache_ttl: Duration::from_secs(auth_cache_secs),
            auth_cache_capacity,
            rate_limit_per_second,
            signups_per_address_hour,
        })
    }
}

/// The settings of `docs/configuration.md`'s section "Accounts, tokens and request limits".
pub const SECTION: Section = Section {
    title: "Accounts, tokens and request limits",
    settings: &[
        Setting {
            variable: "JWT_SECRET",
            default: "generated once and kept in the database, **only** for SQLite on a loopback `HOST`; otherwise required",
            meaning: "signing key for user and API-key tokens (at least 32 bytes). With a PostgreSQL `DATABASE_URL` or a non-loopback `HOST` the server refuses to start without it: a secret kept in the database would let anyone who can read the database forge tokens",
        },
        Setting {
            variable: "PUBLIC_API_KEYS",
            default: "empty (public routes open)",
            meaning: "comma-separated public keys accepted in `Authorization`",
        },
        Setting {
            variable: "ADMIN_API_KEY",
            default: "empty (admin routes closed)",
            meaning: "the operators' key for the admin routes, raw in `Authorization`; at least 32 characters with PostgreSQL or a non-loopback `HOST`",
        },
        Setting { variable: "BCRYPT_COST", default: "`12`", meaning: "password hashing cost (4–31)" },
        Setting { variable: "SESSION_TTL_DAYS", default: "`7`", meaning: "lifetime of a user session token (1–365)" },
        Setting {
            variable: "OTP_TTL_MINUTES",
            default: "`10`",
            meaning: "lifetime of an e-mailed one-time code (1–1440)",
        },
        Setting {
            variable: "AUTH_CACHE_TTL_SECS",
            default: "`30`",
            meaning: "how long a checked session or API key and its user are remembered (0–3600; `0` turns the cache off). Every change is seen by the next request: in-process, and with `REDIS_URL` across processes. **Several processes without `REDIS_URL` must set `0`**",
        },
        Setting {
            variable: "AUTH_CACHE_CAPACITY",
            default: "`10000`",
            meaning: "users the authentication cache remembers at most (0–10000000)",
        },
        Setting {
            variable: "RATE_LIMIT_PER_SECOND",
            default: "`10`",
            meaning: "requests per second per user, API key or (public key, Basic, admin key, anonymous) client address (IPv6: per /64; 1–1000000); 429 with `Retry-After` beyond",
        },
        Setting {
            variable: "SIGNUPS_PER_ADDRESS_HOUR",
            default: "`20`",
            meaning: "sign-ups one client address (IPv6: one /64) may make per hour (1–1000000); 429 beyond",
        },
    ],
};
