//! The JSON-RPC binding: `POST /agents/{org}/{unit}/{agent}`, A2A v1.0 natively
//! and v0.3 translated at this edge ([`crate::a2a::v03`]).
//!
//! The envelope is parsed once, the version and method resolved once
//! ([`super::version`]), v0.3 params translated to v1.0, and the call run by
//! [`super::call`]; its v1.0 results are translated back for v0.3 clients. The
//! response `id` is always the request's, verbatim.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::Value;

use super::AppState;
use super::body::{json_with_keepalive, read_body, sse};
use super::call::{Call, CallResult, Outcome};
use super::error::{ErrorKind, GatewayError};
use super::extract::RpcAgentPath;
use super::respond::json_body;
use super::send::Params;
use super::version::{self, Version};
use crate::a2a::jsonrpc::{self, RequestId};
use crate::a2a::{Method, v03};
use crate::telemetry::Metrics;
use crate::telemetry::metrics::CallLabels;

/// How results and errors are written for one request.
#[derive(Clone)]
struct Render {
    id: RequestId,
    version: Version,
    method: Method,
    metrics: Arc<Metrics>,
    started: Instant,
}

impl Render {
    /// Counts the call once its answer (or a stream's first event) is known.
    fn record<T>(&self, outcome: &Result<T, GatewayError>) {
        let outcome = match outcome {
            Ok(_) => "ok",
            Err(e) => e.kind.spec().reason,
        };
        self.metrics.record(
            CallLabels {
                binding: "jsonrpc",
                method: self.method.name(),
                outcome,
            },
            self.started.elapsed(),
        );
    }

    /// The error in the client's version: v0.3 gets the table's v0.3 code and
    /// the message in v0.3 names (`completed`, `tasks/get`, ...).
    fn error(&self, e: &GatewayError) -> String {
        let error = match self.version {
            Version::V1_0 => e.to_jsonrpc(),
            Version::V0_3 => {
                let mut error = e.to_jsonrpc_v03();
                error.message = v03::text_to_v03(&error.message);
                error
            }
        };
        jsonrpc::failure(&self.id, &error)
    }

    fn result(&self, result: Result<CallResult, GatewayError>) -> Vec<u8> {
        let translated = result.and_then(|r| match self.version {
            Version::V1_0 => Ok(r),
            Version::V0_3 => r
                .into_value()
                .and_then(|v| v03::result_to_v03(self.method, &v).map_err(untranslatable))
                .map(CallResult::Value),
        });
        self.record(&translated);
        match translated {
            Ok(CallResult::Value(v)) => jsonrpc::success_value(&self.id, &v).into_bytes(),
            Ok(CallResult::Relayed(json)) => jsonrpc::success_bytes(&self.id, &json),
            Err(e) => self.error(&e).into_bytes(),
        }
    }

    fn stream_item(&self, item: Result<Value, GatewayError>) -> Event {
        let translated = item.and_then(|v| match self.version {
            Version::V1_0 => Ok(v),
            Version::V0_3 => v03::stream_item_to_v03(&v).map_err(untranslatable),
        });
        Event::default().data(match translated {
            Ok(v) => jsonrpc::success_value(&self.id, &v),
            Err(e) => self.error(&e),
        })
    }
}

/// An agent result that v0.3 cannot express.
fn untranslatable(e: v03::TranslateError) -> GatewayError {
    GatewayError::new(
        ErrorKind::InvalidAgentResponse,
        format!("the agent's answer cannot be expressed in A2A v0.3: {e}"),
    )
}

/// A JSON-RPC error response before any version is known (written as v1.0).
fn early_error(id: &RequestId, e: &GatewayError) -> Response {
    super::respond::rpc_error(id, e)
}

/// The handler.
pub async fn handle(
    State(state): State<AppState>,
    RpcAgentPath(path): RpcAgentPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&headers, body, state.config().http.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return early_error(&RequestId::null(), &e),
    };
    let request = match jsonrpc::parse_request(&bytes) {
        Ok(r) => r,
        Err(e) => return early_error(&e.id.clone(), &GatewayError::from(e)),
    };
    let id = request.id.clone();
    let resolved = version::requested(&headers, query.as_deref())
        .and_then(|v| version::resolve_method(v, &request.method));
    let (version, method) = match resolved {
        Ok(vm) => vm,
        Err(e) => return early_error(&id, &e),
    };
    let render = Render {
        id,
        version,
        method,
        metrics: state.metrics().clone(),
        started: Instant::now(),
    };
    // v1.0 params go to the call as the client's text (SendMessage is prepared
    // on it); v0.3 params are read and translated.
    let params: Result<Params<'_>, GatewayError> = match (version, request.params) {
        (_, None) => Ok(Params::Value(Value::Object(Default::default()))),
        (Version::V1_0, Some(p)) => Ok(Params::Text(p.get())),
        (Version::V0_3, Some(p)) => Params::Text(p.get()).into_value().and_then(|params| {
            v03::params_to_v1(method, &params)
                .map(Params::Value)
                .map_err(|e| {
                    GatewayError::new(
                        ErrorKind::InvalidParams,
                        format!("invalid {} params: {e}", v03::method_name_v03(method)),
                    )
                })
        }),
    };
    let started = params.and_then(|p| {
        let (org, unit, agent) = path?;
        Call::new(state.clone(), &org, &unit, &agent).map(|c| (c, p))
    });
    let (call, params) = match started {
        Ok(cp) => cp,
        Err(e) => {
            render.record::<()>(&Err(e.clone()));
            return json_body(status_of(&e), render.error(&e));
        }
    };
    tracing::debug!(agent = %call.addr(), %method, version = version.as_str(), "A2A JSON-RPC call");
    let keepalive = Duration::from_secs(state.config().http.keepalive_secs);
    match call.execute(method, params, &headers).await {
        Err(e) => {
            render.record::<()>(&Err(e.clone()));
            json_body(status_of(&e), render.error(&e))
        }
        Ok(Outcome::Unary(result)) => {
            json_with_keepalive(
                async move { render.result(result.await) },
                keepalive,
                "application/json",
            )
            .await
        }
        Ok(Outcome::Stream(items)) => {
            sse(items.map(move |item| render.stream_item(item)), keepalive)
        }
    }
}

/// JSON-RPC errors travel with HTTP 200, except an oversized body (413).
fn status_of(e: &GatewayError) -> axum::http::StatusCode {
    if e.kind == ErrorKind::BodyTooLarge {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE
    } else {
        axum::http::StatusCode::OK
    }
}
