//! The Pushgateway sink: one group per scope, after every refresh.
//!
//! Group: `/metrics/job/<job>[/<external label>/<value>…]/{org|enterprise}/<name>`.
//! Body: delimited protobuf `MetricFamily` without timestamps (the
//! Pushgateway rejects them). A scope collected in this round replaces its
//! whole group with `PUT` (so vanished series vanish): newest report day,
//! current values, the scope's health and the exporter's self-metrics. A
//! scope that failed is sent with `POST` and only its health and the
//! self-metrics: the data already in its group, the last good one, stays,
//! and `copilot_exporter_collect_success` there says 0.
//!
//! Layout like remote-write: [`config`] (settings, grouping key),
//! [`encode`] (pure: families → bytes), [`transport`] (HTTP, auth, retry).
//! The client is our own, async, on reqwest: the `prometheus` crate's push
//! helper is blocking and panics inside a tokio runtime.

pub mod config;
pub mod encode;
pub mod transport;

use std::sync::Arc;

use prometheus::{IntCounterVec, Registry};
use reqwest::Method;

pub use config::{
    base64_url, label_segments, PushAuth, PushgatewayArgs, PushgatewayConfig, DEFAULT_JOB,
};
pub use encode::{
    encode_protobuf, group_body, group_families, scope_families, PROTOBUF_CONTENT_TYPE,
};
pub use transport::{PushError, PushFailure, Transport};

use crate::selfmetrics::register_counter_vec;
use crate::sinks::view::{Publication, ScopeView};

/// The sink's self-metrics.
#[derive(Clone)]
struct PushMetrics {
    pushes: IntCounterVec,
    failures: IntCounterVec,
}

impl PushMetrics {
    fn register(registry: &Registry) -> Result<PushMetrics, String> {
        let pushes = register_counter_vec(
            registry,
            "copilot_exporter_pushgateway_pushes_total",
            "Pushes of a scope's group to the Pushgateway, by final result (success, failure).",
            &["result"],
        )
        .map_err(|e| e.to_string())?;
        let failures = register_counter_vec(
            registry,
            "copilot_exporter_pushgateway_push_failures_total",
            "Failed Pushgateway push attempts (retries included), by HTTP status or `transport`.",
            &["status"],
        )
        .map_err(|e| e.to_string())?;
        // Show both results from the start.
        pushes.with_label_values(&["success"]);
        pushes.with_label_values(&["failure"]);
        Ok(PushMetrics { pushes, failures })
    }
}

/// Pushes every scope to its Pushgateway group.
#[derive(Clone)]
pub struct PushgatewaySink {
    config: Arc<PushgatewayConfig>,
    transport: Transport,
    metrics: PushMetrics,
}

impl PushgatewaySink {
    /// Builds the HTTP client and registers the sink's self-metrics in
    /// `registry`.
    pub fn new(config: PushgatewayConfig, registry: &Registry) -> Result<PushgatewaySink, String> {
        Ok(PushgatewaySink {
            transport: Transport::new(&config)?,
            config: Arc::new(config),
            metrics: PushMetrics::register(registry)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PushgatewayConfig {
        &self.config
    }

    /// The base URL, for messages.
    pub fn url(&self) -> &str {
        self.config.url.as_str()
    }

    /// `--check`: asks the Pushgateway's `GET /-/ready` through the push
    /// client (same TLS settings, headers and credentials); sends no data.
    pub async fn probe(&self) -> Result<(), crate::sinks::probe::ProbeFailure> {
        self.transport.probe_ready(&self.config.url).await
    }

    /// Pushes every scope of the round in turn; returns the failures
    /// (empty when every group was updated). A failed push leaves the
    /// group as it was.
    pub async fn publish(&self, round: &Publication) -> Vec<PushError> {
        let mut failed = Vec::new();
        for view in &round.scopes {
            if let Err(e) = self.push_scope(view, round).await {
                failed.push(e);
            }
        }
        failed
    }

    /// Updates the group of one scope: `PUT` with data when it was
    /// collected in this round, else `POST` of its health only.
    pub async fn push_scope(&self, view: &ScopeView, round: &Publication) -> Result<(), PushError> {
        let url = self.config.group_url(&view.scope);
        let replace = view.fresh && view.data.is_some();
        let fail = |attempts, failure| PushError {
            scope: view.scope.clone(),
            url: url.clone(),
            attempts,
            failure,
        };
        let body = group_body(view, &round.families, replace)
            .map_err(|e| fail(0, PushFailure::Encode(e)))?;
        let method = if replace { Method::PUT } else { Method::POST };
        match self
            .transport
            .send(method, &url, body, &self.metrics.failures)
            .await
        {
            Ok(attempts) => {
                self.metrics.pushes.with_label_values(&["success"]).inc();
                tracing::info!(scope = %view.scope, url = %url, attempts, replace, "pushed to the Pushgateway");
                Ok(())
            }
            Err((attempts, failure)) => {
                // The caller logs the error (once, with the other sinks').
                self.metrics.pushes.with_label_values(&["failure"]).inc();
                Err(fail(attempts, failure))
            }
        }
    }
}
