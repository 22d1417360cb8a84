//! SendMessage params made ready for MQTT: the profile's `Task.id` (and a
//! `contextId` for a new conversation) minted and written into the client's
//! message, everything else published exactly as the client sent it.
//!
//! The common request — a new task, its message carrying neither id — is
//! prepared on the client's JSON text: the ids are spliced in after the
//! message's opening brace, so the params are never built into a `Value` and
//! encoded again. Params that arrive as a value (translated from v0.3, built by
//! the REST binding) and unusual spellings (`task_id`, an empty or null id to
//! replace) take the general path over a `Value`.

use std::ops::Range;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::{ErrorKind, GatewayError};
use crate::a2a::Method;
use crate::a2a::types::SendMessageRequest;

/// Call params as they arrived.
#[derive(Debug)]
pub enum Params<'a> {
    /// A v1.0 client's `params`, as JSON text (a JSON object).
    Text(&'a str),
    /// Params translated from v0.3 or built by the REST binding.
    Value(Value),
}

impl From<Value> for Params<'_> {
    fn from(v: Value) -> Self {
        Params::Value(v)
    }
}

impl Params<'_> {
    /// The params as a value.
    pub fn into_value(self) -> Result<Value, GatewayError> {
        match self {
            Params::Value(v) => Ok(v),
            // The envelope only skimmed them; reading can still fail (nesting
            // past serde_json's depth limit), and then they must not count as `{}`.
            Params::Text(text) => serde_json::from_str(text).map_err(|e| {
                GatewayError::new(
                    ErrorKind::InvalidParams,
                    format!("\"params\" could not be read: {e}"),
                )
            }),
        }
    }
}

/// Parses `params` into `T`, naming the offending field on failure.
pub fn typed_params<T: DeserializeOwned>(
    method: Method,
    params: &Value,
) -> Result<T, GatewayError> {
    serde_path_to_error::deserialize(params).map_err(|e| invalid_params(method, e))
}

/// [`typed_params`] straight from JSON text.
fn typed_params_text<T: DeserializeOwned>(method: Method, text: &str) -> Result<T, GatewayError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| invalid_params(method, e))
}

fn invalid_params<E: std::fmt::Display>(
    method: Method,
    e: serde_path_to_error::Error<E>,
) -> GatewayError {
    let path = e.path().to_string();
    let at = if path == "." {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    GatewayError::new(
        ErrorKind::InvalidParams,
        format!("invalid {method} params{at}: {}", e.inner()),
    )
}

/// Refuses an empty required string.
pub fn require_non_empty(value: &str, what: &str) -> Result<(), GatewayError> {
    if value.is_empty() {
        Err(GatewayError::new(
            ErrorKind::InvalidParams,
            format!("{what} must not be empty"),
        ))
    } else {
        Ok(())
    }
}

/// A SendMessage request made ready for MQTT.
#[derive(Debug)]
pub struct PreparedSend {
    /// The params as published: the client's, with the ids in its message.
    pub params: Bytes,
    /// Where the message object sits in `params`.
    message: Range<usize>,
    pub task_id: String,
    pub context_id: Option<String>,
    pub return_immediately: bool,
    pub history_length: Option<i32>,
}

impl PreparedSend {
    /// The message as published, as JSON text: it seeds the history of a Task
    /// the gateway has to synthesise.
    pub fn message_json(&self) -> Bytes {
        self.params.slice(self.message.clone())
    }
}

/// The ids the published message carries, and which of them the gateway minted.
struct Ids {
    task_id: String,
    task_minted: bool,
    context_id: Option<String>,
    context_minted: bool,
}

impl Ids {
    /// The profile: the requester mints Task.id (UUIDv4) for new tasks, so that
    /// a retried publish cannot create a second task; a new task without a
    /// conversation gets a new `contextId` too.
    fn for_request(typed: &SendMessageRequest) -> Ids {
        let client_task = typed.message.task_id.as_deref().filter(|t| !t.is_empty());
        let client_context = typed
            .message
            .context_id
            .as_deref()
            .filter(|c| !c.is_empty());
        let task_minted = client_task.is_none();
        let context_minted = task_minted && client_context.is_none();
        Ids {
            task_id: client_task.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
            task_minted,
            context_id: if context_minted {
                Some(uuid::Uuid::new_v4().to_string())
            } else {
                client_context.map(str::to_owned)
            },
            context_minted,
        }
    }
}

/// Validates SendMessage params and mints the ids.
pub fn prepare_send(method: Method, params: Params<'_>) -> Result<PreparedSend, GatewayError> {
    let typed: SendMessageRequest = match &params {
        Params::Text(text) => typed_params_text(method, text)?,
        Params::Value(v) => typed_params(method, v)?,
    };
    require_non_empty(&typed.message.message_id, "params.message.messageId")?;
    if typed.message.parts.is_empty() {
        return Err(GatewayError::new(
            ErrorKind::InvalidParams,
            "params.message.parts must contain at least one part",
        ));
    }
    let ids = Ids::for_request(&typed);
    let spliced = match &params {
        Params::Text(text) => splice_ids(text, &ids),
        Params::Value(_) => None,
    };
    let (encoded, message) = match spliced {
        Some(s) => s,
        None => rewrite_ids(params.into_value()?, &ids)?,
    };
    let config = typed.configuration.unwrap_or_default();
    Ok(PreparedSend {
        params: encoded,
        message,
        task_id: ids.task_id,
        context_id: ids.context_id,
        return_immediately: config.return_immediately,
        history_length: config.history_length,
    })
}

/// `Some(raw)` for a member that is present, `null` included (serde's `Option`
/// would read `null` as absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The message object of SendMessage params, as text.
#[derive(Deserialize)]
struct MessageSlot<'a> {
    #[serde(borrow)]
    message: &'a RawValue,
}

/// Which id members a message carries, in either spelling.
#[derive(Deserialize)]
struct IdMembers<'a> {
    #[serde(rename = "taskId", borrow, default, deserialize_with = "present")]
    task_id: Option<&'a RawValue>,
    #[serde(rename = "contextId", borrow, default, deserialize_with = "present")]
    context_id: Option<&'a RawValue>,
    #[serde(rename = "task_id", borrow, default, deserialize_with = "present")]
    task_id_snake: Option<&'a RawValue>,
    #[serde(rename = "context_id", borrow, default, deserialize_with = "present")]
    context_id_snake: Option<&'a RawValue>,
}

/// The params text with the minted ids written into its message, and the
/// message's place in it; `None` when a member would have to be replaced or
/// renamed rather than added.
fn splice_ids(text: &str, ids: &Ids) -> Option<(Bytes, Range<usize>)> {
    let slot: MessageSlot<'_> = serde_json::from_str(text).ok()?;
    let message = slot.message.get();
    let members: IdMembers<'_> = serde_json::from_str(message).ok()?;
    if members.task_id_snake.is_some()
        || members.context_id_snake.is_some()
        || (ids.task_minted && members.task_id.is_some())
        || (ids.context_minted && members.context_id.is_some())
    {
        return None;
    }
    // `message` borrows from `text`: its offset is the distance between them.
    let start = (message.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let body = start + 1; // just after the message's `{`
    let mut added = String::new();
    if ids.task_minted {
        added.push_str(&format!("\"taskId\":\"{}\"", ids.task_id));
    }
    if let Some(context) = ids.context_id.as_deref().filter(|_| ids.context_minted) {
        if !added.is_empty() {
            added.push(',');
        }
        added.push_str(&format!("\"contextId\":\"{context}\""));
    }
    let empty_message = text.get(body..)?.trim_start().starts_with('}');
    if !added.is_empty() && !empty_message {
        added.push(',');
    }
    let mut out = Vec::with_capacity(text.len() + added.len());
    out.extend_from_slice(text.get(..body)?.as_bytes());
    out.extend_from_slice(added.as_bytes());
    out.extend_from_slice(text.get(body..)?.as_bytes());
    Some((Bytes::from(out), start..start + message.len() + added.len()))
}

/// The general path: the ids set on the params value (one spelling on the wire,
/// whichever the client used), then encoded.
fn rewrite_ids(mut params: Value, ids: &Ids) -> Result<(Bytes, Range<usize>), GatewayError> {
    let message = params
        .get_mut("message")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            GatewayError::new(ErrorKind::InvalidParams, "params.message must be an object")
        })?;
    message.remove("task_id");
    message.remove("context_id");
    message.insert("taskId".into(), Value::String(ids.task_id.clone()));
    if let Some(c) = &ids.context_id {
        message.insert("contextId".into(), Value::String(c.clone()));
    }
    // Encoding a `Value` cannot fail (its keys are strings), nor can finding
    // the message in what it encoded to.
    let encoded = serde_json::to_string(&params).unwrap_or_default();
    let message = serde_json::from_str::<MessageSlot<'_>>(&encoded)
        .ok()
        .and_then(|slot| {
            let start =
                (slot.message.get().as_ptr() as usize).checked_sub(encoded.as_ptr() as usize)?;
            Some(start..start + slot.message.get().len())
        })
        .unwrap_or(0..0);
    Ok((Bytes::from(encoded), message))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn prepared_value(p: &PreparedSend) -> Value {
        serde_json::from_slice(&p.params).unwrap()
    }

    fn both_ways(params: Value) -> [PreparedSend; 2] {
        let text = params.to_string();
        [
            prepare_send(Method::SendMessage, Params::Text(&text)).unwrap(),
            prepare_send(Method::SendMessage, Params::Value(params)).unwrap(),
        ]
    }

    #[test]
    fn new_tasks_get_minted_ids() {
        let p = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
            "configuration": {"returnImmediately": true}, "metadata": {"k": [1, 2]}});
        for prepared in both_ways(p.clone()) {
            let task = uuid::Uuid::parse_str(&prepared.task_id).unwrap();
            assert_eq!(task.get_version_num(), 4);
            let ctx = prepared.context_id.clone().unwrap();
            let sent = prepared_value(&prepared);
            assert_eq!(sent["message"]["taskId"], prepared.task_id.as_str());
            assert_eq!(sent["message"]["contextId"], ctx.as_str());
            // Everything else is as the client sent it.
            let mut expected = p.clone();
            expected["message"]["taskId"] = json!(prepared.task_id);
            expected["message"]["contextId"] = json!(ctx);
            assert_eq!(sent, expected);
            let message: Value = serde_json::from_slice(&prepared.message_json()).unwrap();
            assert_eq!(message, expected["message"]);
            assert!(prepared.return_immediately);
        }
    }

    #[test]
    fn client_ids_are_kept_and_context_is_not_invented_for_continuations() {
        let p = json!({"message": {"message_id": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}], "task_id": "t-1"}});
        for prepared in both_ways(p) {
            assert_eq!(prepared.task_id, "t-1");
            assert_eq!(prepared.context_id, None);
            let sent = prepared_value(&prepared);
            assert_eq!(sent["message"]["taskId"], "t-1");
            assert!(sent["message"].get("task_id").is_none());
        }
        let p = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}], "contextId": "c"}});
        for prepared in both_ways(p) {
            assert_eq!(prepared.context_id.as_deref(), Some("c"));
            assert_eq!(prepared_value(&prepared)["message"]["contextId"], "c");
        }
        let p = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}], "taskId": "t-2", "contextId": "c-2"}});
        let text = p.to_string();
        let prepared = prepare_send(Method::SendMessage, Params::Text(&text)).unwrap();
        assert_eq!(&prepared.params[..], text.as_bytes(), "nothing to add");
    }

    #[test]
    fn empty_or_null_ids_are_replaced_not_duplicated() {
        for ids in [
            json!({"taskId": "", "contextId": null}),
            json!({"taskId": null}),
            json!({"contextId": ""}),
            json!({"task_id": "", "context_id": ""}),
        ] {
            let mut message =
                json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
            for (k, v) in ids.as_object().unwrap() {
                message[k] = v.clone();
            }
            let text = json!({ "message": message }).to_string();
            let prepared = prepare_send(Method::SendMessage, Params::Text(&text)).unwrap();
            let sent = std::str::from_utf8(&prepared.params).unwrap();
            assert_eq!(sent.matches("\"taskId\"").count(), 1, "{sent}");
            assert_eq!(sent.matches("\"contextId\"").count(), 1, "{sent}");
            let sent: Value = serde_json::from_str(sent).unwrap();
            assert_eq!(sent["message"]["taskId"], prepared.task_id.as_str());
            assert_eq!(
                sent["message"]["contextId"],
                prepared.context_id.as_deref().unwrap()
            );
        }
    }

    #[test]
    fn the_splice_keeps_the_clients_text_byte_for_byte() {
        let text = r#" { "message" : { "parts" : [ { "text" : "h\u00e9" } ] , "role":"ROLE_USER","messageId":"m" } , "x" : 1 } "#;
        let prepared = prepare_send(Method::SendMessage, Params::Text(text)).unwrap();
        let sent = std::str::from_utf8(&prepared.params).unwrap();
        let added = format!(
            "\"taskId\":\"{}\",\"contextId\":\"{}\",",
            prepared.task_id,
            prepared.context_id.as_deref().unwrap()
        );
        assert_eq!(
            sent,
            text.replacen("{ \"parts\"", &format!("{{{added} \"parts\""), 1)
        );
        let message = std::str::from_utf8(&prepared.message_json())
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with('{') && message.ends_with('}'),
            "{message}"
        );
    }

    #[test]
    fn bad_params_name_the_field() {
        let cases = [
            (json!({}), "message"),
            (
                json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{}]}}),
                "message.parts[0]",
            ),
            (
                json!({"message": {"messageId": "m", "role": "USER", "parts": [{"text": "x"}]}}),
                "message.role",
            ),
            (
                json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}),
                "at least one part",
            ),
            (
                json!({"message": {"messageId": "", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
                "messageId",
            ),
        ];
        for (params, needle) in cases {
            let text = params.to_string();
            for p in [Params::Text(&text), Params::Value(params.clone())] {
                let Err(err) = prepare_send(Method::SendMessage, p) else {
                    panic!("{params} accepted");
                };
                assert_eq!(err.kind, ErrorKind::InvalidParams);
                assert!(err.message.contains(needle), "{params}: {}", err.message);
            }
        }
    }

    proptest! {
        /// Whatever ids (in either spelling, empty, null) and other members a
        /// message carries, both paths publish valid JSON whose message carries
        /// each id exactly once, as prepared, and every other member unchanged.
        #[test]
        fn splice_and_value_paths_agree(
            members in proptest::collection::btree_map(
                proptest::sample::select(vec!["taskId", "contextId", "task_id", "context_id", "metadata", "extensions", "x-other"]),
                prop_oneof![
                    Just(json!("")),
                    Just(Value::Null),
                    "[a-z0-9-]{1,8}".prop_map(Value::String),
                ],
                0..5,
            ),
            spaced in any::<bool>(),
        ) {
            let mut message = json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
            for (k, v) in &members {
                message[*k] = match *k {
                    "metadata" => json!({"v": v}),
                    "extensions" => json!([]),
                    _ => v.clone(),
                };
            }
            let params = json!({ "message": message });
            let text = if spaced { serde_json::to_string_pretty(&params).unwrap() } else { params.to_string() };
            let outcomes = [
                prepare_send(Method::SendMessage, Params::Text(&text)),
                prepare_send(Method::SendMessage, Params::Value(params.clone())),
            ];
            for outcome in outcomes {
                let Ok(prepared) = outcome else {
                    // Refused only for an id given in both spellings (the same field twice).
                    let both = |a, b| members.contains_key(a) && members.contains_key(b);
                    prop_assert!(both("taskId", "task_id") || both("contextId", "context_id"));
                    continue;
                };
                let raw = std::str::from_utf8(&prepared.params).unwrap();
                let sent: Value = serde_json::from_str(raw).unwrap();
                let m = &sent["message"];
                prop_assert_eq!(m["taskId"].as_str(), Some(prepared.task_id.as_str()));
                prop_assert!(m.get("task_id").is_none() && m.get("context_id").is_none());
                for key in ["\"taskId\"", "\"contextId\""] {
                    prop_assert!(raw.matches(key).count() <= 1, "{raw}");
                }
                if let Some(ctx) = &prepared.context_id {
                    prop_assert_eq!(m["contextId"].as_str(), Some(ctx.as_str()));
                }
                for (k, v) in m.as_object().unwrap() {
                    if !["taskId", "contextId"].contains(&k.as_str()) {
                        prop_assert_eq!(v, &message[k]);
                    }
                }
                let published: Value = serde_json::from_slice(&prepared.message_json()).unwrap();
                prop_assert_eq!(&published, m);
            }
        }
    }
}
