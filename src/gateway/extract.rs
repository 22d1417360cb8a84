//! Path extraction whose failures (say, invalid UTF-8 in a percent-encoded id)
//! answer in the gateway's error format instead of axum's plain text.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::Response;

use super::error::{ErrorKind, GatewayError};
use super::respond::http_error;

fn rejected(e: axum::extract::rejection::PathRejection) -> GatewayError {
    GatewayError::new(
        ErrorKind::InvalidParams,
        format!("invalid agent address in the URL: {}", e.body_text()),
    )
}

/// `{org}/{unit}/{agent}` of a route, as text (validated later).
pub struct AgentPath(pub String, pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for AgentPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<(String, String, String)>::from_request_parts(parts, state)
            .await
            .map(|Path((o, u, a))| AgentPath(o, u, a))
            .map_err(|e| http_error(&rejected(e)))
    }
}

/// `{org}/{unit}/{agent}/{*rest}` of the REST routes.
pub struct AgentRestPath(pub String, pub String, pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for AgentRestPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<(String, String, String, String)>::from_request_parts(parts, state)
            .await
            .map(|Path((o, u, a, r))| AgentRestPath(o, u, a, r))
            .map_err(|e| {
                // Answered in the dialect of the path, undecoded:
                // /agents/{org}/{unit}/{agent}/{rest}.
                let rest = parts.uri.path().splitn(6, '/').nth(5).unwrap_or_default();
                super::rest::error_response(super::rest::dialect(rest).0, &rejected(e))
            })
    }
}

/// For JSON-RPC, which answers a bad path with a JSON-RPC error.
pub struct RpcAgentPath(pub Result<(String, String, String), GatewayError>);

impl<S: Send + Sync> FromRequestParts<S> for RpcAgentPath {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(RpcAgentPath(
            Path::<(String, String, String)>::from_request_parts(parts, state)
                .await
                .map(|Path(p)| p)
                .map_err(rejected),
        ))
    }
}
