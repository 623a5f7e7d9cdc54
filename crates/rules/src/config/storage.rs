//! The database, and Redis for the state several processes share.

use super::{
    ConfigError, Get, invalid,
    settings::{Section, Setting},
};

#[derive(Clone, Debug)]
pub struct Storage {
    pub database_url: String,
    /// Shared limiter state; None keeps it in this process's memory.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this server writes.
    pub redis_prefix: String,
}

impl Storage {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let database_url = get("DATABASE_URL").unwrap_or("sqlite://clara.db?mode=rwc").to_string();
        let parsed_db =
            url::Url::parse(&database_url).map_err(|e| invalid("DATABASE_URL", format!("not a URL ({e})")))?;
        if !matches!(parsed_db.scheme(), "sqlite" | "postgres" | "postgresql") {
            return Err(invalid(
                "DATABASE_URL",
                format!("scheme `{}` is not supported (use sqlite:// or postgres://)", parsed_db.scheme()),
            ));
        }
        let redis_url = get("REDIS_URL").map(str::to_string);
        if let Some(url) = &redis_url {
            let parsed = url::Url::parse(url).map_err(|e| invalid("REDIS_URL", format!("not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(invalid("REDIS_URL", "scheme must be redis:// or rediss://"));
            }
        }
        let redis_prefix = get("REDIS_PREFIX").unwrap_or("clara:").to_string();
        Ok(Self { database_url, redis_url, redis_prefix })
    }

    /// Whether the database is this process's own SQLite file.
    pub fn is_sqlite(&self) -> bool {
        url::Url::parse(&self.database_url).is_ok_and(|url| url.scheme() == "sqlite")
    }
}

/// The settings of `docs/configuration.md`'s section "Database".
pub const DATABASE: Section = Section {
    title: "Database",
    settings: &[Setting {
        variable: "DATABASE_URL",
        default: "`sqlite://clara.db?mode=rwc`",
        meaning: "`sqlite://…` or `postgres://…` (`postgresql://` too); migrations run at start",
    }],
};

/// The settings of `docs/configuration.md`'s section "Redis".
pub const REDIS: Section = Section {
    title: "Redis",
    settings: &[
        Setting {
            variable: "REDIS_URL",
            default: "unset (limits kept in memory)",
            meaning: "`redis://…`: rate limits, lockouts, cooldowns and the authentication cache's change versions, shared by every server process",
        },
        Setting {
            variable: "REDIS_PREFIX",
            default: "`clara:`",
            meaning: "prefix of the Redis keys this server writes",
        },
    ],
};
