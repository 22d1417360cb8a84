//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::AppState;
use super::respond::json_value;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    json_value(StatusCode::OK, &json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 once the broker is connected with subscriptions in place and
/// the retained discovery burst is consumed; 503 otherwise, saying which is missing.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let broker = state.session().is_up();
    let synced = state.index().is_synced();
    let ready = broker && synced && !state.shutdown_token().is_cancelled();
    let body = json!({
        "ready": ready,
        "broker": if broker { "connected" } else { "disconnected" },
        "discovery": if synced { "synced" } else { "syncing" },
        "agents": state.index().len(),
        "inFlight": state.reply_router().in_flight(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_value(status, &body)
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut r = Response::new(axum::body::Body::from(state.metrics().render()));
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /openapi.json`: the OpenAPI document of every route.
pub async fn openapi() -> Response {
    super::respond::json_body(StatusCode::OK, super::OPENAPI.to_owned())
}
