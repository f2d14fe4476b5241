//! Sinks: where snapshots go. A sink never calls GitHub; it reads the
//! snapshot store or the data of a refresh round.

pub mod exposition;

pub mod http;
pub mod pushgateway;
pub mod remote_write;

use std::sync::Arc;
use std::time::SystemTime;

use prometheus::Registry;

use crate::model::scope::Scope;
use crate::model::snapshot::Store;
use crate::model::ScopeData;
use pushgateway::{PushgatewayConfig, PushgatewaySink};
use remote_write::{RemoteWriteConfig, RemoteWriteSink};

/// A sink that did not deliver (part of) a round.
#[derive(Debug, Clone)]
pub struct SinkFailure {
    /// Which sink (`pushgateway`, `remote_write`).
    pub sink: &'static str,
    /// What failed, naming the target URL (never credentials).
    pub message: String,
}

/// The push sinks a refresh round is handed to. (`/metrics` is not one: it
/// reads the snapshot store.) Each sink receives only the scopes collected
/// in the round, so a failed scope's last pushed data stays untouched.
#[derive(Clone, Default)]
pub struct Sinks {
    /// The Pushgateway sink (`PUSHGATEWAY_URL`).
    pub pushgateway: Option<PushgatewaySink>,
    /// The remote-write sink (`REMOTE_WRITE_URL`).
    pub remote_write: Option<Arc<RemoteWriteSink>>,
}

impl Sinks {
    /// Builds the configured sinks, registering their self-metrics in
    /// `registry`.
    pub fn new(
        pushgateway: Option<PushgatewayConfig>,
        remote_write: Option<RemoteWriteConfig>,
        registry: &Registry,
    ) -> Result<Sinks, String> {
        let pushgateway = match pushgateway {
            Some(pg) => Some(PushgatewaySink::new(pg, registry)?),
            None => None,
        };
        let remote_write = match remote_write {
            Some(rw) => Some(Arc::new(
                RemoteWriteSink::new(rw, registry).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        Ok(Sinks {
            pushgateway,
            remote_write,
        })
    }

    /// True when no push sink is configured.
    pub fn is_empty(&self) -> bool {
        self.pushgateway.is_none() && self.remote_write.is_none()
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

    /// Hands the scopes collected in a round to every sink; returns what
    /// failed.
    pub async fn publish(
        &self,
        scopes: &[Arc<ScopeData>],
        now: SystemTime,
        store: &Store,
    ) -> Vec<SinkFailure> {
        let mut failures = Vec::new();
        if scopes.is_empty() {
            return failures;
        }
        if let Some(pg) = &self.pushgateway {
            let errors = pg.publish(scopes).await;
            for data in scopes {
                if !errors.iter().any(|e| e.scope == data.scope) {
                    store.record_sink_success("pushgateway", &data.scope, now);
                }
            }
            failures.extend(errors.into_iter().map(|e| SinkFailure {
                sink: "pushgateway",
                message: e.to_string(),
            }));
        }
        if let Some(rw) = &self.remote_write {
            if let Err(e) = rw.publish(scopes, now).await {
                failures.push(SinkFailure {
                    sink: "remote_write",
                    message: e.to_string(),
                });
            }
            for (scope, at) in rw.last_success() {
                store.record_sink_success("remote_write", &scope, at);
            }
        }
        failures
    }
}
