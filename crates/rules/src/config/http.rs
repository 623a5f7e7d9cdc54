//! Listening, a request's and a connection's limits, outgoing calls.

use std::{net::IpAddr, time::Duration};

use super::{
    ConfigError, Get, http_url, invalid, parse_number,
    settings::{Section, Setting},
};

#[derive(Clone, Debug)]
pub struct Http {
    pub host: IpAddr,
    pub port: u16,
    /// This server as browsers reach it, for the links it hands out (the sandbox's
    /// checkout and portal pages); None: `http://<HOST>:<PORT>` (loopback for 0.0.0.0).
    pub public_url: Option<String>,
    /// Browser origins allowed to call the API (CORS); `*` for any; empty for none.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest a request may take (uploads and MCP get ten times as long).
    pub request_timeout: Duration,
    /// Longest a client may take to send a request head, from the first moment the
    /// connection waits for one (slow-loris defence).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no request activity for this long is
    /// closed (HTTP/2 PINGs are no activity).
    pub idle_timeout: Duration,
    /// Every connection is closed (gracefully) this long after it was opened.
    pub max_connection_age: Duration,
    /// Connections open at once, in all…
    pub max_connections: usize,
    /// …and from one client address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// How long shutdown waits for in-flight requests and running analyses.
    pub shutdown_grace: Duration,
    /// How long an outgoing SMTP or HTTP call may take before it counts as failed.
    pub outbound_timeout: Duration,
    /// Largest JSON request body, in bytes.
    pub json_body_limit: usize,
}

impl Http {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let host = match get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.parse().map_err(|_| invalid("HOST", format!("`{v}` is not an IP address")))?,
        };
        let port = parse_number::<u16>(get("PORT"), "PORT", 8000)?;
        let public_url = get("PUBLIC_URL").map(|v| http_url(v, "PUBLIC_URL")).transpose()?;
        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.parse::<ipnet::IpNet>().or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from)).map_err(
                            |_| invalid("TRUSTED_PROXIES", format!("`{p}` is not an IP address or CIDR range")),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let cors_allowed_origins = cors_allowed_origins(get("CORS_ALLOWED_ORIGINS"))?;
        let timeout_secs = parse_number::<u64>(get("REQUEST_TIMEOUT_SECS"), "REQUEST_TIMEOUT_SECS", 30)?;
        if !(1..=3600).contains(&timeout_secs) {
            return Err(invalid("REQUEST_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let grace_secs = parse_number::<u64>(get("SHUTDOWN_GRACE_SECS"), "SHUTDOWN_GRACE_SECS", 20)?;
        if grace_secs > 3600 {
            return Err(invalid("SHUTDOWN_GRACE_SECS", "must be at most 3600"));
        }
        let outbound_ms = parse_number::<u64>(get("OUTBOUND_TIMEOUT_MS"), "OUTBOUND_TIMEOUT_MS", 10_000)?;
        if !(100..=120_000).contains(&outbound_ms) {
            return Err(invalid("OUTBOUND_TIMEOUT_MS", "must be between 100 and 120000"));
        }
        let header_read_secs = parse_number::<u64>(get("HEADER_READ_TIMEOUT_SECS"), "HEADER_READ_TIMEOUT_SECS", 10)?;
        if !(1..=300).contains(&header_read_secs) {
            return Err(invalid("HEADER_READ_TIMEOUT_SECS", "must be between 1 and 300"));
        }
        let idle_secs = parse_number::<u64>(get("IDLE_TIMEOUT_SECS"), "IDLE_TIMEOUT_SECS", 60)?;
        if !(1..=3600).contains(&idle_secs) {
            return Err(invalid("IDLE_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let max_age_secs = parse_number::<u64>(get("MAX_CONNECTION_AGE_SECS"), "MAX_CONNECTION_AGE_SECS", 3600)?;
        if !(1..=86_400).contains(&max_age_secs) {
            return Err(invalid("MAX_CONNECTION_AGE_SECS", "must be between 1 and 86400"));
        }
        let max_connections = parse_number::<usize>(get("MAX_CONNECTIONS"), "MAX_CONNECTIONS", 10_000)?;
        if !(1..=1_000_000).contains(&max_connections) {
            return Err(invalid("MAX_CONNECTIONS", "must be between 1 and 1000000"));
        }
        let max_connections_per_address =
            parse_number::<usize>(get("MAX_CONNECTIONS_PER_ADDRESS"), "MAX_CONNECTIONS_PER_ADDRESS", 256)?;
        if !(1..=1_000_000).contains(&max_connections_per_address) {
            return Err(invalid("MAX_CONNECTIONS_PER_ADDRESS", "must be between 1 and 1000000"));
        }
        Ok(Self {
            host,
            port,
            public_url,
            cors_allowed_origins,
            trusted_proxies,
            request_timeout: Duration::from_secs(timeout_secs),
            header_read_timeout: Duration::from_secs(header_read_secs),
            idle_timeout: Duration::from_secs(idle_secs),
            max_connection_age: Duration::from_secs(max_age_secs),
            max_connections,
            max_connections_per_address,
            shutdown_grace: Duration::from_secs(grace_secs),
            outbound_timeout: Duration::from_millis(outbound_ms),
            json_body_limit: 1024 * 1024,
        })
    }
}

fn cors_allowed_origins(value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = value
        .map(|v| {
            v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(|o| o.trim_end_matches('/').to_string()).collect()
        })
        .unwrap_or_default();
    for origin in &origins {
        if origin != "*" {
            let parsed = url::Url::parse(origin)
                .map_err(|_| invalid("CORS_ALLOWED_ORIGINS", format!("`{origin}` is not an origin")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.path() != "/" {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("`{origin}` is not an origin like https://app.example.com"),
                ));
            }
        }
    }
    Ok(origins)
}

/// The settings of `docs/configuration.md`'s section "Server and HTTP".
pub const SECTION: Section = Section {
    title: "Server and HTTP",
    settings: &[
        Setting {
            variable: "HOST",
            default: "`127.0.0.1`",
            meaning: "IP address to listen on (`0.0.0.0` for all interfaces)",
        },
        Setting { variable: "PORT", default: "`8000`", meaning: "TCP port to listen on" },
        Setting {
            variable: "PUBLIC_URL",
            default: "`http://<HOST>:<PORT>`",
            meaning: "this server as browsers and clients reach it (behind a proxy or a port mapping): the server named in the served `/openapi.json` (plus `/api/v1`), and the sandbox's checkout and portal links",
        },
        Setting {
            variable: "CORS_ALLOWED_ORIGINS",
            default: "empty (no cross-origin browser calls)",
            meaning: "comma-separated origins (`https://app.example.com`) allowed to call from a browser, or `*`",
        },
        Setting {
            variable: "TRUSTED_PROXIES",
            default: "empty",
            meaning: "comma-separated IPs or CIDR ranges of proxies whose `X-Forwarded-For` gives the client address",
        },
        Setting {
            variable: "REQUEST_TIMEOUT_SECS",
            default: "`30`",
            meaning: "longest a request may take (1–3600; uploads and MCP: ten times as long); 503 `timed_out` beyond",
        },
        Setting {
            variable: "HEADER_READ_TIMEOUT_SECS",
            default: "`10`",
            meaning: "a connection must deliver a complete request head within this many seconds of the server starting to wait for it, or it is closed (1–300; slow-loris defence). An HTTP/1.1 keep-alive connection waiting for its next request is bound by it too",
        },
        Setting {
            variable: "IDLE_TIMEOUT_SECS",
            default: "`60`",
            meaning: "a connection with no request in flight and no request activity for this long is closed (1–3600; HTTP/2 PINGs and other frames without a request do not count); a slow request is never cut by it",
        },
        Setting {
            variable: "MAX_CONNECTION_AGE_SECS",
            default: "`3600`",
            meaning: "every connection is closed this long after it was opened, however busy (1–86400); gracefully: HTTP/2 GOAWAY, requests in flight finish",
        },
        Setting {
            variable: "MAX_CONNECTIONS",
            default: "`10000`",
            meaning: "connections open at once (1–1000000); one more is closed as soon as accepted (counted in `clara_connections_refused_total`). Lowered, with a warning, when the process's file limit cannot hold it plus 128",
        },
        Setting {
            variable: "MAX_CONNECTIONS_PER_ADDRESS",
            default: "`256`",
            meaning: "connections open at once from one client address (IPv6: one /64; 1–1000000); a `TRUSTED_PROXIES` peer is held to `MAX_CONNECTIONS` only",
        },
        Setting {
            variable: "SHUTDOWN_GRACE_SECS",
            default: "`20`",
            meaning: "on SIGTERM/SIGINT, how long in-flight requests and running analyses get to finish (0–3600)",
        },
        Setting {
            variable: "OUTBOUND_TIMEOUT_MS",
            default: "`10000`",
            meaning: "how long a call to Stripe, Google, Apple or SMTP may take (100–120000)",
        },
    ],
};
