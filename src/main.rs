//! `copilot-metrics-exporter` binary: parse configuration, set up logging,
//! run the chosen mode, exit with its code (0 ok, 1 failure, 2 configuration).

use std::process::ExitCode;

use clap::parser::ValueSource;
use copilot_metrics_exporter::app::App;
use copilot_metrics_exporter::config::{Cli, Config, LogFormat, EXIT_CONFIG};
use copilot_metrics_exporter::sinks::remote_write::TimestampMode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let (cli, matches) = match Cli::parse_settings(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(Ok(e)) => {
            eprintln!("copilot-metrics-exporter: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
        Err(Err(e)) => e.exit(),
    };
    // clap treats an empty variable as unset; LISTEN_ADDR= means "off".
    let listen_env_empty = matches.value_source("listen_addr") != Some(ValueSource::CommandLine)
        && matches!(std::env::var_os("LISTEN_ADDR"), Some(v) if v.is_empty());

    let config = match Config::from_cli(&cli, listen_env_empty) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("copilot-metrics-exporter: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    if let Err(e) = init_logging(config.log_format, &config.log_level) {
        eprintln!("copilot-metrics-exporter: configuration error: {e}");
        return ExitCode::from(EXIT_CONFIG as u8);
    }
    // Settings of remote-write's report-day mode mean nothing in any other
    // mode: say so rather than accept them silently.
    let report_day = config
        .remote_write
        .as_ref()
        .is_some_and(|rw| rw.mode == TimestampMode::ReportDay);
    for (id, setting) in [
        ("backfill_days", "BACKFILL_DAYS"),
        ("state_dir", "STATE_DIR"),
        ("remote_write_settle_days", "REMOTE_WRITE_SETTLE_DAYS"),
    ] {
        let set = matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if set && !report_day {
            tracing::warn!(
                setting,
                "ignored: only remote-write in report-day mode uses it \
                 (REMOTE_WRITE_URL with REMOTE_WRITE_TIMESTAMPS=report-day)"
            );
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("copilot-metrics-exporter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let app = match App::new(config) {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return EXIT_CONFIG;
            }
        };
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            scopes = ?app.config.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            demo = app.config.demo,
            once = app.config.once,
            "starting"
        );
        if app.config.check {
            copilot_metrics_exporter::preflight::run(&app).await
        } else if app.config.once {
            app.run_once().await
        } else {
            app.run_service().await
        }
    });
    // Don't wait for stuck background I/O on exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(code as u8)
}

fn init_logging(format: LogFormat, level: &str) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v.trim()).map_err(|e| format!("RUST_LOG: {e}"))?
        }
        _ => EnvFilter::try_new(level_filter(level.trim()))
            .map_err(|e| format!("LOG_LEVEL `{level}`: {e}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| e.to_string())
}

/// A plain level applies to the exporter's own logs; libraries stay at
/// `warn` so that their debug and trace output (HTTP frames and the like)
/// can never carry a credential into the logs. A full filter directive
/// (`RUST_LOG` syntax) is used as given.
fn level_filter(level: &str) -> String {
    match level.to_ascii_lowercase().as_str() {
        l @ ("error" | "warn" | "info" | "debug" | "trace") => {
            format!("warn,copilot_metrics_exporter={l}")
        }
        "off" => "off".to_string(),
        _ => level.to_string(),
    }
}
