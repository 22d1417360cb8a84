//! One A2A call to one agent, independent of the HTTP binding (JSON-RPC or REST)
//! and of the protocol version the client speaks: params come in as A2A v1.0
//! JSON, results go out as v1.0 JSON, and the bindings translate.
//!
//! The agent is looked up first (unknown and offline agents fail at once); each
//! call becomes one MQTT request; [`super::exchange`] turns the replies into what
//! A2A promises the client.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::{Value, json};

use super::AppState;
use super::cards::{interfaces, public_base};
use super::error::{ErrorKind, GatewayError};
use super::exchange::{
    AgentItem, Mode, StreamTracker, UserMessage, decode_reply, relayable_send_result, task_result,
};
use super::send::{Params, PreparedSend, prepare_send, require_non_empty, typed_params};
use crate::a2a::Method;
use crate::a2a::card::served_card;
use crate::a2a::jsonrpc;
use crate::a2a::types::{GetTaskRequest, ListTasksRequest, TaskIdRequest, TaskState};
use crate::mqtt::{AgentAddr, Exchange, OutboundRequest, Reply, RequestError};
use crate::registry::{AgentEntry, Liveness};

/// A stream of v1.0 `StreamResponse` items; an `Err` is the last item.
pub type ItemStream = BoxStream<'static, Result<Value, GatewayError>>;

/// A unary call's v1.0 result.
#[derive(Debug)]
pub enum CallResult {
    /// Built, normalised or checked field by field by the gateway.
    Value(Value),
    /// The JSON text of the agent's `result`, relayed as it came: a blocking
    /// SendMessage answered by the whole outcome at once (the common case),
    /// checked without being built (see [`relayable_send_result`]).
    Relayed(Bytes),
}

impl CallResult {
    /// The result as a value, for bindings and versions that rewrite it.
    pub fn into_value(self) -> Result<Value, GatewayError> {
        match self {
            CallResult::Value(v) => Ok(v),
            CallResult::Relayed(json) => serde_json::from_slice(&json).map_err(|e| {
                GatewayError::new(
                    ErrorKind::Internal,
                    format!("a relayed result could not be read back: {e}"),
                )
            }),
        }
    }
}

/// What a call produces once it is under way.
pub enum Outcome {
    /// One v1.0 result, possibly slow to come.
    Unary(BoxFuture<'static, Result<CallResult, GatewayError>>),
    /// A stream whose first items already arrived (so failures before the
    /// stream are an `Err` of [`Call::execute`] instead).
    Stream(ItemStream),
}

/// True for a first reply the profile says to retry: -32003/-32004 with
/// `data.a2a_error`.
fn is_retryable(reply: &Reply) -> bool {
    jsonrpc::reply_error(&reply.payload)
        .and_then(|e| e.profile_error())
        .is_some_and(|p| p.is_retryable())
}

/// One call to one agent.
pub struct Call {
    state: AppState,
    addr: AgentAddr,
    agent: String,
}

impl Call {
    /// Validates the agent address from the URL.
    pub fn new(state: AppState, org: &str, unit: &str, agent: &str) -> Result<Call, GatewayError> {
        let addr = AgentAddr::new(org, unit, agent).map_err(|e| {
            GatewayError::new(
                ErrorKind::InvalidParams,
                format!("invalid agent address in the URL: {e}"),
            )
        })?;
        Ok(Call {
            agent: addr.to_string(),
            addr,
            state,
        })
    }

    /// The agent's address.
    pub fn addr(&self) -> &AgentAddr {
        &self.addr
    }

    /// The agent's index entry; unknown and offline agents fail here, at once.
    fn entry(&self) -> Result<Arc<AgentEntry>, GatewayError> {
        let entry = self.state.index().get(&self.addr).ok_or_else(|| {
            GatewayError::new(
                ErrorKind::AgentNotFound,
                format!(
                    "no agent {} is registered (no valid card on its discovery topic)",
                    self.agent
                ),
            )
            .with("agent", &self.agent)
        })?;
        if entry.status == Liveness::Offline {
            let source = entry.status_source.as_deref().unwrap_or("agent");
            return Err(GatewayError::new(
                ErrorKind::AgentOffline,
                format!(
                    "agent {} is offline (reported by {source}); try again when it is back",
                    self.agent
                ),
            )
            .with("agent", &self.agent)
            .with("statusSource", source));
        }
        Ok(entry)
    }

    /// Validates `params` (A2A v1.0 JSON) and starts the call. `headers` are the
    /// HTTP request's (a card served back names this gateway as they say).
    pub async fn execute(
        self,
        method: Method,
        params: impl Into<Params<'_>>,
        headers: &HeaderMap,
    ) -> Result<Outcome, GatewayError> {
        let params = params.into();
        let entry = self.entry()?;
        if method.is_streaming() && !entry.streaming {
            return Err(GatewayError::new(
                ErrorKind::UnsupportedOperation,
                format!(
                    "agent {} does not support streaming (its card says capabilities.streaming is not true)",
                    self.agent
                ),
            ));
        }
        match method {
            Method::SendMessage => {
                let prepared = prepare_send(method, params)?;
                Ok(Outcome::Unary(Box::pin(async move {
                    self.send_message_outcome(&entry, prepared).await
                })))
            }
            Method::SendStreamingMessage => {
                let prepared = prepare_send(method, params)?;
                let request = self.send_request(method, &prepared);
                let tracker = StreamTracker::new(
                    &self.agent,
                    Mode::Stream,
                    Some(prepared.task_id.clone()),
                    prepared.context_id.clone(),
                    Some(UserMessage::from_json(prepared.message_json())),
                );
                self.stream(request, tracker).await
            }
            Method::GetTask => {
                let params = params.into_value()?;
                let typed: GetTaskRequest = typed_params(method, &params)?;
                require_non_empty(&typed.id, "params.id")?;
                Ok(Outcome::Unary(Box::pin(async move {
                    let result = self.unary(method, &params).await?;
                    task_result(&self.agent, &typed.id, result).map(CallResult::Value)
                })))
            }
            Method::CancelTask => {
                let params = params.into_value()?;
                let typed: TaskIdRequest = typed_params(method, &params)?;
                require_non_empty(&typed.id, "params.id")?;
                Ok(Outcome::Unary(Box::pin(async move {
                    let result = self.unary(method, &params).await?;
                    task_result(&self.agent, &typed.id, result).map(CallResult::Value)
                })))
            }
            Method::ListTasks => {
                let params = params.into_value()?;
                let _: ListTasksRequest = typed_params(method, &params)?;
                Ok(Outcome::Unary(Box::pin(async move {
                    let result = self.unary(method, &params).await?;
                    if !result.get("tasks").is_some_and(Value::is_array) {
                        return Err(GatewayError::new(
                            ErrorKind::InvalidAgentResponse,
                            format!(
                                "agent {} answered ListTasks without a \"tasks\" array",
                                self.agent
                            ),
                        ));
                    }
                    Ok(CallResult::Value(result))
                })))
            }
            Method::SubscribeToTask => {
                let params = params.into_value()?;
                let typed: TaskIdRequest = typed_params(method, &params)?;
                require_non_empty(&typed.id, "params.id")?;
                let tracker =
                    StreamTracker::new(&self.agent, Mode::Stream, Some(typed.id), None, None);
                let request = self.request(method, &params);
                self.stream(request, tracker).await
            }
            Method::GetExtendedAgentCard => {
                let params = params.into_value()?;
                let base_url = public_base(&self.state.config().http, headers);
                Ok(Outcome::Unary(Box::pin(async move {
                    let result = self.unary(method, &params).await?;
                    if !result.is_object() {
                        return Err(GatewayError::new(
                            ErrorKind::InvalidAgentResponse,
                            format!(
                                "agent {} answered GetExtendedAgentCard with something that is not a card",
                                self.agent
                            ),
                        ));
                    }
                    Ok(CallResult::Value(served_card(
                        &result,
                        &interfaces(&base_url, &self.addr),
                    )))
                })))
            }
            Method::CreateTaskPushNotificationConfig
            | Method::GetTaskPushNotificationConfig
            | Method::ListTaskPushNotificationConfigs
            | Method::DeleteTaskPushNotificationConfig => Err(GatewayError::new(
                ErrorKind::PushNotificationNotSupported,
                "push notifications are not supported through this gateway; use SubscribeToTask or GetTask",
            )),
        }
    }

    /// `method(params)` for the agent's request topic.
    fn request(&self, method: Method, params: &Value) -> OutboundRequest {
        OutboundRequest::new(self.addr.request_topic(), rpc_payload(method, params))
    }

    /// `method(prepared params)` for the agent's request topic.
    fn send_request(&self, method: Method, prepared: &PreparedSend) -> OutboundRequest {
        OutboundRequest::new(
            self.addr.request_topic(),
            rpc_payload_json(method, &prepared.params),
        )
    }

    async fn publish(&self, request: &OutboundRequest) -> Result<Exchange, GatewayError> {
        self.state
            .requester()
            .start(request, &is_retryable)
            .await
            .map_err(|e| GatewayError::from_request(&self.agent, e))
    }

    /// A call answered by one reply.
    async fn unary(&self, method: Method, params: &Value) -> Result<Value, GatewayError> {
        let mut exchange = self.publish(&self.request(method, params)).await?;
        let reply = exchange
            .next()
            .await
            .map_err(|e| GatewayError::from_request(&self.agent, e))?;
        match decode_reply(&self.agent, &reply.payload)? {
            AgentItem::Result(v) => Ok(v),
            AgentItem::Error(e) => Err(GatewayError::from_agent(&self.agent, e)),
        }
    }

    /// The next client items from the exchange; on a stalled stream, asks the
    /// agent for the task (the profile's recovery) before giving up.
    async fn next_items(
        &self,
        exchange: &mut Exchange,
        tracker: &mut StreamTracker,
    ) -> Result<Vec<Value>, GatewayError> {
        loop {
            let reply = match exchange.next().await {
                Ok(reply) => reply,
                // Boxed: the recovery (a whole GetTask exchange) is rare, and
                // inline it would double the state every open stream holds.
                Err(RequestError::StreamIdle { idle }) => {
                    return Box::pin(self.recover(tracker, idle)).await;
                }
                Err(e) => return Err(GatewayError::from_request(&self.agent, e)),
            };
            let item = decode_reply(&self.agent, &reply.payload)?;
            if tracker.is_duplicate(&reply.payload, &item) {
                tracing::debug!(agent = %self.agent, "duplicate reply ignored");
                continue;
            }
            return tracker.on_item(item);
        }
    }

    async fn recover(
        &self,
        tracker: &mut StreamTracker,
        idle: Duration,
    ) -> Result<Vec<Value>, GatewayError> {
        let idle_error = GatewayError::from_request(&self.agent, RequestError::StreamIdle { idle });
        let Some(task_id) = tracker.task_id().map(str::to_owned) else {
            return Err(idle_error);
        };
        // An agent now reported offline (its Last Will, typically: it died
        // mid-task) or unregistered cannot answer GetTask; asking would only
        // delay the error by another full round of first-reply timeouts.
        if let Err(gone) = self.entry() {
            let status = match gone.kind {
                ErrorKind::AgentOffline => "offline",
                _ => "unregistered",
            };
            let mut e = idle_error.with("agentStatus", status);
            e.message = format!("{}; agent {} is now {status}", e.message, self.agent);
            return Err(e);
        }
        let params = json!({ "id": task_id });
        let task = match self.unary(Method::GetTask, &params).await {
            Ok(result) => task_result(&self.agent, &task_id, result)?,
            Err(e) if e.kind == ErrorKind::ShuttingDown => return Err(e),
            Err(_) => return Err(idle_error),
        };
        let state = task
            .get("status")
            .and_then(|s| s.get("state"))
            .and_then(Value::as_str)
            .and_then(TaskState::parse);
        match state {
            Some(s) if s.ends_stream() => Ok(tracker.recover_with(task)),
            other => Err(idle_error.with("taskState", other.map_or("unknown", TaskState::as_str))),
        }
    }

    async fn send_message_outcome(
        &self,
        entry: &AgentEntry,
        prepared: PreparedSend,
    ) -> Result<CallResult, GatewayError> {
        // A blocking call goes out as what it is, SendMessage: one reply for the
        // common short task. Should that reply not come within the first-reply
        // timeout, the retries (same Task.id) ask a streaming agent with
        // SendStreamingMessage instead: the agent, deduplicating by Task.id,
        // streams the task from where it is, so a long task is bounded by the
        // idle timeout between updates and not by the first-reply timeout.
        let mut request = self.send_request(Method::SendMessage, &prepared);
        if entry.streaming && !prepared.return_immediately {
            request.retry_payload = Some(rpc_payload_json(
                Method::SendStreamingMessage,
                &prepared.params,
            ));
        }
        let mut exchange = self.publish(&request).await?;
        let mode = if prepared.return_immediately {
            Mode::Immediate
        } else {
            Mode::Blocking {
                task_result_ends: request.retry_payload.is_none() || exchange.attempts() == 1,
            }
        };
        // The agent answered SendMessage with its whole outcome: relay it as it
        // came instead of building it only to encode it again.
        if mode
            == (Mode::Blocking {
                task_result_ends: true,
            })
            && prepared.history_length.is_none()
        {
            if let Some(result) = exchange
                .first()
                .and_then(|reply| relayable_send_result(&reply.payload, &prepared.task_id))
            {
                return Ok(CallResult::Relayed(result));
            }
        }
        let mut tracker = StreamTracker::new(
            &self.agent,
            mode,
            Some(prepared.task_id.clone()),
            prepared.context_id.clone(),
            Some(UserMessage::from_json(prepared.message_json())),
        );
        while !tracker.is_finished() {
            self.next_items(&mut exchange, &mut tracker).await?;
        }
        let mut outcome = tracker.take_outcome().ok_or_else(|| {
            GatewayError::new(
                ErrorKind::InvalidAgentResponse,
                format!("agent {} ended without a result", self.agent),
            )
        })?;
        if let (Some(n), Some(task)) = (prepared.history_length, outcome.get_mut("task")) {
            trim_history(task, n);
        }
        Ok(CallResult::Value(outcome))
    }

    /// Starts a stream and waits for its first items.
    async fn stream(
        self,
        request: OutboundRequest,
        mut tracker: StreamTracker,
    ) -> Result<Outcome, GatewayError> {
        let mut exchange = self.publish(&request).await?;
        let first = self.next_items(&mut exchange, &mut tracker).await?;
        let shutdown = self.state.shutdown_token().clone();
        let items = async_stream::stream! {
            for item in first {
                yield Ok(item);
            }
            while !tracker.is_finished() {
                let next = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => Err(GatewayError::new(
                        ErrorKind::ShuttingDown,
                        "the gateway is shutting down; resume with SubscribeToTask on another instance",
                    )),
                    items = self.next_items(&mut exchange, &mut tracker) => items,
                };
                match next {
                    Ok(items) => {
                        for item in items {
                            yield Ok(item);
                        }
                    }
                    Err(e) => {
                        yield Err(e);
                        break;
                    }
                }
            }
        };
        Ok(Outcome::Stream(Box::pin(items)))
    }
}

/// One JSON-RPC request, with an id of its own (the client's id stays at the edge).
fn rpc_payload(method: Method, params: &Value) -> Bytes {
    rpc_envelope(method, |out| {
        // Encoding a `Value` cannot fail: its keys are strings.
        if serde_json::to_writer(&mut *out, params).is_err() {
            out.extend_from_slice(b"{}");
        }
    })
}

/// [`rpc_payload`] around params that are already JSON text.
fn rpc_payload_json(method: Method, params: &[u8]) -> Bytes {
    rpc_envelope(method, |out| out.extend_from_slice(params))
}

fn rpc_envelope(method: Method, write_params: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":\"");
    out.extend_from_slice(
        uuid::Uuid::new_v4()
            .simple()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"method\":\"");
    out.extend_from_slice(method.name().as_bytes());
    out.extend_from_slice(b"\",\"params\":");
    write_params(&mut out);
    out.push(b'}');
    Bytes::from(out)
}

/// Applies `historyLength` to a Task built by the gateway (0 removes history).
fn trim_history(task: &mut Value, n: i32) {
    let Some(obj) = task.as_object_mut() else {
        return;
    };
    if n <= 0 {
        obj.remove("history");
        return;
    }
    if let Some(Value::Array(h)) = obj.get_mut("history") {
        let keep = n as usize;
        if h.len() > keep {
            h.drain(..h.len() - keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_trimming() {
        let mut t = json!({"history": [1, 2, 3]});
        trim_history(&mut t, 2);
        assert_eq!(t["history"], json!([2, 3]));
        trim_history(&mut t, 0);
        assert!(t.get("history").is_none());
    }
}
