//! Per-scope high-water marks of `report-day` mode: the newest report day
//! already handed to the receiver (or skipped as rejected).
//!
//! With a state directory each scope has one small JSON file there, written
//! atomically (temp file, fsync, rename); without one the marks live in
//! memory and a restart re-sends the backfill window.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::scope::{encode_path_segment, Scope, ScopeKind};

/// A state file that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("remote-write state file {path}: {message}")]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    scope_kind: String,
    scope: String,
    last_sent_day: NaiveDate,
}

/// The marks, cached in memory, persisted when a directory is configured.
#[derive(Debug)]
pub struct StateStore {
    dir: Option<PathBuf>,
    cache: Mutex<HashMap<Scope, Option<NaiveDate>>>,
}

impl StateStore {
    /// A store in `dir` (created if missing), or in memory for `None`.
    pub fn new(dir: Option<PathBuf>) -> Result<Self, StateError> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|e| StateError {
                path: dir.clone(),
                message: format!("cannot create directory: {e}"),
            })?;
        }
        Ok(StateStore {
            dir,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The file holding `scope`'s mark (`None` in memory mode).
    pub fn path(&self, scope: &Scope) -> Option<PathBuf> {
        let kind = match scope.kind {
            ScopeKind::Organization => "org",
            ScopeKind::Enterprise => "enterprise",
        };
        self.dir.as_ref().map(|d| {
            d.join(format!(
                "remote-write-{kind}-{}.json",
                encode_path_segment(&scope.name)
            ))
        })
    }

    /// The newest day already handled for `scope`, if any.
    pub fn get(&self, scope: &Scope) -> Result<Option<NaiveDate>, StateError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mark) = cache.get(scope) {
            return Ok(*mark);
        }
        let mark = match self.path(scope) {
            None => None,
            Some(path) => read_mark(&path, scope)?,
        };
        cache.insert(scope.clone(), mark);
        Ok(mark)
    }

    /// Records `day` as handled for `scope` (never moves the mark back).
    pub fn advance(&self, scope: &Scope, day: NaiveDate) -> Result<(), StateError> {
        let current = self.get(scope)?;
        if current.is_some_and(|c| c >= day) {
            return Ok(());
        }
        if let Some(path) = self.path(scope) {
            let file = StateFile {
                scope_kind: scope.label_name().to_string(),
                scope: scope.name.clone(),
                last_sent_day: day,
            };
            let json = serde_json::to_vec_pretty(&file).map_err(|e| StateError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            write_atomically(&path, &json).map_err(|e| StateError {
                path: path.clone(),
                message: format!("cannot write: {e}"),
            })?;
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scope.clone(), Some(day));
        Ok(())
    }
}

fn read_mark(path: &Path, scope: &Scope) -> Result<Option<NaiveDate>, StateError> {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError {
                path: path.to_path_buf(),
                message: format!("cannot read: {e}"),
            })
        }
    };
    let file: StateFile = serde_json::from_slice(&raw).map_err(|e| StateError {
        path: path.to_path_buf(),
        message: format!("corrupt ({e}); fix or delete it (deleting re-sends the backfill window)"),
    })?;
    if file.scope != scope.name || file.scope_kind != scope.label_name() {
        return Err(StateError {
            path: path.to_path_buf(),
            message: format!("belongs to {}={}, not {scope}", file.scope_kind, file.scope),
        });
    }
    Ok(Some(file.last_sent_day))
}

/// Writes `data` to a temp file in the same directory, syncs it, renames it
/// over `path` and syncs the directory (best effort).
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 10, d).unwrap()
    }

    #[test]
    fn marks_survive_a_restart_and_never_move_back() {
        let dir = tempfile::tempdir().unwrap();
        let org = Scope::org("octo/org");
        let ent = Scope::enterprise("octo/org");
        {
            let s = StateStore::new(Some(dir.path().join("state"))).unwrap();
            assert_eq!(s.get(&org).unwrap(), None);
            s.advance(&org, day(5)).unwrap();
            s.advance(&org, day(3)).unwrap();
            s.advance(&ent, day(1)).unwrap();
        }
        let s = StateStore::new(Some(dir.path().join("state"))).unwrap();
        assert_eq!(s.get(&org).unwrap(), Some(day(5)));
        assert_eq!(s.get(&ent).unwrap(), Some(day(1)));
        let files: Vec<_> = std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 2, "no temp files left: {files:?}");
        assert!(files.contains(&"remote-write-org-octo%2Forg.json".to_string()));
    }

    #[test]
    fn corrupt_files_are_errors_not_silent_resets() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(Some(dir.path().to_path_buf())).unwrap();
        let org = Scope::org("o");
        std::fs::write(s.path(&org).unwrap(), b"{not json").unwrap();
        let e = s.get(&org).unwrap_err();
        assert!(e.to_string().contains("corrupt"), "{e}");
    }

    #[test]
    fn memory_mode() {
        let s = StateStore::new(None).unwrap();
        let org = Scope::org("o");
        assert_eq!(s.path(&org), None);
        s.advance(&org, day(2)).unwrap();
        assert_eq!(s.get(&org).unwrap(), Some(day(2)));
    }
}
