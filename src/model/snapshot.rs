//! The snapshot store: the last good data of every scope plus the outcome
//! of its last refresh. Refreshes write it; scrapes and sinks read it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::model::scope::Scope;
use crate::model::ScopeData;

/// What is known about one scope.
#[derive(Clone, Debug, Default)]
pub struct ScopeState {
    /// The last successfully collected data (kept when a refresh fails).
    pub data: Option<Arc<ScopeData>>,
    /// When the last successful collection finished.
    pub last_success: Option<SystemTime>,
    /// Duration of the last collection attempt.
    pub last_duration: Option<Duration>,
    /// Outcome of the last attempt (`None` before the first).
    pub last_ok: Option<bool>,
    /// The last failure, as shown in logs.
    pub last_error: Option<String>,
    /// Series per metric name of `data` ([`ScopeData::series_per_metric`]),
    /// counted once when it was recorded.
    pub series_per_metric: Arc<[(String, u64)]>,
}

/// Thread-safe store of every scope's state.
#[derive(Debug)]
pub struct Store {
    scopes: RwLock<BTreeMap<Scope, ScopeState>>,
    sink_success: RwLock<BTreeMap<(&'static str, Scope), SystemTime>>,
    ready: AtomicBool,
}

impl Store {
    /// A store that knows `scopes` but holds no data yet.
    pub fn new(scopes: &[Scope]) -> Self {
        Store {
            scopes: RwLock::new(
                scopes
                    .iter()
                    .map(|s| (s.clone(), ScopeState::default()))
                    .collect(),
            ),
            sink_success: RwLock::new(BTreeMap::new()),
            ready: AtomicBool::new(false),
        }
    }

    /// Records that `sink` delivered `scope`'s data at `at`.
    pub fn record_sink_success(&self, sink: &'static str, scope: &Scope, at: SystemTime) {
        self.sink_success
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((sink, scope.clone()), at);
    }

    /// Last successful delivery per sink and scope.
    pub fn sink_successes(&self) -> Vec<(&'static str, Scope, SystemTime)> {
        self.sink_success
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|((sink, scope), at)| (*sink, scope.clone(), *at))
            .collect()
    }

    /// Records a successful collection; returns the shared data.
    pub fn record_success(&self, data: ScopeData) -> Arc<ScopeData> {
        let data = Arc::new(data);
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        let state = scopes.entry(data.scope.clone()).or_default();
        state.last_success = Some(data.collected_at);
        state.last_duration = Some(data.duration);
        state.last_ok = Some(true);
        state.last_error = None;
        state.series_per_metric = data.series_per_metric().into();
        state.data = Some(data.clone());
        data
    }

    /// Records a failed collection; the previous data stays.
    pub fn record_failure(&self, scope: &Scope, error: String, duration: Duration) {
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        let state = scopes.entry(scope.clone()).or_default();
        state.last_duration = Some(duration);
        state.last_ok = Some(false);
        state.last_error = Some(error);
    }

    /// A consistent copy of every scope's state, in scope order.
    pub fn view(&self) -> Vec<(Scope, ScopeState)> {
        self.scopes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, st)| (s.clone(), st.clone()))
            .collect()
    }

    /// Marks the first refresh round as finished.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// True once the first refresh round finished (successfully or not).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
