//! Sinks: where snapshots go. A sink never calls GitHub; it reads the
//! snapshot store or the data of a refresh round.
//!
//! Owns the fan-out to the push sinks with one result shape
//! ([`SinkFailure`]), the sink view of a round ([`view`]: every scope's
//! last good data plus the health alerts need), and the label names the
//! sinks reserve ([`labels`]: `EXTERNAL_LABELS`, `exported_<name>`).

pub mod exposition;

pub mod http;
pub mod labels;
pub mod probe;
pub mod pushgateway;
pub mod remote_write;
pub mod view;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus::Registry;

use crate::model::scope::Scope;
use crate::model::snapshot::Store;
use crate::model::ScopeData;
use crate::settings::ConfigError;
use labels::ExternalLabels;
use pushgateway::{PushgatewayConfig, PushgatewaySink};
use remote_write::{RemoteWriteConfig, RemoteWriteError, RemoteWriteSink};
use view::Publication;

/// Settings shared by the push sinks, flattened into the command line.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SinkArgs {
    /// `name=value,…` on every remote-written series and in every
    /// Pushgateway grouping key (e.g. `cluster=eu-1,environment=prod`).
    #[arg(long, env = "EXTERNAL_LABELS", value_name = "LABELS")]
    pub external_labels: Option<String>,
}

impl SinkArgs {
    /// The validated external labels (none when unset); errors name
    /// `EXTERNAL_LABELS`.
    pub fn external_labels(&self) -> Result<ExternalLabels, ConfigError> {
        ExternalLabels::parse(self.external_labels.as_deref().unwrap_or_default())
    }
}

/// A sink that did not deliver (part of) a round: the one result shape of
/// every sink.
#[derive(Debug, Clone)]
pub struct SinkFailure {
    /// Which sink (`pushgateway`, `remote_write`).
    pub sink: &'static str,
    /// The scope concerned, when the failure is about one.
    pub scope: Option<Scope>,
    /// What failed, naming the target URL (never credentials) and quoting
    /// the receiver.
    pub message: String,
}

/// The push sinks a refresh round is handed to. (`/metrics` is not one: it
/// reads the snapshot store.)
#[derive(Clone, Default)]
pub struct Sinks {
    /// The Pushgateway sink (`PUSHGATEWAY_URL`).
    pub pushgateway: Option<PushgatewaySink>,
    /// The remote-write sink (`REMOTE_WRITE_URL`).
    pub remote_write: Option<Arc<RemoteWriteSink>>,
    /// `EXTERNAL_LABELS`.
    pub external_labels: ExternalLabels,
    /// The self-metrics every push carries.
    registry: Registry,
}

impl Sinks {
    /// Builds the configured sinks, registering their self-metrics in
    /// `registry`; every push carries `registry`'s metrics and
    /// `external_labels`.
    pub fn new(
        pushgateway: Option<PushgatewayConfig>,
        remote_write: Option<RemoteWriteConfig>,
        external_labels: ExternalLabels,
        registry: &Registry,
    ) -> Result<Sinks, String> {
        let pushgateway = match pushgateway {
            Some(mut pg) => {
                pg.external_labels = external_labels.clone();
                Some(PushgatewaySink::new(pg, registry)?)
            }
            None => None,
        };
        let remote_write = match remote_write {
            Some(rw) => Some(Arc::new(
                RemoteWriteSink::new(rw, registry)
                    .map_err(|e| e.to_string())?
                    .with_external_labels(&external_labels),
            )),
            None => None,
        };
        Ok(Sinks {
            pushgateway,
            remote_write,
            external_labels,
            registry: registry.clone(),
        })
    }

    /// True when no push sink is configured.
    pub fn is_empty(&self) -> bool {
        self.pushgateway.is_none() && self.remote_write.is_none()
    }

    /// The data of a collection as every sink (and `/metrics`) shows it:
    /// data labels a receiver owns renamed to `exported_<name>`
    /// ([`ExternalLabels::protect`]). Applied once, before the store.
    pub fn prepare(&self, data: ScopeData) -> ScopeData {
        self.external_labels.protect(data)
    }

    /// The oldest report day the sinks still need for `scope` (remote-write
    /// `report-day` history); `None` when the newest data is enough.
    pub fn history_wanted(
        &self,
        scope: &Scope,
        today: chrono::NaiveDate,
    ) -> Option<chrono::NaiveDate> {
        self.remote_write
            .as_ref()
            .and_then(|rw| rw.history_wanted(scope, today))
    }

    /// How often the remote-write sink re-sends the snapshot between
    /// refreshes (`REMOTE_WRITE_INTERVAL_SECONDS`), if it does.
    pub fn resend_interval(&self) -> Option<Duration> {
        self.remote_write
            .as_ref()
            .and_then(|rw| rw.resend_interval())
    }

    /// Re-sends the remote-write snapshot of the last round stamped `now`
    /// (long-running mode, between refreshes); returns what failed.
    pub async fn resend(&self, now: SystemTime) -> Vec<SinkFailure> {
        match &self.remote_write {
            Some(rw) => match rw.resend(now).await {
                Ok(()) => Vec::new(),
                Err(e) => remote_write_failures(e),
            },
            None => Vec::new(),
        }
    }

    /// Long-running mode: re-sends the remote-write snapshot every `every`
    /// (`REMOTE_WRITE_INTERVAL_SECONDS`), so `now`-stamped samples stay
    /// within the receiver's lookback between hourly refreshes. Never
    /// returns; a failed re-send is logged and counted, the next tick tries
    /// again.
    pub async fn keep_sending(&self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate: the refresh publishes then
        loop {
            ticks.tick().await;
            for failure in self.resend(SystemTime::now()).await {
                tracing::warn!(sink = failure.sink, error = %failure.message, "re-sending the snapshot failed; next try in one interval");
            }
        }
    }

    /// Hands a round to every sink: every scope, those collected now
    /// (`fresh`) with their new data, the others with their last good data
    /// kept and their health saying they failed. Returns what failed.
    pub async fn publish(
        &self,
        fresh: &[Arc<ScopeData>],
        now: SystemTime,
        store: &Store,
    ) -> Vec<SinkFailure> {
        let mut failures = Vec::new();
        if let Some(pg) = &self.pushgateway {
            let round = Publication::build(store, &self.registry, fresh, now);
            let errors = pg.publish(&round).await;
            for data in fresh {
                if !errors.iter().any(|e| e.scope == data.scope) {
                    store.record_sink_success("pushgateway", &data.scope, now);
                }
            }
            failures.extend(errors.into_iter().map(|e| SinkFailure {
                sink: "pushgateway",
                scope: Some(e.scope.clone()),
                message: e.to_string(),
            }));
        }
        if let Some(rw) = &self.remote_write {
            // Built after the Pushgateway's push, so its results are in.
            let round = Publication::build(store, &self.registry, fresh, now);
            if let Err(e) = rw.publish_round(&round).await {
                failures.extend(remote_write_failures(e));
            }
            for (scope, at) in rw.last_success() {
                store.record_sink_success("remote_write", &scope, at);
            }
        }
        failures
    }
}

/// A remote-write error as sink failures: one per scope (and day) when the
/// publish got that far, else one for the sink.
fn remote_write_failures(e: RemoteWriteError) -> Vec<SinkFailure> {
    match e {
        RemoteWriteError::Publish { url, failures, .. } => failures
            .into_iter()
            .map(|f| SinkFailure {
                sink: "remote_write",
                scope: Some(f.scope.clone()),
                message: format!("remote-write to {url}: {f}"),
            })
            .collect(),
        other => vec![SinkFailure {
            sink: "remote_write",
            scope: None,
            message: other.to_string(),
        }],
    }
}
