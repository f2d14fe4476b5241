//! Built-in sample reports for `--demo`: the same NDJSON GitHub serves, made
//! up deterministically, so the whole pipeline runs without a token.

use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::github::ndjson::{Line, LineSplitter};
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::scope::{Scope, ScopeKind};

const IDES: &[&str] = &["vscode", "jetbrains", "visualstudio", "neovim"];
const LANGUAGES: &[&str] = &["rust", "python", "typescript", "go", "java"];
const FEATURES: &[&str] = &[
    "code_completion",
    "agent_edit",
    "chat_panel_ask_mode",
    "chat_panel_agent_mode",
    "copilot_cli",
];
const MODELS: &[&str] = &["gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"];

/// Serves made-up reports; the newest day is two days before today, as on
/// GitHub, where reports lag.
#[derive(Clone, Debug)]
pub struct DemoSource {
    newest_day: NaiveDate,
}

impl Default for DemoSource {
    fn default() -> Self {
        Self::new(Utc::now().date_naive() - Duration::days(2))
    }
}

impl DemoSource {
    /// A source whose 28-day report ends on `newest_day`.
    pub fn new(newest_day: NaiveDate) -> Self {
        DemoSource { newest_day }
    }

    /// The newest day with data.
    pub fn newest_day(&self) -> NaiveDate {
        self.newest_day
    }

    /// The report as NDJSON text (`None`: no report for that day).
    pub fn report_text(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
    ) -> Option<String> {
        let rows: Vec<Value> = match (kind, day) {
            (ReportKind::Entity28Day, _) => {
                let start = self.newest_day - Duration::days(27);
                let days: Vec<Value> = (0..28)
                    .map(|i| day_totals(scope, start + Duration::days(i)))
                    .collect();
                let mut row = json!({
                    "day_totals": days,
                    "report_start_day": start.to_string(),
                    "report_end_day": self.newest_day.to_string(),
                    "etl_id": "demo",
                });
                row[id_field(scope)] = json!(scope_id(scope));
                vec![row]
            }
            (ReportKind::Entity1Day, Some(day)) if day <= self.newest_day => {
                vec![day_totals(scope, day)]
            }
            _ => return None,
        };
        let mut text = String::new();
        for row in rows {
            text.push_str(&row.to_string());
            text.push('\n');
        }
        Some(text)
    }

    /// Feeds the report's lines to `on_line`, like a download would.
    pub fn fetch(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        on_line: &mut (dyn FnMut(Line<'_>) + Send),
    ) -> ReportOutcome {
        let Some(text) = self.report_text(scope, kind, day) else {
            return ReportOutcome::NoReport;
        };
        let mut splitter = LineSplitter::new(usize::MAX / 2);
        splitter.feed(text.as_bytes(), on_line);
        splitter.finish(on_line);
        ReportOutcome::Delivered {
            files: 1,
            bytes: text.len() as u64,
            lines: splitter.lines(),
            end_day: Some(day.unwrap_or(self.newest_day)),
        }
    }
}

fn id_field(scope: &Scope) -> &'static str {
    match scope.kind {
        ScopeKind::Organization => "organization_id",
        ScopeKind::Enterprise => "enterprise_id",
    }
}

fn scope_id(scope: &Scope) -> String {
    (seed(&scope.name) % 100_000).to_string()
}

fn seed(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn activity(rng: &mut Rng, scale: u64) -> Value {
    let generated = 20 + rng.below(40 * scale);
    let accepted = generated * (20 + rng.below(25)) / 100;
    let suggested = generated * 4;
    let added = suggested * (15 + rng.below(25)) / 100;
    json!({
        "code_generation_activity_count": generated,
        "code_acceptance_activity_count": accepted,
        "user_initiated_interaction_count": rng.below(30 * scale),
        "loc_suggested_to_add_sum": suggested,
        "loc_suggested_to_delete_sum": suggested / 10,
        "loc_added_sum": added,
        "loc_deleted_sum": added / 8,
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// One `day_totals` element for `scope` on `day`.
pub fn day_totals(scope: &Scope, day: NaiveDate) -> Value {
    let mut rng = Rng::new(seed(&format!("{}/{day}", scope.name)));
    let size = if scope.kind == ScopeKind::Enterprise {
        3
    } else {
        1
    };
    let weekend = matches!(day.format("%a").to_string().as_str(), "Sat" | "Sun");
    let dau = (40 + rng.below(20)) * size / if weekend { 4 } else { 1 };
    let by_ide: Vec<Value> = IDES
        .iter()
        .map(|ide| with(json!({"ide": ide}), activity(&mut rng, size)))
        .collect();
    let by_feature: Vec<Value> = FEATURES
        .iter()
        .map(|f| with(json!({"feature": f}), activity(&mut rng, size)))
        .collect();
    let mut by_language_feature = Vec::new();
    for language in LANGUAGES {
        for feature in &FEATURES[..2] {
            by_language_feature.push(with(
                json!({"language": language, "feature": feature}),
                activity(&mut rng, size),
            ));
        }
    }
    let by_language_model: Vec<Value> = LANGUAGES
        .iter()
        .flat_map(|l| MODELS.iter().map(move |m| (l, m)))
        .map(|(l, m)| with(json!({"language": l, "model": m}), activity(&mut rng, size)))
        .collect();
    let by_model_feature: Vec<Value> = MODELS
        .iter()
        .map(|m| {
            with(
                json!({"model": m, "feature": "chat_panel_agent_mode"}),
                activity(&mut rng, size),
            )
        })
        .collect();
    let created = 10 + rng.below(20) * size;
    let mut totals = with(
        json!({
            "day": day.to_string(),
            "daily_active_users": dau,
            "weekly_active_users": dau * 2,
            "monthly_active_users": dau * 3,
            "monthly_active_chat_users": dau * 2,
            "monthly_active_agent_users": dau,
            "daily_active_cli_users": rng.below(10) * size,
            "daily_active_copilot_code_review_users": rng.below(8),
            "daily_active_copilot_cloud_agent_users": null,
            "pull_requests": {
                "total_created": created,
                "total_reviewed": created - 2,
                "total_merged": created * 3 / 4,
                "median_minutes_to_merge": 30.0 + rng.below(300) as f64 / 2.0,
                "total_suggestions": rng.below(40),
                "total_applied_suggestions": rng.below(20),
                "total_created_by_copilot": rng.below(5),
                "total_reviewed_by_copilot": rng.below(10),
                "total_copilot_suggestions": 12,
                "total_copilot_applied_suggestions": 5,
                "copilot_suggestions_by_comment_type": [
                    {"comment_type": "nit", "total_copilot_suggestions": 7, "total_copilot_applied_suggestions": 3},
                    {"comment_type": "bug", "total_copilot_suggestions": 5, "total_copilot_applied_suggestions": 2}
                ]
            },
            "totals_by_cli": {
                "session_count": rng.below(20),
                "request_count": rng.below(80),
                "prompt_count": rng.below(60),
                "token_usage": {"output_tokens_sum": rng.below(90_000), "prompt_tokens_sum": rng.below(70_000), "avg_tokens_per_request": 4100.0}
            },
            "totals_by_ide": by_ide,
            "totals_by_feature": by_feature,
            "totals_by_language_feature": by_language_feature,
            "totals_by_language_model": by_language_model,
            "totals_by_model_feature": by_model_feature,
        }),
        activity(&mut rng, size * 4),
    );
    totals[id_field(scope)] = json!(scope_id(scope));
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_day_keyed() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let a = day_totals(&Scope::org("x"), day);
        assert_eq!(a, day_totals(&Scope::org("x"), day));
        assert_ne!(a, day_totals(&Scope::org("x"), day.succ_opt().unwrap()));
        assert_eq!(a["day"], "2026-01-05");
    }

    #[test]
    fn no_report_after_the_newest_day() {
        let newest = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let demo = DemoSource::new(newest);
        let s = Scope::org("x");
        assert!(demo
            .report_text(&s, ReportKind::Entity1Day, newest.succ_opt())
            .is_none());
        assert!(demo
            .report_text(&s, ReportKind::Entity1Day, Some(newest))
            .is_some());
        assert_eq!(
            demo.report_text(&s, ReportKind::Entity28Day, None)
                .unwrap()
                .lines()
                .count(),
            1
        );
    }
}
