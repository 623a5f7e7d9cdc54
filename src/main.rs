use std::process::ExitCode;

use clara_backend::{
    StartError, build_state,
    config::{Config, LogFormat},
    state::Clock,
};
use poem::listener::{Acceptor, Listener, TcpListener};

fn usage() -> ExitCode {
    eprintln!("usage: clara-backend [serve | openapi | migrate | healthcheck | render-emails --out DIR] [--sandbox]");
    ExitCode::from(2)
}

/// The log goes to stdout through a writer thread, so that a request never waits for the
/// terminal, a pipe or a file: lines queue in memory (up to tracing-appender's 128k) and
/// only a queue that full makes a request wait (no line is ever dropped). The guard
/// flushes the queue when the process ends. With an OTLP endpoint set, the OpenTelemetry
/// layer too; its guard flushes the spans at exit.
fn init_logging(
    format: LogFormat,
) -> Result<(tracing_appender::non_blocking::WorkerGuard, Option<clara_backend::telemetry::Guard>), String> {
    use tracing_subscriber::{Layer, filter::FilterExt, layer::SubscriberExt, util::SubscriberInitExt};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal, so `| tee` and log collectors get plain lines.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("clara-log")
        .finish(std::io::stdout());
    let builder = tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(writer);
    let logs: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> = match format {
        LogFormat::Json => builder.json().boxed(),
        LogFormat::Text => builder.boxed(),
    };
    let logs =
        logs.with_filter(filter.and(tracing_subscriber::filter::filter_fn(clara_backend::telemetry::not_for_logs)));
    let (otel, telemetry) = clara_backend::telemetry::init()?.unzip();
    tracing_subscriber::registry().with(logs).with(otel).init();
    Ok((guard, telemetry))
}

/// `clara-backend healthcheck`: exit 0 when this machine's server answers
/// `GET /api/v1/health/live` with 200 (a container's HEALTHCHECK; no curl needed). It asks
/// the address the server listens on (`HOST`, or loopback when that is every address) and
/// `PORT`, read as the server reads them (environment, then `.env`).
fn healthcheck() -> ExitCode {
    let _ = dotenvy::dotenv();
    let port = std::env::var("PORT").ok().and_then(|p| p.parse::<u16>().ok()).unwrap_or(8000);
    let host = match std::env::var("HOST").ok().and_then(|h| h.parse::<std::net::IpAddr>().ok()) {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => std::net::Ipv4Addr::LOCALHOST.into(),
    };
    let url = format!("http://{}/api/v1/health/live", std::net::SocketAddr::new(host, port));
    let probe = async {
        // Plain HTTP to itself: no CA bundle needed (an empty trust store, not the system's).
        let client = reqwest::Client::builder()
            .tls_certs_only(std::iter::empty())
            .timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() { Ok(()) } else { Err(format!("{url} answered {}", response.status())) }
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(probe));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("clara-backend healthcheck: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    // A parsing child: decided before any runtime, configuration or logging starts.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(clara_backend::isolate::COMMAND) {
        return clara_backend::isolate::child_main(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("healthcheck") {
        return healthcheck();
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(server_main()),
        Err(err) => {
            eprintln!("clara-backend: cannot start the runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn server_main() -> ExitCode {
    // `clara-backend [command] [--sandbox]`, in either order (`cargo run -- --sandbox` serves).
    let mut sandbox = false;
    let mut command = None;
    let mut out_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sandbox" => sandbox = true,
            "--out" if out_dir.is_none() => match args.next() {
                Some(dir) => out_dir = Some(std::path::PathBuf::from(dir)),
                None => return usage(),
            },
            "serve" | "openapi" | "migrate" | "render-emails" if command.is_none() => command = Some(arg),
            _ => return usage(),
        }
    }
    if out_dir.is_some() != (command.as_deref() == Some("render-emails")) {
        return usage();
    }
    let command = command.unwrap_or_else(|| "serve".into());
    let _ = dotenvy::dotenv();
    let mut vars: std::collections::HashMap<String, String> = std::env::vars().collect();
    if sandbox {
        vars.insert("SANDBOX".into(), "true".into());
    }
    if matches!(command.as_str(), "openapi" | "render-emails") {
        // Prints files and listens nowhere: the rules for a reachable server (a
        // `JWT_SECRET` when HOST is not loopback, as in the container image) do not apply.
        vars.insert("HOST".into(), "127.0.0.1".into());
        // Nor does it open a database or Redis: those a sandbox refuses stay out of it.
        if sandbox {
            vars.remove("DATABASE_URL");
            vars.remove("REDIS_URL");
        }
    }
    let config = match Config::from_map(&vars) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("clara-backend: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = out_dir {
        // The mails as configured (APP_NAME, EMAIL_TEMPLATES_DIR, ...) with sample data, to look at.
        return match clara_backend::clients::mail_templates::write_samples(&config, &dir) {
            Ok(files) => {
                files.iter().for_each(|file| println!("{}", file.display()));
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("clara-backend: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let guards = match command.as_str() {
        "openapi" => None,
        _ => match init_logging(config.log_format) {
            Ok(guards) => Some(guards),
            Err(err) => {
                eprintln!("clara-backend: {err}");
                return ExitCode::FAILURE;
            }
        },
    };
    let result = run(&command, config).await;
    // At exit: the last spans (a blocking flush), then the queued log lines.
    if let Some((log_guard, telemetry)) = guards {
        drop(telemetry);
        drop(log_guard);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("clara-backend: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: &str, config: Config) -> Result<(), StartError> {
    match command {
        "openapi" => {
            // The document does not depend on the database: describe an in-memory one.
            let mut config = config;
            config.storage.database_url = "sqlite::memory:".into();
            config.accounts.jwt_secret = Some("x".repeat(32));
            config.mail.smtp_url = None;
            config.analyses.attachments_dir = std::env::temp_dir();
            let state = build_state(config, Clock::default()).await?;
            print!("{}", clara_backend::openapi_json(&state));
            Ok(())
        }
        "migrate" => {
            clara_backend::migrate(&config.storage.database_url).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        _ => {
            let address = (config.http.host, config.http.port);
            // Bound first, so that the port is known (PORT=0 picks one): the sandbox's
            // doubles are reached at this server's own address.
            let acceptor = TcpListener::bind(address).into_acceptor().await.map_err(|e| {
                StartError::Other(format!("HOST/PORT: cannot listen on {}:{}: {e}", address.0, address.1))
            })?;
            let mut config = config;
            if let Some(port) = acceptor.local_addr().iter().find_map(|a| a.as_socket_addr().map(|s| s.port())) {
                config.http.port = port;
            }
            let port = config.http.port;
            let sandbox = config.sandbox;
            let state = build_state(config, Clock::default()).await?;
            let mode = if sandbox { " in SANDBOX MODE" } else { "" };
            tracing::info!("listening on http://{}:{port}{mode} (docs at /docs)", address.0);
            clara_backend::serve(state, acceptor, shutdown_signal())
                .await
                .map_err(|e| StartError::Other(format!("HOST/PORT: {e}")))
        }
    }
}

/// SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
