//! Heap bytes per series of three metric-model designs, for the design
//! note in BENCHMARKS.md ("Peak RSS"):
//!
//! - `owned`: the former model, `BTreeMap<SeriesKey, f64>` (owned `String`
//!   name and label pairs per series);
//! - `arc_str`: `Arc<str>` interning — names and label values shared
//!   through a pool, each series an `(Arc<str>, Arc<[(Arc<str>, Arc<str>)]>)`
//!   key in a `BTreeMap`, label sets shared too;
//! - `interned`: [`SampleSet`] — `string-interner` symbols, label sets
//!   stored once as symbol runs, series as (name id, label-set id, value).
//!
//! The data are team series shaped like the generated `users-1-day` team
//! join: `TEAMS` teams × 2 000 series (20 metric names over 100 label sets
//! of `enterprise`, `team`, `language`, `feature`).
//!
//! `cargo run --release --example model_footprint -- [TEAMS]` (default 50).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use copilot_metrics_exporter::model::{SampleSet, SeriesKey};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const LANGUAGES: [&str; 10] = [
    "python",
    "typescript",
    "javascript",
    "go",
    "rust",
    "java",
    "csharp",
    "ruby",
    "php",
    "kotlin",
];
const FEATURES: [&str; 10] = [
    "code_completion",
    "chat_panel_agent_mode",
    "chat_panel_ask_mode",
    "chat_panel_edit_mode",
    "chat_inline",
    "agent_edit",
    "copilot_cli",
    "code_review",
    "chat_panel_custom_mode",
    "others",
];

fn series(teams: usize) -> impl Iterator<Item = (String, Vec<(String, String)>, f64)> {
    (0..teams).flat_map(|t| {
        LANGUAGES.iter().flat_map(move |l| {
            FEATURES.iter().flat_map(move |f| {
                (0..20).map(move |m| {
                    (
                        format!("copilot_team_metric_number_{m}_by_language_feature"),
                        vec![
                            ("enterprise".to_string(), "bench-ent".to_string()),
                            ("feature".to_string(), f.to_string()),
                            ("language".to_string(), l.to_string()),
                            ("team".to_string(), format!("team-{t:04}")),
                        ],
                        (t * m) as f64,
                    )
                })
            })
        })
    })
}

type ArcLabels = Arc<[(Arc<str>, Arc<str>)]>;

fn main() {
    let teams: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let n = teams * 2000;
    let measure = |name: &str, build: &dyn Fn() -> Box<dyn std::any::Any>| {
        let before = LIVE.load(Ordering::Relaxed);
        let started = std::time::Instant::now();
        let held = build();
        let bytes = LIVE.load(Ordering::Relaxed) - before;
        println!(
            "{name:9} {n:>9} series: {:>7.1} MB, {:>5.0} bytes a series, built in {:.2} s",
            bytes as f64 / 1e6,
            bytes as f64 / n as f64,
            started.elapsed().as_secs_f64()
        );
        drop(held);
    };
    measure("owned", &|| {
        let mut map = BTreeMap::new();
        for (name, labels, v) in series(teams) {
            map.insert(SeriesKey::new(name, labels), v);
        }
        Box::new(map)
    });
    measure("arc_str", &|| {
        let mut strings: HashSet<Arc<str>> = HashSet::new();
        let mut sets: HashSet<ArcLabels> = HashSet::new();
        let mut map: BTreeMap<(Arc<str>, ArcLabels), f64> = BTreeMap::new();
        let mut intern = |s: &str| -> Arc<str> {
            if let Some(a) = strings.get(s) {
                return a.clone();
            }
            let a: Arc<str> = Arc::from(s);
            strings.insert(a.clone());
            a
        };
        for (name, labels, v) in series(teams) {
            let name = intern(&name);
            let set: ArcLabels = labels.iter().map(|(n, v)| (intern(n), intern(v))).collect();
            let set = match sets.get(&set) {
                Some(s) => s.clone(),
                None => {
                    sets.insert(set.clone());
                    set
                }
            };
            map.insert((name, set), v);
        }
        Box::new((strings, sets, map))
    });
    measure("interned", &|| {
        let mut set = SampleSet::new();
        for (name, labels, v) in series(teams) {
            let id = set.intern_labels(labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            set.insert_in(&name, id, v, "help");
        }
        // Includes the sort order every sink iterates in.
        let _ = set.iter().count();
        Box::new(set)
    });
}
