//! The pull endpoint: `/metrics`, `/healthz`, `/readyz`.
//!
//! A scrape never calls GitHub: it renders the snapshot the background
//! refresh built.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::exposition::{encode_text, gather_all, TEXT_CONTENT_TYPE};
use crate::selfmetrics::SelfMetrics;
use crate::snapshot::Store;

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

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics(State(state): State<HttpState>) -> Response {
    state.metrics.requests.inc();
    state.metrics.cache_hits.inc();
    let body = encode_text(&gather_all(&state.store.view(), &state.metrics.registry));
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
