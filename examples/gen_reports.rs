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
use std::path::PathBuf;

#[path = "../benches/support/synth.rs"]
#[allow(dead_code)]
mod synth;
use synth::{entity_day, user_row, write_file, Rng};

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
