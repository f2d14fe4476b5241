//! The stateful defaults of the fake GitHub: an organization and an
//! enterprise with users, teams, repositories, billing, paginated seat
//! lists, report envelopes whose signed links expire on command, and the
//! GitHub App flow (installation lookup and token minting, checking an RS256
//! JWT against the public key).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Test-only RSA key pair of the fake App.
pub const APP_PRIVATE_KEY_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/app/test-app-private-key.pem"
);
/// Its public half, used by the fake to check JWTs.
pub const APP_PUBLIC_KEY: &str = include_str!("../../fixtures/app/test-app-public-key.pem");

/// How API callers must authenticate.
#[derive(Clone, Debug)]
pub enum FakeAuth {
    /// Any `Authorization: Bearer …` (what the scripted tests use; they
    /// check the headers from the request log).
    AnyToken,
    /// `Authorization: Bearer <token>`.
    Pat(String),
    /// A GitHub App with this `iss`, installation and token lifetime.
    App {
        /// Expected `iss`.
        app_id: String,
        /// Installation id of every scope.
        installation_id: u64,
        /// Lifetime of minted tokens, seconds.
        token_ttl_secs: i64,
    },
}

/// Everything the fake serves and records.
pub struct FakeState {
    /// Organization login served.
    pub org: String,
    /// Enterprise slug served.
    pub enterprise: String,
    /// The newest report day.
    pub day: String,
    /// `users-1-day` rows (by scope label: "org"/"enterprise").
    pub users: HashMap<&'static str, Vec<Value>>,
    /// `user-teams-1-day` rows.
    pub user_teams: HashMap<&'static str, Vec<Value>>,
    /// `repos-1-day` rows.
    pub repos: HashMap<&'static str, Vec<Value>>,
    /// `/orgs/{org}/copilot/billing`.
    pub billing: Value,
    /// Org seat list.
    pub org_seats: Vec<Value>,
    /// Enterprise seat list.
    pub enterprise_seats: Vec<Value>,
    /// Seats per page.
    pub page_size: usize,
    /// Answer 403 on billing/seats.
    pub seats_forbidden: AtomicBool,
    /// Authentication mode.
    pub auth: FakeAuth,
    /// Set: the next API call with an installation token gets 401 (token revoked).
    pub revoke_next: AtomicBool,
    /// Set: every installation token is refused.
    pub refuse_all_tokens: AtomicBool,
    /// Base URL of the API listener.
    pub api_base: Mutex<String>,
    /// Base URL of the download listener.
    pub download_base: Mutex<String>,
    /// Tokens minted, in order.
    pub minted: Mutex<Vec<String>>,
    /// JWTs seen.
    pub jwts: Mutex<Vec<String>>,
    /// Valid installation tokens and their expiry (Unix seconds).
    pub valid_tokens: Mutex<HashMap<String, i64>>,
    /// API requests: "METHOD path?query".
    pub requests: Mutex<Vec<String>>,
    /// 401 answers given.
    pub unauthorized: AtomicUsize,
    /// Download requests.
    pub downloads: AtomicUsize,
    /// Download requests that carried an `Authorization` header (must stay 0).
    pub download_auth_violations: AtomicUsize,
    /// Set: report files are served with `Content-Encoding: gzip`.
    pub gzip: AtomicBool,
    /// Generation of the signed links: links of an older generation are
    /// expired (403 with a storage `AuthenticationFailed` body).
    pub link_generation: AtomicUsize,
    /// When non-zero: the links expire after this many more successful
    /// downloads (a signature that runs out mid-report).
    pub expire_after_downloads: AtomicUsize,
    /// API answers given (for the rate-limit headers).
    pub api_answers: AtomicUsize,
    files: Mutex<HashMap<String, String>>,
}

impl FakeState {
    /// The standard data set: 12 users; teams alpha (users 1-6) and beta
    /// (4-9) are in user-teams; team tiny (users 10-12, under five seats)
    /// is absent; user 6 has no users row; one row is for another day.
    pub fn standard(auth: FakeAuth) -> FakeState {
        let day = "2026-05-07".to_string();
        let mut users = HashMap::new();
        let mut user_teams = HashMap::new();
        let mut repos = HashMap::new();
        for (scope, id_field, id) in [
            ("org", "organization_id", "999"),
            ("enterprise", "enterprise_id", "1"),
        ] {
            let mut rows = Vec::new();
            for u in 1..=12u64 {
                if u == 6 {
                    continue;
                }
                rows.push(user_row(u, &day, id_field, id));
            }
            // A row of another day: never joined.
            rows.push(user_row(1, "2026-05-06", id_field, id));
            users.insert(scope, rows);
            let mut teams = Vec::new();
            for u in 1..=9u64 {
                if u <= 6 {
                    teams.push(json!({"user_id": u, "user_login": format!("user{u}"), "day": day, id_field: id, "team_id": 1, "slug": "alpha"}));
                }
                if u >= 4 {
                    teams.push(json!({"user_id": u, "user_login": format!("user{u}"), "day": day, id_field: id, "team_id": 2, "slug": "beta"}));
                }
            }
            user_teams.insert(scope, teams);
            repos.insert(scope, vec![
                json!({"day": day, "repo_id": 1, "repo_owner_name": "octo", "repo_name": "one", "repo_visibility": "PRIVATE", id_field: id,
                       "pull_requests": {"total_created": 4, "total_merged": 3, "median_minutes_to_merge": 10.0},
                       "pull_request_review_times": [{"authored_by": "human", "reviewed_by": "human", "total_merged": 3}]}),
                json!({"day": day, "repo_id": 2, "repo_owner_name": "octo", "repo_name": "two", "repo_visibility": "INTERNAL", id_field: id,
                       "pull_requests": {"total_created": 1}, "pull_request_review_times": []}),
            ]);
        }
        let now = chrono::Utc::now();
        let ago = |d: i64| json!((now - chrono::Duration::days(d)).to_rfc3339());
        let seat = |id: u64, days: Option<i64>, editor: Value, plan: Value, org: &str| {
            json!({"assignee": {"login": format!("user{id}"), "id": id, "type": "User"},
                   "organization": {"login": org},
                   "created_at": "2026-01-01T00:00:00Z",
                   "last_activity_at": days.map(ago).unwrap_or(Value::Null),
                   "last_activity_editor": editor, "plan_type": plan})
        };
        let org_seats = vec![
            seat(
                1,
                Some(1),
                json!("vscode/1.99/copilot/1.3"),
                json!("business"),
                "o",
            ),
            seat(2, Some(3), json!("vscode/1.98"), json!("business"), "o"),
            seat(
                3,
                Some(12),
                json!("JetBrains-IC/2025.1"),
                json!("business"),
                "o",
            ),
            seat(4, Some(40), json!("vim/9.1"), json!("enterprise"), "o"),
            seat(5, Some(100), json!("vscode/1.80"), Value::Null, "o"),
            seat(6, None, Value::Null, json!("business"), "o"),
            seat(7, Some(0), json!("copilot-cli/1.0"), json!("business"), "o"),
        ];
        let mut enterprise_seats = org_seats.clone();
        // Users 1, 4 and 6 granted again by a second organization.
        enterprise_seats.push(seat(
            1,
            Some(20),
            json!("neovim/0.10"),
            json!("business"),
            "p",
        ));
        enterprise_seats.push(seat(
            4,
            Some(2),
            json!("vscode/1.99"),
            json!("enterprise"),
            "p",
        ));
        enterprise_seats.push(seat(6, None, Value::Null, json!("business"), "p"));
        FakeState {
            org: "octo".into(),
            enterprise: "ent".into(),
            day,
            users,
            user_teams,
            repos,
            billing: json!({"seat_breakdown": {"total": 7, "added_this_cycle": 2, "pending_invitation": 1,
                "pending_cancellation": 0, "active_this_cycle": 5, "inactive_this_cycle": 2},
                "seat_management_setting": "assign_selected", "public_code_suggestions": "block", "plan_type": "business"}),
            org_seats,
            enterprise_seats,
            page_size: 3,
            seats_forbidden: AtomicBool::new(false),
            auth,
            revoke_next: AtomicBool::new(false),
            refuse_all_tokens: AtomicBool::new(false),
            api_base: Mutex::new(String::new()),
            download_base: Mutex::new(String::new()),
            minted: Mutex::new(Vec::new()),
            jwts: Mutex::new(Vec::new()),
            valid_tokens: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            unauthorized: AtomicUsize::new(0),
            downloads: AtomicUsize::new(0),
            download_auth_violations: AtomicUsize::new(0),
            gzip: AtomicBool::new(false),
            link_generation: AtomicUsize::new(0),
            expire_after_downloads: AtomicUsize::new(0),
            api_answers: AtomicUsize::new(0),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Expires every signed link handed out so far.
    pub fn expire_links(&self) {
        self.link_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Requests whose path contains `needle`.
    pub fn requests_matching(&self, needle: &str) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.contains(needle))
            .cloned()
            .collect()
    }
}

/// One deterministic users-1-day row.
pub fn user_row(u: u64, day: &str, id_field: &str, id: &str) -> Value {
    let ides: Vec<Value> = if u % 2 == 0 {
        vec![
            json!({"ide": "vscode", "loc_added_sum": u * 3, "code_acceptance_activity_count": u,
                    "last_known_ide_version": {"ide_version": "1.99", "sampled_at": "x"}}),
        ]
    } else {
        vec![
            json!({"ide": "vscode", "loc_added_sum": u, "code_acceptance_activity_count": 1}),
            json!({"ide": "jetbrains", "loc_added_sum": u * 2, "code_acceptance_activity_count": u - 1}),
        ]
    };
    json!({
        "day": day, "user_id": u, "user_login": format!("user{u}"), id_field: id,
        "user_initiated_interaction_count": u * 2,
        "code_generation_activity_count": u * 5,
        "code_acceptance_activity_count": u * 2,
        "loc_added_sum": u * 10 + 1,
        "loc_deleted_sum": u,
        "used_agent": u % 3 == 0, "used_chat": true,
        "totals_by_ide": ides,
        "totals_by_cli": {"session_count": u, "token_usage": {"output_tokens_sum": 100 * u, "avg_tokens_per_request": 4000.0}},
        "etl_id": "x", "day_partition": day, "entity_id_partition": 1
    })
}

/// A JSON answer.
pub(super) fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.as_str()}),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Checks an App JWT: RS256, right `iss`, `iat` about a minute in the past,
/// `exp` at most 10 minutes ahead.
fn check_jwt(state: &FakeState, headers: &HeaderMap) -> Result<(), Response> {
    let FakeAuth::App { app_id, .. } = &state.auth else {
        return Err(error(StatusCode::UNAUTHORIZED, "not an App"));
    };
    let jwt = bearer(headers)
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Requires authentication"))?;
    state.jwts.lock().unwrap().push(jwt.clone());
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(APP_PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[app_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let data = jsonwebtoken::decode::<Value>(&jwt, &key, &validation).map_err(|e| {
        error(
            StatusCode::UNAUTHORIZED,
            &format!("A JSON web token could not be decoded: {e}"),
        )
    })?;
    let iat = data.claims["iat"].as_i64().unwrap_or(0);
    let exp = data.claims["exp"].as_i64().unwrap_or(0);
    let t = now();
    if !(t - 120..=t - 30).contains(&iat) || !(t + 60..=t + 600).contains(&exp) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "'Issued at' or 'Expiration time' claim is out of range",
        ));
    }
    Ok(())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

fn check_token(state: &FakeState, headers: &HeaderMap) -> Result<(), Response> {
    let token = bearer(headers);
    let ok = match &state.auth {
        FakeAuth::AnyToken => token.is_some(),
        FakeAuth::Pat(expected) => token.as_deref() == Some(expected.as_str()),
        FakeAuth::App { .. } => {
            let mut valid = state.valid_tokens.lock().unwrap();
            match token.as_deref().and_then(|t| valid.get(t).copied()) {
                _ if state.refuse_all_tokens.load(Ordering::SeqCst) => false,
                Some(_) if state.revoke_next.swap(false, Ordering::SeqCst) => {
                    valid.remove(token.as_deref().unwrap_or_default());
                    false
                }
                Some(expiry) => expiry > now(),
                None => false,
            }
        }
    };
    if ok {
        Ok(())
    } else {
        state.unauthorized.fetch_add(1, Ordering::SeqCst);
        Err(error(StatusCode::UNAUTHORIZED, "Bad credentials"))
    }
}

/// The stateful answer of the API host.
pub(super) fn api(state: &FakeState, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let headers = headers.clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();

    // GitHub App endpoints (JWT).
    if let FakeAuth::App {
        installation_id,
        token_ttl_secs,
        ..
    } = &state.auth
    {
        match (method.as_str(), segments.as_slice()) {
            ("GET", [kind, name, "installation"]) if matches!(*kind, "orgs" | "enterprises") => {
                if let Err(r) = check_jwt(state, &headers) {
                    return r;
                }
                let known = (*kind == "orgs" && *name == state.org)
                    || (*kind == "enterprises" && *name == state.enterprise);
                return if known {
                    json_response(
                        StatusCode::OK,
                        json!({"id": installation_id, "app_id": 1, "target_type": "Organization"}),
                    )
                } else {
                    error(StatusCode::NOT_FOUND, "Not Found")
                };
            }
            ("POST", ["app", "installations", id, "access_tokens"]) => {
                if let Err(r) = check_jwt(state, &headers) {
                    return r;
                }
                if id.parse::<u64>().ok() != Some(*installation_id) {
                    return error(StatusCode::NOT_FOUND, "Not Found");
                }
                let mut minted = state.minted.lock().unwrap();
                let token = format!("ghs_faketoken{:04}x{}", minted.len() + 1, now());
                minted.push(token.clone());
                let expires = now() + token_ttl_secs;
                state
                    .valid_tokens
                    .lock()
                    .unwrap()
                    .insert(token.clone(), expires);
                let expires_at = chrono::DateTime::from_timestamp(expires, 0)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                return json_response(
                    StatusCode::CREATED,
                    json!({"token": token, "expires_at": expires_at,
                    "permissions": {"organization_copilot_metrics": "read"}, "repository_selection": "all"}),
                );
            }
            _ => {}
        }
    }
    if let Err(r) = check_token(state, &headers) {
        return r;
    }

    let (scope, name, rest) = match segments.as_slice() {
        ["orgs", name, rest @ ..] if *name == state.org => ("org", *name, rest.to_vec()),
        ["enterprises", name, rest @ ..] if *name == state.enterprise => {
            ("enterprise", *name, rest.to_vec())
        }
        _ => return error(StatusCode::NOT_FOUND, "Not Found"),
    };
    let day = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("day="))
        .map(str::to_string);
    match rest.as_slice() {
        ["copilot", "metrics", "reports", report, "latest"] if report.ends_with("-28-day") => {
            let id_field = if scope == "org" {
                "organization_id"
            } else {
                "enterprise_id"
            };
            let row = json!({"day_totals": [
                {"day": "2026-05-06", "daily_active_users": 9, "loc_added_sum": 50},
                {"day": state.day, "daily_active_users": 11, "loc_added_sum": 60}
            ], id_field: "1", "report_start_day": "2026-04-10", "report_end_day": state.day});
            envelope(state, &format!("{scope}-28"), &[vec![row]], None)
        }
        ["copilot", "metrics", "reports", report] => {
            if day.as_deref() != Some(state.day.as_str()) {
                return StatusCode::NO_CONTENT.into_response();
            }
            let rows = match *report {
                "users-1-day" => state.users[scope].clone(),
                "user-teams-1-day" => state.user_teams[scope].clone(),
                "repos-1-day" => state.repos[scope].clone(),
                _ => return StatusCode::NO_CONTENT.into_response(),
            };
            // Two shards, to exercise multi-file reports.
            let half = rows.len() / 2;
            let shards = vec![rows[..half].to_vec(), rows[half..].to_vec()];
            envelope(
                state,
                &format!("{scope}-{report}"),
                &shards,
                Some(&state.day),
            )
        }
        ["copilot", "billing"] if scope == "org" => {
            if state.seats_forbidden.load(Ordering::SeqCst) {
                return error(
                    StatusCode::FORBIDDEN,
                    "Resource not accessible by integration",
                );
            }
            json_response(StatusCode::OK, state.billing.clone())
        }
        ["copilot", "billing", "seats"] => {
            if state.seats_forbidden.load(Ordering::SeqCst) {
                return error(
                    StatusCode::FORBIDDEN,
                    "Resource not accessible by integration",
                );
            }
            let seats = if scope == "org" {
                &state.org_seats
            } else {
                &state.enterprise_seats
            };
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let size = state.page_size;
            let start = (page - 1) * size;
            let chunk: Vec<Value> = seats.iter().skip(start).take(size).cloned().collect();
            let last = seats.len().div_ceil(size).max(1);
            let base = format!("{}{}", state.api_base.lock().unwrap(), path);
            let mut links = Vec::new();
            if page < last {
                links.push(format!(
                    "<{base}?per_page={size}&page={}>; rel=\"next\"",
                    page + 1
                ));
            }
            links.push(format!(
                "<{base}?per_page={size}&page={last}>; rel=\"last\""
            ));
            let total = if scope == "org" { seats.len() } else { 7 };
            let body = json!({"total_seats": total, "seats": chunk}).to_string();
            let _ = name;
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("link", links.join(", "))
                .body(Body::from(body))
                .unwrap()
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn envelope(state: &FakeState, name: &str, shards: &[Vec<Value>], day: Option<&str>) -> Response {
    let base = state.download_base.lock().unwrap().clone();
    let generation = state.link_generation.load(Ordering::SeqCst);
    let mut files = state.files.lock().unwrap();
    let mut links = Vec::new();
    for (i, rows) in shards.iter().enumerate() {
        let file = format!("{name}-part-{i}.ndjson");
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        files.insert(file.clone(), text);
        links.push(format!(
            "{base}/files/{file}?sv=2025&se={generation}&sig=secret-signature-{generation}-{i}"
        ));
    }
    let mut body = json!({"download_links": links});
    match day {
        Some(d) => body["report_day"] = json!(d),
        None => {
            body["report_start_day"] = json!("2026-04-10");
            body["report_end_day"] = json!(state.day);
        }
    }
    json_response(StatusCode::OK, body)
}

/// The stateful answer of the download host: a file handed out in an
/// envelope, while its link's generation is current.
pub(super) fn download(state: &FakeState, uri: &Uri) -> Option<Response> {
    let file = uri.path().strip_prefix("/files/")?.to_string();
    let text = state.files.lock().unwrap().get(&file).cloned()?;
    let generation = state.link_generation.load(Ordering::SeqCst);
    let current = format!("sig=secret-signature-{generation}-");
    if !uri.query().unwrap_or("").contains(&current) {
        return Some(super::Reply::expired_link().into_response());
    }
    let left = state.expire_after_downloads.load(Ordering::SeqCst);
    if left > 0 && state.expire_after_downloads.fetch_sub(1, Ordering::SeqCst) == 1 {
        state.expire_links();
    }
    let reply = super::Reply::raw(200, text.as_bytes());
    Some(if state.gzip.load(Ordering::SeqCst) {
        reply.gzipped().into_response()
    } else {
        reply.into_response()
    })
}
