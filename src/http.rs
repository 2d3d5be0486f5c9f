//! Health, readiness and Prometheus metrics over HTTP.
//!
//! - `GET /healthz`: 200 while the process serves requests (liveness).
//! - `GET /readyz`: 200 once the consumer holds partitions and the producer's transactions are
//!   initialised, 503 before (and during a rebalance that left it without partitions).
//! - `GET /metrics`: the process-wide Prometheus recorder, rendered.
//! - `GET /timelines`, `GET /timelines/{key}`: the timelines this instance holds ([`crate::web`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::pipeline::shutdown::Shutdown;
use crate::pipeline::status::PipelineStatus;
use crate::timeline::TimelineView;

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    /// Readiness comes from the pipeline.
    pub status: Arc<PipelineStatus>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The timeline stage's status, when it runs: its producer must be ready too.
    pub timeline_status: Option<Arc<PipelineStatus>>,
    /// The timelines this instance holds, for `/timelines`.
    pub timelines: Arc<dyn TimelineView>,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let timelines = crate::web::routes(Arc::clone(&state.timelines));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(timelines)
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let stage_ready = state
        .timeline_status
        .as_ref()
        .is_none_or(|s| s.is_producer_ready());
    if state.status.is_ready() && stage_ready {
        (StatusCode::OK, "ready\n")
    } else if !state.status.is_assigned() {
        (StatusCode::SERVICE_UNAVAILABLE, "no partitions assigned\n")
    } else if !stage_ready {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "timeline stage not started\n",
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "transactions not initialised\n",
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Binds `address`; errors here (address in use) are start-up errors.
pub async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await
}

/// Serves until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await
}
