//! Response builders shared by the handlers.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{ErrorKind, GatewayError};
use crate::a2a::jsonrpc::{self, RequestId};

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A JSON body with the given status.
pub fn json_body(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, JSON);
    r
}

/// A JSON value with the given status.
pub fn json_value(status: StatusCode, body: &Value) -> Response {
    json_body(status, encode(body))
}

/// `value` as JSON text, by serde_json's writer: `Value`'s `Display` goes
/// through `fmt::Write` a token at a time and costs about three times as much.
pub fn encode(value: &Value) -> String {
    // A `Value` always encodes: its keys are strings.
    serde_json::to_string(value).unwrap_or_default()
}

/// A JSON-RPC success response (HTTP 200).
pub fn rpc_success(id: &RequestId, result_json: &str) -> Response {
    json_body(StatusCode::OK, jsonrpc::success(id, result_json))
}

/// A JSON-RPC error response. JSON-RPC errors travel with HTTP 200, except a body
/// over the size limit, which is answered 413 as HTTP expects.
pub fn rpc_error(id: &RequestId, error: &GatewayError) -> Response {
    let status = if error.kind == ErrorKind::BodyTooLarge {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::OK
    };
    json_body(status, jsonrpc::failure(id, &error.to_jsonrpc()))
}

/// A `google.rpc.Status`-shaped error (A2A v1.0.1 §11.6) for the REST binding and
/// the non-JSON-RPC routes:
/// `{"error": {"code": 404, "status": "NOT_FOUND", "message": ..., "details": [ErrorInfo, ...]}}`.
pub fn http_error(error: &GatewayError) -> Response {
    let status = error.status();
    json_value(status, &http_error_body(error))
}

/// The body of [`http_error`].
pub fn http_error_body(error: &GatewayError) -> Value {
    json!({
        "error": {
            "code": error.status().as_u16(),
            "status": error.kind.spec().grpc,
            "message": error.message,
            "details": error.details(),
        }
    })
}

/// Fallback for unknown paths.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    let err = GatewayError::new(
        ErrorKind::MethodNotFound,
        format!(
            "no route for {}; agents live under /agents/{{org}}/{{unit}}/{{agent}}",
            uri.path()
        ),
    );
    http_error(&err)
}

/// Turns a handler panic (a bug) into a 500 instead of a dropped connection.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; this is a bug");
    let err = GatewayError::new(ErrorKind::Internal, "internal error");
    http_error(&err).into_response()
}
