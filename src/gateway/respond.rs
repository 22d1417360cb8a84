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

/// The error body of the v0.3 REST paths. v0.3 defines none, and its SDKs read
/// different ones: the Python SDK's compat REST client a flat `{"type",
/// "message"}`, `type` naming an A2A error class (else it falls back on the HTTP
/// status); `@a2a-js/sdk`'s legacy REST client `{"code", "message", "data"?}`,
/// exactly what its v0.3 REST server writes, mapping `code` (a JSON-RPC code) to
/// its error classes and throwing a generic error for a body without a numeric
/// `code`. So the body is the error object a v0.3 JSON-RPC client gets
/// ([`GatewayError::to_jsonrpc_v03`]), its message in v0.3 proto names, plus
/// `type` from the table and the google.rpc.Status as `error` (unchanged),
/// which all of them ignore but keeps the details.
pub fn http_error_body_v03(error: &GatewayError) -> Value {
    let rpc = error.to_jsonrpc_v03();
    let mut body = serde_json::Map::new();
    if let Some(class) = error.kind.spec().v03_type {
        body.insert("type".into(), Value::from(class));
    }
    body.insert("code".into(), Value::from(rpc.code));
    body.insert(
        "message".into(),
        Value::String(crate::a2a::v03_rest::text_to_v03(&rpc.message)),
    );
    if let Some(data) = rpc.data {
        body.insert("data".into(), data);
    }
    if let Value::Object(mut status) = http_error_body(error) {
        if let Some(e) = status.remove("error") {
            body.insert("error".into(), e);
        }
    }
    Value::Object(body)
}

/// The error for a path nothing is served at.
pub fn no_route(path: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::MethodNotFound,
        format!("no route for {path}; agents live under /agents/{{org}}/{{unit}}/{{agent}}"),
    )
}

/// Fallback for unknown paths.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    http_error(&no_route(uri.path()))
}

/// Fallback for a method a route does not serve (axum adds the `Allow` header).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let err = GatewayError::new(
        ErrorKind::HttpMethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    );
    http_error(&err)
}

/// Turns a handler panic (a bug) into a 500 instead of a dropped connection.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; this is a bug");
    let err = GatewayError::new(ErrorKind::Internal, "internal error");
    http_error(&err).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::a2a::error::JsonRpcError;

    #[test]
    fn v03_rest_bodies_have_what_the_python_and_js_clients_read() {
        let e = GatewayError::new(ErrorKind::TaskNotCancelable, "task t is final")
            .with("agent", "o/u/a");
        let v03 = http_error_body_v03(&e);
        assert_eq!(v03["type"], "TaskNotCancelableError");
        assert_eq!(v03["code"], -32002);
        assert_eq!(v03["message"], "task t is final");
        assert_eq!(v03["data"], json!([e.error_info()]));
        assert_eq!(v03["error"], http_error_body(&e)["error"]);
        // The gateway's own errors: no A2A class, their own code.
        // Messages name v0.3 fields; the Status keeps the v1.0 text.
        let e = GatewayError::new(
            ErrorKind::InvalidParams,
            "params.message.parts must contain at least one part",
        );
        let v03 = http_error_body_v03(&e);
        assert_eq!(
            v03["message"],
            "params.message.content must contain at least one part"
        );
        assert_eq!(v03["error"]["message"], e.message);
        let e = GatewayError::new(ErrorKind::AgentOffline, "offline");
        let v03 = http_error_body_v03(&e);
        assert!(v03.get("type").is_none(), "{v03}");
        assert_eq!(v03["code"], -31002);
        // v1.0-only errors: the v0.3 code, the class the Python client knows.
        let e = GatewayError::new(ErrorKind::VersionNotSupported, "9.9");
        let v03 = http_error_body_v03(&e);
        assert_eq!(
            (&v03["code"], &v03["type"]),
            (&json!(-32603), &json!("VersionNotSupportedError"))
        );
        // A relayed agent error keeps its code, message and data.
        let relayed = JsonRpcError {
            code: -32001,
            message: "Task not found".into(),
            data: Some(json!({"taskId": "t"})),
        };
        let v03 = http_error_body_v03(&GatewayError::from_agent("o/u/a", relayed));
        assert_eq!(v03["type"], "TaskNotFoundError");
        assert_eq!(v03["code"], -32001);
        assert_eq!(v03["data"], json!({"taskId": "t"}));
    }
}
