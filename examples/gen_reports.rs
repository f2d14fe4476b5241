//! Synthetic usage-metrics reports for benchmarks: deterministic (seeded),
//! with the field mix of the documented row schemas (reference §3.6).
//!
//! ```sh
//! cargo run --release --example gen_reports -- --users 450000 --out target/bench-data
//! cargo run --release --example gen_reports -- --size-mb 1024 --out target/bench-data
//! ```
//!
//! Writes into `--out`:
//! - `users-1-day-part-NNNNN.ndjson` (`--shards` files): one row per user,
//!   1–3 KB each, with `totals_by_ide`, `totals_by_feature`,
//!   `totals_by_language_feature`, `totals_by_language_model`,
//!   `totals_by_model_feature` and (for CLI users) `totals_by_cli`;
//! - `user-teams-1-day.ndjson`: most users on one team, some on two, a few
//!   on none;
//! - `enterprise-28-day.ndjson` (28 `day_totals`) and `enterprise-1-day.ndjson`;
//! - `manifest.json`: day, enterprise slug and the files of each report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const IDES: &[&str] = &["vscode", "jetbrains", "visualstudio", "neovim", "xcode"];
const FEATURES: &[&str] = &[
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
const LANGUAGES: &[&str] = &[
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
const MODELS: &[&str] = &[
    "gpt-4.1",
    "gpt-5",
    "gpt-5-mini",
    "claude-sonnet-4.5",
    "claude-opus-4.1",
    "gemini-2.5-pro",
    "o4-mini",
];

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Between `lo` and `hi` distinct indices below `n`.
    fn pick(&mut self, lo: u64, hi: u64, n: usize) -> Vec<usize> {
        let k = self.range(lo, hi) as usize;
        self.distinct(k, n)
    }
    /// `k` distinct indices below `n`, in increasing order.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
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

struct Args {
    users: u64,
    size_mb: Option<u64>,
    teams: Option<u64>,
    shards: u64,
    seed: u64,
    out: PathBuf,
    day: String,
    enterprise: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: gen_reports (--users N | --size-mb MB) --out DIR [--teams T] [--shards K] [--seed S] [--day YYYY-MM-DD] [--enterprise SLUG]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        users: 0,
        size_mb: None,
        teams: None,
        shards: 1,
        seed: 42,
        out: PathBuf::new(),
        day: "2026-05-07".into(),
        enterprise: "bench-ent".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--users" => args.users = number(value()),
            "--size-mb" => args.size_mb = Some(number(value())),
            "--teams" => args.teams = Some(number(value())),
            "--shards" => args.shards = number(value()).max(1),
            "--seed" => args.seed = number(value()),
            "--out" => args.out = PathBuf::from(value()),
            "--day" => args.day = value(),
            "--enterprise" => args.enterprise = value(),
            _ => usage(),
        }
    }
    if args.out.as_os_str().is_empty() || (args.users == 0 && args.size_mb.is_none()) {
        usage();
    }
    args
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

fn user_row(w: &mut Vec<u8>, rng: &mut Rng, user: u64, day: &str) {
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
    let _ = write!(
        w,
        ",\"etl_id\":\"{:016x}\",\"day_partition\":\"{day}\",\"entity_id_partition\":{}}}\n",
        rng.next(),
        user % 16
    );
}

fn entity_day(w: &mut Vec<u8>, rng: &mut Rng, day: &str, users: u64) {
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

fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = BufWriter::new(File::create(path)?);
    f.write_all(data)?;
    f.flush()
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    std::fs::create_dir_all(&args.out)?;
    let day = chrono::NaiveDate::parse_from_str(&args.day, "%Y-%m-%d").unwrap_or_else(|_| usage());
    let mut rng = Rng(args.seed);
    let target_bytes = args.size_mb.map(|mb| mb * 1024 * 1024);
    // Users: a fixed count, or as many as fit the size (~2.95 KB a row).
    let planned = if args.users > 0 {
        args.users
    } else {
        target_bytes.unwrap_or(0) / 2950 + 1
    };
    let teams = args.teams.unwrap_or((planned / 250).max(5));

    // users-1-day, sharded.
    let mut files = Vec::new();
    let mut line = Vec::with_capacity(4096);
    let mut written = 0u64;
    let mut user = 0u64;
    let per_shard = planned.div_ceil(args.shards);
    for shard in 0..args.shards {
        let name = format!("users-1-day-part-{shard:05}.ndjson");
        let mut out = BufWriter::with_capacity(1 << 20, File::create(args.out.join(&name))?);
        let mut in_shard = 0;
        loop {
            let done = match target_bytes {
                Some(t) if args.users == 0 => written >= t,
                _ => user >= planned,
            };
            let shard_full = shard + 1 < args.shards && in_shard >= per_shard;
            if done || shard_full {
                break;
            }
            user += 1;
            in_shard += 1;
            line.clear();
            user_row(&mut line, &mut rng, 1_000_000 + user, &args.day);
            written += line.len() as u64;
            out.write_all(&line)?;
        }
        out.flush()?;
        files.push(name);
    }
    let users = user;

    // user-teams-1-day: 80 % on one team, 15 % on two, 5 % on none.
    let mut teams_file = Vec::new();
    let mut memberships = 0u64;
    for u in 1..=users {
        let id = 1_000_000 + u;
        let roll = rng.below(100);
        let count = if roll < 5 {
            0
        } else if roll < 20 {
            2
        } else {
            1
        };
        let mut picked = Vec::new();
        while picked.len() < count {
            let t = rng.below(teams);
            if !picked.contains(&t) {
                picked.push(t);
            }
        }
        for t in picked {
            memberships += 1;
            let _ = writeln!(
                teams_file,
                "{{\"user_id\":{id},\"user_login\":\"user-{id:07}\",\"day\":\"{}\",\"enterprise_id\":\"1\",\"team_id\":{},\"slug\":\"team-{t:05}\"}}",
                args.day,
                50_000 + t
            );
        }
    }
    write_file(&args.out.join("user-teams-1-day.ndjson"), &teams_file)?;

    // Entity reports: the 28-day window ending on `day`, and the 1-day one.
    let mut e28 = Vec::new();
    e28.extend_from_slice(b"{\"day_totals\":[");
    for back in (0..28).rev() {
        let d = day - chrono::Duration::days(back);
        if back != 27 {
            e28.push(b',');
        }
        entity_day(&mut e28, &mut rng, &d.to_string(), users);
    }
    let start = day - chrono::Duration::days(27);
    let _ = writeln!(
        e28,
        "],\"enterprise_id\":\"1\",\"report_start_day\":\"{start}\",\"report_end_day\":\"{day}\",\"etl_id\":\"x\",\"day_partition\":\"{day}\",\"entity_id_partition\":1}}"
    );
    write_file(&args.out.join("enterprise-28-day.ndjson"), &e28)?;
    let mut e1 = Vec::new();
    entity_day(&mut e1, &mut rng, &args.day, users);
    e1.push(b'\n');
    write_file(&args.out.join("enterprise-1-day.ndjson"), &e1)?;

    let manifest = serde_json::json!({
        "day": args.day,
        "enterprise": args.enterprise,
        "users": users,
        "teams": teams,
        "memberships": memberships,
        "users_bytes": written,
        "reports": {
            "users-1-day": files,
            "user-teams-1-day": ["user-teams-1-day.ndjson"],
            "enterprise-28-day": ["enterprise-28-day.ndjson"],
            "enterprise-1-day": ["enterprise-1-day.ndjson"],
        }
    });
    write_file(
        &args.out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    eprintln!(
        "gen_reports: {users} users ({:.1} MB in {} file(s)), {teams} teams, {memberships} memberships -> {}",
        written as f64 / 1e6,
        files.len(),
        args.out.display()
    );
    Ok(())
}
