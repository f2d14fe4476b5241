//! Seat and billing metrics (`SEATS`): organization billing and the
//! paginated seat list, as current values.

use super::OptionalFailure;
use crate::collect::{ApiTarget, ScopeReader, MAX_SEAT_PAGES};
use crate::github::FailureKind;
use crate::model::scope::ScopeKind;
use crate::model::SampleSet;
use crate::report::seats::{billing_samples, SeatStats};

/// Billing (organizations) and the paginated seat list.
pub(super) async fn collect(reader: &ScopeReader<'_>) -> Result<SampleSet, OptionalFailure> {
    let (scope, scope_labels, source) = (reader.scope, reader.labels, reader.source);
    let mut out = SampleSet::new();
    let prefix = scope.api_prefix();
    let invalid = |message: String| OptionalFailure {
        reason: FailureKind::InvalidResponse.as_str().to_string(),
        message,
    };
    if scope.kind == ScopeKind::Organization {
        let billing_path = format!("{prefix}/copilot/billing");
        let page = source.get_json_page(ApiTarget::Path(&billing_path)).await?;
        if let Some(body) = page.body {
            billing_samples(scope_labels, &body, &mut out)
                .map_err(|e| invalid(format!("{billing_path}: {e}")))?;
        }
    }
    let seats_path = format!("{prefix}/copilot/billing/seats?per_page=100");
    let mut stats = SeatStats::new(scope.kind == ScopeKind::Enterprise);
    let mut page = source.get_json_page(ApiTarget::Path(&seats_path)).await?;
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
        page = source.get_json_page(ApiTarget::Url(&next)).await?;
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
