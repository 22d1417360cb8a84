//! From what agents send to what A2A promises HTTP clients.
//!
//! Agents differ: some answer SendMessage with one Task, some (the stock EMQX SDK)
//! with a stream of status and artifact updates that never starts with a Task,
//! some answer CancelTask with a status update. [`StreamTracker`] reads an agent's
//! reply items in order and produces what the client is owed: a stream that
//! starts with a Task (synthesised when the agent did not send one) and ends on a
//! terminal or interrupted state or a Message; or, for SendMessage, the final
//! Task built by applying every update.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, GatewayError};
use crate::a2a::error::JsonRpcError;
use crate::a2a::jsonrpc;
use crate::a2a::types::TaskState;

/// One reply item from an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentItem {
    Result(Value),
    Error(JsonRpcError),
}

fn invalid(agent: &str, what: impl std::fmt::Display) -> GatewayError {
    GatewayError::new(
        ErrorKind::InvalidAgentResponse,
        format!("agent {agent} sent an invalid reply: {what}"),
    )
    .with("agent", agent)
}

/// Decodes one reply payload: a JSON-RPC response with `result` or `error`.
pub fn decode_reply(agent: &str, payload: &[u8]) -> Result<AgentItem, GatewayError> {
    let response: jsonrpc::Response = serde_json::from_slice(payload)
        .map_err(|e| invalid(agent, format!("not a JSON-RPC response ({e})")))?;
    match (response.result, response.error) {
        (_, Some(error)) => Ok(AgentItem::Error(error)),
        (Some(result), None) => Ok(AgentItem::Result(result)),
        (None, None) => Err(invalid(agent, "neither \"result\" nor \"error\"")),
    }
}

/// An artifact update with `append: true`: applying it twice changes the artifact.
fn is_appended_chunk(item: &AgentItem) -> bool {
    let AgentItem::Result(result) = item else {
        return false;
    };
    result
        .get("artifactUpdate")
        .and_then(|a| a.get("append"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The `result` of an agent's answer to a blocking SendMessage when that answer
/// is the whole outcome: a Task about `task_id`, wrapped as A2A's
/// SendMessageResponse has it, or a Message. The JSON text is returned as it came,
/// checked but not built; `None` (an error, an update, a bare or foreign Task,
/// anything unusual) leaves the reply to [`StreamTracker`].
pub fn relayable_send_result(payload: &Bytes, task_id: &str) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        #[serde(default)]
        error: Option<IgnoredAny>,
    }
    /// Exactly one of the two: `deny_unknown_fields` refuses anything else.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SendResponse<'a> {
        #[serde(borrow)]
        task: Option<TaskHead<'a>>,
        #[serde(borrow)]
        message: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct TaskHead<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
    }
    let envelope: Envelope<'_> = serde_json::from_slice(payload).ok()?;
    if envelope.error.is_some() {
        return None;
    }
    let result = envelope.result?;
    let relayable = match serde_json::from_str::<SendResponse<'_>>(result.get()).ok()? {
        SendResponse {
            task: Some(task),
            message: None,
        } => task.id == task_id,
        SendResponse {
            task: None,
            message: Some(message),
        } => message.get().starts_with('{'),
        _ => false,
    };
    relayable.then(|| payload.slice_ref(result.get().as_bytes()))
}

/// What a result item is.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Task(Value),
    Message(Value),
    Status(Value),
    Artifact(Value),
}

fn classify(result: Value) -> Result<Item, Value> {
    let Value::Object(mut obj) = result else {
        return Err(result);
    };
    if obj.len() == 1 {
        for key in ["task", "message", "statusUpdate", "artifactUpdate"] {
            if let Some(inner) = obj.remove(key) {
                if !inner.is_object() {
                    return Err(json!({ key: inner }));
                }
                return Ok(match key {
                    "task" => Item::Task(inner),
                    "message" => Item::Message(inner),
                    "statusUpdate" => Item::Status(inner),
                    _ => Item::Artifact(inner),
                });
            }
        }
    }
    // A bare Task, as GetTask and CancelTask return it.
    if obj.get("id").is_some_and(Value::is_string)
        && obj.get("status").is_some_and(Value::is_object)
    {
        return Ok(Item::Task(Value::Object(obj)));
    }
    Err(Value::Object(obj))
}

/// `{key: value}` with `value` moved in (`json!` would encode a copy of it).
fn wrap(key: &str, value: Value) -> Value {
    let mut object = Map::with_capacity(1);
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn state_of(status_holder: &Value) -> Option<TaskState> {
    status_holder
        .get("status")
        .and_then(|s| s.get("state"))
        .and_then(Value::as_str)
        .and_then(TaskState::parse)
}

/// The client's message, as JSON text: read only when the gateway has to
/// synthesise a Task whose history starts with it (most agents send their own).
#[derive(Debug, Clone)]
pub struct UserMessage(Bytes);

impl UserMessage {
    /// The message's JSON text.
    pub fn from_json(json: Bytes) -> UserMessage {
        UserMessage(json)
    }

    fn read(&self) -> Option<Value> {
        serde_json::from_slice(&self.0).ok()
    }
}

impl From<Value> for UserMessage {
    fn from(v: Value) -> Self {
        // A `Value` always encodes: its keys are strings.
        UserMessage(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
    }
}

/// How a tracked exchange ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SSE to the client: ends on a terminal or interrupted state, or a Message.
    Stream,
    /// SendMessage waiting for the outcome: same end as `Stream`, and also on a
    /// Task result when the agent was asked with (non-streaming) SendMessage,
    /// because then that Task is its whole answer.
    Blocking { task_result_ends: bool },
    /// SendMessage with `returnImmediately`: ends as soon as the task exists.
    Immediate,
}

/// Turns an agent's reply items into client-facing stream items.
#[derive(Debug)]
pub struct StreamTracker {
    agent: String,
    mode: Mode,
    expected_task: Option<String>,
    context_id: Option<String>,
    user_message: Option<UserMessage>,
    started: bool,
    finished: bool,
    aggregate: Option<Value>,
    final_message: Option<Value>,
    seen: HashSet<u64>,
}

/// Bound on remembered payload hashes for duplicate detection.
const DEDUP_WINDOW: usize = 4096;

impl StreamTracker {
    /// `expected_task` is the task the request is about (minted or named by the
    /// client); replies about another task are refused. `user_message` seeds the
    /// history of a synthesised Task.
    pub fn new(
        agent: impl Into<String>,
        mode: Mode,
        expected_task: Option<String>,
        context_id: Option<String>,
        user_message: Option<UserMessage>,
    ) -> StreamTracker {
        StreamTracker {
            agent: agent.into(),
            mode,
            expected_task,
            context_id,
            user_message,
            started: false,
            finished: false,
            aggregate: None,
            final_message: None,
            seen: HashSet::new(),
        }
    }

    /// Whether the exchange is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// True when `item` repeats an earlier reply byte for byte and repeating it
    /// changes nothing, so it can be dropped as a QoS 1 redelivery: a Task, a
    /// Message, a status update, a replacing artifact update. An appended artifact
    /// chunk is never dropped: a chunk that legitimately repeats (a streamed
    /// token, say) is indistinguishable from a redelivered one, and losing data
    /// is worse than showing a redelivered chunk twice (the broker does not pass
    /// the DUP flag on, and clean sessions make redeliveries rare).
    pub fn is_duplicate(&mut self, payload: &[u8], item: &AgentItem) -> bool {
        if is_appended_chunk(item) {
            return false;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        payload.hash(&mut h);
        let fresh = self.seen.insert(h.finish());
        if self.seen.len() > DEDUP_WINDOW {
            self.seen.clear();
        }
        !fresh
    }

    /// Feeds one decoded reply. Returns the StreamResponse objects to emit, in
    /// order; an exchange that builds an outcome instead (SendMessage) emits
    /// nothing, so items are moved into the outcome rather than copied. An
    /// agent error, or an invalid item, ends the exchange with `Err`.
    pub fn on_item(&mut self, item: AgentItem) -> Result<Vec<Value>, GatewayError> {
        let result = match item {
            AgentItem::Error(e) => {
                self.finished = true;
                return Err(GatewayError::from_agent(&self.agent, e));
            }
            AgentItem::Result(r) => r,
        };
        let item = classify(result).map_err(|other| {
            self.finished = true;
            let shown: String = other.to_string().chars().take(200).collect();
            invalid(
                &self.agent,
                format!("expected a Task, Message, status update or artifact update, got {shown}"),
            )
        })?;
        let mut out = Vec::new();
        match item {
            Item::Message(message) => {
                self.finished = true;
                if self.aggregates() {
                    self.final_message = Some(message);
                } else {
                    out.push(wrap("message", message));
                }
            }
            Item::Task(task) => {
                self.check_task_id(str_field(&task, "id"))?;
                let state = state_of(&task);
                if let Some(ctx) = str_field(&task, "contextId") {
                    self.context_id.get_or_insert_with(|| ctx.to_owned());
                }
                self.started = true;
                if state.is_some_and(TaskState::ends_stream)
                    || matches!(self.mode, Mode::Immediate)
                    || matches!(
                        self.mode,
                        Mode::Blocking {
                            task_result_ends: true
                        }
                    )
                {
                    self.finished = true;
                }
                if self.aggregates() {
                    self.aggregate = Some(task);
                } else {
                    out.push(wrap("task", task));
                }
            }
            Item::Status(event) => {
                self.check_task_id(str_field(&event, "taskId"))?;
                if !self.started {
                    let status = event.get("status").cloned();
                    out.extend(self.synthesise(&event, status));
                }
                let ends = state_of(&event).is_some_and(TaskState::ends_stream);
                if ends || matches!(self.mode, Mode::Immediate) {
                    self.finished = true;
                }
                if self.aggregates() {
                    self.apply_status(event);
                } else {
                    out.push(wrap("statusUpdate", event));
                }
            }
            Item::Artifact(event) => {
                self.check_task_id(str_field(&event, "taskId"))?;
                if !self.started {
                    let working = json!({ "state": TaskState::Working.as_str() });
                    out.extend(self.synthesise(&event, Some(working)));
                }
                if matches!(self.mode, Mode::Immediate) {
                    self.finished = true;
                }
                if self.aggregates() {
                    self.apply_artifact(event);
                } else {
                    out.push(wrap("artifactUpdate", event));
                }
            }
        }
        if self.started && !self.aggregates() {
            // Only a synthesised first Task needs it.
            self.user_message = None;
        }
        Ok(out)
    }

    /// Whether the outcome is built here. A stream relays items and keeps
    /// nothing of them: its memory must not grow with what it carries.
    fn aggregates(&self) -> bool {
        self.mode != Mode::Stream
    }

    /// The task this exchange is about, once known.
    pub fn task_id(&self) -> Option<&str> {
        self.expected_task.as_deref()
    }

    /// Ends the exchange with a Task fetched by GetTask after the stream went
    /// quiet (the profile's recovery). The caller checked that its state ends the
    /// stream. Returns the item to emit: the Task itself if nothing was sent yet,
    /// else a status update carrying its final status.
    pub fn recover_with(&mut self, task: Value) -> Vec<Value> {
        self.finished = true;
        let item = if self.started {
            json!({ "statusUpdate": {
                "taskId": task.get("id").cloned().unwrap_or(Value::Null),
                "contextId": task.get("contextId").cloned().unwrap_or_else(|| Value::String(String::new())),
                "status": task.get("status").cloned().unwrap_or(Value::Null),
            }})
        } else {
            wrap("task", task.clone())
        };
        self.started = true;
        self.aggregate = Some(task);
        vec![item]
    }

    /// The outcome for SendMessage, taken out: `{"message": ...}` or
    /// `{"task": ...}` (never for a stream: it keeps nothing).
    pub fn take_outcome(&mut self) -> Option<Value> {
        if let Some(m) = self.final_message.take() {
            return Some(wrap("message", m));
        }
        self.aggregate.take().map(|t| wrap("task", t))
    }

    fn check_task_id(&mut self, got: Option<&str>) -> Result<(), GatewayError> {
        match (&self.expected_task, got) {
            (Some(expected), Some(got)) if expected != got => {
                self.finished = true;
                Err(invalid(
                    &self.agent,
                    format!("it is about task {got:?} but the request was for task {expected:?}"),
                ))
            }
            (None, Some(got)) => {
                self.expected_task = Some(got.to_owned());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A Task standing in for the one the agent did not send first: the item
    /// to emit, or (when aggregating) the start of the outcome.
    fn synthesise(&mut self, event: &Value, status: Option<Value>) -> Option<Value> {
        let id = str_field(event, "taskId")
            .map(str::to_owned)
            .or_else(|| self.expected_task.clone())
            .unwrap_or_default();
        let context_id = str_field(event, "contextId")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or_else(|| self.context_id.clone())
            .unwrap_or_default();
        let mut task = Map::new();
        task.insert("id".into(), Value::String(id));
        task.insert("contextId".into(), Value::String(context_id));
        task.insert(
            "status".into(),
            status.unwrap_or_else(|| json!({ "state": TaskState::Submitted.as_str() })),
        );
        if let Some(m) = self.user_message.take().and_then(|m| m.read()) {
            task.insert("history".into(), Value::Array(vec![m]));
        }
        let task = Value::Object(task);
        self.started = true;
        if self.aggregates() {
            self.aggregate = Some(task);
            None
        } else {
            Some(wrap("task", task))
        }
    }

    fn apply_status(&mut self, mut event: Value) {
        let Some(Value::Object(task)) = self.aggregate.as_mut() else {
            return;
        };
        let Some(status) = event.get_mut("status").map(Value::take) else {
            return;
        };
        // Like the official SDKs: a status message that is being replaced moves
        // into the history, so progress messages are not lost.
        if let Some(old_message) = task
            .get("status")
            .and_then(|s| s.get("message"))
            .filter(|m| m.is_object())
            .cloned()
        {
            let history = task
                .entry("history")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(h) = history {
                h.push(old_message);
            }
        }
        task.insert("status".into(), status);
    }

    fn apply_artifact(&mut self, mut event: Value) {
        let Some(Value::Object(task)) = self.aggregate.as_mut() else {
            return;
        };
        let append = event
            .get("append")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let Some(artifact) = event
            .get_mut("artifact")
            .filter(|a| a.is_object())
            .map(Value::take)
        else {
            return;
        };
        let artifacts = task
            .entry("artifacts")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = artifacts else {
            return;
        };
        let id = artifact.get("artifactId");
        let existing = list
            .iter_mut()
            .find(|a| id.is_some() && a.get("artifactId") == id);
        match existing {
            Some(current) if append => match (current.get_mut("parts"), artifact) {
                (Some(Value::Array(parts)), mut artifact) => {
                    if let Some(Value::Array(new_parts)) =
                        artifact.get_mut("parts").map(Value::take)
                    {
                        parts.extend(new_parts);
                    }
                }
                (_, artifact) => *current = artifact,
            },
            Some(current) => *current = artifact,
            None => list.push(artifact),
        }
    }
}

/// Reads a unary Task result (GetTask, CancelTask): a bare Task, a `{"task"}`
/// wrapper, or a status update (how the EMQX SDK answers CancelTask).
pub fn task_result(agent: &str, expected_id: &str, result: Value) -> Result<Value, GatewayError> {
    let task = match classify(result) {
        Ok(Item::Task(task)) => task,
        Ok(Item::Status(event)) => json!({
            "id": str_field(&event, "taskId").unwrap_or(expected_id),
            "contextId": str_field(&event, "contextId").unwrap_or_default(),
            "status": event.get("status").cloned().unwrap_or(Value::Null),
        }),
        Ok(other) => {
            return Err(invalid(
                agent,
                format!("expected a Task, got {}", kind_name(&other)),
            ));
        }
        Err(other) => {
            let shown: String = other.to_string().chars().take(200).collect();
            return Err(invalid(agent, format!("expected a Task, got {shown}")));
        }
    };
    match str_field(&task, "id") {
        Some(id) if id == expected_id => Ok(task),
        Some(id) => Err(invalid(
            agent,
            format!("it is about task {id:?} but the request was for task {expected_id:?}"),
        )),
        None => Err(invalid(agent, "the Task has no id")),
    }
}

fn kind_name(item: &Item) -> &'static str {
    match item {
        Item::Task(_) => "a Task",
        Item::Message(_) => "a Message",
        Item::Status(_) => "a status update",
        Item::Artifact(_) => "an artifact update",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(task: &str, state: &str) -> AgentItem {
        AgentItem::Result(
            json!({"statusUpdate": {"taskId": task, "contextId": "c1", "status": {"state": state}}}),
        )
    }

    fn artifact(task: &str, id: &str, text: &str, append: bool) -> AgentItem {
        AgentItem::Result(
            json!({"artifactUpdate": {"taskId": task, "contextId": "c1", "append": append,
            "artifact": {"artifactId": id, "parts": [{"text": text}]}}}),
        )
    }

    fn user_msg() -> Value {
        json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}], "taskId": "t1"})
    }

    fn tracker_with_user_message(mode: Mode) -> StreamTracker {
        StreamTracker::new(
            "o/u/a",
            mode,
            Some("t1".into()),
            None,
            Some(user_msg().into()),
        )
    }

    #[test]
    fn emqx_style_stream_gets_a_synthesised_task_first() {
        let mut t = tracker_with_user_message(Mode::Stream);
        let first = t.on_item(status("t1", "TASK_STATE_SUBMITTED")).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0]["task"]["id"], "t1");
        assert_eq!(first[0]["task"]["contextId"], "c1");
        assert_eq!(first[0]["task"]["status"]["state"], "TASK_STATE_SUBMITTED");
        assert_eq!(first[0]["task"]["history"][0]["messageId"], "m");
        assert!(first[1].get("statusUpdate").is_some());
        assert!(!t.is_finished());
        assert_eq!(
            t.on_item(status("t1", "TASK_STATE_WORKING")).unwrap().len(),
            1
        );
        assert_eq!(t.on_item(artifact("t1", "a", "x", false)).unwrap().len(), 1);
        t.on_item(status("t1", "TASK_STATE_COMPLETED")).unwrap();
        assert!(t.is_finished());
    }

    #[test]
    fn a_stream_keeps_nothing_of_what_it_relays() {
        let mut t = tracker_with_user_message(Mode::Stream);
        t.on_item(status("t1", "TASK_STATE_WORKING")).unwrap();
        for i in 0..1000 {
            let out = t
                .on_item(artifact("t1", "a", &"x".repeat(100), i > 0))
                .unwrap();
            assert_eq!(out.len(), 1);
        }
        assert!(t.user_message.is_none());
        assert!(
            t.aggregate.is_none(),
            "a stream must not accumulate artifacts"
        );
        assert_eq!(t.take_outcome(), None);
        // The same items in a blocking exchange do build the outcome.
        let mut b = tracker_with_user_message(Mode::Blocking {
            task_result_ends: false,
        });
        b.on_item(status("t1", "TASK_STATE_WORKING")).unwrap();
        for i in 0..3 {
            b.on_item(artifact("t1", "a", "x", i > 0)).unwrap();
        }
        let task = b.take_outcome().unwrap();
        assert_eq!(
            task["task"]["artifacts"][0]["parts"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(task["task"]["history"][0]["messageId"], "m");
    }

    #[test]
    fn an_agent_task_first_is_passed_as_is() {
        let mut t = StreamTracker::new("o/u/a", Mode::Stream, Some("t1".into()), None, None);
        let out = t
            .on_item(AgentItem::Result(json!({"task": {"id": "t1", "contextId": "c", "status": {"state": "TASK_STATE_SUBMITTED"}, "x-extra": 1}})))
            .unwrap();
        assert_eq!(
            out,
            vec![
                json!({"task": {"id": "t1", "contextId": "c", "status": {"state": "TASK_STATE_SUBMITTED"}, "x-extra": 1}})
            ]
        );
    }

    #[test]
    fn interrupted_states_and_messages_end_the_stream() {
        let mut t = StreamTracker::new("a", Mode::Stream, Some("t1".into()), None, None);
        t.on_item(status("t1", "TASK_STATE_INPUT_REQUIRED"))
            .unwrap();
        assert!(t.is_finished());
        let mut t = StreamTracker::new("a", Mode::Stream, None, None, None);
        t.on_item(AgentItem::Result(
            json!({"message": {"messageId": "x", "role": "ROLE_AGENT", "parts": []}}),
        ))
        .unwrap();
        assert!(t.is_finished());
        let mut b = StreamTracker::new(
            "a",
            Mode::Blocking {
                task_result_ends: false,
            },
            None,
            None,
            None,
        );
        b.on_item(AgentItem::Result(
            json!({"message": {"messageId": "x", "role": "ROLE_AGENT", "parts": []}}),
        ))
        .unwrap();
        assert!(b.is_finished());
        assert!(b.take_outcome().unwrap().get("message").is_some());
    }

    #[test]
    fn blocking_aggregation_builds_the_final_task() {
        let mut t = StreamTracker::new(
            "a",
            Mode::Blocking {
                task_result_ends: false,
            },
            Some("t1".into()),
            Some("c1".into()),
            Some(user_msg().into()),
        );
        t.on_item(status("t1", "TASK_STATE_SUBMITTED")).unwrap();
        t.on_item(AgentItem::Result(json!({"statusUpdate": {"taskId": "t1", "contextId": "c1",
            "status": {"state": "TASK_STATE_WORKING", "message": {"messageId": "p", "role": "ROLE_AGENT", "parts": [{"text": "50%"}]}}}})))
            .unwrap();
        t.on_item(artifact("t1", "a1", "hello ", false)).unwrap();
        t.on_item(artifact("t1", "a1", "world", true)).unwrap();
        t.on_item(artifact("t1", "a2", "other", false)).unwrap();
        t.on_item(status("t1", "TASK_STATE_COMPLETED")).unwrap();
        assert!(t.is_finished());
        let task = t.take_outcome().unwrap()["task"].clone();
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED");
        assert_eq!(
            task["artifacts"][0]["parts"],
            json!([{"text": "hello "}, {"text": "world"}])
        );
        assert_eq!(task["artifacts"][1]["artifactId"], "a2");
        let history = task["history"].as_array().unwrap();
        assert_eq!(history[0]["messageId"], "m");
        assert_eq!(
            history[1]["messageId"], "p",
            "replaced progress message kept in history"
        );
    }

    #[test]
    fn a_task_reply_to_plain_send_message_is_the_whole_answer() {
        let mut t = StreamTracker::new(
            "a",
            Mode::Blocking {
                task_result_ends: true,
            },
            Some("t1".into()),
            None,
            None,
        );
        t.on_item(AgentItem::Result(
            json!({"task": {"id": "t1", "status": {"state": "TASK_STATE_WORKING"}}}),
        ))
        .unwrap();
        assert!(t.is_finished());
    }

    #[test]
    fn immediate_mode_ends_once_the_task_exists() {
        let mut t = StreamTracker::new("a", Mode::Immediate, Some("t1".into()), None, None);
        t.on_item(status("t1", "TASK_STATE_SUBMITTED")).unwrap();
        assert!(t.is_finished());
        assert_eq!(
            t.take_outcome().unwrap()["task"]["status"]["state"],
            "TASK_STATE_SUBMITTED"
        );
    }

    #[test]
    fn a_reply_for_another_task_is_refused() {
        let mut t = StreamTracker::new("o/u/a", Mode::Stream, Some("t1".into()), None, None);
        let err = t.on_item(status("t2", "TASK_STATE_WORKING")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAgentResponse);
        assert!(err.message.contains("t2"), "{}", err.message);
        assert!(t.is_finished());
    }

    #[test]
    fn garbage_is_reported_not_relayed() {
        assert_eq!(
            decode_reply("a", b"\xff\xfe").unwrap_err().kind,
            ErrorKind::InvalidAgentResponse
        );
        assert_eq!(
            decode_reply("a", b"{}").unwrap_err().kind,
            ErrorKind::InvalidAgentResponse
        );
        let mut t = StreamTracker::new("a", Mode::Stream, None, None, None);
        let err = t.on_item(AgentItem::Result(json!([1, 2]))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAgentResponse);
        let err = t
            .on_item(AgentItem::Result(json!({"statusUpdate": 5})))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAgentResponse);
    }

    #[test]
    fn whole_send_outcomes_are_relayed_as_they_came() {
        let relay = |payload: &str| {
            relayable_send_result(&Bytes::copy_from_slice(payload.as_bytes()), "t-1")
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
        };
        let task =
            r#"{"task": {"status": {"state": "TASK_STATE_COMPLETED"}, "id": "t-1", "x": [1]}}"#;
        assert_eq!(
            relay(&format!(r#"{{"jsonrpc":"2.0","id":"q","result":{task}}}"#)).as_deref(),
            Some(task)
        );
        let escaped = r#"{"task":{"id":"t-1","status":{}}}"#;
        assert_eq!(
            relay(&format!(r#"{{"result":{escaped}}}"#)).as_deref(),
            Some(escaped)
        );
        let message = r#"{"message":{"messageId":"m","role":"ROLE_AGENT","parts":[]}}"#;
        assert_eq!(
            relay(&format!(r#"{{"result":{message},"error":null}}"#)).as_deref(),
            Some(message)
        );
        for other in [
            r#"{"result":{"task":{"id":"t-2","status":{}}}}"#,
            r#"{"result":{"task":{"status":{}}}}"#,
            r#"{"result":{"id":"t-1","status":{}}}"#,
            r#"{"result":{"task":{"id":"t-1"},"message":{}}}"#,
            r#"{"result":{"task":{"id":"t-1"},"extra":1}}"#,
            r#"{"result":{"task":{"id":"t-1"}},"result":{"task":{"id":"t-1"}}}"#,
            r#"{"result":{"message":"text"}}"#,
            r#"{"result":{"statusUpdate":{"taskId":"t-1"}}}"#,
            r#"{"result":{"task":{"id":"t-1"}},"error":{"code":-32001,"message":"x"}}"#,
            r#"{"error":{"code":-32001,"message":"x"}}"#,
            r#"{"result":{"task":{"id":"t-1"}}"#,
            "not json",
        ] {
            assert_eq!(relay(other), None, "{other}");
        }
    }

    #[test]
    fn repeated_replies_are_duplicates_except_appended_chunks() {
        let mut t = StreamTracker::new("a", Mode::Stream, None, None, None);
        let status =
            json!({"statusUpdate": {"taskId": "t", "status": {"state": "TASK_STATE_WORKING"}}});
        let chunk = json!({"artifactUpdate": {"taskId": "t", "append": true,
            "artifact": {"artifactId": "x", "parts": [{"text": "ha"}]}}});
        let replaced = json!({"artifactUpdate": {"taskId": "t", "append": false,
            "artifact": {"artifactId": "x", "parts": [{"text": "ha"}]}}});
        for (item, repeats_dropped) in [(status, true), (replaced, true), (chunk, false)] {
            let payload = item.to_string();
            let item = AgentItem::Result(item);
            assert!(!t.is_duplicate(payload.as_bytes(), &item), "{payload}");
            assert_eq!(
                t.is_duplicate(payload.as_bytes(), &item),
                repeats_dropped,
                "{payload}"
            );
        }
    }

    #[test]
    fn unary_task_results_are_normalised() {
        let bare = json!({"id": "t", "status": {"state": "TASK_STATE_WORKING"}});
        assert_eq!(task_result("a", "t", bare.clone()).unwrap(), bare);
        assert_eq!(
            task_result("a", "t", json!({"task": bare.clone()})).unwrap(),
            bare
        );
        let from_status = task_result(
            "a",
            "t",
            json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_CANCELED"}}}),
        )
        .unwrap();
        assert_eq!(from_status["status"]["state"], "TASK_STATE_CANCELED");
        assert_eq!(from_status["contextId"], "c");
        assert!(task_result("a", "other", bare).is_err());
        assert!(task_result("a", "t", json!({"message": {}})).is_err());
    }
}
