//! The periodic re-send of the `now`-stamped snapshot in the long-running
//! mode (`REMOTE_WRITE_INTERVAL_SECONDS`): instant queries look back only
//! 5 minutes, refreshes come hourly.

use std::time::SystemTime;

use bytes::Bytes;

use super::metrics::RetryCounter;
use super::transport::SendError;
use super::{encode, unix_ms, RemoteWriteError, RemoteWriteSink};

impl RemoteWriteSink {
    /// Re-sends the `now`-stamped part of the last publish (newest day in
    /// `now` mode, current values, health) stamped `now`, reusing its
    /// requests; retries stay within one interval. Nothing to send before
    /// the first publish.
    pub async fn resend(&self, now: SystemTime) -> Result<(), RemoteWriteError> {
        let _guard = self.publish_lock.lock().await;
        let mut requests = self
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if requests.is_empty() {
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
        for request in &mut requests {
            encode::restamp(request, now_ms);
            let samples = encode::request_samples(request);
            let body = Bytes::from(encode::encode(request));
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
        Ok(())
    }

    /// A failure of the whole sink (not of one scope's data).
    fn sink_error(&self, e: SendError) -> RemoteWriteError {
        RemoteWriteError::Client(e.to_string())
    }
}
