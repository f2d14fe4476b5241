//! Which report fields are quantities: the only values ever summed over
//! rows (team sums, several rows of one user).
//!
//! The rule is positive: a numeric field is a **quantity** when its name has
//! one of the forms GitHub's usage-metrics reports use for amounts
//! (`/work/shared/reference/github-usage-metrics.md` §3.6, every numeric
//! field listed there is classified by it):
//!
//! | form of the field name | what it is | examples |
//! |---|---|---|
//! | `…_count` | a number of events | `code_generation_activity_count`, `totals_by_cli.session_count` |
//! | `…_sum` | a sum of amounts | `loc_added_sum`, `token_usage.output_tokens_sum` |
//! | `total_…` (or `total`) | a counter | `pull_requests.total_merged`, `total_pull_requests_merged` |
//! | `…_users` | a number of distinct users | `daily_active_users`, `monthly_active_chat_users` |
//! | `…_credits_used`, `…_tokens_used` | a consumed amount | `ai_credits_used` |
//!
//! Everything else is **not summed**: averages (`avg_tokens_per_request`),
//! medians and percentiles (`median_minutes_to_merge`,
//! `p90_minutes_ready_to_first_review`), ordinals and categories
//! (`ai_adoption_phase.phase_number`), versions, ids and flags, and any
//! field whose name has none of the forms above — a field GitHub adds later
//! is summed only once its name says it is an amount. Such fields are still
//! exported per entity, per user and per repository; they only never enter
//! a sum.
//!
//! Words are the name's `_`-separated parts, compared ASCII
//! case-insensitively.

/// True when a numeric report field (its own name, the JSON key, not the
/// metric name) is a quantity that may be summed over rows. See the module
/// documentation for the rule.
pub fn is_quantity(field: &str) -> bool {
    let mut words = field
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return false;
    };
    if first.eq_ignore_ascii_case("total") {
        return true;
    }
    let mut last = first;
    let mut before_last = "";
    for word in words {
        before_last = last;
        last = word;
    }
    let amount = |w: &str| {
        ["count", "sum", "users"]
            .iter()
            .any(|a| w.eq_ignore_ascii_case(a))
    };
    let consumed = |w: &str| w.eq_ignore_ascii_case("credits") || w.eq_ignore_ascii_case("tokens");
    // A one-word name is a form only as `total` (e.g. `count` alone names
    // nothing that is counted).
    if before_last.is_empty() {
        return false;
    }
    amount(last) || (last.eq_ignore_ascii_case("used") && consumed(before_last))
}

#[cfg(test)]
mod tests {
    use super::is_quantity;

    /// Every numeric field of the reference's row schemas (§3.6), classified.
    #[test]
    fn documented_fields() {
        for q in [
            "user_initiated_interaction_count",
            "code_generation_activity_count",
            "code_acceptance_activity_count",
            "loc_suggested_to_add_sum",
            "loc_suggested_to_delete_sum",
            "loc_added_sum",
            "loc_deleted_sum",
            "session_count",
            "request_count",
            "prompt_count",
            "output_tokens_sum",
            "prompt_tokens_sum",
            "ai_credits_used",
            "daily_active_users",
            "weekly_active_users",
            "monthly_active_users",
            "monthly_active_chat_users",
            "monthly_active_agent_users",
            "daily_active_cli_users",
            "daily_active_copilot_code_review_users",
            "monthly_passive_copilot_code_review_users",
            "weekly_active_copilot_cloud_agent_users",
            "total_created",
            "total_reviewed",
            "total_merged",
            "total_suggestions",
            "total_applied_suggestions",
            "total_created_by_copilot",
            "total_merged_reviewed_by_copilot",
            "total_copilot_suggestions",
            "total_copilot_applied_suggestions",
            "total_pull_requests_merged",
        ] {
            assert!(is_quantity(q), "{q} is a quantity");
        }
        for n in [
            "avg_tokens_per_request",
            "median_minutes_to_merge",
            "median_minutes_to_merge_copilot_authored",
            "median_minutes_ready_to_first_review",
            "p90_minutes_first_to_final_review",
            "avg_pull_requests_minutes_to_review",
            "avg_pull_requests_review_cycles",
            "phase_number",
            "entity_id_partition",
            "version",
        ] {
            assert!(!is_quantity(n), "{n} is not a quantity");
        }
    }

    /// Fields nobody has seen yet: only an amount form is summed.
    #[test]
    fn unknown_fields_are_not_summed_unless_their_form_says_amount() {
        for n in [
            "maturity_level",
            "tier_number",
            "adoption_score",
            "cohort_rank",
            "schema_version",
            "acceptance_rate",
            "p99_latency_seconds",
            "count",
            "sum",
            "users",
            "",
            "_",
            "used",
            "credits_per_user_ratio",
            "median_output_tokens",
            "premium_credits",
        ] {
            assert!(!is_quantity(n), "{n:?} is not a quantity");
        }
        for q in [
            "agent_handoff_count",
            "review_comments_sum",
            "daily_active_spaces_users",
            "total_spaces_created",
            "TOTAL_X",
            "premium_credits_used",
            "input_tokens_used",
            "Loc_Added_SUM",
        ] {
            assert!(is_quantity(q), "{q:?} is a quantity");
        }
    }
}
