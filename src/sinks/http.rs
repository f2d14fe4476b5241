//! The pull endpoint: `/metrics`, `/healthz`, `/readyz`.
//!
//! A scrape never calls GitHub: it renders the snapshot the background
//! refresh built.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

use crate::model::snapshot::Store;
use crate::selfmetrics::SelfMetrics;
use crate::sinks::exposition::{render_text, TEXT_CONTENT_TYPE};

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// The snapshot store.
    pub store: Arc<Store>,
    /// Self-metrics (and the registry rendered with the data).
    pub metrics: Arc<SelfMetrics>,
}

/// The router: `GET`/`HEAD` on four paths; anything else is 404 or 405.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(index))
        .with_state(state)
}

/// Connections served at once; further clients wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// Longest life of one connection: a client that trickles bytes (slow loris)
/// is cut off, and a keep-alive scraper simply reconnects.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Serves until `shutdown` completes, with at most [`MAX_CONNECTIONS`]
/// connections, each at most [`CONNECTION_LIFETIME`] long. The endpoint runs
/// on its own tasks, so no client can stall the refresh loop.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = BoundedListener::new(listener, MAX_CONNECTIONS, CONNECTION_LIFETIME);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A TCP listener that holds a connection slot per accepted stream.
pub struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    lifetime: Duration,
}

impl BoundedListener {
    /// Wraps `inner` with `max` connection slots and a lifetime per connection.
    pub fn new(inner: TcpListener, max: usize, lifetime: Duration) -> Self {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            lifetime,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                // The semaphore is never closed; wait instead of spinning.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        BoundedStream {
                            inner: stream,
                            deadline: Box::pin(tokio::time::sleep(self.lifetime)),
                            _slot: permit,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that releases its slot when dropped and fails its I/O once
/// its lifetime is over.
pub struct BoundedStream {
    inner: TcpStream,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl BoundedStream {
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn lifetime_over() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection lifetime exceeded")
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    state.metrics.requests.inc();
    state.metrics.cache_hits.inc();
    let body = render_text(&state.store, &state.metrics.registry);
    ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], body).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if state.store.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "first collection still running\n",
        )
            .into_response()
    }
}

async fn index() -> Html<&'static str> {
    Html(
        "<html><head><title>copilot-metrics-exporter</title></head><body>\
<h1>copilot-metrics-exporter</h1><p><a href=\"/metrics\">Metrics</a> · \
<a href=\"/healthz\">healthz</a> · <a href=\"/readyz\">readyz</a></p></body></html>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scope::Scope;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(max: usize, lifetime: Duration) -> std::net::SocketAddr {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let state = HttpState {
            store: Arc::new(Store::new(&[Scope::org("o")])),
            metrics: Arc::new(SelfMetrics::new()),
        };
        let server = axum::serve(BoundedListener::new(tcp, max, lifetime), router(state));
        tokio::spawn(async move { server.await });
        addr
    }

    async fn get_healthz(addr: std::net::SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn slow_loris_connections_cannot_hold_the_endpoint_forever() {
        let addr = start(2, Duration::from_millis(700)).await;
        // Two clients take every slot and trickle a partial request.
        let mut loris = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metr").await.unwrap();
            loris.push(s);
        }
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(5), get_healthz(addr))
            .await
            .expect("a real client is served once the slow ones time out");
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "slots were really taken"
        );
        // The slow clients were cut off.
        for mut s in loris {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
            assert!(
                matches!(n, Ok(Ok(0)) | Ok(Err(_))),
                "slow connection still open: {n:?}"
            );
        }
    }
}
