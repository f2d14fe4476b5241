//! A misbehaving-on-command remote-write receiver / Pushgateway stand-in:
//! records every request (headers and body, remote-write bodies decoded)
//! and answers from a script (status, delay, garbage).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use copilot_metrics_exporter::sinks::remote_write::proto::WriteRequest;
use prost::Message;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: &'static str,
    /// Delay before answering.
    pub delay: Duration,
    /// Extra response headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// An immediate answer.
    pub fn status(status: u16, body: &'static str) -> Answer {
        Answer {
            status,
            body,
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    /// The same answer with a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    /// The value of a header (lower-case name), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decides an answer from the request before the script does (e.g. 401
/// without the right tenant header); `None` falls through to the script.
pub type Gate = Arc<dyn Fn(&Received) -> Option<Answer> + Send + Sync>;

impl Received {
    /// The remote-write request in the body (snappy block + protobuf).
    pub fn write_request(&self) -> Option<WriteRequest> {
        let raw = snap::raw::Decoder::new().decompress_vec(&self.body).ok()?;
        WriteRequest::decode(raw.as_slice()).ok()
    }
}

#[derive(Default)]
struct Inner {
    script: Vec<Answer>,
    log: Vec<Received>,
    gate: Option<Gate>,
}

/// The receiver.
#[derive(Clone)]
pub struct FakeReceiver {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl FakeReceiver {
    /// Starts it; answers come from `script` in order, the last one repeats
    /// (an empty script answers 204).
    pub async fn start(script: Vec<Answer>) -> FakeReceiver {
        let inner = Arc::new(Mutex::new(Inner {
            script,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeReceiver {
            inner,
            base: format!("http://{addr}"),
        }
    }

    /// Replaces the script.
    pub fn script(&self, script: Vec<Answer>) {
        self.inner.lock().unwrap().script = script;
    }

    /// Sets (or with `None` removes) the gate consulted before the script.
    pub fn gate(&self, gate: Option<Gate>) {
        self.inner.lock().unwrap().gate = gate;
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().log.clone()
    }
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default()
        .to_vec();
    let answer = {
        let mut inner = inner.lock().unwrap();
        let mut received = Received {
            path,
            headers,
            body,
            status: 0,
            at: std::time::Instant::now(),
        };
        let gated = inner.gate.as_ref().and_then(|gate| gate(&received));
        let answer = if let Some(answer) = gated {
            answer
        } else if inner.script.len() > 1 {
            inner.script.remove(0)
        } else {
            inner
                .script
                .first()
                .cloned()
                .unwrap_or(Answer::status(204, ""))
        };
        received.status = answer.status;
        inner.log.push(received);
        answer
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(*name, value);
    }
    response.body(Body::from(answer.body)).unwrap()
}
