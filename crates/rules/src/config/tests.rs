//! The parser's refusals and defaults, variable by variable.

use std::time::Duration;

use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

#[test]
fn defaults_make_a_local_server() {
    let config = parse(&[]).unwrap();
    assert_eq!(config.http.port, 8000);
    assert_eq!(config.http.host.to_string(), "127.0.0.1");
    assert_eq!(config.storage.database_url, "sqlite://clara.db?mode=rwc");
    assert_eq!(config.accounts.bcrypt_cost, 12);
    assert!(config.accounts.public_api_keys.is_empty());
}

#[test]
fn mails_name_the_app_its_address_and_support() {
    let config = parse(&[]).unwrap();
    assert_eq!(config.mail.app_name, "Clara");
    assert_eq!(config.app_url(), "http://127.0.0.1:8000");
    assert_eq!(config.mail.support_email, "no-reply@clara.local");
    assert_eq!(config.mail.email_templates_dir, None);
    let config = parse(&[("PUBLIC_URL", "https://api.clara.example/")]).unwrap();
    assert_eq!(config.app_url(), "https://api.clara.example");
    let config =
        parse(&[("PUBLIC_URL", "https://api.clara.example"), ("CLIENT_URL", "https://app.clara.example")]).unwrap();
    assert_eq!(config.app_url(), "https://app.clara.example");
    let config = parse(&[
        ("CLIENT_URL", "https://app.clara.example"),
        ("APP_URL", "https://clara.example/"),
        ("APP_NAME", "Clara Labs"),
        ("MAIL_FROM", "Clara Labs <robot@clara.example>"),
        ("EMAIL_TEMPLATES_DIR", "/etc/clara/mail"),
    ])
    .unwrap();
    assert_eq!(config.app_url(), "https://clara.example");
    assert_eq!(config.mail.app_name, "Clara Labs");
    assert_eq!(config.mail.support_email, "robot@clara.example");
    assert_eq!(config.mail.email_templates_dir, Some("/etc/clara/mail".into()));
    let config = parse(&[("SUPPORT_EMAIL", "help@clara.example")]).unwrap();
    assert_eq!(config.mail.support_email, "help@clara.example");
}

#[test]
fn passkeys_need_an_rp_id_and_origins_on_it() {
    assert_eq!(parse(&[]).unwrap().sign_in.webauthn, None);
    let only_id = parse(&[("WEBAUTHN_RP_ID", "clara.example.com")]).unwrap().sign_in.webauthn.unwrap();
    assert_eq!(only_id.rp_name, "Clara");
    assert_eq!(only_id.origins, [url::Url::parse("https://clara.example.com").unwrap()]);
    let several = parse(&[
        ("WEBAUTHN_RP_ID", "clara.example.com"),
        ("WEBAUTHN_RP_NAME", "Clara Dev"),
        ("WEBAUTHN_ORIGINS", "https://clara.example.com, https://app.clara.example.com"),
    ])
    .unwrap()
    .sign_in
    .webauthn
    .unwrap();
    assert_eq!(several.rp_name, "Clara Dev");
    assert_eq!(several.origins.len(), 2);
    assert!(several.build().is_ok());
    for pairs in [
        &[("WEBAUTHN_ORIGINS", "https://clara.example.com")][..],
        &[("WEBAUTHN_RP_ID", "clara.example.com"), ("WEBAUTHN_ORIGINS", "not a url")],
        &[("WEBAUTHN_RP_ID", "clara.example.com"), ("WEBAUTHN_ORIGINS", "https://evil.example")],
        &[
            ("WEBAUTHN_RP_ID", "clara.example.com"),
            ("WEBAUTHN_ORIGINS", "https://clara.example.com,https://evil.example"),
        ],
        &[("WEBAUTHN_RP_ID", "clara.example.com"), ("WEBAUTHN_ORIGINS", "https://notclara.example.com")],
        &[("WEBAUTHN_RP_ID", "clara.example.com"), ("WEBAUTHN_ORIGINS", " , ")],
    ] {
        let err = parse(pairs).unwrap_err().to_string();
        assert!(err.contains("WEBAUTHN_"), "{pairs:?}: {err}");
    }
}

#[test]
fn bad_values_name_their_variable() {
    for (name, value) in [
        ("PORT", "abc"),
        ("BCRYPT_COST", "99"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://x"),
        ("HOST", "localhost:80"),
        ("SMTP_URL", "http://x"),
        ("APP_URL", "app.example"),
        ("APP_NAME", "two\nlines"),
        ("SUPPORT_EMAIL", "not an address"),
        ("LOG_FORMAT", "xml"),
        ("JWT_SECRET", "short"),
        ("STRIPE_API_BASE", "ftp://x"),
        ("CLIENT_URL", "not a url"),
        ("CLIENT_URL", "https://app.example?x=1"),
        ("CREDIT_RATES", "[]"),
        ("AGENT_API_BASE", "localhost:11434"),
        ("ANALYSIS_COST_CREDITS", "-1"),
        ("ANALYSIS_COST_CREDITS", "0"),
        ("MAX_ATTACHMENTS", "0"),
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_PER_SECOND", "0"),
        ("REDIS_URL", "http://x"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
        ("REQUEST_TIMEOUT_SECS", "0"),
        ("AUTH_CACHE_TTL_SECS", "3601"),
        ("AUTH_CACHE_TTL_SECS", "-1"),
        ("AUTH_CACHE_CAPACITY", "many"),
        ("EXTRACT_MAX_MEMORY_MB", "16"),
        ("EXTRACT_TIMEOUT_SECS", "0"),
        ("EXTRACT_MAX_OUTPUT_BYTES", "lots"),
        ("EXTRACT_CONCURRENCY", "0"),
        ("ATTACHMENTS_SWEEP_SECS", "0"),
        ("SEARCH_PROVIDER", "google"),
        ("SEARCH_API_BASE", "searx.example.org"),
        ("FACT_CHECK_API_BASE", "ftp://x"),
        ("FETCH_ALLOW_PRIVATE_NETWORKS", "maybe"),
        ("FETCH_MAX_BYTES", "1023"),
        ("FETCH_MAX_BYTES", "67108865"),
        ("FETCH_MAX_BYTES", "big"),
        ("FETCH_TIMEOUT_SECS", "0"),
        ("FETCH_TIMEOUT_SECS", "121"),
        (
            "CREDIT_RATES",
            r#"[{"lower_limit":5,"upper_limit":10,"rate":1},{"lower_limit":8,"upper_limit":20,"rate":2}]"#,
        ),
    ] {
        let err = parse(&[(name, value)]).unwrap_err();
        assert_eq!(err.variable, name, "{value}");
        assert!(err.to_string().contains(name));
    }
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_local_sqlite_server_may_keep_a_generated_secret() {
    for host in ["127.0.0.1", "::1"] {
        let config = parse(&[("HOST", host), ("ADMIN_API_KEY", "short")]).unwrap();
        assert!(config.accounts.jwt_secret.is_none());
    }
}

#[test]
fn postgres_or_a_reachable_host_needs_jwt_secret() {
    for vars in [
        vec![("DATABASE_URL", "postgres://u@127.0.0.1/db")],
        vec![("DATABASE_URL", "postgresql://u@db.internal/db"), ("HOST", "127.0.0.1")],
        vec![("HOST", "0.0.0.0")],
        vec![("HOST", "::")],
        vec![("HOST", "10.1.2.3")],
    ] {
        let err = parse(&vars).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET", "{vars:?}");
        assert!(err.to_string().contains("JWT_SECRET"));
        let mut with_secret = vars.clone();
        with_secret.push(("JWT_SECRET", SECRET));
        assert_eq!(parse(&with_secret).unwrap().accounts.jwt_secret.as_deref(), Some(SECRET), "{vars:?}");
    }
}

#[test]
fn a_short_secret_is_refused_everywhere() {
    let short = &SECRET[..31];
    assert_eq!(parse(&[("JWT_SECRET", short)]).unwrap_err().variable, "JWT_SECRET");
    let err = parse(&[("HOST", "0.0.0.0"), ("JWT_SECRET", short)]).unwrap_err();
    assert_eq!(err.variable, "JWT_SECRET");
}

#[test]
fn a_metrics_token_shorter_than_32_characters_is_refused() {
    assert_eq!(parse(&[("METRICS_TOKEN", "ab")]).unwrap_err().variable, "METRICS_TOKEN");
    assert_eq!(parse(&[("METRICS_TOKEN", &"t".repeat(31))]).unwrap_err().variable, "METRICS_TOKEN");
    let long = "t".repeat(32);
    assert_eq!(parse(&[("METRICS_TOKEN", &long)]).unwrap().metrics_token.as_deref(), Some(long.as_str()));
}

#[test]
fn postgres_or_a_reachable_host_needs_a_long_admin_key() {
    let key_31 = "k".repeat(31);
    let key_32 = "k".repeat(32);
    for base in [vec![("DATABASE_URL", "postgres://u@127.0.0.1/db")], vec![("HOST", "0.0.0.0")]] {
        let mut vars = base.clone();
        vars.extend([("JWT_SECRET", SECRET), ("ADMIN_API_KEY", key_31.as_str())]);
        assert_eq!(parse(&vars).unwrap_err().variable, "ADMIN_API_KEY", "{base:?}");
        vars.pop();
        vars.push(("ADMIN_API_KEY", key_32.as_str()));
        assert_eq!(parse(&vars).unwrap().accounts.admin_api_key.as_deref(), Some(key_32.as_str()));
        vars.pop();
        assert!(parse(&vars).unwrap().accounts.admin_api_key.is_none(), "no admin key at all is fine");
    }
}

#[test]
fn connection_timeouts_have_defaults_and_bounds() {
    let config = parse(&[]).unwrap();
    assert_eq!(config.http.header_read_timeout, Duration::from_secs(10));
    assert_eq!(config.http.idle_timeout, Duration::from_secs(60));
    assert_eq!(config.http.max_connection_age, Duration::from_secs(3600));
    assert_eq!((config.http.max_connections, config.http.max_connections_per_address), (10_000, 256));
    for (name, value) in [
        ("HEADER_READ_TIMEOUT_SECS", "0"),
        ("HEADER_READ_TIMEOUT_SECS", "301"),
        ("HEADER_READ_TIMEOUT_SECS", "x"),
        ("IDLE_TIMEOUT_SECS", "0"),
        ("IDLE_TIMEOUT_SECS", "3601"),
        ("MAX_CONNECTION_AGE_SECS", "0"),
        ("MAX_CONNECTION_AGE_SECS", "86401"),
        ("MAX_CONNECTIONS", "0"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "-1"),
    ] {
        assert_eq!(parse(&[(name, value)]).unwrap_err().variable, name, "{value}");
    }
}

#[test]
fn search_providers_need_their_settings() {
    let config = parse(&[]).unwrap();
    assert!(config.agent.search.is_none() && config.agent.fact_check.is_none());

    let searxng = parse(&[("SEARCH_PROVIDER", "SearXNG"), ("SEARCH_API_BASE", "http://127.0.0.1:8888/")]).unwrap();
    let search = searxng.agent.search.unwrap();
    assert_eq!(
        (search.provider, search.api_base.as_str(), search.api_key),
        (SearchProvider::Searxng, "http://127.0.0.1:8888", None)
    );
    assert_eq!(parse(&[("SEARCH_PROVIDER", "searxng")]).unwrap_err().variable, "SEARCH_API_BASE");

    for (name, default) in [("brave", DEFAULT_BRAVE_API_BASE), ("tavily", DEFAULT_TAVILY_API_BASE)] {
        let err = parse(&[("SEARCH_PROVIDER", name)]).unwrap_err();
        assert_eq!(err.variable, "SEARCH_API_KEY", "{name}");
        assert!(err.to_string().contains(&format!("SEARCH_PROVIDER={name}")), "{err}");
        let search = parse(&[("SEARCH_PROVIDER", name), ("SEARCH_API_KEY", "k")]).unwrap().agent.search.unwrap();
        assert_eq!((search.api_base.as_str(), search.api_key.as_deref()), (default, Some("k")));
        let search =
            parse(&[("SEARCH_PROVIDER", name), ("SEARCH_API_KEY", "k"), ("SEARCH_API_BASE", "http://127.0.0.1:9/")])
                .unwrap()
                .agent
                .search
                .unwrap();
        assert_eq!(search.api_base, "http://127.0.0.1:9");
        let bad = parse(&[("SEARCH_PROVIDER", name), ("SEARCH_API_KEY", "k"), ("SEARCH_API_BASE", "http://x?y=1")]);
        assert_eq!(bad.unwrap_err().variable, "SEARCH_API_BASE");
    }

    for stray in ["SEARCH_API_KEY", "SEARCH_API_BASE"] {
        let err = parse(&[(stray, "http://127.0.0.1:1")]).unwrap_err();
        assert_eq!(err.variable, "SEARCH_PROVIDER", "{stray} alone");
    }

    let fact_check = parse(&[("FACT_CHECK_API_KEY", "fact-key-123")]).unwrap().agent.fact_check.unwrap();
    assert_eq!(
        (fact_check.api_base.as_str(), fact_check.api_key.as_str()),
        (DEFAULT_FACT_CHECK_API_BASE, "fact-key-123")
    );
    assert!(!format!("{fact_check:?}").contains("fact-key-123"), "the key stays out of Debug");
    let fact_check = parse(&[("FACT_CHECK_API_KEY", "g"), ("FACT_CHECK_API_BASE", "http://127.0.0.1:7/")])
        .unwrap()
        .agent
        .fact_check
        .unwrap();
    assert_eq!(fact_check.api_base, "http://127.0.0.1:7");
    assert_eq!(parse(&[("FACT_CHECK_API_BASE", "http://127.0.0.1:7")]).unwrap_err().variable, "FACT_CHECK_API_KEY");
}

#[test]
fn fetch_defaults_are_closed_and_bounded() {
    let config = parse(&[]).unwrap();
    assert!(!config.agent.fetch_allow_private_networks);
    assert_eq!(config.agent.fetch_max_bytes, 2_097_152);
    assert_eq!(config.agent.fetch_timeout, Duration::from_secs(15));
    let config =
        parse(&[("FETCH_ALLOW_PRIVATE_NETWORKS", "true"), ("FETCH_MAX_BYTES", "1024"), ("FETCH_TIMEOUT_SECS", "120")])
            .unwrap();
    assert!(config.agent.fetch_allow_private_networks);
    assert_eq!(config.agent.fetch_max_bytes, 1024);
    assert_eq!(config.agent.fetch_timeout, Duration::from_secs(120));
}

#[test]
fn public_keys_are_split_and_trimmed() {
    let config = parse(&[("PUBLIC_API_KEYS", " a, b ,,c ")]).unwrap();
    assert_eq!(config.accounts.public_api_keys, vec!["a", "b", "c"]);
}

#[test]
fn apple_client_ids_are_split_and_its_key_set_url_checked() {
    let config = parse(&[]).unwrap();
    assert!(config.sign_in.apple_client_ids.is_empty());
    assert_eq!(config.sign_in.apple_jwks_url, DEFAULT_APPLE_JWKS_URL);
    let config = parse(&[("APPLE_CLIENT_IDS", " co.crazi.clara, ,co.crazi.clara.web ")]).unwrap();
    assert_eq!(config.sign_in.apple_client_ids, vec!["co.crazi.clara", "co.crazi.clara.web"]);
    let err = parse(&[("APPLE_JWKS_URL", "not a url")]).unwrap_err();
    assert_eq!(err.variable, "APPLE_JWKS_URL");
}

#[test]
fn the_configuration_document_is_generated_from_the_sections() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let document = std::fs::read_to_string(path).unwrap();
    let generated = settings::regenerate(&document);
    if std::env::var_os("CLARA_WRITE_DOCS").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    assert!(
        generated == document,
        "docs/configuration.md is not what the settings tables in crates/rules/src/config/ make: \
         run `CLARA_WRITE_DOCS=1 cargo test -p rules configuration_document` and commit the document"
    );
}

/// The variables `source` reads with `get("…")`, before its settings table.
fn read_by(source: &str) -> std::collections::BTreeSet<&str> {
    let code = &source[..source.find("/// The settings of `docs/configuration.md`").unwrap_or(source.len())];
    code.split("get(\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

#[test]
fn each_section_documents_exactly_the_variables_it_reads() {
    let files: [(&str, &str, &[&settings::Section]); 9] = [
        ("http.rs", include_str!("http.rs"), &[&http::SECTION]),
        ("storage.rs", include_str!("storage.rs"), &[&storage::DATABASE, &storage::REDIS]),
        ("accounts.rs", include_str!("accounts.rs"), &[&accounts::SECTION]),
        ("mail.rs", include_str!("mail.rs"), &[&mail::SECTION]),
        ("billing.rs", include_str!("billing.rs"), &[&billing::SECTION]),
        ("sign_in.rs", include_str!("sign_in.rs"), &[&sign_in::SECTION]),
        ("agent.rs", include_str!("agent.rs"), &[&agent::SECTION]),
        ("analyses.rs", include_str!("analyses.rs"), &[&analyses::SECTION]),
        ("webhooks.rs", include_str!("webhooks.rs"), &[&webhooks::SECTION]),
    ];
    let mut every = 0;
    for (file, source, sections) in files {
        let documented: std::collections::BTreeSet<&str> =
            sections.iter().flat_map(|section| section.settings.iter().map(|s| s.variable)).collect();
        assert_eq!(read_by(source), documented, "{file}: the variables it reads and the ones its table lists");
        every += documented.len();
    }
    assert_eq!(every, settings::SECTIONS.iter().map(|s| s.settings.len()).sum::<usize>());
}
