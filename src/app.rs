//! Run modes: one collection (`--once`) or the long-running service.
//!
//! A refresh round collects every scope (serially: GitHub asks for serial
//! requests per credential), stores the results, then hands the round to the
//! sinks.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::collect::{CollectRequest, Collector, Source};
use crate::config::Config;
use crate::demo::DemoSource;
use crate::exposition::render_text;
use crate::github::{AppAuth, Auth, GithubClient};
use crate::model::ScopeData;
use crate::scope::Scope;
use crate::selfmetrics::SelfMetrics;
use crate::sinks::http::{self, HttpState};
use crate::snapshot::Store;

/// Exit code: every scope collected and every sink delivered.
pub const EXIT_OK: i32 = 0;
/// Exit code: a scope or a sink failed, or the service could not run.
pub const EXIT_FAILURE: i32 = 1;

/// The outcome of one refresh round.
#[derive(Debug, Default)]
pub struct Round {
    /// Data collected in this round (failed scopes are absent).
    pub fresh: Vec<Arc<ScopeData>>,
    /// Scopes that failed, with the reason.
    pub failed: Vec<(Scope, String)>,
}

impl Round {
    /// True when no scope failed.
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// The assembled pipeline.
pub struct App {
    /// Validated configuration.
    pub config: Config,
    /// Snapshot store shared with the HTTP endpoint.
    pub store: Arc<Store>,
    /// Self-metrics.
    pub metrics: Arc<SelfMetrics>,
    collector: Collector,
}

impl App {
    /// Builds the pipeline from a validated configuration.
    pub fn new(config: Config) -> Result<App, String> {
        let metrics = Arc::new(SelfMetrics::new());
        let source = if config.demo {
            Source::Demo(DemoSource::default())
        } else {
            let auth = match (&config.github.token, &config.github.app) {
                (Some(token), None) => Auth::Token(token.clone()),
                (None, Some(app)) => Auth::App(Box::new(AppAuth::new(app)?)),
                _ => {
                    return Err(
                        "set GHC_TOKEN/GHC_TOKEN_FILE or GITHUB_APP_ID (one of them)".into(),
                    )
                }
            };
            Source::Github(Arc::new(GithubClient::new(
                &config.github,
                auth,
                metrics.clone(),
            )?))
        };
        let collector = Collector::new(source, metrics.clone(), config.github.max_report_bytes)
            .with_features(config.features.clone());
        Ok(App {
            store: Arc::new(Store::new(&config.scopes)),
            config,
            metrics,
            collector,
        })
    }

    /// Collects every scope once and records the results in the store.
    pub async fn refresh(&self) -> Round {
        let mut round = Round::default();
        if let Source::Github(client) = self.collector.source() {
            // A retry never waits into the next refresh.
            client.set_deadline(Some(Instant::now() + self.config.refresh_interval));
        }
        let request = CollectRequest {
            history_from: None,
            detail_from: None,
            today: Some(Utc::now().date_naive()),
        };
        for scope in &self.config.scopes {
            let started = Instant::now();
            match self.collector.collect(scope, &request).await {
                Ok(data) => {
                    let newest = data.newest_day().map(|(d, _)| d);
                    tracing::info!(
                        %scope,
                        days = data.days.len(),
                        newest_day = ?newest,
                        invalid_lines = data.invalid_lines,
                        seconds = started.elapsed().as_secs_f64(),
                        "collected"
                    );
                    round.fresh.push(self.store.record_success(data));
                }
                Err(e) => {
                    let message = e.to_string();
                    tracing::error!(%scope, error = %message, "collection failed; keeping the last good data");
                    self.store
                        .record_failure(scope, message.clone(), started.elapsed());
                    round.failed.push((scope.clone(), message));
                }
            }
        }
        let result = if round.failed.is_empty() {
            "success"
        } else if round.fresh.is_empty() {
            "failure"
        } else {
            "partial"
        };
        self.metrics.refreshes.with_label_values(&[result]).inc();
        self.store.set_ready();
        round
    }

    /// The exposition of everything collected so far plus self-metrics.
    pub fn render(&self) -> String {
        String::from_utf8(render_text(&self.store.view(), &self.metrics.registry))
            .unwrap_or_default()
    }

    /// `--once`: collect, print the exposition to stdout, exit code.
    pub async fn run_once(self) -> i32 {
        let round = self.refresh().await;
        let text = self.render();
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            tracing::error!(error = %e, "cannot write metrics to stdout");
            return EXIT_FAILURE;
        }
        summarize(&round)
    }

    /// The service: serve `/metrics`, refresh every `CACHE_TTL_SECONDS`
    /// until SIGTERM or SIGINT.
    pub async fn run_service(self) -> i32 {
        let app = Arc::new(self);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server = None;
        if let Some(addr) = app.config.listen {
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(%addr, error = %e, "cannot listen on LISTEN_ADDR; choose a free address or set LISTEN_ADDR= to turn the endpoint off");
                    return EXIT_FAILURE;
                }
            };
            tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving /metrics");
            let state = HttpState {
                store: app.store.clone(),
                metrics: app.metrics.clone(),
            };
            let mut rx = stop_rx.clone();
            server = Some(tokio::spawn(http::serve(listener, state, async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })));
        }

        let interval = app.config.refresh_interval;
        let refresher = {
            let app = app.clone();
            let mut rx = stop_rx.clone();
            tokio::spawn(async move {
                loop {
                    let started = Instant::now();
                    app.refresh().await;
                    let wait = interval.saturating_sub(started.elapsed());
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = rx.wait_for(|stop| *stop) => break,
                    }
                }
            })
        };

        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let grace = Duration::from_secs(10);
        let _ = tokio::time::timeout(grace, refresher).await;
        if let Some(server) = server {
            let _ = tokio::time::timeout(grace, server).await;
        }
        EXIT_OK
    }
}

/// Logs the failures of a round and turns it into an exit code.
pub fn summarize(round: &Round) -> i32 {
    if round.all_ok() {
        EXIT_OK
    } else {
        for (scope, error) in &round.failed {
            tracing::error!(%scope, %error, "scope failed");
        }
        EXIT_FAILURE
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
