//! The periodic re-send of the `now`-stamped snapshot in the long-running
//! mode (`REMOTE_WRITE_INTERVAL_SECONDS`): instant queries look back only
//! 5 minutes, refreshes come hourly.

use std::time::SystemTime;

use bytes::Bytes;

use super::metrics::RetryCounter;
use super::transport::SendError;
use super::{encode, unix_ms, RemoteWriteError, RemoteWriteSink, RequestStream};

impl RemoteWriteSink {
    /// Re-sends the `now`-stamped part of the last publish (newest day in
    /// `now` mode, current values, health) stamped `now`: its sets, kept by
    /// reference, are encoded again one request at a time (no stale
    /// markers: those went out with the publish); retries stay within one
    /// interval. Nothing to send before the first publish.
    pub async fn resend(&self, now: SystemTime) -> Result<(), RemoteWriteError> {
        let _guard = self.publish_lock.lock().await;
        let snapshot = self
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if snapshot.is_empty() {
            return Ok(());
        }
        let auth = self
            .transport
            .resolve_auth()
            .map_err(|e| self.sink_error(e))?;
        let budget = self
            .config
            .resend_interval
            .unwrap_or(self.config.retry.max_duration);
        let now_ms = unix_ms(now);
        for sets in &snapshot {
            let requests =
                RequestStream::new(sets.sets(), now_ms, self.config.max_samples_per_request)
                    .with_external(&self.external);
            for request in requests {
                let samples = encode::request_samples(&request);
                let body = Bytes::from(encode::encode(&request));
                drop(request);
                let observer = RetryCounter {
                    metrics: &self.metrics,
                    samples,
                };
                match self
                    .transport
                    .send_within(body, samples, &auth, &observer, budget)
                    .await
                {
                    Ok(_) => self.metrics.count("sent", samples),
                    Err(e) => {
                        let result = if matches!(e, SendError::Rejected { .. }) {
                            "rejected"
                        } else {
                            "failed"
                        };
                        self.metrics.count(result, samples);
                        return Err(self.sink_error(e));
                    }
                }
            }
        }
        Ok(())
    }

    /// A failure of the whole sink (not of one scope's data).
    fn sink_error(&self, e: SendError) -> RemoteWriteError {
        RemoteWriteError::Client(e.to_string())
    }
}
