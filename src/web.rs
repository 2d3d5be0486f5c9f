//! `/timelines` over HTTP (first cut by the lead so the tree compiles; the full version with the
//! HTML page replaces it).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;

use crate::timeline::TimelineView;

/// The `/timelines` routes, with their state applied.
pub fn routes(view: Arc<dyn TimelineView>) -> Router {
    Router::new()
        .route("/timelines", get(list))
        .route("/timelines/{key}", get(one))
        .with_state(view)
}

async fn list(State(view): State<Arc<dyn TimelineView>>) -> impl IntoResponse {
    Json(view.timelines())
}

async fn one(
    State(view): State<Arc<dyn TimelineView>>,
    Path(key): Path<String>,
) -> impl IntoResponse {
    match view.entries(&key, None, None) {
        Some(entries) => {
            Json(serde_json::json!({"timeline": key, "entries": entries})).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such timeline\n").into_response(),
    }
}
