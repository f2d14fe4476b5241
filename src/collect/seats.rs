//! Seat and billing series (current values): billing of organizations and
//! the paginated seat list.

use crate::github::FailureKind;
use crate::model::scope::{Scope, ScopeKind};
use crate::model::{Labels, SampleSet};
use crate::report::seats::{billing_samples, SeatStats};

use super::optional::OptionalFailure;
use super::{ApiTarget, Collector};

/// Most seat-list pages followed for one scope (100 seats a page).
pub const MAX_SEAT_PAGES: usize = 5_000;

impl Collector {
    /// Billing (organizations) and the paginated seat list.
    pub(super) async fn collect_seats(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
    ) -> Result<SampleSet, OptionalFailure> {
        let mut out = SampleSet::new();
        let prefix = scope.api_prefix();
        let invalid = |message: String| OptionalFailure {
            reason: FailureKind::InvalidResponse.as_str().to_string(),
            message,
        };
        if scope.kind == ScopeKind::Organization {
            let billing_path = format!("{prefix}/copilot/billing");
            let page = self
                .source
                .get_json_page(ApiTarget::Path(&billing_path))
                .await?;
            if let Some(body) = page.body {
                billing_samples(scope_labels, &body, &mut out)
                    .map_err(|e| invalid(format!("{billing_path}: {e}")))?;
            }
        }
        let seats_path = format!("{prefix}/copilot/billing/seats?per_page=100");
        let mut stats = SeatStats::new(scope.kind == ScopeKind::Enterprise);
        let mut page = self
            .source
            .get_json_page(ApiTarget::Path(&seats_path))
            .await?;
        let mut pages = 1usize;
        let mut seen = std::collections::HashSet::new();
        loop {
            if let Some(body) = &page.body {
                stats
                    .add_page(body)
                    .map_err(|e| invalid(format!("{seats_path} page {pages}: {e}")))?;
            }
            let Some(next) = page.next.take() else { break };
            if pages >= MAX_SEAT_PAGES || !seen.insert(next.to_string()) {
                return Err(invalid(format!(
                    "{seats_path}: pagination does not end (page {pages}); giving up"
                )));
            }
            page = self.source.get_json_page(ApiTarget::Url(&next)).await?;
            pages += 1;
        }
        tracing::debug!(%scope, pages, seats = stats.seats(), "seat list read");
        stats.finish(
            scope_labels,
            chrono::Utc::now(),
            scope.kind == ScopeKind::Enterprise,
            &mut out,
        );
        Ok(out)
    }
}
