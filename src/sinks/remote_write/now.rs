//! The `now`-stamped part of a scope's publish (the newest day in `now`
//! mode, the current values, the scope's health, the self-metrics) and its
//! stale markers (RW1-17).

use std::sync::Arc;
use std::time::SystemTime;

use super::summary::{ScopeFailure, ScopeSummary};
use super::transport::ResolvedAuth;
use super::{log_failure, note_stream, unix_ms, RemoteWriteSink, RequestStream, TimestampMode};
use crate::model::{SampleSet, ScopeData};
use crate::sinks::view::ScopeView;

/// The `now`-stamped sets of one scope's publish, by reference: the scope's
/// data is the `Arc` the store holds (not a copy), the health and
/// self-metric sets are small. What the re-send re-encodes, and what the
/// next publish compares against for stale markers.
///
/// Keeping the previous publish's sets instead of a table of its series
/// (owned label sets, or fingerprints) costs nothing between publishes:
/// once a publish is delivered they are the store's own `Arc`s. During a
/// publish after a refresh the previous data stays alive until the new one
/// is delivered — the collector already held both while it refreshed.
#[derive(Clone, Debug, Default)]
pub(super) struct NowSets {
    data: Option<Arc<ScopeData>>,
    /// Whether the newest report day is part of it (`now` mode).
    newest_day: bool,
    health: Arc<SampleSet>,
    own: Option<Arc<SampleSet>>,
}

impl NowSets {
    /// The sets, in the order that wins a series present in several:
    /// newest day, current values, scope health, self-metrics.
    pub(super) fn sets(&self) -> Vec<&SampleSet> {
        let mut sets = Vec::with_capacity(4);
        if let Some(data) = &self.data {
            if self.newest_day {
                sets.extend(data.newest_day().map(|(_, set)| set));
            }
            sets.push(&data.current);
        }
        sets.push(&self.health);
        sets.extend(self.own.as_deref());
        sets
    }

    fn is_empty(&self) -> bool {
        self.sets().iter().all(|set| set.is_empty())
    }
}

impl RemoteWriteSink {
    /// Sends the `now`-stamped part of `view` (with the exporter's
    /// self-metrics `own` for the round's last scope) and stale markers for
    /// what the last delivered publish of the scope had and this one has
    /// not. Returns the sets for the periodic re-send.
    pub(super) async fn publish_now(
        &self,
        view: &ScopeView,
        own: Option<&SampleSet>,
        now: SystemTime,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
        failures: &mut Vec<ScopeFailure>,
    ) -> Option<NowSets> {
        let scope = &view.scope;
        let sets = NowSets {
            data: view.data.clone(),
            newest_day: self.config.mode == TimestampMode::Now,
            health: Arc::new(view.health.clone()),
            own: own.map(|set| Arc::new(set.clone())),
        };
        let previous = self
            .published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scope)
            .cloned()
            .unwrap_or_default();
        let mut stream = RequestStream::new(
            sets.sets(),
            unix_ms(now),
            self.config.max_samples_per_request,
        )
        .with_external(&self.external)
        .with_stale(previous.sets());
        let result = self.send_stream(&mut stream, auth, summary).await;
        summary.stale_markers += stream.stale_markers();
        note_stream(&stream, summary);
        drop(stream);
        match result {
            Ok(()) => {
                self.published
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(scope.clone(), sets.clone());
            }
            Err(e) => {
                log_failure(scope, None, &e);
                failures.push(ScopeFailure {
                    scope: scope.clone(),
                    day: None,
                    cause: e.into(),
                });
            }
        }
        (!sets.is_empty()).then_some(sets)
    }
}
