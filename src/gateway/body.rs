//! Request bodies in, long response bodies out.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;

use super::error::{ErrorKind, GatewayError};

/// Reads the body, refusing it (413) beyond `limit` bytes without buffering more.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let too_large = || {
        GatewayError::new(
            ErrorKind::BodyTooLarge,
            format!("request body exceeds the limit of {limit} bytes (http.max_body_bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(GatewayError::new(
            ErrorKind::InvalidRequest,
            format!("could not read the request body: {e}"),
        )),
    }
}

/// A JSON response (HTTP 200) whose body is `outcome`'s text. If `outcome` takes
/// longer than `keepalive`, the response starts anyway and sends a space (JSON
/// whitespace) every `keepalive` until the text is ready, so idle-timeout
/// proxies and clients do not cut a long call. Only for bodies whose status is
/// 200 whatever happens (JSON-RPC).
pub async fn json_with_keepalive(
    outcome: impl Future<Output = Vec<u8>> + Send + 'static,
    keepalive: Duration,
    content_type: &'static str,
) -> Response {
    let mut outcome = Box::pin(outcome);
    let body = match tokio::time::timeout(keepalive, &mut outcome).await {
        Ok(text) => Body::from(text),
        Err(_) => Body::from_stream(async_stream::stream! {
            yield Ok::<Bytes, Infallible>(Bytes::from_static(b" "));
            loop {
                tokio::select! {
                    text = &mut outcome => {
                        yield Ok(Bytes::from(text));
                        break;
                    }
                    _ = tokio::time::sleep(keepalive) => yield Ok(Bytes::from_static(b" ")),
                }
            }
        }),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// An SSE response of `events`, with keep-alive comments every `keepalive`.
pub fn sse(events: impl Stream<Item = Event> + Send + 'static, keepalive: Duration) -> Response {
    let mut response = Sse::new(events.map(Ok::<Event, Infallible>))
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response();
    let h = response.headers_mut();
    // Tell buffering proxies (nginx) to pass events through at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
