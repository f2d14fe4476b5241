//! The pull endpoint: `/metrics`, `/healthz`, `/readyz`.
//!
//! A scrape never calls GitHub: it renders the snapshot the background
//! refresh built, streamed as it is written ([`stream`]), so its memory
//! does not grow with the series it shows. Answers are gzip-compressed when the scraper asks
//! (`Accept-Encoding: gzip`, as Prometheus does); TLS and basic auth come
//! from the web configuration file ([`web_config`]).

mod listener;
pub mod stream;
pub mod web_config;

pub use listener::{BoundedListener, BoundedStream, CONNECTION_LIFETIME, MAX_CONNECTIONS};
pub use web_config::{WebConfig, WebConfigError};

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use crate::model::snapshot::Store;
use crate::selfmetrics::SelfMetrics;
use crate::sinks::exposition::{TextSnapshot, TEXT_CONTENT_TYPE};

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// The snapshot store.
    pub store: Arc<Store>,
    /// Self-metrics (and the registry rendered with the data).
    pub metrics: Arc<SelfMetrics>,
}

/// The router: `GET`/`HEAD` on four paths; anything else is 404 or 405.
/// With `basic_auth`, `/metrics` and `/` need a configured user; `/healthz`
/// and `/readyz` stay open for the kubelet's probes (they tell nothing but
/// "up" and "first refresh done").
pub fn router(state: HttpState, basic_auth: Option<Arc<web_config::BasicAuth>>) -> Router {
    let mut protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(index));
    if let Some(auth) = basic_auth {
        protected = protected.layer(axum::middleware::from_fn_with_state(auth, require_auth));
    }
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .layer(CompressionLayer::new().gzip(true))
        .with_state(state)
}

async fn require_auth(
    State(auth): State<Arc<web_config::BasicAuth>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.check(header).await {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"copilot-metrics-exporter\"",
            )],
            "Unauthorized\n",
        )
            .into_response()
    }
}

/// Binds the listener. The unspecified IPv6 address (`[::]`, the default)
/// takes IPv4 too; on a host without IPv6 it falls back to `0.0.0.0` on
/// the same port.
///
/// Errors: the address is taken, not allowed, or not local.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(e)
            if addr.ip() == std::net::Ipv6Addr::UNSPECIFIED
                && !matches!(
                    e.kind(),
                    std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            tracing::info!(error = %e, "no IPv6 on this host; listening on IPv4 only");
            TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, addr.port())).await
        }
        Err(e) => Err(e),
    }
}

/// Serves until `shutdown` completes, with at most [`MAX_CONNECTIONS`]
/// connections, each at most [`CONNECTION_LIFETIME`] long, with the TLS and
/// basic auth of `web` (empty: plain HTTP, no auth). The endpoint runs on
/// its own tasks, so no client can stall the refresh loop.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    web: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = BoundedListener::new(listener, MAX_CONNECTIONS, CONNECTION_LIFETIME, web.tls);
    axum::serve(listener, router(state, web.basic_auth))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The exposition of the snapshot as it is now, streamed (chunked; gzip
/// by the compression layer when asked).
async fn metrics(State(state): State<HttpState>) -> Response {
    state.metrics.requests.inc();
    state.metrics.cache_hits.inc();
    let snapshot = TextSnapshot::take(&state.store, &state.metrics.registry);
    (
        [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
        stream::body(snapshot),
    )
        .into_response()
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
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(max: usize, lifetime: Duration) -> std::net::SocketAddr {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let state = HttpState {
            store: Arc::new(Store::new(&[Scope::org("o")])),
            metrics: Arc::new(SelfMetrics::new()),
        };
        let server = axum::serve(
            BoundedListener::new(tcp, max, lifetime, None),
            router(state, None),
        );
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
