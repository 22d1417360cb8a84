//! A2A v1.0 data model in its ProtoJSON form (camelCase fields, SCREAMING_SNAKE
//! enums), as defined by `a2a-v1.0.1.proto`.
//!
//! Parsers accept the proto field names too (`message_id` as well as `messageId`),
//! as ProtoJSON requires. Unknown fields are ignored on input (spec §5.7); the
//! gateway forwards the client's original JSON, so nothing is lost in transit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// JSON object used for `metadata` fields.
pub type Metadata = Map<String, Value>;

/// Lifecycle state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "TASK_STATE_UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "TASK_STATE_SUBMITTED")]
    Submitted,
    #[serde(rename = "TASK_STATE_WORKING")]
    Working,
    #[serde(rename = "TASK_STATE_COMPLETED")]
    Completed,
    #[serde(rename = "TASK_STATE_FAILED")]
    Failed,
    #[serde(rename = "TASK_STATE_CANCELED")]
    Canceled,
    #[serde(rename = "TASK_STATE_INPUT_REQUIRED")]
    InputRequired,
    #[serde(rename = "TASK_STATE_REJECTED")]
    Rejected,
    #[serde(rename = "TASK_STATE_AUTH_REQUIRED")]
    AuthRequired,
}

impl TaskState {
    /// The ProtoJSON name, e.g. `TASK_STATE_COMPLETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Unspecified => "TASK_STATE_UNSPECIFIED",
            TaskState::Submitted => "TASK_STATE_SUBMITTED",
            TaskState::Working => "TASK_STATE_WORKING",
            TaskState::Completed => "TASK_STATE_COMPLETED",
            TaskState::Failed => "TASK_STATE_FAILED",
            TaskState::Canceled => "TASK_STATE_CANCELED",
            TaskState::InputRequired => "TASK_STATE_INPUT_REQUIRED",
            TaskState::Rejected => "TASK_STATE_REJECTED",
            TaskState::AuthRequired => "TASK_STATE_AUTH_REQUIRED",
        }
    }

    /// Parses the ProtoJSON name; `None` for anything else.
    pub fn parse(s: &str) -> Option<TaskState> {
        Some(match s {
            "TASK_STATE_UNSPECIFIED" => TaskState::Unspecified,
            "TASK_STATE_SUBMITTED" => TaskState::Submitted,
            "TASK_STATE_WORKING" => TaskState::Working,
            "TASK_STATE_COMPLETED" => TaskState::Completed,
            "TASK_STATE_FAILED" => TaskState::Failed,
            "TASK_STATE_CANCELED" => TaskState::Canceled,
            "TASK_STATE_INPUT_REQUIRED" => TaskState::InputRequired,
            "TASK_STATE_REJECTED" => TaskState::Rejected,
            "TASK_STATE_AUTH_REQUIRED" => TaskState::AuthRequired,
            _ => return None,
        })
    }

    /// COMPLETED, FAILED, CANCELED or REJECTED: the task will never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Canceled | TaskState::Rejected
        )
    }

    /// INPUT_REQUIRED or AUTH_REQUIRED: the task waits for the client.
    pub fn is_interrupted(self) -> bool {
        matches!(self, TaskState::InputRequired | TaskState::AuthRequired)
    }

    /// Terminal or interrupted: a stream for the current request ends here.
    pub fn ends_stream(self) -> bool {
        self.is_terminal() || self.is_interrupted()
    }
}

/// Sender of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "ROLE_UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "ROLE_USER")]
    User,
    #[serde(rename = "ROLE_AGENT")]
    Agent,
}

/// The content of a [`Part`]: exactly one of text, raw bytes (base64), URL or
/// structured data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PartContent {
    Text(String),
    /// Base64 of the bytes, as ProtoJSON encodes `bytes`.
    Raw(String),
    Url(String),
    Data(Value),
}

/// One piece of a message or artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPart")]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(flatten)]
    pub content: PartContent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

impl Part {
    /// A plain text part.
    pub fn text(text: impl Into<String>) -> Part {
        Part {
            content: PartContent::Text(text.into()),
            metadata: None,
            filename: None,
            media_type: None,
        }
    }

    /// A structured-data part.
    pub fn data(data: Value) -> Part {
        Part {
            content: PartContent::Data(data),
            metadata: None,
            filename: None,
            media_type: Some("application/json".into()),
        }
    }

    /// The text of a text part.
    pub fn as_text(&self) -> Option<&str> {
        match &self.content {
            PartContent::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Wire shape of a part before the "exactly one content field" rule is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPart {
    text: Option<String>,
    raw: Option<String>,
    url: Option<String>,
    /// `Some(Null)` for an explicit `"data": null` (any JSON value is data).
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
    metadata: Option<Metadata>,
    filename: Option<String>,
    #[serde(alias = "media_type")]
    media_type: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Whether `s` is base64 as ProtoJSON accepts it for `bytes`: the standard or
/// URL-safe alphabet, with or without padding.
pub fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padding = s.len() - body.len();
    padding <= 2
        && (padding == 0 || s.len() % 4 == 0)
        && body.len() % 4 != 1
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

impl TryFrom<RawPart> for Part {
    type Error = String;

    fn try_from(raw: RawPart) -> Result<Part, String> {
        let mut contents = Vec::with_capacity(1);
        if let Some(t) = raw.text {
            contents.push(PartContent::Text(t));
        }
        if let Some(r) = raw.raw {
            if !is_base64(&r) {
                return Err(
                    "a part's raw bytes must be base64 (standard or URL-safe alphabet)".into(),
                );
            }
            contents.push(PartContent::Raw(r));
        }
        if let Some(u) = raw.url {
            contents.push(PartContent::Url(u));
        }
        if let Some(d) = raw.data {
            contents.push(PartContent::Data(d));
        }
        if contents.len() != 1 {
            return Err(format!(
                "a part must have exactly one of text, raw, url or data (found {})",
                contents.len()
            ));
        }
        let content = contents.pop().ok_or("a part has no content")?;
        Ok(Part {
            content,
            metadata: raw.metadata,
            filename: raw.filename,
            media_type: raw.media_type,
        })
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(alias = "message_id")]
    pub message_id: String,
    #[serde(default, alias = "context_id", skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, alias = "task_id", skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub role: Role,
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    #[serde(
        default,
        alias = "reference_task_ids",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reference_task_ids: Vec<String>,
}

impl Message {
    /// An agent message made of one text part, with a fresh message id.
    pub fn agent_text(text: impl Into<String>) -> Message {
        Message {
            message_id: uuid::Uuid::new_v4().to_string(),
            context_id: None,
            task_id: None,
            role: Role::Agent,
            parts: vec![Part::text(text)],
            metadata: None,
            extensions: Vec::new(),
            reference_task_ids: Vec::new(),
        }
    }

    /// A user message made of one text part, with a fresh message id.
    pub fn user_text(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            ..Message::agent_text(text)
        }
    }

    /// All text parts joined by newlines.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.parts.iter().filter_map(Part::as_text).collect();
        texts.join("\n")
    }
}

/// Status of a task at a point in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// ISO 8601 UTC timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl TaskStatus {
    /// A status stamped with the current time.
    pub fn now(state: TaskState, message: Option<Message>) -> TaskStatus {
        TaskStatus {
            state,
            message,
            timestamp: Some(now_timestamp()),
        }
    }
}

/// An output of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[serde(alias = "artifact_id")]
    pub artifact_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
}

/// A stateful unit of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(default, alias = "context_id")]
    pub context_id: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// A change of a task's status, streamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusUpdateEvent {
    #[serde(alias = "task_id")]
    pub task_id: String,
    #[serde(default, alias = "context_id")]
    pub context_id: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// A new or extended artifact, streamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskArtifactUpdateEvent {
    #[serde(alias = "task_id")]
    pub task_id: String,
    #[serde(default, alias = "context_id")]
    pub context_id: String,
    pub artifact: Artifact,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub append: bool,
    #[serde(
        default,
        alias = "last_chunk",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub last_chunk: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// One item of a stream (`StreamResponse` oneof), also the shape of
/// `SendMessageResponse` for its `task` and `message` cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamResponse {
    Task(Task),
    Message(Message),
    #[serde(alias = "status_update")]
    StatusUpdate(TaskStatusUpdateEvent),
    #[serde(alias = "artifact_update")]
    ArtifactUpdate(TaskArtifactUpdateEvent),
}

/// Options of a SendMessage call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageConfiguration {
    #[serde(
        default,
        alias = "accepted_output_modes",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub accepted_output_modes: Vec<String>,
    #[serde(
        default,
        alias = "task_push_notification_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_push_notification_config: Option<Value>,
    #[serde(
        default,
        alias = "history_length",
        skip_serializing_if = "Option::is_none"
    )]
    pub history_length: Option<i32>,
    #[serde(
        default,
        alias = "return_immediately",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub return_immediately: bool,
}

/// Params of SendMessage and SendStreamingMessage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub message: Message,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<SendMessageConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// Params of GetTask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub id: String,
    #[serde(
        default,
        alias = "history_length",
        skip_serializing_if = "Option::is_none"
    )]
    pub history_length: Option<i32>,
}

/// Params of CancelTask and SubscribeToTask (both name a task by `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// Params of ListTasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, alias = "context_id", skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskState>,
    #[serde(default, alias = "page_size", skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i32>,
    #[serde(default, alias = "page_token", skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    #[serde(
        default,
        alias = "history_length",
        skip_serializing_if = "Option::is_none"
    )]
    pub history_length: Option<i32>,
    #[serde(
        default,
        alias = "status_timestamp_after",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_timestamp_after: Option<String>,
    #[serde(
        default,
        alias = "include_artifacts",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_artifacts: Option<bool>,
}

/// Result of ListTasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksResponse {
    pub tasks: Vec<Task>,
    pub next_page_token: String,
    pub page_size: i32,
    pub total_size: i32,
}

/// The current time as an ISO 8601 UTC timestamp with millisecond precision
/// (spec §5.6.1).
pub fn now_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn part_requires_exactly_one_content_field() {
        let ok: Part = serde_json::from_value(json!({"text": "hi"})).unwrap();
        assert_eq!(ok.as_text(), Some("hi"));
        let none = serde_json::from_value::<Part>(json!({"mediaType": "text/plain"}));
        assert!(none.unwrap_err().to_string().contains("exactly one"));
        let two = serde_json::from_value::<Part>(json!({"text": "a", "url": "b"}));
        assert!(two.unwrap_err().to_string().contains("found 2"));
    }

    #[test]
    fn raw_must_be_base64_and_null_data_is_data() {
        assert!(serde_json::from_value::<Part>(json!({"raw": "aGVsbG8="})).is_ok());
        assert!(serde_json::from_value::<Part>(json!({"raw": "aGVsbG8"})).is_ok());
        assert!(serde_json::from_value::<Part>(json!({"raw": "a-_b"})).is_ok());
        for bad in ["!!", "a", "ab=c", "abc==="] {
            assert!(
                serde_json::from_value::<Part>(json!({"raw": bad})).is_err(),
                "{bad}"
            );
        }
        let p: Part = serde_json::from_value(json!({"data": null})).unwrap();
        assert_eq!(p.content, PartContent::Data(Value::Null));
    }

    #[test]
    fn part_serialises_as_proto_json_oneof() {
        let p = Part {
            content: PartContent::Url("https://x/y.png".into()),
            metadata: None,
            filename: Some("y.png".into()),
            media_type: Some("image/png".into()),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"url": "https://x/y.png", "filename": "y.png", "mediaType": "image/png"})
        );
    }

    #[test]
    fn stream_response_is_an_externally_tagged_oneof() {
        let item: StreamResponse = serde_json::from_value(json!({
            "statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}
        }))
        .unwrap();
        let StreamResponse::StatusUpdate(ev) = &item else {
            panic!("expected a status update, got {item:?}")
        };
        assert_eq!(ev.status.state, TaskState::Working);
        assert_eq!(
            serde_json::to_value(&item).unwrap()["statusUpdate"]["taskId"],
            "t"
        );
    }

    #[test]
    fn message_accepts_proto_field_names() {
        let m: Message = serde_json::from_value(json!({
            "message_id": "m1", "role": "ROLE_USER", "parts": [{"text": "x"}], "task_id": "t"
        }))
        .unwrap();
        assert_eq!(m.task_id.as_deref(), Some("t"));
    }

    #[test]
    fn state_classification() {
        assert!(TaskState::Completed.is_terminal());
        assert!(!TaskState::InputRequired.is_terminal());
        assert!(TaskState::AuthRequired.ends_stream());
        assert!(!TaskState::Working.ends_stream());
        for s in [
            TaskState::Submitted,
            TaskState::Rejected,
            TaskState::AuthRequired,
        ] {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn timestamps_are_utc_millis() {
        let ts = now_timestamp();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z'));
    }
}
