//! The module tree keeps the pipeline's promises (README "Design notes"):
//! data flows one way, config → scheduler → collect → report → model →
//! sinks, no module below `config` imports it, and no two modules import
//! each other, directly or through others.
//!
//! Reads `src/` as text: every `crate::…` and `super::…` path outside
//! comments is an import edge between the file modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path of a source file: `src/report/teams.rs` → `report::teams`,
/// `src/collect/mod.rs` → `collect`, `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every file module and the file modules it refers to.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        // `super` of `a::b` (`a/b.rs`) is `a`; of `a` (`a/mod.rs`) the root.
        let parent = |m: &str| -> String {
            let parts: Vec<&str> = m.split("::").filter(|p| !p.is_empty()).collect();
            let keep = parts.len().saturating_sub(1);
            parts[..keep].join("::")
        };
        let text = std::fs::read_to_string(file).unwrap();
        let mut edges = BTreeSet::new();
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (prefix, base) in [("crate::", String::new()), ("super::", parent(&module))] {
                let mut rest = code;
                while let Some(at) = rest.find(prefix) {
                    let before = rest[..at].chars().last();
                    rest = &rest[at + prefix.len()..];
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let path: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut target = base.clone();
                    let mut best = base.clone();
                    for segment in path.split("::").filter(|s| !s.is_empty()) {
                        target = if target.is_empty() {
                            segment.to_string()
                        } else {
                            format!("{target}::{segment}")
                        };
                        if modules.contains(&target) {
                            best = target.clone();
                        }
                    }
                    // An import of a module's own children is its structure,
                    // not a dependency edge that could close a circle.
                    let is_descendant = best.starts_with(&format!("{module}::"));
                    if !best.is_empty() && best != module && !is_descendant {
                        edges.insert(best);
                    }
                }
            }
        }
        graph.insert(module, edges);
    }
    graph
}

#[test]
fn nothing_below_config_imports_it() {
    let graph = import_graph();
    let below = ["github", "collect", "report", "model", "sinks", "scheduler"];
    let offenders: Vec<String> = graph
        .iter()
        .filter(|(m, _)| {
            below
                .iter()
                .any(|b| *m == b || m.starts_with(&format!("{b}::")))
        })
        .filter(|(_, edges)| {
            edges
                .iter()
                .any(|e| e == "config" || e.starts_with("config::"))
        })
        .map(|(m, _)| m.clone())
        .collect();
    assert!(offenders.is_empty(), "import crate::config: {offenders:?}");
}

#[test]
fn the_pipeline_flows_one_way() {
    // Layers from the top; a module may import its own layer's modules and
    // those of lower layers only.
    let layer = |m: &str| -> usize {
        let top = m.split("::").next().unwrap_or("");
        match top {
            "" | "main" | "app" | "preflight" => 0,
            "config" => 1,
            "scheduler" => 2,
            "sinks" => 3,
            "collect" => 4,
            "github" => 5,
            "report" => 6,
            "model" => 7,
            // Shared primitives: retry, secret, settings, httputil, selfmetrics.
            _ => 8,
        }
    };
    let graph = import_graph();
    let mut upward = Vec::new();
    for (module, edges) in &graph {
        for edge in edges {
            if layer(edge) < layer(module) {
                upward.push(format!("{module} → {edge}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that point back up: {upward:#?}");
}

#[test]
fn no_module_circle() {
    let graph = import_graph();
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut circle = stack[from..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(circle) = visit(node, &graph, &mut state, &mut stack) {
                panic!("import circle: {}", circle.join(" → "));
            }
        }
    }
}

#[test]
fn the_checks_see_real_edges() {
    // Guards the parser: known edges must be found, or the tests above
    // would pass on an empty graph.
    let graph = import_graph();
    assert!(graph["collect"].contains("github::reports"), "{graph:#?}");
    assert!(graph["app"].contains("config"));
    assert!(graph.len() > 20);
}
