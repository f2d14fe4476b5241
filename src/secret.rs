//! Credentials that cannot leak through `Debug`, `Display` or logs.

use std::fmt;
use std::path::Path;

/// A credential (token, password, private key). `Debug` and `Display` print
/// `[redacted]`; the value is reachable only through [`Secret::expose`], so
/// every place that sends it is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value; surrounding whitespace (a trailing newline in a mounted
    /// Secret file, say) is removed.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().trim().to_string())
    }

    /// The raw value, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a secret from a file (the `*_FILE` variants), naming the
    /// variable in the error.
    pub fn from_file(var: &str, path: &Path) -> Result<Secret, String> {
        Secret::read_file(path).map_err(|m| format!("{var}: {m}"))
    }

    /// Reads a secret from a file; surrounding whitespace is removed and an
    /// empty (or blank) file is an error. The message names the file, never
    /// its contents; the caller adds the setting.
    pub fn read_file(path: &Path) -> Result<Secret, String> {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => Ok(Secret::new(text)),
            Ok(_) => Err(format!("file {} is empty", path.display())),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Resolves a `NAME` / `NAME_FILE` pair: at most one may be set; an empty
    /// value counts as unset.
    pub fn from_value_or_file(
        var: &str,
        value: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Option<Secret>, String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        let file = file.filter(|p| !p.as_os_str().is_empty());
        match (value, file) {
            (Some(_), Some(_)) => Err(format!(
                "{var} and {var}_FILE are both set; set only one of them"
            )),
            (Some(v), None) => Ok(Some(Secret::new(v))),
            (None, Some(path)) => Secret::from_file(&format!("{var}_FILE"), path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a secret comes from: the value itself or a file re-read on use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// Given directly.
    Value(Secret),
    /// Read from this file with [`Secret::read_file`] before each publish.
    File(std::path::PathBuf),
}

impl SecretSource {
    /// The secret now: the value, or the file's trimmed contents.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File(path) => Secret::read_file(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("ghp_supersecret\n");
        assert_eq!(s.expose(), "ghp_supersecret");
        assert!(!format!("{s:?} {s} {:#?}", Some(&s)).contains("supersecret"));
    }

    #[test]
    fn value_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "from-file\n").unwrap();
        let got = Secret::from_value_or_file("GHC_TOKEN", None, Some(&f)).unwrap();
        assert_eq!(got.unwrap().expose(), "from-file");
        let err = Secret::from_value_or_file("GHC_TOKEN", Some("x"), Some(&f)).unwrap_err();
        assert!(err.contains("GHC_TOKEN_FILE"), "{err}");
        let err = Secret::from_value_or_file("GHC_TOKEN", None, Some(&dir.path().join("missing")))
            .unwrap_err();
        assert!(err.starts_with("GHC_TOKEN_FILE"), "{err}");
        assert_eq!(
            Secret::from_value_or_file("GHC_TOKEN", Some("  "), None).unwrap(),
            None
        );
    }

    #[test]
    fn blank_files_are_errors_without_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("blank");
        std::fs::write(&f, " \r\n").unwrap();
        let err = Secret::read_file(&f).unwrap_err();
        assert!(
            err.starts_with("file ") && err.ends_with("is empty"),
            "{err}"
        );
        let err = Secret::from_file("X_FILE", &f).unwrap_err();
        assert!(err.starts_with("X_FILE: file "), "{err}");
    }
}
