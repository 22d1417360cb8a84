//! The registry API, `/api/v1/agents`: query the index, look at one agent, and
//! register or unregister cards on the broker.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/agents` | search: `org`, `unit`, `skill` (id or tag), `status`, `q` (free text), `limit`, `pageToken` |
//! | `GET /api/v1/agents/{org}/{unit}/{agent}` | card, status, status source, first/last seen, validation verdict |
//! | `PUT /api/v1/agents/{org}/{unit}/{agent}` | register: body is the card; published retained (QoS 1), answered once the broker acknowledged it |
//! | `DELETE /api/v1/agents/{org}/{unit}/{agent}` | unregister: empty retained publish, answered once acknowledged; 404 when neither a card nor a refused card is known there |

use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::body::read_body;
use super::cards::{agent_url, public_base};
use super::error::{ErrorKind, GatewayError};
use super::extract::AgentPath;
use super::respond::{http_error, json_body, json_value};
use crate::a2a::card;
use crate::mqtt::confirm::ConfirmError;
use crate::mqtt::{AgentAddr, OutgoingMessage, PublishError, PublishProperties};
use crate::registry::{AgentEntry, Liveness, Query};

/// Default and largest page size.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;
/// How long a registration waits to see its card come back into the index.
const INDEX_WAIT: Duration = Duration::from_secs(2);

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::InvalidParams, message)
}

fn addr_of(org: &str, unit: &str, agent: &str) -> Result<AgentAddr, GatewayError> {
    AgentAddr::new(org, unit, agent).map_err(|e| bad(format!("invalid agent address: {e}")))
}

/// An opaque page token: the hex of the last address returned.
fn encode_token(addr: &AgentAddr) -> String {
    addr.to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_token(token: &str) -> Result<AgentAddr, GatewayError> {
    let invalid = || {
        bad(format!(
            "pageToken {:?} is not one this gateway issued",
            token.chars().take(64).collect::<String>()
        ))
    };
    if token.len() % 2 != 0 || token.len() > 1024 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    AgentAddr::parse(&text).map_err(|_| invalid())
}

fn parse_status(value: &str) -> Result<Liveness, GatewayError> {
    match value {
        "online" => Ok(Liveness::Online),
        "offline" => Ok(Liveness::Offline),
        "unknown" => Ok(Liveness::Unknown),
        other => Err(bad(format!(
            "status must be online, offline or unknown, not {other:?}"
        ))),
    }
}

/// The query of `GET /api/v1/agents`.
fn parse_query(raw: Option<&str>) -> Result<Query, GatewayError> {
    let pairs: Vec<(String, String)> = match raw {
        None | Some("") => Vec::new(),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| bad(format!("malformed query string: {e}")))?,
    };
    let mut query = Query {
        limit: DEFAULT_LIMIT,
        ..Query::default()
    };
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "org" | "unit" => {
                crate::mqtt::topics::check_id("filter", &value)
                    .map_err(|e| bad(format!("{key}: {e}")))?;
                if key == "org" {
                    query.org = Some(value);
                } else {
                    query.unit = Some(value);
                }
            }
            "skill" => query.skill = Some(value),
            "status" => query.status = Some(parse_status(&value)?),
            "q" => query.text = Some(value),
            "limit" => {
                query.limit = match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                    _ => {
                        return Err(bad(format!(
                            "limit must be a number from 1 to {MAX_LIMIT}, not {value:?}"
                        )));
                    }
                }
            }
            "pageToken" => query.after = Some(decode_token(&value)?),
            other => {
                return Err(bad(format!(
                    "unknown query parameter {other:?} (known: org, unit, skill, status, q, limit, pageToken)"
                )));
            }
        }
    }
    Ok(query)
}

/// What the list shows of one agent; serialised straight from the index entry
/// (the skills are JSON prepared at indexing time).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    agent: &'a str,
    org: &'a str,
    unit: &'a str,
    id: &'a str,
    name: &'a str,
    description: &'a str,
    status: &'static str,
    status_source: Option<&'a str>,
    streaming: bool,
    skills: &'a serde_json::value::RawValue,
    first_seen: String,
    last_seen: String,
    url: String,
}

impl<'a> Summary<'a> {
    fn of(entry: &'a AgentEntry, base: &str) -> Summary<'a> {
        Summary {
            agent: entry.addr.as_str(),
            org: entry.addr.org(),
            unit: entry.addr.unit(),
            id: entry.addr.agent(),
            name: &entry.name,
            description: &entry.description,
            status: entry.status.as_str(),
            status_source: entry.status_source.as_deref(),
            streaming: entry.streaming,
            skills: entry.skill_summaries(),
            first_seen: entry
                .first_seen
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            last_seen: entry
                .last_seen
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            url: agent_url(base, &entry.addr),
        }
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListPage<'a> {
    agents: Vec<Summary<'a>>,
    next_page_token: String,
}

/// `GET /api/v1/agents`.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = match parse_query(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return http_error(&e),
    };
    let base = public_base(&state.config().http, &headers);
    let page = state.index().search(&query);
    let body = ListPage {
        agents: page.agents.iter().map(|e| Summary::of(e, &base)).collect(),
        next_page_token: page.next.as_ref().map(encode_token).unwrap_or_default(),
    };
    match serde_json::to_string(&body) {
        Ok(text) => json_body(StatusCode::OK, text),
        Err(e) => http_error(&GatewayError::new(
            ErrorKind::Internal,
            format!("could not encode the agent list: {e}"),
        )),
    }
}

/// `GET /api/v1/agents/{org}/{unit}/{agent}`.
pub async fn get(
    State(state): State<AppState>,
    AgentPath(org, unit, agent): AgentPath,
    headers: HeaderMap,
) -> Response {
    let addr = match addr_of(&org, &unit, &agent) {
        Ok(a) => a,
        Err(e) => return http_error(&e),
    };
    let base = public_base(&state.config().http, &headers);
    if let Some(entry) = state.index().get(&addr) {
        let mut body = serde_json::to_value(Summary::of(&entry, &base)).unwrap_or_default();
        body["indexed"] = Value::Bool(true);
        body["card"] = entry.card();
        body["validation"] = json!({"valid": true});
        return json_value(StatusCode::OK, &body);
    }
    if let Some(rejection) = state.index().rejection(&addr.discovery_topic()) {
        return json_value(
            StatusCode::OK,
            &json!({
                "agent": addr.to_string(),
                "org": addr.org(), "unit": addr.unit(), "id": addr.agent(),
                "indexed": false,
                "validation": {
                    "valid": false,
                    "reason": rejection.reason,
                    "checkedAt": rejection.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                },
            }),
        );
    }
    http_error(
        &GatewayError::new(
            ErrorKind::AgentNotFound,
            format!("no agent {addr} is registered"),
        )
        .with("agent", addr.to_string()),
    )
}

fn publish_error(addr: &AgentAddr, e: ConfirmError) -> GatewayError {
    let agent = addr.to_string();
    match e {
        ConfirmError::Refused(reason) => GatewayError::new(
            ErrorKind::BrokerRefused,
            format!("the broker refused the card of {agent}: {reason}"),
        ),
        ConfirmError::Publish(PublishError::TooLarge { size, limit }) => GatewayError::new(
            ErrorKind::RequestTooLarge,
            format!("the card (~{size} bytes) exceeds the MQTT packet limit of {limit} bytes"),
        ),
        ConfirmError::Publish(PublishError::QueueFull { .. }) => GatewayError::new(
            ErrorKind::GatewayOverloaded,
            "the gateway is overloaded; retry later",
        ),
        other => GatewayError::new(
            ErrorKind::BrokerUnavailable,
            format!("could not store the card of {agent} on the broker: {other}"),
        ),
    }
    .with("agent", agent)
}

/// Waits (bounded) until `done` holds for the index: registrations come back
/// through the discovery subscription, so a later GET sees them.
async fn wait_for_index(state: &AppState, done: impl Fn(&AppState) -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + INDEX_WAIT;
    while tokio::time::Instant::now() < deadline {
        if done(state) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done(state)
}

/// `PUT /api/v1/agents/{org}/{unit}/{agent}`: the body is the card.
pub async fn put(
    State(state): State<AppState>,
    AgentPath(org, unit, agent): AgentPath,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let addr = match addr_of(&org, &unit, &agent) {
        Ok(a) => a,
        Err(e) => return http_error(&e),
    };
    let bytes = match read_body(&headers, body, state.config().http.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return http_error(&e),
    };
    if let Err(e) = card::validate(&bytes, state.config().discovery.max_card_bytes) {
        return http_error(
            &bad(format!("invalid agent card: {e}")).with("agent", addr.to_string()),
        );
    }
    let existed = state.index().get(&addr).is_some();
    let before = state.index().get(&addr).map(|e| e.last_seen);
    let msg = OutgoingMessage {
        retain: true,
        properties: PublishProperties {
            content_type: Some("application/json".into()),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(addr.discovery_topic(), bytes)
    };
    let publisher = match state.admin_publisher().await {
        Ok(p) => p,
        Err(e) => return http_error(&e),
    };
    if let Err(e) = publisher.publish(msg).await {
        return http_error(&publish_error(&addr, e));
    }
    tracing::info!(agent = %addr, "card registered through the registry API");
    let indexed = wait_for_index(&state, |s| {
        s.index()
            .get(&addr)
            .is_some_and(|e| Some(e.last_seen) != before)
    })
    .await;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    json_value(
        status,
        &json!({"agent": addr.to_string(), "registered": true, "replaced": existed, "indexed": indexed}),
    )
}

/// Whether `DELETE` has nothing to remove at `addr`: the index, in step with the
/// broker's retained cards, has neither a card nor a refused card there. Before
/// the first sync the index cannot tell, and the removal is published anyway
/// (an empty retained message is harmless).
fn nothing_to_unregister(state: &AppState, addr: &AgentAddr) -> bool {
    let index = state.index();
    index.is_synced()
        && index.get(addr).is_none()
        && index.rejection(&addr.discovery_topic()).is_none()
}

/// `DELETE /api/v1/agents/{org}/{unit}/{agent}`: 404 when there is nothing to
/// unregister (a typo should not look like success).
pub async fn delete(
    State(state): State<AppState>,
    AgentPath(org, unit, agent): AgentPath,
) -> Response {
    let addr = match addr_of(&org, &unit, &agent) {
        Ok(a) => a,
        Err(e) => return http_error(&e),
    };
    if nothing_to_unregister(&state, &addr) {
        return http_error(
            &GatewayError::new(
                ErrorKind::AgentNotFound,
                format!("no agent {addr} is registered; nothing to unregister"),
            )
            .with("agent", addr.to_string()),
        );
    }
    let msg = OutgoingMessage {
        retain: true,
        ..OutgoingMessage::new(addr.discovery_topic(), Vec::<u8>::new())
    };
    let publisher = match state.admin_publisher().await {
        Ok(p) => p,
        Err(e) => return http_error(&e),
    };
    if let Err(e) = publisher.publish(msg).await {
        return http_error(&publish_error(&addr, e));
    }
    tracing::info!(agent = %addr, "card unregistered through the registry API");
    wait_for_index(&state, |s| s.index().get(&addr).is_none()).await;
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_refuse_forgeries() {
        let a = AgentAddr::parse("acme/plant-1/robot.7").unwrap();
        assert_eq!(decode_token(&encode_token(&a)).unwrap(), a);
        for bad in ["zz", "abc", "2f2f2f", ""] {
            assert!(decode_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_checked() {
        let q = parse_query(Some(
            "org=acme&skill=weld&status=online&q=spot%20weld&limit=5",
        ))
        .unwrap();
        assert_eq!(q.org.as_deref(), Some("acme"));
        assert_eq!(q.text.as_deref(), Some("spot weld"));
        assert_eq!(q.limit, 5);
        assert_eq!(q.status, Some(Liveness::Online));
        for bad in [
            "limit=0",
            "limit=5000",
            "status=asleep",
            "org=a%2Fb",
            "colour=red",
            "pageToken=xyz",
        ] {
            assert_eq!(
                parse_query(Some(bad)).unwrap_err().kind,
                ErrorKind::InvalidParams,
                "{bad}"
            );
        }
        assert_eq!(parse_query(None).unwrap().limit, DEFAULT_LIMIT);
    }
}
