//! An in-test fake of GitHub: the REST API on one loopback port and the
//! signed-link download host on another, as on github.com
//! (`api.github.com` vs `copilot-reports.github.com`).
//!
//! Replies are scripted per path; every request is recorded with its headers
//! so tests can assert what each host saw.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;

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
    pub delay: std::time::Duration,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            delay: Default::default(),
        }
    }

    /// An answer with a raw body.
    pub fn raw(status: u16, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.to_vec(),
            delay: Default::default(),
        }
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: std::time::Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Default)]
struct Inner {
    // Path+query → queue of replies; the last one stays.
    api: HashMap<String, Vec<Reply>>,
    files: HashMap<String, Vec<Reply>>,
    log: Vec<Recorded>,
}

/// The fake: two listeners sharing one script and one request log.
#[derive(Clone)]
pub struct FakeGithub {
    inner: Arc<Mutex<Inner>>,
    /// Base URL of the API host.
    pub api_url: String,
    /// Base URL of the download host.
    pub download_url: String,
}

/// The query string every signed link carries; it must never reach a log.
pub const SIGNATURE: &str = "sig=SIGNED-LINK-SECRET";

impl FakeGithub {
    /// Starts both hosts on free loopback ports (needs a tokio runtime).
    pub async fn start() -> FakeGithub {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let api = serve(inner.clone(), Host::Api).await;
        let download = serve(inner.clone(), Host::Download).await;
        FakeGithub {
            inner,
            api_url: format!("http://{api}"),
            download_url: format!("http://{download}"),
        }
    }

    /// Scripts the API answers of `path` (path + query), in order; the last
    /// one repeats.
    pub fn api(&self, path: &str, replies: Vec<Reply>) {
        self.inner
            .lock()
            .unwrap()
            .api
            .insert(path.to_string(), replies);
    }

    /// Scripts the answers of a download file.
    pub fn file(&self, name: &str, replies: Vec<Reply>) {
        self.inner
            .lock()
            .unwrap()
            .files
            .insert(format!("/files/{name}"), replies);
    }

    /// Serves a report: an envelope at `path` whose links point at `files`
    /// (name, NDJSON content) on the download host.
    pub fn report(&self, path: &str, files: &[(&str, &str)]) {
        let links: Vec<String> = files
            .iter()
            .map(|(name, _)| format!("{}/files/{name}?{SIGNATURE}", self.download_url))
            .collect();
        for (name, content) in files {
            self.file(name, vec![Reply::raw(200, content.as_bytes())]);
        }
        let envelope = serde_json::json!({
            "download_links": links,
            "report_start_day": "2025-09-04",
            "report_end_day": "2025-10-01",
        });
        self.api(path, vec![Reply::json(200, &envelope.to_string())]);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().log.clone()
    }

    /// Requests that reached `host`.
    pub fn requests_to(&self, host: Host) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.host == host)
            .collect()
    }
}

async fn serve(inner: Arc<Mutex<Inner>>, host: Host) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(handle).with_state((inner, host));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn handle(State((inner, host)): State<(Arc<Mutex<Inner>>, Host)>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = lower(req.headers());
    let reply = {
        let mut state = inner.lock().unwrap();
        state.log.push(Recorded {
            host,
            method: req.method().to_string(),
            path: path.clone(),
            headers,
        });
        match host {
            Host::Api => next(state.api.get_mut(&path)),
            Host::Download => {
                let file = path.split('?').next().unwrap_or_default().to_string();
                next(state.files.get_mut(&file))
            }
        }
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::json(
            404,
            r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#,
        )
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (n, v) in &reply.headers {
        builder = builder.header(n, v);
    }
    builder.body(Body::from(reply.body)).unwrap()
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
