//! Run modes: one collection (`--once`) or the long-running service.
//!
//! A refresh round collects every scope (serially: GitHub asks for serial
//! requests per credential), stores the results, then hands the round to the
//! sinks.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;

use crate::collect::demo::DemoSource;
use crate::collect::{CollectRequest, Collector, ReportSource};
use crate::config::Config;
use crate::github::{FailureKind, GithubClient, GithubSettings};
use crate::model::scope::Scope;
use crate::model::snapshot::Store;
use crate::model::ScopeData;
use crate::scheduler::{self, SchedulerMetrics, Stopped};
use crate::selfmetrics::SelfMetrics;
use crate::sinks::exposition::{render_text, write_text};
use crate::sinks::http::{self, HttpState};
use crate::sinks::{SinkFailure, Sinks};

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
    /// The push sinks.
    pub sinks: Sinks,
    collector: Collector,
}

impl App {
    /// Builds the pipeline from a validated configuration.
    pub fn new(mut config: Config) -> Result<App, String> {
        let metrics = Arc::new(SelfMetrics::new());
        // Every failure reason exists from the start, so rate() and alerts
        // see the first failure as an increase from 0.
        for kind in FailureKind::ALL {
            metrics.github_failures.with_label_values(&[kind.as_str()]);
        }
        let source = if config.demo {
            Arc::new(DemoSource::default()) as Arc<dyn ReportSource>
        } else {
            // The credentials move into the client, which keeps only the
            // auth it builds from them: no second copy stays in `config`.
            let credentials = config.github.credentials.take();
            let settings = GithubSettings {
                credentials,
                ..config.github.clone()
            };
            Arc::new(GithubClient::new(settings, metrics.clone())?)
        };
        let collector = Collector::new(source, metrics.clone(), config.github.max_report_bytes)
            .with_features(config.features.clone())
            .with_filter(config.metric_filter.clone());
        if config.metric_filter.spares_report_day() {
            tracing::info!("METRICS_INCLUDE/METRICS_EXCLUDE leave out copilot_report_day_timestamp_seconds; it is exported anyway (it says which report day the values belong to)");
        }
        let sinks = Sinks::new(
            config.pushgateway.clone(),
            config.remote_write.clone(),
            config.external_labels.clone(),
            &metrics.registry,
        )?;
        Ok(App {
            store: Arc::new(Store::new(&config.scopes)),
            config,
            metrics,
            sinks,
            collector,
        })
    }

    /// Where reports come from (GitHub or the demo).
    pub fn source(&self) -> &dyn crate::collect::ReportSource {
        self.collector.source()
    }

    /// The optional collections in effect.
    pub fn features(&self) -> &crate::collect::Features {
        self.collector.features()
    }

    /// Collects every scope once and records the results in the store.
    pub async fn refresh(&self) -> Round {
        let mut round = Round::default();
        // A retry never waits into the next refresh.
        self.collector
            .source()
            .set_deadline(Some(Instant::now() + self.config.refresh_interval));
        let today = Utc::now().date_naive();
        for scope in &self.config.scopes {
            let started = Instant::now();
            // Report-day history: every day a sink still needs, with team
            // and repository detail for those days too (they flow through
            // the same sinks with the same timestamps).
            let history_from = self.sinks.history_wanted(scope, today);
            let request = CollectRequest {
                history_from,
                detail_from: history_from,
                today: Some(today),
            };
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
                    let data = self.sinks.prepare(data);
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
        String::from_utf8(render_text(&self.store, &self.metrics.registry)).unwrap_or_default()
    }

    /// Refreshes, then hands the fresh scopes to the sinks.
    pub async fn refresh_and_publish(&self) -> (Round, Vec<SinkFailure>) {
        let round = self.refresh().await;
        let failures = self
            .sinks
            .publish(&round.fresh, SystemTime::now(), &self.store)
            .await;
        (round, failures)
    }

    /// `--once`: collect, then push to the configured sinks, or (without a
    /// push target) print the exposition to stdout; returns the exit code:
    /// 0 only when every scope was collected and delivered.
    pub async fn run_once(self) -> i32 {
        if self.sinks.is_empty() {
            let round = self.refresh().await;
            // Streamed from the store, never built as one string.
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
            let written = write_text(&self.store, &self.metrics.registry, &mut out);
            if let Err(e) = written.and_then(|_| out.flush()) {
                tracing::error!(error = %e, "cannot write metrics to stdout");
                return EXIT_FAILURE;
            }
            return summarize(&round);
        }
        let (round, failures) = self.refresh_and_publish().await;
        let code = summarize(&round);
        for failure in &failures {
            tracing::error!(sink = failure.sink, error = %failure.message, "delivery failed; the target keeps what it had");
        }
        if code == EXIT_OK && failures.is_empty() {
            tracing::info!(
                scopes = round.fresh.len(),
                "collected and delivered every scope"
            );
            EXIT_OK
        } else {
            tracing::error!(
                scopes_failed = round.failed.len(),
                deliveries_failed = failures.len(),
                "--once failed"
            );
            EXIT_FAILURE
        }
    }

    /// The service: serve `/metrics` (unless `LISTEN_ADDR` is empty),
    /// refresh at start-up and on the schedule, push after every refresh,
    /// until SIGTERM or SIGINT; then let the refresh in flight finish within
    /// `SHUTDOWN_GRACE_SECONDS`.
    pub async fn run_service(self) -> i32 {
        // Install the handlers before anything else, so an early SIGTERM
        // is a clean shutdown too.
        let stop = shutdown_signal();
        let app = Arc::new(self);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server = None;
        if let Some(addr) = app.config.listen {
            let listener = match http::bind(addr).await {
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
            server = Some(tokio::spawn(http::serve(
                listener,
                state,
                app.config.web.clone(),
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                },
            )));
        } else {
            tracing::info!("LISTEN_ADDR is empty: no /metrics endpoint");
        }
        if let Some(pg) = &app.sinks.pushgateway {
            tracing::info!(url = %pg.url(), job = %pg.config().job, "pushing to the Pushgateway after every refresh");
        }
        match &app.config.schedule {
            scheduler::Schedule::Every(d) => {
                tracing::info!(every_seconds = d.as_secs(), "refresh schedule")
            }
            scheduler::Schedule::Cron(c) => {
                tracing::info!(schedule = %c.original, "refresh schedule (cron, UTC)")
            }
        }

        let job = {
            let app = app.clone();
            move || {
                let app = app.clone();
                async move {
                    let (_, failures) = app.refresh_and_publish().await;
                    for failure in failures {
                        tracing::error!(sink = failure.sink, error = %failure.message, "delivery failed; the target keeps what it had");
                    }
                }
            }
        };
        let resend = app.sinks.resend_interval().map(|every| {
            let (app, mut stop) = (app.clone(), stop_rx.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = app.sinks.keep_sending(every) => {}
                    _ = stop.wait_for(|stop| *stop) => {}
                }
            })
        });
        let metrics = SchedulerMetrics::register(&app.metrics.registry);
        let grace = app.config.shutdown_grace;
        let stopped = scheduler::run(&app.config.schedule, metrics, job, stop, grace).await;
        let code = match stopped {
            Stopped::Clean => {
                tracing::info!("stopped");
                EXIT_OK
            }
            Stopped::GraceExpired => {
                tracing::warn!(
                    grace_seconds = grace.as_secs_f64(),
                    "the refresh in flight did not finish within SHUTDOWN_GRACE_SECONDS; exiting anyway"
                );
                EXIT_OK
            }
            Stopped::Failed => EXIT_FAILURE,
        };
        let _ = stop_tx.send(true);
        if let Some(resend) = resend {
            let _ = resend.await;
        }
        if let Some(server) = server {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        code
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

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when the future is first polled.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
                        _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
