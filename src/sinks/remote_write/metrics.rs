//! The remote-write sink's self-metrics:
//! `copilot_exporter_remote_write_{samples,requests}_total{result}`.

use prometheus::{IntCounterVec, Registry};

use super::transport::AttemptObserver;
use crate::selfmetrics::register_counter_vec;

/// Result values of the self-metrics.
const RESULTS: [&str; 4] = ["sent", "retried", "rejected", "failed"];

/// The sink's self-metrics: samples and requests by result.
#[derive(Clone)]
pub(super) struct SinkMetrics {
    /// Samples by result.
    pub(super) samples: IntCounterVec,
    /// Requests by result.
    requests: IntCounterVec,
}

impl SinkMetrics {
    pub(super) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let samples = register_counter_vec(
            registry,
            "copilot_exporter_remote_write_samples_total",
            "Samples handled by the remote-write sink, by result (sent, retried, rejected, failed).",
            &["result"],
        )?;
        let requests = register_counter_vec(
            registry,
            "copilot_exporter_remote_write_requests_total",
            "Remote-write HTTP requests, by result (sent, retried, rejected, failed).",
            &["result"],
        )?;
        for r in RESULTS {
            samples.with_label_values(&[r]);
            requests.with_label_values(&[r]);
        }
        Ok(SinkMetrics { samples, requests })
    }

    pub(super) fn count(&self, result: &str, samples: usize) {
        self.requests.with_label_values(&[result]).inc();
        self.samples
            .with_label_values(&[result])
            .inc_by(samples as u64);
    }
}

/// Counts a retried request (and its samples) as `retried`.
pub(super) struct RetryCounter<'a> {
    pub(super) metrics: &'a SinkMetrics,
    pub(super) samples: usize,
}

impl AttemptObserver for RetryCounter<'_> {
    fn retrying(&self) {
        self.metrics.count("retried", self.samples);
    }
}
