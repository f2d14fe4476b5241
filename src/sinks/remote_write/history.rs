//! `report-day` history: every settled day once, oldest first, the
//! per-scope mark moving only after the receiver took the day.

use std::time::SystemTime;

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::summary::{ScopeFailure, ScopeSummary};
use super::transport::{ResolvedAuth, SendError};
use super::{log_failure, report_day_timestamp_ms, RemoteWriteSink};
use crate::model::scope::Scope;
use crate::model::ScopeData;

impl RemoteWriteSink {
    pub(super) async fn publish_history(
        &self,
        data: &ScopeData,
        now: SystemTime,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
        failures: &mut Vec<ScopeFailure>,
    ) {
        let scope = &data.scope;
        let today = DateTime::<Utc>::from(now).date_naive();
        let Some(start) = self.history_start(scope, today, failures) else {
            return;
        };
        let Some(settled) = today.checked_sub_days(Days::new(u64::from(self.config.settle_days)))
        else {
            return;
        };
        if start > settled {
            return;
        }
        for (day, set) in data.days.range(start..=settled) {
            if set.is_empty() {
                continue;
            }
            match self
                .send_set(set, report_day_timestamp_ms(*day), auth, summary)
                .await
            {
                Ok(()) => summary.days_sent.push(*day),
                Err(e @ SendError::Rejected { .. }) => {
                    // A poison day must not block the days after it: the mark
                    // passes it, loudly.
                    tracing::error!(
                        scope = %scope,
                        day = %day,
                        error = %e,
                        "remote-write receiver rejected a report day; it is skipped and will not be re-sent"
                    );
                    summary.days_rejected.push(*day);
                    failures.push(ScopeFailure {
                        scope: scope.clone(),
                        day: Some(*day),
                        cause: e.into(),
                    });
                }
                Err(e) => {
                    // Retries ran out: stop here, keep the mark, send this day
                    // (and the later ones) next time, in order.
                    log_failure(scope, Some(*day), &e);
                    failures.push(ScopeFailure {
                        scope: scope.clone(),
                        day: Some(*day),
                        cause: e.into(),
                    });
                    return;
                }
            }
            if let Err(e) = self.state.advance(scope, *day) {
                tracing::error!(scope = %scope, error = %e, "cannot persist remote-write state");
                failures.push(ScopeFailure {
                    scope: scope.clone(),
                    day: Some(*day),
                    cause: e.into(),
                });
                return;
            }
        }
    }

    fn history_start(
        &self,
        scope: &Scope,
        today: NaiveDate,
        failures: &mut Vec<ScopeFailure>,
    ) -> Option<NaiveDate> {
        match self.state.get(scope) {
            Ok(mark) => Some(self.first_day_due(mark, today)),
            Err(e) => {
                tracing::error!(scope = %scope, error = %e, "remote-write state unreadable; history not sent");
                failures.push(ScopeFailure {
                    scope: scope.clone(),
                    day: None,
                    cause: e.into(),
                });
                None
            }
        }
    }
}
