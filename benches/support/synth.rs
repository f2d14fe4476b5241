//! Synthetic usage-metrics report rows for benchmarks (`examples/gen_reports.rs`,
//! `benches/parse.rs`): deterministic for a seed, with the field mix of the
//! documented row schemas: per-user rows of 1–3 KB with `totals_by_ide`,
//! `totals_by_feature`, `totals_by_language_feature`,
//! `totals_by_language_model`, `totals_by_model_feature` and (for CLI users)
//! `totals_by_cli`. Not used by the exporter itself.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Label values used by the generator.
pub const IDES: &[&str] = &["vscode", "jetbrains", "visualstudio", "neovim", "xcode"];
/// Label values used by the generator.
pub const FEATURES: &[&str] = &[
    "code_completion",
    "agent_edit",
    "chat_panel_agent_mode",
    "chat_panel_ask_mode",
    "chat_panel_edit_mode",
    "chat_panel_plan_mode",
    "chat_panel_custom_mode",
    "chat_inline",
    "copilot_cli",
];
/// Label values used by the generator.
pub const LANGUAGES: &[&str] = &[
    "python",
    "typescript",
    "javascript",
    "java",
    "go",
    "rust",
    "csharp",
    "cpp",
    "ruby",
    "kotlin",
    "swift",
    "php",
    "shell",
    "sql",
    "yaml",
    "markdown",
    "unknown",
];
/// Label values used by the generator.
pub const MODELS: &[&str] = &[
    "gpt-4.1",
    "gpt-5",
    "gpt-5-mini",
    "claude-sonnet-4.5",
    "claude-opus-4.1",
    "gemini-2.5-pro",
    "o4-mini",
];

/// splitmix64: small, fast, deterministic pseudo-random numbers.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// A number from `lo` to `hi`, both included.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Between `lo` and `hi` distinct indices below `n`.
    pub fn pick(&mut self, lo: u64, hi: u64, n: usize) -> Vec<usize> {
        let k = self.range(lo, hi) as usize;
        self.distinct(k, n)
    }
    /// `k` distinct indices below `n`, in increasing order.
    pub fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut picked: Vec<usize> = Vec::with_capacity(k);
        while picked.len() < k.min(n) {
            let i = self.below(n as u64) as usize;
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        picked.sort_unstable();
        picked
    }
}

fn counters(w: &mut Vec<u8>, rng: &mut Rng, scale: u64, interactions: bool) {
    let generated = rng.range(1, 40 * scale);
    let accepted = rng.below(generated + 1);
    let suggested_add = rng.range(generated, generated * 12);
    let suggested_del = rng.below(suggested_add / 3 + 1);
    let added = rng.below(suggested_add + 1);
    let deleted = rng.below(suggested_del + 1);
    if interactions {
        let _ = write!(
            w,
            "\"user_initiated_interaction_count\":{},",
            rng.below(30 * scale)
        );
    }
    let _ = write!(
        w,
        "\"code_generation_activity_count\":{generated},\"code_acceptance_activity_count\":{accepted},\"loc_suggested_to_add_sum\":{suggested_add},\"loc_suggested_to_delete_sum\":{suggested_del},\"loc_added_sum\":{added},\"loc_deleted_sum\":{deleted}"
    );
}

/// Appends one `users-1-day` row (with its newline) of `user` on `day`.
pub fn user_row(w: &mut Vec<u8>, rng: &mut Rng, user: u64, day: &str) {
    let _ = write!(
        w,
        "{{\"day\":\"{day}\",\"enterprise_id\":\"1\",\"user_id\":{user},\"user_login\":\"user-{user:07}\","
    );
    counters(w, rng, 4, true);
    let cli = rng.chance(35);
    let _ = write!(
        w,
        ",\"used_agent\":{},\"used_chat\":{},\"used_cli\":{cli},\"used_copilot_code_review_active\":{},\"used_copilot_code_review_passive\":{},\"ai_credits_used\":{}.{:02}",
        rng.chance(60),
        rng.chance(70),
        rng.chance(20),
        rng.chance(40),
        rng.below(40),
        rng.below(100)
    );
    // totals_by_ide: 1–2 IDEs.
    w.extend_from_slice(b",\"totals_by_ide\":[");
    for (i, ide) in rng.pick(1, 2, IDES.len()).iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(w, "{{\"ide\":\"{}\",", IDES[*ide]);
        counters(w, rng, 3, true);
        let _ = write!(
            w,
            ",\"last_known_ide_version\":{{\"ide_version\":\"1.{}.{}\",\"sampled_at\":\"{day}T{:02}:{:02}:00.000Z\"}},\"last_known_plugin_version\":{{\"plugin\":\"copilot-chat\",\"plugin_version\":\"0.{}.{}\",\"sampled_at\":\"{day}T{:02}:{:02}:00.000Z\"}}}}",
            rng.range(90, 105),
            rng.below(4),
            rng.below(24),
            rng.below(60),
            rng.range(25, 32),
            rng.below(10),
            rng.below(24),
            rng.below(60)
        );
    }
    // totals_by_feature: 2–4 features.
    w.extend_from_slice(b"],\"totals_by_feature\":[");
    let features = rng.pick(1, 3, FEATURES.len());
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(w, "{{\"feature\":\"{}\",", FEATURES[*f]);
        counters(w, rng, 2, true);
        w.push(b'}');
    }
    // totals_by_language_feature: 2–6 (language, feature) pairs.
    w.extend_from_slice(b"],\"totals_by_language_feature\":[");
    let languages = rng.pick(1, 2, LANGUAGES.len());
    let mut n = 0;
    for l in &languages {
        for f in features.iter().take(2) {
            if n > 0 {
                w.push(b',');
            }
            n += 1;
            let _ = write!(
                w,
                "{{\"language\":\"{}\",\"feature\":\"{}\",",
                LANGUAGES[*l], FEATURES[*f]
            );
            counters(w, rng, 1, false);
            w.push(b'}');
        }
    }
    // Chat-only model breakdowns: 0–2 elements each.
    w.extend_from_slice(b"],\"totals_by_language_model\":[");
    let models = rng.pick(0, 2, MODELS.len());
    for (i, m) in models.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(
            w,
            "{{\"language\":\"{}\",\"model\":\"{}\",",
            LANGUAGES[languages[0]], MODELS[*m]
        );
        counters(w, rng, 1, false);
        w.push(b'}');
    }
    w.extend_from_slice(b"],\"totals_by_model_feature\":[");
    for (i, m) in models.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(
            w,
            "{{\"model\":\"{}\",\"feature\":\"{}\",",
            MODELS[*m],
            FEATURES[features[features.len() - 1]]
        );
        counters(w, rng, 1, true);
        w.push(b'}');
    }
    w.push(b']');
    if cli {
        let requests = rng.range(1, 60);
        let out = rng.range(100, 90_000);
        let _ = write!(
            w,
            ",\"totals_by_cli\":{{\"session_count\":{},\"request_count\":{requests},\"prompt_count\":{},\"token_usage\":{{\"output_tokens_sum\":{out},\"prompt_tokens_sum\":{},\"avg_tokens_per_request\":{}.{}}},\"last_known_cli_version\":{{\"cli_version\":\"0.0.{}\",\"sampled_at\":\"{day}T12:00:00.000Z\"}}}}",
            rng.range(1, 8),
            rng.range(1, requests),
            rng.range(1_000, 400_000),
            out / requests,
            rng.below(10),
            rng.range(300, 340)
        );
    }
    let _ = writeln!(
        w,
        ",\"etl_id\":\"{:016x}\",\"day_partition\":\"{day}\",\"entity_id_partition\":{}}}",
        rng.next_u64(),
        user % 16
    );
}

/// Appends one entity day object (a `day_totals[]` element or a 1-day row).
pub fn entity_day(w: &mut Vec<u8>, rng: &mut Rng, day: &str, users: u64) {
    let _ = write!(
        w,
        "{{\"day\":\"{day}\",\"enterprise_id\":\"1\",\"daily_active_users\":{},\"weekly_active_users\":{},\"monthly_active_users\":{},\"monthly_active_chat_users\":{},\"monthly_active_agent_users\":{},\"daily_active_cli_users\":{},\"daily_active_copilot_code_review_users\":{},\"daily_passive_copilot_code_review_users\":{},\"daily_active_copilot_cloud_agent_users\":null,",
        users,
        users + users / 10,
        users + users / 5,
        users / 2,
        users / 3,
        users / 3,
        users / 5,
        users / 3
    );
    counters(w, rng, 1000, true);
    let _ = write!(
        w,
        ",\"pull_requests\":{{\"total_created\":{},\"total_reviewed\":{},\"total_merged\":{},\"median_minutes_to_merge\":{}.5,\"total_suggestions\":{},\"total_applied_suggestions\":{}}},\"totals_by_ide\":[",
        rng.range(100, 9000),
        rng.range(100, 9000),
        rng.range(100, 9000),
        rng.range(10, 900),
        rng.range(100, 9000),
        rng.range(10, 900)
    );
    for (i, ide) in IDES.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(w, "{{\"ide\":\"{ide}\",");
        counters(w, rng, 500, true);
        w.push(b'}');
    }
    w.extend_from_slice(b"],\"totals_by_feature\":[");
    for (i, f) in FEATURES.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        let _ = write!(w, "{{\"feature\":\"{f}\",");
        counters(w, rng, 500, true);
        w.push(b'}');
    }
    w.extend_from_slice(b"],\"totals_by_cli\":{\"session_count\":10,\"request_count\":50,\"token_usage\":{\"output_tokens_sum\":9000,\"prompt_tokens_sum\":90000,\"avg_tokens_per_request\":1980.0}}}");
}

/// Writes `data` to `path`.
pub fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = BufWriter::new(File::create(path)?);
    f.write_all(data)?;
    f.flush()
}
