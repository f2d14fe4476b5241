//! The one fake GitHub of the tests: the REST API on one loopback port and
//! the signed-link download host on another, as on github.com
//! (`api.github.com` vs `copilot-reports.github.com`).
//!
//! - **Stateful defaults** ([`simulator`]): an organization `octo` and an
//!   enterprise `ent` with 28-day and 1-day reports, users, teams,
//!   repositories, billing, paginated seats and the GitHub App flow; its
//!   signed links expire on command ([`FakeState::expire_links`]).
//! - **Scripted overrides** per path ([`FakeGithub::api`],
//!   [`FakeGithub::file`]): a queue of [`Reply`]s, the last one repeating;
//!   204s, rate-limit headers, GitHub's documented error bodies, expired
//!   links, gzip, transfers cut off mid-file.
//! - The download host **refuses** (400) and counts every request that
//!   carries an `Authorization` header; every request to either host is
//!   recorded with its headers.
//!
//! The fake runs on its own runtime thread, so sync and async tests use it
//! alike.
#![allow(dead_code, clippy::result_large_err)]

pub mod simulator;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[allow(unused_imports)]
pub use simulator::{user_row, FakeAuth, FakeState, APP_PRIVATE_KEY_PATH, APP_PUBLIC_KEY};

/// Which host a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// The REST API.
    Api,
    /// The report download host.
    Download,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Host.
    pub host: Host,
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Delay before answering.
    pub delay: Duration,
    /// Send only this many bytes of the body, then break the connection.
    pub cut_after: Option<usize>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::raw(status, body.as_bytes()).with_header("content-type", "application/json")
    }

    /// An answer with a raw body.
    pub fn raw(status: u16, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.to_vec(),
            delay: Duration::ZERO,
            cut_after: None,
        }
    }

    /// 204 No Content.
    pub fn no_content() -> Reply {
        Reply::raw(204, b"")
    }

    /// One of GitHub's documented error bodies
    /// (`tests/fixtures/github/errors/<name>.json`), with the status its
    /// name starts with.
    pub fn documented(name: &str) -> Reply {
        let path = format!(
            "{}/tests/fixtures/github/errors/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = name[..3].parse().expect("the name starts with the status");
        Reply::json(status, &body)
    }

    /// A primary rate limit: 403, no request left until `reset` (Unix s).
    pub fn rate_limited(reset: u64) -> Reply {
        Reply::documented("403-primary-rate-limit-unauthenticated")
            .with_header("x-ratelimit-limit", "60")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-used", "60")
            .with_header("x-ratelimit-reset", &reset.to_string())
    }

    /// What a storage host answers for an expired signed link: 403 with an
    /// Azure-style `AuthenticationFailed` XML body.
    pub fn expired_link() -> Reply {
        Reply::raw(
            403,
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Signed expiry time has to be after signed start time.</Message></Error>",
        )
        .with_header("content-type", "application/xml")
    }

    /// The same answer with a gzip-encoded body (`Content-Encoding: gzip`).
    pub fn gzipped(mut self) -> Reply {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&self.body).unwrap();
        self.body = encoder.finish().unwrap();
        self.with_header("content-encoding", "gzip")
    }

    /// Sends only the first `bytes` of the body, then breaks the connection
    /// (a transfer cut off mid-file).
    pub fn cut_after(mut self, bytes: usize) -> Reply {
        self.cut_after = Some(bytes);
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut builder = Response::builder().status(StatusCode::from_u16(self.status).unwrap());
        for (n, v) in &self.headers {
            builder = builder.header(n, v);
        }
        let body = match self.cut_after {
            None => Body::from(self.body),
            Some(n) => {
                let head = bytes::Bytes::from(self.body[..n.min(self.body.len())].to_vec());
                let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                    Ok(head),
                    Err(std::io::Error::other("connection reset by the fake")),
                ];
                Body::from_stream(futures_util::stream::iter(chunks))
            }
        };
        builder.body(body).unwrap()
    }
}

/// The scripted overrides and the request log.
#[derive(Default)]
struct Script {
    /// Path + query → queue of replies; the last one stays.
    api: HashMap<String, Vec<Reply>>,
    /// Download path (or path + query) → queue of replies.
    files: HashMap<String, Vec<Reply>>,
    log: Vec<Recorded>,
}

struct Shared {
    script: Mutex<Script>,
    state: Arc<FakeState>,
}

/// The fake: two listeners sharing one script, one state and one log.
pub struct FakeGithub {
    shared: Arc<Shared>,
    /// The stateful defaults (and their counters).
    pub state: Arc<FakeState>,
    /// Base URL of the API host.
    pub api_url: String,
    /// Base URL of the download host.
    pub download_url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The query string of every scripted signed link; it must never reach a log.
pub const SIGNATURE: &str = "sig=SIGNED-LINK-SECRET";

impl FakeGithub {
    /// Starts both hosts with the standard state accepting any token.
    pub async fn start() -> FakeGithub {
        FakeGithub::with_state(FakeState::standard(FakeAuth::AnyToken))
    }

    /// Starts both hosts on free loopback ports with `state` as the defaults.
    pub fn with_state(state: FakeState) -> FakeGithub {
        let state = Arc::new(state);
        let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        api.set_nonblocking(true).unwrap();
        dl.set_nonblocking(true).unwrap();
        let api_url = format!("http://{}", api.local_addr().unwrap());
        let download_url = format!("http://{}", dl.local_addr().unwrap());
        *state.api_base.lock().unwrap() = api_url.clone();
        *state.download_base.lock().unwrap() = download_url.clone();
        let shared = Arc::new(Shared {
            script: Mutex::new(Script::default()),
            state: state.clone(),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let api = tokio::net::TcpListener::from_std(api).unwrap();
                let dl = tokio::net::TcpListener::from_std(dl).unwrap();
                let api_app = Router::new()
                    .fallback(handle)
                    .with_state((sh.clone(), Host::Api));
                let dl_app = Router::new()
                    .fallback(handle)
                    .with_state((sh, Host::Download));
                let a = tokio::spawn(async move { axum::serve(api, api_app).await });
                let d = tokio::spawn(async move { axum::serve(dl, dl_app).await });
                let _ = stop_rx.await;
                a.abort();
                d.abort();
            });
        });
        FakeGithub {
            shared,
            state,
            api_url,
            download_url,
            _stop: stop_tx,
        }
    }

    /// Scripts the API answers of `path` (path + query), in order; the last
    /// one repeats.
    pub fn api(&self, path: &str, replies: Vec<Reply>) {
        self.script().api.insert(path.to_string(), replies);
    }

    /// Scripts the answers of the download file `name` (`/files/<name>`,
    /// whatever the signature).
    pub fn file(&self, name: &str, replies: Vec<Reply>) {
        self.script()
            .files
            .insert(format!("/files/{name}"), replies);
    }

    /// Scripts the answers of one signed link exactly (its path and query,
    /// e.g. one signature of a file); wins over [`FakeGithub::file`].
    pub fn link(&self, link: &str, replies: Vec<Reply>) {
        let path = link.strip_prefix(&self.download_url).unwrap_or(link);
        self.script().files.insert(path.to_string(), replies);
    }

    /// A signed link to the file `name` on the download host.
    pub fn link_to(&self, name: &str) -> String {
        format!("{}/files/{name}?{SIGNATURE}", self.download_url)
    }

    /// Serves a report: an envelope at `path` whose links point at `files`
    /// (name, content) on the download host.
    pub fn report(&self, path: &str, files: &[(&str, &str)]) {
        let links: Vec<String> = files.iter().map(|(name, _)| self.link_to(name)).collect();
        for (name, content) in files {
            self.file(name, vec![Reply::raw(200, content.as_bytes())]);
        }
        self.api(path, vec![Reply::json(200, &envelope(&links))]);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.script().log.clone()
    }

    /// Requests that reached `host`.
    pub fn requests_to(&self, host: Host) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.host == host)
            .collect()
    }

    /// Download requests for the file `name`, whatever the signature.
    pub fn downloads_of(&self, name: &str) -> usize {
        let path = format!("/files/{name}");
        self.requests_to(Host::Download)
            .iter()
            .filter(|r| r.path.split('?').next() == Some(path.as_str()))
            .count()
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.shared.script.lock().unwrap()
    }
}

/// A 28-day envelope listing `links`.
pub fn envelope(links: &[String]) -> String {
    serde_json::json!({
        "download_links": links,
        "report_start_day": "2025-09-04",
        "report_end_day": "2025-10-01",
    })
    .to_string()
}

async fn handle(State((shared, host)): State<(Arc<Shared>, Host)>, req: Request) -> Response {
    let uri = req.uri().clone();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let state = &shared.state;
    let scripted = {
        let mut script = shared.script.lock().unwrap();
        script.log.push(Recorded {
            host,
            method: req.method().to_string(),
            path: path.clone(),
            headers: lower(&headers),
            at: std::time::Instant::now(),
        });
        match host {
            Host::Api => next(script.api.get_mut(&path)),
            Host::Download => {
                let file = uri.path().to_string();
                match next(script.files.get_mut(&path)) {
                    Some(reply) => Some(reply),
                    None => next(script.files.get_mut(&file)),
                }
            }
        }
    };
    match host {
        Host::Api => {
            state.requests.lock().unwrap().push(format!(
                "{} {}?{}",
                req.method(),
                uri.path(),
                uri.query().unwrap_or("")
            ));
            match scripted {
                Some(reply) => answer(reply).await,
                None => with_rate_limit(state, simulator::api(state, req.method(), &uri, &headers)),
            }
        }
        Host::Download => {
            state.downloads.fetch_add(1, Ordering::SeqCst);
            if headers.contains_key("authorization") {
                state
                    .download_auth_violations
                    .fetch_add(1, Ordering::SeqCst);
                return (
                    StatusCode::BAD_REQUEST,
                    "Authorization header sent to the download host",
                )
                    .into_response();
            }
            match scripted {
                Some(reply) => answer(reply).await,
                None => simulator::download(state, &uri)
                    .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response()),
            }
        }
    }
}

/// A scripted reply, after its delay.
async fn answer(reply: Reply) -> Response {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    reply.into_response()
}

/// GitHub's rate-limit headers on a stateful API answer.
fn with_rate_limit(state: &FakeState, mut response: Response) -> Response {
    let used = state.api_answers.fetch_add(1, Ordering::SeqCst) + 1;
    let reset = chrono::Utc::now().timestamp() + 3600;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", "5000".to_string()),
        (
            "x-ratelimit-remaining",
            5000usize.saturating_sub(used).to_string(),
        ),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    response
}

fn next(queue: Option<&mut Vec<Reply>>) -> Option<Reply> {
    let queue = queue?;
    if queue.len() > 1 {
        Some(queue.remove(0))
    } else {
        queue.first().cloned()
    }
}

fn lower(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
