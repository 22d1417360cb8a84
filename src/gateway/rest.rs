//! The HTTP+JSON (REST) binding under each agent's URL (A2A v1.0.1 §11):
//!
//! | route | operation |
//! |---|---|
//! | `POST message:send` | SendMessage |
//! | `POST message:stream` | SendStreamingMessage (SSE of bare StreamResponse) |
//! | `GET tasks/{id}` | GetTask (`historyLength` query) |
//! | `GET tasks` | ListTasks (query parameters, cursor pagination) |
//! | `POST tasks/{id}:cancel` | CancelTask |
//! | `GET`/`POST tasks/{id}:subscribe` | SubscribeToTask (the spec text and proto disagree on the verb; both are served) |
//! | `* tasks/{id}/pushNotificationConfigs[/{configId}]` | push notifications: not supported |
//! | `GET extendedAgentCard` | GetExtendedAgentCard |
//!
//! The v0.3 paths (`/v1/message:send`, ..., `/v1/card`) are served too, in the
//! v0.3 proto-JSON dialect ([`crate::a2a::v03_rest`]), as `application/json`
//! (v0.3 §3.2.3; v1.0 answers `application/a2a+json`). The path decides the
//! dialect; an explicit `A2A-Version` must agree with it (ARCHITECTURE.md §12).
//! Errors, unknown subpaths and other HTTP methods included, have the HTTP
//! status of the error table and the path's dialect: `google.rpc.Status` for
//! v1.0, the body the v0.3 SDKs read for v0.3
//! ([`super::respond::http_error_body_v03`]).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, header};
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::{Map, Value};

use super::AppState;
use super::body::{read_body, sse};
use super::call::{Call, CallResult, Outcome};
use super::error::{ErrorKind, GatewayError};
use super::extract::AgentRestPath;
use super::respond::{encode, http_error_body};
use super::version::{self, Version};
use crate::a2a::types::TaskState;
use crate::a2a::{Method, v03, v03_rest};
use crate::telemetry::metrics::CallLabels;

/// The media type A2A v1.0's REST binding uses.
pub const A2A_JSON: &str = "application/a2a+json";

/// The media type of v0.3 REST bodies (v0.3 §3.2.3: "MUST use
/// `application/json`").
pub const V03_JSON: &str = "application/json";

/// The dialect a path below the agent URL belongs to, and the path without the
/// v0.3 `v1/` prefix: the two versions' REST paths do not overlap.
pub fn dialect(rest: &str) -> (Version, &str) {
    match rest.strip_prefix("v1/") {
        Some(path) => (Version::V0_3, path),
        None => (Version::V1_0, rest),
    }
}

/// The media type of `version`'s JSON bodies.
fn media_type(version: Version) -> HeaderValue {
    HeaderValue::from_static(match version {
        Version::V1_0 => A2A_JSON,
        Version::V0_3 => V03_JSON,
    })
}

/// The error body of `version`'s REST dialect: google.rpc.Status for v1.0, the
/// flat `{"type", "code", "message", "data"}` the v0.3 SDKs read (with the
/// Status kept) for v0.3.
fn error_body(version: Version, e: &GatewayError) -> Value {
    match version {
        Version::V1_0 => http_error_body(e),
        Version::V0_3 => super::respond::http_error_body_v03(e),
    }
}

/// An error answered in `version`'s REST dialect.
pub fn error_response(version: Version, e: &GatewayError) -> Response {
    let mut r = super::respond::json_value(e.status(), &error_body(version, e));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, media_type(version));
    r
}

/// One REST route, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Send,
    Stream,
    GetTask(String),
    ListTasks,
    Cancel(String),
    Subscribe(String),
    PushConfig,
    ExtendedCard,
}

impl Route {
    fn method(&self) -> Method {
        match self {
            Route::Send => Method::SendMessage,
            Route::Stream => Method::SendStreamingMessage,
            Route::GetTask(_) => Method::GetTask,
            Route::ListTasks => Method::ListTasks,
            Route::Cancel(_) => Method::CancelTask,
            Route::Subscribe(_) => Method::SubscribeToTask,
            Route::PushConfig => Method::CreateTaskPushNotificationConfig,
            Route::ExtendedCard => Method::GetExtendedAgentCard,
        }
    }
}

/// A route that does not exist, or exists for other HTTP methods.
enum RouteError {
    NotFound,
    WrongMethod(&'static str),
}

/// Resolves `path` (below the agent URL, without the v0.3 `v1/` prefix) in
/// `version`'s dialect: exactly the paths of A2A §11 (v1.0) and of the v0.3
/// REST binding, nothing looser. HEAD is served as GET, as axum's `get` routes do.
fn route(verb: &HttpMethod, version: Version, path: &str) -> Result<Route, RouteError> {
    let is = |allowed: &[HttpMethod], allow: &'static str, r: Route| {
        let as_get = *verb == HttpMethod::HEAD && allowed.contains(&HttpMethod::GET);
        if allowed.contains(verb) || as_get {
            Ok(r)
        } else {
            Err(RouteError::WrongMethod(allow))
        }
    };
    let card = match version {
        Version::V1_0 => "extendedAgentCard",
        Version::V0_3 => "card",
    };
    match path {
        "message:send" => return is(&[HttpMethod::POST], "POST", Route::Send),
        "message:stream" => return is(&[HttpMethod::POST], "POST", Route::Stream),
        "tasks" => return is(&[HttpMethod::GET], "GET", Route::ListTasks),
        _ if path == card => return is(&[HttpMethod::GET], "GET", Route::ExtendedCard),
        _ => {}
    }
    let Some(rest) = path.strip_prefix("tasks/") else {
        return Err(RouteError::NotFound);
    };
    if let Some((id, sub)) = rest.split_once('/') {
        let configs = sub.strip_prefix("pushNotificationConfigs");
        return match configs {
            _ if id.is_empty() => Err(RouteError::NotFound),
            Some("") => is(
                &[HttpMethod::POST, HttpMethod::GET],
                "POST, GET",
                Route::PushConfig,
            ),
            Some(one) if is_one_segment(one) => is(
                &[HttpMethod::GET, HttpMethod::DELETE],
                "GET, DELETE",
                Route::PushConfig,
            ),
            _ => Err(RouteError::NotFound),
        };
    }
    match rest.rsplit_once(':') {
        Some((id, "cancel")) if !id.is_empty() => {
            is(&[HttpMethod::POST], "POST", Route::Cancel(id.to_owned()))
        }
        Some((id, "subscribe")) if !id.is_empty() => is(
            &[HttpMethod::GET, HttpMethod::POST],
            "GET, POST",
            Route::Subscribe(id.to_owned()),
        ),
        _ if !rest.is_empty() => is(&[HttpMethod::GET], "GET", Route::GetTask(rest.to_owned())),
        _ => Err(RouteError::NotFound),
    }
}

/// `/{configId}`: one non-empty path segment.
fn is_one_segment(suffix: &str) -> bool {
    suffix
        .strip_prefix('/')
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn bad_params(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::InvalidParams, message)
}

/// Query parameters (`?a=1&b=2`), URL-decoded.
fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, GatewayError> {
    match query {
        None | Some("") => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| bad_params(format!("malformed query string: {e}"))),
    }
}

fn int_param(name: &str, value: &str) -> Result<Value, GatewayError> {
    value.parse::<i32>().map(Value::from).map_err(|_| {
        bad_params(format!(
            "query parameter {name} must be an integer, got {value:?}"
        ))
    })
}

/// ListTasks / GetTask parameters from the query string (§11.5: camelCase names,
/// enums by name, booleans as `true`/`false`). Unknown parameters are ignored.
fn query_params(
    pairs: &[(String, String)],
    allowed: &[&str],
) -> Result<Map<String, Value>, GatewayError> {
    let mut out = Map::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            continue;
        }
        let v = match name.as_str() {
            "pageSize" | "historyLength" => int_param(name, value)?,
            "includeArtifacts" => match value.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(bad_params(format!(
                        "query parameter includeArtifacts must be true or false, got {value:?}"
                    )));
                }
            },
            "status" => {
                // v1.0 names; the v0.3 short names are accepted too.
                let state = TaskState::parse(value)
                    .or_else(|| v03_state(value))
                    .ok_or_else(|| {
                        bad_params(format!(
                            "query parameter status {value:?} is not a task state"
                        ))
                    })?;
                Value::String(state.as_str().to_owned())
            }
            _ => Value::String(value.clone()),
        };
        out.insert(name.clone(), v);
    }
    Ok(out)
}

/// A v0.3 task state name (`input-required`, ...).
fn v03_state(name: &str) -> Option<TaskState> {
    Some(match name {
        "submitted" => TaskState::Submitted,
        "working" => TaskState::Working,
        "input-required" => TaskState::InputRequired,
        "completed" => TaskState::Completed,
        "canceled" => TaskState::Canceled,
        "failed" => TaskState::Failed,
        "rejected" => TaskState::Rejected,
        "auth-required" => TaskState::AuthRequired,
        _ => return None,
    })
}

/// The JSON body of a POST, as an object (`{}` when empty).
fn json_object(bytes: &[u8]) -> Result<Value, GatewayError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(GatewayError::new(
            ErrorKind::InvalidRequest,
            "the request body must be a JSON object",
        )),
        Err(e) => Err(GatewayError::new(
            ErrorKind::ParseError,
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

/// How one REST request is answered.
struct Reply {
    version: Version,
    method: Method,
}

/// Counts a REST call.
fn record(state: &AppState, method: Method, started: Instant, outcome: Result<(), &GatewayError>) {
    let outcome = match outcome {
        Ok(()) => "ok",
        Err(e) => e.kind.spec().reason,
    };
    state.metrics().record(
        CallLabels {
            binding: "rest",
            method: method.name(),
            outcome,
        },
        started.elapsed(),
    );
}

impl Reply {
    fn error(&self, e: &GatewayError) -> Response {
        error_response(self.version, e)
    }

    /// A unary result: a relayed v1.0 result goes out as the agent's bytes.
    fn ok_result(&self, result: CallResult) -> Response {
        match (self.version, result) {
            (Version::V1_0, CallResult::Relayed(json)) => {
                let mut r = Response::new(Body::from(json));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, media_type(self.version));
                r
            }
            (_, result) => match result.into_value() {
                Ok(v) => self.ok(v),
                Err(e) => self.error(&e),
            },
        }
    }

    fn ok(&self, result: Value) -> Response {
        match self.translate(result) {
            Ok(body) => {
                let mut r = Response::new(Body::from(encode(&body)));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, media_type(self.version));
                r
            }
            Err(e) => self.error(&e),
        }
    }

    /// A v1.0 result in the client's dialect.
    fn translate(&self, result: Value) -> Result<Value, GatewayError> {
        let untranslatable = |e: String| {
            GatewayError::new(
                ErrorKind::InvalidAgentResponse,
                format!("the agent's answer cannot be expressed in A2A v0.3: {e}"),
            )
        };
        match (self.version, self.method) {
            (Version::V1_0, _) => Ok(result),
            (Version::V0_3, Method::SendMessage) => {
                v03_rest::send_response_to_v03(&result).map_err(|e| untranslatable(e.to_string()))
            }
            (Version::V0_3, Method::GetTask | Method::CancelTask) => {
                v03_rest::task_to_v03(&result).map_err(|e| untranslatable(e.to_string()))
            }
            // v0.3 §7.3 (REST): `GET /v1/tasks` answers `[Task]`, so the page
            // fields (nextPageToken, totalSize) have no place: a v0.3 client
            // gets the one page its query asked for.
            (Version::V0_3, Method::ListTasks) => {
                let tasks = match result {
                    Value::Object(mut o) => o.remove("tasks").unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                let Value::Array(tasks) = tasks else {
                    return Err(untranslatable("ListTasks has no tasks array".into()));
                };
                tasks
                    .iter()
                    .map(|t| v03_rest::task_to_v03(t).map_err(|e| untranslatable(e.to_string())))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            (Version::V0_3, Method::GetExtendedAgentCard) => Ok(v03::card_to_v03_merged(&result)),
            (Version::V0_3, _) => Ok(result),
        }
    }

    fn event(&self, item: Result<Value, GatewayError>) -> Event {
        let translated = item.and_then(|v| match self.version {
            Version::V1_0 => Ok(v),
            Version::V0_3 => v03_rest::stream_item_to_v03(&v).map_err(|e| {
                GatewayError::new(
                    ErrorKind::InvalidAgentResponse,
                    format!("the agent's answer cannot be expressed in A2A v0.3: {e}"),
                )
            }),
        });
        match translated {
            Ok(v) => Event::default().data(encode(&v)),
            // A REST stream reports a failure as an `error` event carrying the
            // error body of the client's dialect, as the official SDKs read it
            // (v0.3: the JavaScript SDK needs its `code`; the Status is kept).
            Err(e) => Event::default()
                .event("error")
                .data(encode(&error_body(self.version, &e))),
        }
    }
}

/// The handler for every REST path of an agent, whatever the HTTP method, so
/// that unknown paths and methods are answered in the path's dialect too.
pub async fn handle(
    State(state): State<AppState>,
    AgentRestPath(org, unit, agent, rest): AgentRestPath,
    verb: HttpMethod,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (version, path) = dialect(&rest);
    let negotiated = version::requested(&headers, query.as_deref())
        .and_then(|requested| version::check_rest_path(requested, version, &rest));
    if let Err(e) = negotiated {
        return error_response(version, &e);
    }
    let route = match route(&verb, version, path) {
        Ok(r) => r,
        Err(RouteError::NotFound) => {
            let e = super::respond::no_route(&format!("/agents/{org}/{unit}/{agent}/{rest}"));
            return error_response(version, &e);
        }
        Err(RouteError::WrongMethod(allow)) => {
            let e = GatewayError::new(
                ErrorKind::HttpMethodNotAllowed,
                format!("{verb} is not allowed on {rest}; use {allow}"),
            )
            .with("allow", allow);
            let mut r = error_response(version, &e);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            return r;
        }
    };
    let reply = Reply {
        version,
        method: route.method(),
    };
    let limit = state.config().http.max_body_bytes;
    let params = match build_params(&route, version, &headers, body, query.as_deref(), limit).await
    {
        Ok(p) => p,
        Err(e) => return reply.error(&e),
    };
    let call = match Call::new(state.clone(), &org, &unit, &agent) {
        Ok(c) => c,
        Err(e) => return reply.error(&e),
    };
    tracing::debug!(agent = %call.addr(), method = %reply.method, version = version.as_str(), "A2A REST call");
    let keepalive = Duration::from_secs(state.config().http.keepalive_secs);
    let started = Instant::now();
    let method = reply.method;
    match call.execute(method, params, &headers).await {
        Err(e) => {
            record(&state, method, started, Err(&e));
            reply.error(&e)
        }
        Ok(Outcome::Unary(result)) => {
            let result = result.await;
            record(&state, method, started, result.as_ref().map(|_| ()));
            match result {
                Ok(r) => reply.ok_result(r),
                Err(e) => reply.error(&e),
            }
        }
        Ok(Outcome::Stream(items)) => {
            record(&state, method, started, Ok(()));
            sse(items.map(move |item| reply.event(item)), keepalive)
        }
    }
}

/// The v1.0 params of `route` from the path, query and body.
async fn build_params(
    route: &Route,
    version: Version,
    headers: &HeaderMap,
    body: Body,
    query: Option<&str>,
    limit: usize,
) -> Result<Value, GatewayError> {
    let pairs = query_pairs(query)?;
    match route {
        Route::Send | Route::Stream => {
            let bytes = read_body(headers, body, limit).await?;
            let body = json_object(&bytes)?;
            match version {
                Version::V1_0 => Ok(body),
                Version::V0_3 => v03_rest::send_request_to_v1(&body)
                    .map_err(|e| bad_params(format!("invalid v0.3 SendMessageRequest: {e}"))),
            }
        }
        Route::GetTask(id) => {
            let mut p = query_params(&pairs, &["historyLength"])?;
            // In v0.3, 0 meant "no limit"; in v1.0 it means "no history".
            if version == Version::V0_3 && p.get("historyLength") == Some(&Value::from(0)) {
                p.remove("historyLength");
            }
            p.insert("id".into(), Value::String(id.clone()));
            Ok(Value::Object(p))
        }
        Route::ListTasks => Ok(Value::Object(query_params(
            &pairs,
            &[
                "contextId",
                "status",
                "pageSize",
                "pageToken",
                "historyLength",
                "statusTimestampAfter",
                "includeArtifacts",
            ],
        )?)),
        Route::Cancel(id) => {
            let bytes = read_body(headers, body, limit).await?;
            let mut p = match json_object(&bytes)? {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            p.insert("id".into(), Value::String(id.clone()));
            Ok(Value::Object(p))
        }
        Route::Subscribe(id) => {
            let mut p = Map::new();
            p.insert("id".into(), Value::String(id.clone()));
            Ok(Value::Object(p))
        }
        Route::PushConfig | Route::ExtendedCard => Ok(Value::Object(Map::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(verb: HttpMethod, path: &str) -> Route {
        match route(&verb, Version::V1_0, path) {
            Ok(r) => r,
            Err(_) => panic!("{verb} {path} not routed"),
        }
    }

    #[test]
    fn routes() {
        assert_eq!(ok(HttpMethod::POST, "message:send"), Route::Send);
        assert_eq!(ok(HttpMethod::POST, "message:stream"), Route::Stream);
        assert_eq!(ok(HttpMethod::GET, "tasks"), Route::ListTasks);
        assert_eq!(
            ok(HttpMethod::GET, "tasks/t-1"),
            Route::GetTask("t-1".into())
        );
        assert_eq!(
            ok(HttpMethod::POST, "tasks/t-1:cancel"),
            Route::Cancel("t-1".into())
        );
        assert_eq!(
            ok(HttpMethod::GET, "tasks/t-1:subscribe"),
            Route::Subscribe("t-1".into())
        );
        assert_eq!(
            ok(HttpMethod::POST, "tasks/t-1:subscribe"),
            Route::Subscribe("t-1".into())
        );
        assert_eq!(
            ok(HttpMethod::POST, "tasks/t-1/pushNotificationConfigs"),
            Route::PushConfig
        );
        assert_eq!(
            ok(HttpMethod::DELETE, "tasks/t-1/pushNotificationConfigs/c"),
            Route::PushConfig
        );
        assert_eq!(
            ok(HttpMethod::GET, "extendedAgentCard"),
            Route::ExtendedCard
        );
        assert!(matches!(
            route(&HttpMethod::GET, Version::V0_3, "card"),
            Ok(Route::ExtendedCard)
        ));
        let refused =
            |verb: HttpMethod, version: Version, path: &str| route(&verb, version, path).err();
        assert!(matches!(
            refused(HttpMethod::GET, Version::V1_0, "message:send"),
            Some(RouteError::WrongMethod("POST"))
        ));
        assert!(matches!(
            refused(HttpMethod::DELETE, Version::V1_0, "tasks/t"),
            Some(RouteError::WrongMethod("GET"))
        ));
        assert!(matches!(
            refused(
                HttpMethod::DELETE,
                Version::V1_0,
                "tasks/t/pushNotificationConfigs"
            ),
            Some(RouteError::WrongMethod("POST, GET"))
        ));
        assert!(matches!(
            refused(
                HttpMethod::POST,
                Version::V0_3,
                "tasks/t/pushNotificationConfigs/c"
            ),
            Some(RouteError::WrongMethod("GET, DELETE"))
        ));
        for (version, path) in [
            (Version::V1_0, "card"),
            (Version::V0_3, "extendedAgentCard"),
            (Version::V1_0, "tasks/"),
            (Version::V1_0, "message:send/"),
            (Version::V1_0, "tasks/t/"),
            (Version::V1_0, "tasks//pushNotificationConfigs"),
            (Version::V1_0, "tasks/t/pushNotificationConfigs/"),
            (Version::V1_0, "tasks/t/pushNotificationConfigs/x/y"),
            (Version::V1_0, "tasks/t/other"),
            (Version::V1_0, "nothing"),
        ] {
            assert!(
                matches!(
                    refused(HttpMethod::GET, version, path),
                    Some(RouteError::NotFound)
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn list_query_parameters_are_typed() {
        let pairs = query_pairs(Some(
            "contextId=c&status=TASK_STATE_WORKING&pageSize=5&includeArtifacts=true&x=1",
        ))
        .unwrap();
        let p = query_params(
            &pairs,
            &["contextId", "status", "pageSize", "includeArtifacts"],
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            serde_json::json!({"contextId": "c", "status": "TASK_STATE_WORKING", "pageSize": 5, "includeArtifacts": true})
        );
        let pairs = query_pairs(Some("status=working")).unwrap();
        assert_eq!(
            query_params(&pairs, &["status"]).unwrap()["status"],
            "TASK_STATE_WORKING"
        );
        for bad in ["pageSize=ten", "includeArtifacts=yes", "status=sleeping"] {
            let pairs = query_pairs(Some(bad)).unwrap();
            let e = query_params(&pairs, &["pageSize", "includeArtifacts", "status"]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParams, "{bad}");
        }
    }
}
