//! Per-agent Agent Cards, rewritten to point at this gateway.

use std::hash::{Hash, Hasher};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::error::{ErrorKind, GatewayError};
use super::extract::AgentPath;
use super::respond::{http_error, json_body};
use super::version::{self, Version};
use crate::a2a::card::{ServedInterface, served_card};
use crate::a2a::v03;
use crate::config::HttpConfig;
use crate::mqtt::AgentAddr;
use crate::registry::AgentEntry;

/// How long clients may cache a card, in seconds.
const CARD_MAX_AGE: u32 = 30;

/// The base URL clients use to reach this gateway, without a trailing slash:
/// `http.public_url` when set; else the (trusted) `X-Forwarded-Proto`,
/// `X-Forwarded-Host` and `X-Forwarded-Prefix`; else the request's `Host`.
pub fn public_base(config: &HttpConfig, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let trusted = config.trust_forwarded_headers;
    let proto = trusted
        .then(|| first("x-forwarded-proto"))
        .flatten()
        .filter(|p| matches!(p.to_ascii_lowercase().as_str(), "http" | "https"))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "http".into());
    let host = trusted
        .then(|| first("x-forwarded-host"))
        .flatten()
        .filter(|h| is_valid_host(h))
        .or_else(|| first("host").filter(|h| is_valid_host(h)))
        .map(str::to_owned)
        .unwrap_or_else(|| config.listen.clone());
    let prefix = trusted
        .then(|| first("x-forwarded-prefix"))
        .flatten()
        .filter(|p| is_valid_prefix(p))
        .map(|p| p.trim_end_matches('/'))
        .unwrap_or("");
    format!("{proto}://{host}{prefix}")
}

/// Gives an HTTP/2 request the `Host` header HTTP/1.1 requests carry.
///
/// HTTP/2 clients send the host as the `:authority` pseudo-header, which hyper
/// puts into the request URI; there is no `Host` header, and [`public_base`]
/// fell back to `http.listen` (`0.0.0.0:8080` in a container) for the URLs in
/// served cards. Every place that names this gateway reads `Host`, so the
/// request is completed once, at the edge, as an HTTP/2-to-HTTP/1.1 proxy must
/// (RFC 9113 §8.3.1). A `Host` the client did send is left alone.
pub fn host_from_authority<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    if !request.headers().contains_key(header::HOST)
        && let Some(authority) = request.uri().authority()
        // Userinfo never names the host; `is_valid_host` refuses it anyway.
        && let Some(host) = authority.as_str().rsplit('@').next()
        && let Ok(value) = HeaderValue::from_str(host)
    {
        request.headers_mut().insert(header::HOST, value);
    }
    request
}

/// A host[:port] that is safe to put into a URL (no userinfo, path or spaces).
fn is_valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

fn is_valid_prefix(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 255
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~'))
}

/// The endpoint of an agent behind this gateway (JSON-RPC is POSTed here; REST
/// paths hang below it).
pub fn agent_url(base: &str, addr: &AgentAddr) -> String {
    format!("{base}/agents/{addr}")
}

/// What the gateway serves for every agent, in preference order: JSON-RPC and
/// HTTP+JSON, each in A2A v1.0 and v0.3, all at the agent's URL.
pub fn interfaces(base: &str, addr: &AgentAddr) -> Vec<ServedInterface> {
    let url = agent_url(base, addr);
    [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    ]
    .into_iter()
    .map(|(protocol_binding, protocol_version)| ServedInterface {
        url: url.clone(),
        protocol_binding,
        protocol_version,
    })
    .collect()
}

/// The v1.0 card an HTTP client gets for `entry`.
pub fn card_for(entry: &AgentEntry, base: &str) -> serde_json::Value {
    served_card(&entry.card(), &interfaces(base, &entry.addr))
}

/// `GET /agents/{org}/{unit}/{agent}/.well-known/agent-card.json`: the v1.0 card
/// for clients that ask for 1.0, else (no `A2A-Version`, or 0.3) the merged card
/// the official SDKs publish, which v0.3 and v1.0 clients both read.
pub async fn agent_card(
    State(state): State<AppState>,
    AgentPath(org, unit, agent): AgentPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match version::requested(&headers, query.as_deref()) {
        Ok(Some(Version::V1_0)) => card_response(&state, &org, &unit, &agent, &headers, false),
        Ok(_) => card_response(&state, &org, &unit, &agent, &headers, true),
        Err(e) => http_error(&e),
    }
}

/// `GET /agents/{org}/{unit}/{agent}/.well-known/agent.json`: the v0.3 location;
/// the merged card whichever version is named (v1.0 clients read it too), but an
/// `A2A-Version` that is not served is refused as at agent-card.json.
pub async fn legacy_agent_card(
    State(state): State<AppState>,
    AgentPath(org, unit, agent): AgentPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match version::requested(&headers, query.as_deref()) {
        Ok(_) => card_response(&state, &org, &unit, &agent, &headers, true),
        Err(e) => http_error(&e),
    }
}

fn card_response(
    state: &AppState,
    org: &str,
    unit: &str,
    agent: &str,
    headers: &HeaderMap,
    merged: bool,
) -> Response {
    let addr = match AgentAddr::new(org, unit, agent) {
        Ok(a) => a,
        Err(e) => {
            return http_error(&GatewayError::new(
                ErrorKind::InvalidParams,
                format!("invalid agent address: {e}"),
            ));
        }
    };
    let Some(entry) = state.index().get(&addr) else {
        return http_error(
            &GatewayError::new(
                ErrorKind::AgentNotFound,
                format!("no agent {addr} is registered"),
            )
            .with("agent", addr.to_string()),
        );
    };
    let base = public_base(&state.config().http, headers);
    let card = card_for(&entry, &base);
    let body = if merged {
        v03::card_to_v03_merged(&card).to_string()
    } else {
        card.to_string()
    };
    let etag = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        format!("\"{:016x}\"", h.finish())
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if not_modified {
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_body(StatusCode::OK, body)
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("max-age={CARD_MAX_AGE}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(
        header::VARY,
        HeaderValue::from_static(
            "Host, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Prefix, A2A-Version",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn http2_requests_get_their_authority_as_host() {
        let h2 = axum::http::Request::builder()
            .uri("http://gw.example.org:9000/agents/a/b/c/.well-known/agent-card.json")
            .body(())
            .unwrap();
        let h2 = host_from_authority(h2);
        assert_eq!(h2.headers()[header::HOST], "gw.example.org:9000");
        assert_eq!(
            public_base(&HttpConfig::default(), h2.headers()),
            "http://gw.example.org:9000"
        );
        // A Host the client sent wins; an origin-form URI adds nothing.
        let h1 = axum::http::Request::builder()
            .uri("http://other:1/x")
            .header(header::HOST, "sent:2")
            .body(())
            .unwrap();
        assert_eq!(host_from_authority(h1).headers()[header::HOST], "sent:2");
        let bare = axum::http::Request::builder().uri("/x").body(()).unwrap();
        assert!(
            host_from_authority(bare)
                .headers()
                .get(header::HOST)
                .is_none()
        );
    }

    #[test]
    fn public_url_wins() {
        let c = HttpConfig {
            public_url: Some("https://a2a.example.com/gw/".into()),
            ..HttpConfig::default()
        };
        assert_eq!(
            public_base(&c, &headers(&[("host", "internal:8080")])),
            "https://a2a.example.com/gw"
        );
    }

    #[test]
    fn forwarded_headers_when_trusted() {
        let c = HttpConfig::default();
        let h = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "agents.example.com"),
            ("x-forwarded-prefix", "/a2a/"),
        ]);
        assert_eq!(public_base(&c, &h), "https://agents.example.com/a2a");
        let untrusting = HttpConfig {
            trust_forwarded_headers: false,
            ..HttpConfig::default()
        };
        assert_eq!(public_base(&untrusting, &h), "http://10.0.0.5:8080");
    }

    #[test]
    fn hostile_hosts_are_not_put_into_urls() {
        let c = HttpConfig::default();
        let h = headers(&[("host", "evil.com/x?"), ("x-forwarded-host", "a@b")]);
        assert_eq!(public_base(&c, &h), "http://127.0.0.1:8080");
        let h = headers(&[("host", "ok:1"), ("x-forwarded-proto", "javascript")]);
        assert_eq!(public_base(&c, &h), "http://ok:1");
    }
}
