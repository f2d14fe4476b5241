//! Scopes: the organizations and enterprises the exporter collects for.

use std::fmt;

/// Whether a scope is an organization or an enterprise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKind {
    /// A GitHub organization (`ORG`).
    Organization,
    /// A GitHub enterprise (`ENTERPRISE`).
    Enterprise,
}

/// One organization or enterprise: the unit of collection, of failure and of
/// Pushgateway grouping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// Organization or enterprise.
    pub kind: ScopeKind,
    /// The organization login or enterprise slug, as configured.
    pub name: String,
}

impl Scope {
    /// An organization scope.
    pub fn org(name: impl Into<String>) -> Self {
        Scope {
            kind: ScopeKind::Organization,
            name: name.into(),
        }
    }

    /// An enterprise scope.
    pub fn enterprise(name: impl Into<String>) -> Self {
        Scope {
            kind: ScopeKind::Enterprise,
            name: name.into(),
        }
    }

    /// The label that carries this scope on every series: `org` or `enterprise`.
    pub fn label_name(&self) -> &'static str {
        match self.kind {
            ScopeKind::Organization => "org",
            ScopeKind::Enterprise => "enterprise",
        }
    }

    /// The `(label, value)` pair for this scope.
    pub fn label(&self) -> (String, String) {
        (self.label_name().to_string(), self.name.clone())
    }

    /// REST path prefix of the scope, with the name percent-encoded:
    /// `/orgs/{org}` or `/enterprises/{enterprise}`.
    pub fn api_prefix(&self) -> String {
        let segment = match self.kind {
            ScopeKind::Organization => "orgs",
            ScopeKind::Enterprise => "enterprises",
        };
        format!("/{segment}/{}", encode_path_segment(&self.name))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.label_name(), self.name)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a
/// configured name can never add path segments or a query to a URL.
pub fn encode_path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefix_escapes_the_name() {
        assert_eq!(Scope::org("octo-org").api_prefix(), "/orgs/octo-org");
        assert_eq!(
            Scope::enterprise("a/b?c").api_prefix(),
            "/enterprises/a%2Fb%3Fc"
        );
    }

    #[test]
    fn label_names() {
        assert_eq!(Scope::org("x").label(), ("org".into(), "x".into()));
        assert_eq!(Scope::enterprise("y").label_name(), "enterprise");
    }
}
