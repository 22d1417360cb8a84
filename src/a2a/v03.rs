//! A2A v0.3 <-> v1.0 translation, on raw JSON.
//!
//! The gateway speaks v1.0; older HTTP clients speak v0.3. Everything here works
//! on [`serde_json::Value`] rather than typed structs because the gateway forwards
//! JSON it does not own: a field this module does not know is copied through
//! unchanged whenever the target object can carry it (JSON objects can always
//! carry extra keys, and neither version forbids them), and dropped only where it
//! would make the target wrong.
//!
//! Conventions shared by every converter:
//! - Each known field is *taken out* of the source object as it is translated;
//!   what is left over is unknown to the translation and becomes the start of the
//!   target object, so translated fields always win over a same-named leftover.
//! - A field set to `null` counts as absent (ProtoJSON and v0.3 both allow it).
//! - v1.0 input may use proto field names (`message_id`) as well as camelCase.
//! - v1.0 -> v0.3 fills in what ProtoJSON leaves out but v0.3 requires (an
//!   omitted `contextId` is `""`, omitted `parts` is `[]`, an omitted state is
//!   `unknown`), and checks the type of every field it writes, so a v0.3 Task,
//!   Message, Part, event, send params or push config produced here validates
//!   against the v0.3 JSON Schema, or the function returns an error instead.
//! - Errors name the offending field by path (`message.parts[1].file: needs bytes or uri`).
//!
//! Where the specs leave a choice open, the official Python SDK's compat layer
//! (`a2a.compat.v0_3.conversions`) decides, since it is what real clients
//! interoperate with. Deviations from it are documented where they occur.

use std::fmt::Display;

use serde_json::{Map, Value, json};

use crate::a2a::Method;

/// Why a v0.3 value could not be translated; the message names the field (e.g.
/// `message.parts[1].file: needs bytes or uri`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TranslateError(pub String);

type Object = Map<String, Value>;
type Translated = Result<Value, TranslateError>;
/// An internal converter: the value to translate and the path naming it.
type Converter = fn(Value, &str) -> Translated;

/// Deepest nesting accepted. serde_json refuses to parse past 128 levels, so real
/// input never comes near; the limit only stops values built in memory from
/// exhausting the stack when they are cloned or dropped further on.
pub const MAX_DEPTH: usize = 256;

/// The metadata key the Python SDK sets on a v0.3 data part that wraps a
/// non-object v1.0 `data` value as `{"value": ...}`.
pub const DATA_PART_COMPAT_KEY: &str = "data_part_compat";

/// The protocol version a merged card announces to v0.3 clients.
pub const V03_PROTOCOL_VERSION: &str = "0.3.0";

// ---------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------

/// v0.3 JSON-RPC method names, in the order of [`Method::ALL`].
const V03_NAMES: [(Method, &str); 11] = [
    (Method::SendMessage, "message/send"),
    (Method::SendStreamingMessage, "message/stream"),
    (Method::GetTask, "tasks/get"),
    (Method::ListTasks, "tasks/list"),
    (Method::CancelTask, "tasks/cancel"),
    (Method::SubscribeToTask, "tasks/resubscribe"),
    (
        Method::CreateTaskPushNotificationConfig,
        "tasks/pushNotificationConfig/set",
    ),
    (
        Method::GetTaskPushNotificationConfig,
        "tasks/pushNotificationConfig/get",
    ),
    (
        Method::ListTaskPushNotificationConfigs,
        "tasks/pushNotificationConfig/list",
    ),
    (
        Method::DeleteTaskPushNotificationConfig,
        "tasks/pushNotificationConfig/delete",
    ),
    (
        Method::GetExtendedAgentCard,
        "agent/getAuthenticatedExtendedCard",
    ),
];

/// v0.3 JSON-RPC method name -> Method. message/send, message/stream, tasks/get, tasks/list, tasks/cancel,
/// tasks/resubscribe, tasks/pushNotificationConfig/{set,get,list,delete}, agent/getAuthenticatedExtendedCard.
pub fn method_from_v03(name: &str) -> Option<Method> {
    V03_NAMES.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
}

/// The v0.3 name of a method.
pub fn method_name_v03(m: Method) -> &'static str {
    V03_NAMES
        .iter()
        .find(|(method, _)| *method == m)
        .map_or("", |(_, name)| name)
}

// ---------------------------------------------------------------------------
// Paths, errors, depth
// ---------------------------------------------------------------------------

/// `at.key`, or `key` at the root.
fn child(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// `at[i]`.
fn item(at: &str, i: usize) -> String {
    format!("{at}[{i}]")
}

/// An error about the value at `at` (the root is called `params`, since only
/// request params are translated from the root without a name).
fn fail(at: &str, what: impl Display) -> TranslateError {
    let at = if at.is_empty() { "params" } else { at };
    TranslateError(format!("{at}: {what}"))
}

/// One step of a path, for [`check_depth`].
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The children of an array or object, for [`check_depth`].
enum Children<'a> {
    Array(std::iter::Enumerate<std::slice::Iter<'a, Value>>),
    Object(serde_json::map::Iter<'a>),
}

impl<'a> Children<'a> {
    fn of(v: &'a Value) -> Option<Children<'a>> {
        match v {
            Value::Array(a) => Some(Children::Array(a.iter().enumerate())),
            Value::Object(o) => Some(Children::Object(o.iter())),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<(Step<'a>, &'a Value)> {
        match self {
            Children::Array(it) => it.next().map(|(i, v)| (Step::Index(i), v)),
            Children::Object(it) => it.next().map(|(k, v)| (Step::Key(k.as_str()), v)),
        }
    }
}

/// Refuses values nested deeper than [`MAX_DEPTH`], naming the path where the
/// limit is crossed. Iterative, so it cannot itself exhaust the stack.
fn check_depth(v: &Value, at: &str) -> Result<(), TranslateError> {
    let mut stack: Vec<(Option<Step>, Children)> = Vec::new();
    if let Some(children) = Children::of(v) {
        stack.push((None, children));
    }
    loop {
        let next = match stack.last_mut() {
            None => return Ok(()),
            Some((_, children)) => children.next(),
        };
        let Some((step, value)) = next else {
            stack.pop();
            continue;
        };
        let Some(children) = Children::of(value) else {
            continue;
        };
        if stack.len() >= MAX_DEPTH {
            let mut path = at.to_owned();
            for s in stack.iter().filter_map(|(s, _)| s.as_ref()).chain([&step]) {
                path = match s {
                    Step::Key(k) => child(&path, k),
                    Step::Index(i) => item(&path, *i),
                };
            }
            return Err(fail(
                &path,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        stack.push((Some(step), children));
    }
}

/// The common entry of every public converter: the depth check, then the
/// translation on an owned copy (the internal converters move values instead of
/// cloning them again at every level).
fn guarded(v: &Value, at: &str, convert: Converter) -> Translated {
    check_depth(v, at)?;
    convert(v.clone(), at)
}

// ---------------------------------------------------------------------------
// Reading and writing objects
// ---------------------------------------------------------------------------

/// A JSON object being translated. Known fields are taken out as they are
/// translated; the rest is unknown to the translation and copied through.
struct Fields {
    rest: Object,
    at: String,
}

impl Fields {
    fn of(v: Value, at: &str) -> Result<Fields, TranslateError> {
        match v {
            Value::Object(rest) => Ok(Fields {
                rest,
                at: at.to_owned(),
            }),
            other => Err(fail(
                at,
                format!("must be an object, not {}", kind_of(&other)),
            )),
        }
    }

    fn path(&self, key: &str) -> String {
        child(&self.at, key)
    }

    fn has(&self, key: &str) -> bool {
        self.rest.get(key).is_some_and(|v| !v.is_null())
    }

    /// Removes the field under all of its spellings (`names[0]` is the camelCase
    /// one, then proto names) and returns the first non-null value.
    fn take(&mut self, names: &[&str]) -> Option<Value> {
        let mut found = None;
        for name in names {
            if let Some(v) = self.rest.remove(*name)
                && found.is_none()
                && !v.is_null()
            {
                found = Some(v);
            }
        }
        found
    }

    fn string(&mut self, names: &[&str]) -> Result<Option<String>, TranslateError> {
        match self.take(names) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(names, "a string", &other)),
        }
    }

    fn object(&mut self, names: &[&str]) -> Result<Option<Object>, TranslateError> {
        match self.take(names) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(other) => Err(self.wrong(names, "an object", &other)),
        }
    }

    fn array(&mut self, names: &[&str]) -> Result<Option<Vec<Value>>, TranslateError> {
        match self.take(names) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.wrong(names, "an array", &other)),
        }
    }

    fn boolean(&mut self, names: &[&str]) -> Result<Option<bool>, TranslateError> {
        match self.take(names) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(names, "a boolean", &other)),
        }
    }

    fn integer(&mut self, names: &[&str]) -> Result<Option<i64>, TranslateError> {
        match self.take(names) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| fail(&self.path(names[0]), "is out of range")),
            Some(other) => Err(self.wrong(names, "an integer", &other)),
        }
    }

    /// An array of strings (extension URIs, task ids, media types).
    fn strings(&mut self, names: &[&str]) -> Result<Option<Vec<Value>>, TranslateError> {
        let Some(items) = self.array(names)? else {
            return Ok(None);
        };
        match items.iter().position(|v| !v.is_string()) {
            None => Ok(Some(items)),
            Some(i) => Err(fail(&item(&self.path(names[0]), i), "must be a string")),
        }
    }

    fn wrong(&self, names: &[&str], expected: &str, got: &Value) -> TranslateError {
        fail(
            &self.path(names[0]),
            format!("must be {expected}, not {}", kind_of(got)),
        )
    }

    /// The v0.3 `kind` discriminator: consumed, and checked when present so a
    /// Task is never read as a Message.
    fn expect_kind(&mut self, expected: &str) -> Result<(), TranslateError> {
        match self.string(&["kind"])? {
            Some(k) if k != expected => Err(fail(
                &self.path("kind"),
                format!("expected \"{expected}\", got \"{k}\""),
            )),
            _ => Ok(()),
        }
    }

    /// The target object: the leftovers, then every translated field. A
    /// translated field that is absent (`None`) still removes a leftover of the
    /// same name, because that name means something specific in the target.
    fn finish<const N: usize>(self, fields: [(&str, Option<Value>); N]) -> Value {
        let mut out = self.rest;
        for (name, value) in fields {
            match value {
                Some(v) => out.insert(name.to_owned(), v),
                None => out.remove(name),
            };
        }
        Value::Object(out)
    }
}

/// Names a JSON type for error messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string(s: String) -> Value {
    Value::String(s)
}

/// Translates every element of an array with `convert`, naming each by index.
fn each(items: Vec<Value>, at: &str, convert: Converter) -> Translated {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| convert(v, &item(at, i)))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Translates an optional array field.
fn each_opt(
    items: Option<Vec<Value>>,
    at: &str,
    convert: Converter,
) -> Result<Option<Value>, TranslateError> {
    items.map(|items| each(items, at, convert)).transpose()
}

/// Translates an optional object field.
fn one_opt(
    v: Option<Value>,
    at: &str,
    convert: Converter,
) -> Result<Option<Value>, TranslateError> {
    v.map(|v| convert(v, at)).transpose()
}

/// The request params object; a missing `params` (null) counts as `{}`, which
/// only methods without required params accept downstream.
fn params_object(v: Value) -> Value {
    if v.is_null() { json!({}) } else { v }
}

// ---------------------------------------------------------------------------
// Enums: roles and task states
// ---------------------------------------------------------------------------

/// Task states: v1.0 name, proto number, v0.3 name.
const STATES: [(&str, i64, &str); 9] = [
    ("TASK_STATE_UNSPECIFIED", 0, "unknown"),
    ("TASK_STATE_SUBMITTED", 1, "submitted"),
    ("TASK_STATE_WORKING", 2, "working"),
    ("TASK_STATE_COMPLETED", 3, "completed"),
    ("TASK_STATE_FAILED", 4, "failed"),
    ("TASK_STATE_CANCELED", 5, "canceled"),
    ("TASK_STATE_INPUT_REQUIRED", 6, "input-required"),
    ("TASK_STATE_REJECTED", 7, "rejected"),
    ("TASK_STATE_AUTH_REQUIRED", 8, "auth-required"),
];

/// v0.3 states after which a stream ends: terminal (completed, canceled, failed,
/// rejected) or interrupted (input-required, auth-required).
const STREAM_ENDING_V03_STATES: [&str; 6] = [
    "completed",
    "canceled",
    "failed",
    "rejected",
    "input-required",
    "auth-required",
];

/// Finds a state by either version's name, or by proto number.
fn find_state(v: &Value) -> Option<(&'static str, i64, &'static str)> {
    STATES.into_iter().find(|(v1, n, v03)| match v {
        Value::String(s) => s == v1 || s == v03,
        Value::Number(x) => x.as_i64() == Some(*n),
        _ => false,
    })
}

/// v1.0 state -> v0.3. Unrecognised names become `unknown` rather than an error
/// (as in the Python SDK), so a state added by a later v1.x does not break a
/// v0.3 client's stream.
fn state_to_v03(v: Value, at: &str) -> Translated {
    match (&v, find_state(&v)) {
        (_, Some((_, _, v03))) => Ok(json!(v03)),
        (Value::String(_) | Value::Number(_), None) => Ok(json!("unknown")),
        _ => Err(fail(
            at,
            format!("must be a task state, not {}", kind_of(&v)),
        )),
    }
}

/// v0.3 state -> v1.0. v0.3 has a closed set of states, so anything else is an
/// error. v1.0 names are accepted too, for clients that mix versions.
fn state_to_v1(v: Value, at: &str) -> Translated {
    match (&v, find_state(&v)) {
        (Value::String(_), Some((v1, _, _))) => Ok(json!(v1)),
        _ => Err(fail(at, format!("unknown task state {v}"))),
    }
}

/// v1.0 role -> v0.3. Anything but the user is the agent, as in the Python SDK:
/// v0.3 has no "unspecified" role, and a status message without a role comes
/// from the agent.
fn role_to_v03(v: Option<Value>, at: &str) -> Translated {
    match v {
        None => Ok(json!("agent")),
        Some(Value::String(s)) if s == "ROLE_USER" || s == "user" => Ok(json!("user")),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(json!("user")),
        Some(Value::String(_) | Value::Number(_)) => Ok(json!("agent")),
        Some(other) => Err(fail(at, format!("must be a role, not {}", kind_of(&other)))),
    }
}

/// v0.3 role -> v1.0; v1.0 names are accepted too.
fn role_to_v1(v: Value, at: &str) -> Translated {
    match v.as_str() {
        Some("user" | "ROLE_USER") => Ok(json!("ROLE_USER")),
        Some("agent" | "ROLE_AGENT") => Ok(json!("ROLE_AGENT")),
        _ => Err(fail(at, format!("must be \"user\" or \"agent\", not {v}"))),
    }
}

// ---------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------

/// The content fields of a v1.0 Part; exactly one must be set.
const V1_PART_CONTENT: [&str; 4] = ["text", "raw", "url", "data"];

/// v1.0 Part -> v0.3 TextPart, FilePart or DataPart.
fn part_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let contents: Vec<(&str, Value)> = V1_PART_CONTENT
        .into_iter()
        .filter_map(|name| f.take(&[name]).map(|v| (name, v)))
        .collect();
    let metadata = f.object(&["metadata"])?.map(Value::Object);
    let [(name, content)] = <[(&str, Value); 1]>::try_from(contents).map_err(|found| {
        fail(
            at,
            format!(
                "needs exactly one of text, raw, url or data (found {})",
                found.len()
            ),
        )
    })?;
    match (name, content) {
        ("text", Value::String(text)) => Ok(f.finish([
            ("kind", Some(json!("text"))),
            ("text", Some(string(text))),
            ("metadata", metadata),
            ("file", None),
            ("data", None),
        ])),
        ("raw" | "url", Value::String(location)) => file_part_v03(f, name, location, metadata),
        ("data", data) => Ok(data_part_v03(f, data, metadata)),
        (name, other) => Err(fail(
            &child(at, name),
            format!("must be a string, not {}", kind_of(&other)),
        )),
    }
}

/// v1.0 `raw`/`url` part -> v0.3 FilePart: `mediaType` becomes `file.mimeType`
/// and `filename` becomes `file.name`.
fn file_part_v03(
    mut f: Fields,
    content: &str,
    location: String,
    metadata: Option<Value>,
) -> Translated {
    let media_type = f.string(&["mediaType", "media_type"])?;
    let filename = f.string(&["filename"])?;
    let key = if content == "raw" { "bytes" } else { "uri" };
    let mut file = Object::new();
    file.insert(key.to_owned(), string(location));
    if let Some(m) = media_type {
        file.insert("mimeType".to_owned(), string(m));
    }
    if let Some(n) = filename {
        file.insert("name".to_owned(), string(n));
    }
    Ok(f.finish([
        ("kind", Some(json!("file"))),
        ("file", Some(Value::Object(file))),
        ("metadata", metadata),
        ("text", None),
        ("data", None),
    ]))
}

/// v1.0 `data` part -> v0.3 DataPart. v1.0 data may be any JSON value, v0.3
/// needs an object: a non-object is wrapped as `{"value": ...}` and marked with
/// `metadata.data_part_compat = true`, exactly as the Python SDK does, so either
/// side's SDK unwraps it again.
fn data_part_v03(f: Fields, data: Value, metadata: Option<Value>) -> Value {
    let (data, metadata) = match data {
        Value::Object(o) => (Value::Object(o), metadata),
        other => {
            let mut meta = match metadata {
                Some(Value::Object(m)) => m,
                _ => Object::new(),
            };
            meta.insert(DATA_PART_COMPAT_KEY.to_owned(), Value::Bool(true));
            (json!({ "value": other }), Some(Value::Object(meta)))
        }
    };
    f.finish([
        ("kind", Some(json!("data"))),
        ("data", Some(data)),
        ("metadata", metadata),
        ("text", None),
        ("file", None),
    ])
}

/// v0.3 Part -> v1.0 Part. The kind comes from `kind`, or from which of `text`,
/// `file` or `data` is present when a lax client left `kind` out.
fn part_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let kind = match f.string(&["kind"])? {
        Some(k) => k,
        None => ["text", "file", "data"]
            .into_iter()
            .find(|k| f.has(k))
            .ok_or_else(|| fail(at, "needs kind, or one of text, file or data"))?
            .to_owned(),
    };
    let metadata = f.object(&["metadata"])?;
    let (name, content, metadata) = match kind.as_str() {
        "text" => match f.string(&["text"])? {
            Some(t) => ("text", string(t), metadata),
            None => return Err(fail(&f.path("text"), "is required")),
        },
        "file" => {
            let file = f
                .take(&["file"])
                .ok_or_else(|| fail(&f.path("file"), "is required"))?;
            let (name, location) = file_v1(&mut f, file)?;
            (name, location, metadata)
        }
        "data" => {
            let data = f
                .take(&["data"])
                .ok_or_else(|| fail(&f.path("data"), "is required"))?;
            let (data, metadata) = unwrap_data_compat(data, metadata);
            ("data", data, metadata)
        }
        other => {
            return Err(fail(
                &f.path("kind"),
                format!("unknown part kind \"{other}\""),
            ));
        }
    };
    // Leftovers named like a v1.0 content field would give the part two contents.
    for other in V1_PART_CONTENT.into_iter().filter(|n| *n != name) {
        f.rest.remove(other);
    }
    f.rest.insert(name.to_owned(), content);
    Ok(f.finish([("metadata", metadata.map(Value::Object))]))
}

/// v0.3 `file` object -> the v1.0 content (`raw` or `url`); `mimeType` and
/// `name` go to the part's `mediaType` and `filename`, unknown keys of the file
/// object to the part itself (unless the part already has that key).
fn file_v1(part: &mut Fields, file: Value) -> Result<(&'static str, Value), TranslateError> {
    let mut file = Fields::of(file, &part.path("file"))?;
    let bytes = file.string(&["bytes"])?;
    let uri = file.string(&["uri"])?;
    let mime_type = file.string(&["mimeType", "mime_type"])?;
    let name = file.string(&["name"])?;
    let (content, location) = match (bytes, uri) {
        (Some(b), None) => ("raw", b),
        (None, Some(u)) => ("url", u),
        (None, None) => return Err(fail(&file.at, "needs bytes or uri")),
        (Some(_), Some(_)) => return Err(fail(&file.at, "has both bytes and uri")),
    };
    for (k, v) in file.rest {
        if !part.rest.contains_key(&k) {
            part.rest.insert(k, v);
        }
    }
    if let Some(m) = mime_type {
        part.rest.remove("media_type");
        part.rest.insert("mediaType".to_owned(), string(m));
    }
    if let Some(n) = name {
        part.rest.insert("filename".to_owned(), string(n));
    }
    Ok((content, string(location)))
}

/// Undoes [`data_part_v03`]'s wrapping: a DataPart marked `data_part_compat`
/// whose data is exactly `{"value": x}` carries `x`. Anything else marked that way
/// is left as it is rather than guessed at (the Python SDK would fail on it).
fn unwrap_data_compat(data: Value, metadata: Option<Object>) -> (Value, Option<Object>) {
    let flagged = metadata
        .as_ref()
        .and_then(|m| m.get(DATA_PART_COMPAT_KEY))
        .is_some_and(|f| f == &Value::Bool(true));
    match data {
        Value::Object(mut o) if flagged && o.len() == 1 && o.contains_key("value") => {
            let inner = o.remove("value").unwrap_or(Value::Null);
            let metadata = metadata.and_then(|mut m| {
                m.remove(DATA_PART_COMPAT_KEY);
                (!m.is_empty()).then_some(m)
            });
            (inner, metadata)
        }
        other => (other, metadata),
    }
}

/// v1.0 `parts` -> v0.3; ProtoJSON omits an empty list, v0.3 requires one.
fn parts_v03(f: &mut Fields) -> Translated {
    let at = f.path("parts");
    let parts = f.array(&["parts"])?.unwrap_or_default();
    each(parts, &at, part_v03)
}

fn parts_v1(f: &mut Fields) -> Result<Option<Value>, TranslateError> {
    let at = f.path("parts");
    let parts = f.array(&["parts"])?;
    each_opt(parts, &at, part_v1)
}

// ---------------------------------------------------------------------------
// Messages, statuses, artifacts, tasks
// ---------------------------------------------------------------------------

/// v1.0 Message -> v0.3 Message (`kind: "message"`, lower-case role).
fn message_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let message_id = f.string(&["messageId", "message_id"])?.unwrap_or_default();
    let context_id = f.string(&["contextId", "context_id"])?;
    let task_id = f.string(&["taskId", "task_id"])?;
    let role_at = f.path("role");
    let role = role_to_v03(f.take(&["role"]), &role_at)?;
    let parts = parts_v03(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    let extensions = f.strings(&["extensions"])?;
    let references = f.strings(&["referenceTaskIds", "reference_task_ids"])?;
    Ok(f.finish([
        ("kind", Some(json!("message"))),
        ("messageId", Some(string(message_id))),
        ("contextId", context_id.map(string)),
        ("taskId", task_id.map(string)),
        ("role", Some(role)),
        ("parts", Some(parts)),
        ("metadata", metadata.map(Value::Object)),
        ("extensions", extensions.map(Value::Array)),
        ("referenceTaskIds", references.map(Value::Array)),
    ]))
}

/// v0.3 Message -> v1.0 Message.
fn message_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    f.expect_kind("message")?;
    let message_id = f.string(&["messageId", "message_id"])?;
    let context_id = f.string(&["contextId", "context_id"])?;
    let task_id = f.string(&["taskId", "task_id"])?;
    let role_at = f.path("role");
    let role = f
        .take(&["role"])
        .map(|r| role_to_v1(r, &role_at))
        .transpose()?;
    let parts = parts_v1(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    let extensions = f.strings(&["extensions"])?;
    let references = f.strings(&["referenceTaskIds", "reference_task_ids"])?;
    Ok(f.finish([
        ("messageId", message_id.map(string)),
        ("contextId", context_id.map(string)),
        ("taskId", task_id.map(string)),
        ("role", role),
        ("parts", parts),
        ("metadata", metadata.map(Value::Object)),
        ("extensions", extensions.map(Value::Array)),
        ("referenceTaskIds", references.map(Value::Array)),
    ]))
}

/// v1.0 TaskStatus -> v0.3. An omitted state is v1.0's UNSPECIFIED, v0.3's
/// `unknown`. The timestamp is passed through: v1.0's millisecond-precision
/// ISO 8601 is a valid v0.3 ISO 8601 datetime.
fn status_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let state_at = f.path("state");
    let state = match f.take(&["state"]) {
        Some(s) => state_to_v03(s, &state_at)?,
        None => json!("unknown"),
    };
    let message_at = f.path("message");
    let message = one_opt(f.take(&["message"]), &message_at, message_v03)?;
    let timestamp = f.string(&["timestamp"])?;
    Ok(f.finish([
        ("state", Some(state)),
        ("message", message),
        ("timestamp", timestamp.map(string)),
    ]))
}

/// v0.3 TaskStatus -> v1.0. The timestamp is passed through unchanged.
fn status_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let state_at = f.path("state");
    let state = one_opt(f.take(&["state"]), &state_at, state_to_v1)?;
    let message_at = f.path("message");
    let message = one_opt(f.take(&["message"]), &message_at, message_v1)?;
    let timestamp = f.string(&["timestamp"])?;
    Ok(f.finish([
        ("state", state),
        ("message", message),
        ("timestamp", timestamp.map(string)),
    ]))
}

/// A required status: an omitted one reads as an empty (UNSPECIFIED) status,
/// as ProtoJSON defines it, and becomes `{"state": "unknown"}` like the SDK's.
fn required_status_v03(f: &mut Fields) -> Translated {
    let at = f.path("status");
    status_v03(f.take(&["status"]).unwrap_or_else(|| json!({})), &at)
}

fn optional_status_v1(f: &mut Fields) -> Result<Option<Value>, TranslateError> {
    let at = f.path("status");
    one_opt(f.take(&["status"]), &at, status_v1)
}

/// v1.0 Artifact -> v0.3 (same fields, parts translated).
fn artifact_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let artifact_id = f
        .string(&["artifactId", "artifact_id"])?
        .unwrap_or_default();
    let name = f.string(&["name"])?;
    let description = f.string(&["description"])?;
    let parts = parts_v03(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    let extensions = f.strings(&["extensions"])?;
    Ok(f.finish([
        ("artifactId", Some(string(artifact_id))),
        ("name", name.map(string)),
        ("description", description.map(string)),
        ("parts", Some(parts)),
        ("metadata", metadata.map(Value::Object)),
        ("extensions", extensions.map(Value::Array)),
    ]))
}

/// v0.3 Artifact -> v1.0.
fn artifact_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let artifact_id = f.string(&["artifactId", "artifact_id"])?;
    let name = f.string(&["name"])?;
    let description = f.string(&["description"])?;
    let parts = parts_v1(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    let extensions = f.strings(&["extensions"])?;
    Ok(f.finish([
        ("artifactId", artifact_id.map(string)),
        ("name", name.map(string)),
        ("description", description.map(string)),
        ("parts", parts),
        ("metadata", metadata.map(Value::Object)),
        ("extensions", extensions.map(Value::Array)),
    ]))
}

/// v1.0 Task -> v0.3 Task (`kind: "task"`; `contextId`, required by v0.3, is
/// `""` when v1.0 left it out).
fn task_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let id = f.string(&["id"])?.unwrap_or_default();
    let context_id = f.string(&["contextId", "context_id"])?.unwrap_or_default();
    let status = required_status_v03(&mut f)?;
    let artifacts_at = f.path("artifacts");
    let artifacts = each_opt(f.array(&["artifacts"])?, &artifacts_at, artifact_v03)?;
    let history_at = f.path("history");
    let history = each_opt(f.array(&["history"])?, &history_at, message_v03)?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("kind", Some(json!("task"))),
        ("id", Some(string(id))),
        ("contextId", Some(string(context_id))),
        ("status", Some(status)),
        ("artifacts", artifacts),
        ("history", history),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v0.3 Task -> v1.0 Task.
fn task_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    f.expect_kind("task")?;
    let id = f.string(&["id"])?;
    let context_id = f.string(&["contextId", "context_id"])?;
    let status = optional_status_v1(&mut f)?;
    let artifacts_at = f.path("artifacts");
    let artifacts = each_opt(f.array(&["artifacts"])?, &artifacts_at, artifact_v1)?;
    let history_at = f.path("history");
    let history = each_opt(f.array(&["history"])?, &history_at, message_v1)?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("id", id.map(string)),
        ("contextId", context_id.map(string)),
        ("status", status),
        ("artifacts", artifacts),
        ("history", history),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

// ---------------------------------------------------------------------------
// Stream events
// ---------------------------------------------------------------------------

/// v1.0 TaskStatusUpdateEvent -> v0.3 (`kind: "status-update"`). v1.0 dropped
/// `final` (the stream's end says it); v0.3 requires it, true exactly when the
/// event ends the stream: a terminal or interrupted state.
fn status_event_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?.unwrap_or_default();
    let context_id = f.string(&["contextId", "context_id"])?.unwrap_or_default();
    let status = required_status_v03(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    let ends_stream = status
        .get("state")
        .and_then(Value::as_str)
        .is_some_and(|s| STREAM_ENDING_V03_STATES.contains(&s));
    Ok(f.finish([
        ("kind", Some(json!("status-update"))),
        ("taskId", Some(string(task_id))),
        ("contextId", Some(string(context_id))),
        ("status", Some(status)),
        ("final", Some(Value::Bool(ends_stream))),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v0.3 TaskStatusUpdateEvent -> v1.0; `final` is dropped (v1.0 has no such
/// field: the gateway ends the stream itself).
fn status_event_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    f.expect_kind("status-update")?;
    let _final_is_implied_by_stream_end = f.boolean(&["final"])?;
    let task_id = f.string(&["taskId", "task_id"])?;
    let context_id = f.string(&["contextId", "context_id"])?;
    let status = optional_status_v1(&mut f)?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("taskId", task_id.map(string)),
        ("contextId", context_id.map(string)),
        ("status", status),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v1.0 TaskArtifactUpdateEvent -> v0.3 (`kind: "artifact-update"`).
fn artifact_event_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?.unwrap_or_default();
    let context_id = f.string(&["contextId", "context_id"])?.unwrap_or_default();
    let artifact_at = f.path("artifact");
    let artifact = artifact_v03(
        f.take(&["artifact"]).unwrap_or_else(|| json!({})),
        &artifact_at,
    )?;
    let append = f.boolean(&["append"])?;
    let last_chunk = f.boolean(&["lastChunk", "last_chunk"])?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("kind", Some(json!("artifact-update"))),
        ("taskId", Some(string(task_id))),
        ("contextId", Some(string(context_id))),
        ("artifact", Some(artifact)),
        ("append", append.map(Value::Bool)),
        ("lastChunk", last_chunk.map(Value::Bool)),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v0.3 TaskArtifactUpdateEvent -> v1.0.
fn artifact_event_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    f.expect_kind("artifact-update")?;
    let task_id = f.string(&["taskId", "task_id"])?;
    let context_id = f.string(&["contextId", "context_id"])?;
    let artifact_at = f.path("artifact");
    let artifact = one_opt(f.take(&["artifact"]), &artifact_at, artifact_v1)?;
    let append = f.boolean(&["append"])?;
    let last_chunk = f.boolean(&["lastChunk", "last_chunk"])?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("taskId", task_id.map(string)),
        ("contextId", context_id.map(string)),
        ("artifact", artifact),
        ("append", append.map(Value::Bool)),
        ("lastChunk", last_chunk.map(Value::Bool)),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// The members of a v1.0 StreamResponse, each with its proto name and the
/// converter of its payload.
static STREAM_MEMBERS: [(&str, &str, Converter); 4] = [
    ("task", "task", task_v03),
    ("message", "message", message_v03),
    ("statusUpdate", "status_update", status_event_v03),
    ("artifactUpdate", "artifact_update", artifact_event_v03),
];

/// Unwraps a v1.0 oneof wrapper (`{"task": ...}`) whose allowed members are the
/// first `allowed` entries of [`STREAM_MEMBERS`], and translates the payload.
/// Other keys of the wrapper are dropped: a bare v0.3 object has no place that
/// would mean the same.
fn unwrap_oneof_v03(v: Value, at: &str, allowed: usize) -> Translated {
    let members = &STREAM_MEMBERS[..allowed.min(STREAM_MEMBERS.len())];
    let label = if at.is_empty() { "result" } else { at };
    if !v.is_object() {
        return Err(fail(
            label,
            format!("must be an object, not {}", kind_of(&v)),
        ));
    }
    let mut f = Fields::of(v, at)?;
    let mut found: Vec<(&str, Value, Converter)> = members
        .iter()
        .filter_map(|(name, proto, convert)| f.take(&[*name, *proto]).map(|p| (*name, p, *convert)))
        .collect();
    match (found.pop(), found.is_empty()) {
        (Some((name, payload, convert)), true) => convert(payload, &child(at, name)),
        _ => {
            let names: Vec<&str> = members.iter().map(|(n, _, _)| *n).collect();
            Err(fail(
                label,
                format!("needs exactly one of {}", names.join(", ")),
            ))
        }
    }
}

/// The v0.3 kind of a bare object: its `kind`, or a guess from its fields for
/// lax senders that omit it.
fn v03_kind(v: &Value) -> Option<&str> {
    if let Some(kind) = v.get("kind") {
        return kind.as_str();
    }
    let has = |k: &str| v.get(k).is_some_and(|x| !x.is_null());
    if has("artifact") {
        Some("artifact-update")
    } else if has("status") && (has("taskId") || has("task_id")) {
        Some("status-update")
    } else if has("status") {
        Some("task")
    } else if has("parts") || has("role") || has("messageId") {
        Some("message")
    } else {
        None
    }
}

/// The v0.3 kinds of results and stream events, their v1.0 oneof member and
/// the converter of the object.
static V03_KINDS: [(&str, &str, Converter); 4] = [
    ("task", "task", task_v1),
    ("message", "message", message_v1),
    ("status-update", "statusUpdate", status_event_v1),
    ("artifact-update", "artifactUpdate", artifact_event_v1),
];

/// Wraps a bare v0.3 Task/Message/event into its v1.0 oneof member. `allowed`
/// is how many of the kinds (task, message, status-update, artifact-update) the
/// context permits.
fn wrap_oneof_v1(v: Value, at: &str, allowed: usize) -> Translated {
    let kinds = &V03_KINDS[..allowed.min(V03_KINDS.len())];
    let found = v03_kind(&v).and_then(|k| kinds.iter().find(|(kind, _, _)| *kind == k));
    match found {
        Some((_, member, convert)) => {
            let payload = convert(v, at)?;
            Ok(json!({ *member: payload }))
        }
        None => {
            let names: Vec<&str> = kinds.iter().map(|(k, _, _)| *k).collect();
            Err(fail(at, format!("must be of kind {}", names.join(", "))))
        }
    }
}

// ---------------------------------------------------------------------------
// Push notification configs
// ---------------------------------------------------------------------------

/// v0.3 PushNotificationAuthenticationInfo `{schemes, credentials}` -> v1.0
/// AuthenticationInfo `{scheme, credentials}`. v1.0 holds one scheme: the first
/// is kept (as in the Python SDK), further ones are dropped.
fn auth_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let schemes = f.strings(&["schemes"])?.unwrap_or_default();
    let credentials = f.string(&["credentials"])?;
    Ok(f.finish([
        ("scheme", schemes.into_iter().next()),
        ("credentials", credentials.map(string)),
    ]))
}

/// v1.0 AuthenticationInfo -> v0.3 (`schemes` is required there, possibly empty).
fn auth_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let scheme = f.string(&["scheme"])?;
    let credentials = f.string(&["credentials"])?;
    Ok(f.finish([
        (
            "schemes",
            Some(Value::Array(scheme.map(string).into_iter().collect())),
        ),
        ("credentials", credentials.map(string)),
    ]))
}

/// v0.3 PushNotificationConfig -> the fields of a v1.0 TaskPushNotificationConfig
/// (which flattened the config into the task-level object).
fn push_config_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let url = f.string(&["url"])?;
    let id = f.string(&["id"])?;
    let token = f.string(&["token"])?;
    let auth_at = f.path("authentication");
    let authentication = one_opt(f.take(&["authentication"]), &auth_at, auth_v1)?;
    Ok(f.finish([
        ("url", url.map(string)),
        ("id", id.map(string)),
        ("token", token.map(string)),
        ("authentication", authentication),
    ]))
}

/// v1.0 TaskPushNotificationConfig -> v0.3 PushNotificationConfig. Fields v0.3
/// has no place for (`taskId`, `tenant`, `createdAt`) stay on the config as
/// extra keys.
fn push_config_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let url = f.string(&["url"])?.unwrap_or_default();
    let id = f.string(&["id"])?;
    let token = f.string(&["token"])?;
    let auth_at = f.path("authentication");
    let authentication = one_opt(f.take(&["authentication"]), &auth_at, auth_v03)?;
    Ok(f.finish([
        ("url", Some(string(url))),
        ("id", id.map(string)),
        ("token", token.map(string)),
        ("authentication", authentication),
    ]))
}

/// v0.3 TaskPushNotificationConfig `{taskId, pushNotificationConfig}` -> v1.0's
/// flat TaskPushNotificationConfig.
fn task_push_config_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?;
    let config_at = f.path("pushNotificationConfig");
    let config = f
        .take(&["pushNotificationConfig", "push_notification_config"])
        .ok_or_else(|| fail(&config_at, "is required"))?;
    let Value::Object(config) = push_config_v1(config, &config_at)? else {
        return Err(fail(&config_at, "must be an object"));
    };
    let mut out = f.rest;
    out.extend(config);
    if let Some(t) = task_id {
        out.insert("taskId".to_owned(), string(t));
    }
    Ok(Value::Object(out))
}

/// v1.0 flat TaskPushNotificationConfig -> v0.3 `{taskId, pushNotificationConfig}`.
fn task_push_config_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?.unwrap_or_default();
    let config_at = f.path("pushNotificationConfig");
    let config = push_config_v03(Value::Object(f.rest), &config_at)?;
    Ok(json!({ "taskId": task_id, "pushNotificationConfig": config }))
}

// ---------------------------------------------------------------------------
// Request params
// ---------------------------------------------------------------------------

/// v0.3 MessageSendConfiguration -> v1.0 SendMessageConfiguration.
///
/// `blocking: false` is `returnImmediately: true`. An absent or true `blocking`
/// leaves `returnImmediately` out: v0.3 servers block by default (the Python
/// SDK's v0.3 handler does; the schema gives no default), and so does v1.0.
/// `historyLength: 0` meant "no limit" to v0.3 servers but "no history" in
/// v1.0, so it is left out, as the Python SDK does.
fn send_config_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let modes = f.strings(&["acceptedOutputModes", "accepted_output_modes"])?;
    let blocking = f.boolean(&["blocking"])?;
    let history = f.integer(&["historyLength", "history_length"])?;
    let push_at = f.path("pushNotificationConfig");
    let push = one_opt(
        f.take(&["pushNotificationConfig", "push_notification_config"]),
        &push_at,
        push_config_v1,
    )?;
    Ok(f.finish([
        ("acceptedOutputModes", modes.map(Value::Array)),
        ("taskPushNotificationConfig", push),
        (
            "historyLength",
            history.filter(|h| *h != 0).map(Value::from),
        ),
        (
            "returnImmediately",
            (blocking == Some(false)).then_some(Value::Bool(true)),
        ),
    ]))
}

/// v1.0 SendMessageConfiguration -> v0.3. `blocking` is always written (as the
/// Python SDK does) so a v0.3 server's own default never matters.
fn send_config_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let modes = f.strings(&["acceptedOutputModes", "accepted_output_modes"])?;
    let push_at = f.path("pushNotificationConfig");
    let push = one_opt(
        f.take(&[
            "taskPushNotificationConfig",
            "task_push_notification_config",
        ]),
        &push_at,
        push_config_v03,
    )?;
    let history = f.integer(&["historyLength", "history_length"])?;
    let return_immediately = f.boolean(&["returnImmediately", "return_immediately"])?;
    Ok(f.finish([
        ("acceptedOutputModes", modes.map(Value::Array)),
        ("pushNotificationConfig", push),
        ("historyLength", history.map(Value::from)),
        (
            "blocking",
            Some(Value::Bool(!return_immediately.unwrap_or(false))),
        ),
    ]))
}

/// v0.3 MessageSendParams -> v1.0 SendMessageRequest.
fn send_params_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let message_at = f.path("message");
    let message = one_opt(f.take(&["message"]), &message_at, message_v1)?;
    let config_at = f.path("configuration");
    let configuration = one_opt(f.take(&["configuration"]), &config_at, send_config_v1)?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("message", message),
        ("configuration", configuration),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v1.0 SendMessageRequest -> v0.3 MessageSendParams (`tenant`, which v0.3 does
/// not know, stays as an extra key).
fn send_params_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let message_at = f.path("message");
    let message = message_v03(
        f.take(&["message"]).unwrap_or_else(|| json!({})),
        &message_at,
    )?;
    let config_at = f.path("configuration");
    let configuration = one_opt(f.take(&["configuration"]), &config_at, send_config_v03)?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("message", Some(message)),
        ("configuration", configuration),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v0.3 TaskQueryParams -> v1.0 GetTaskRequest (`historyLength: 0` dropped, see
/// [`send_config_v1`]).
fn task_query_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let id = f.string(&["id"])?;
    let history = f.integer(&["historyLength", "history_length"])?;
    Ok(f.finish([
        ("id", id.map(string)),
        (
            "historyLength",
            history.filter(|h| *h != 0).map(Value::from),
        ),
    ]))
}

/// Params that are the same in both versions apart from type checks: task id
/// params (CancelTask, SubscribeToTask, GetTask back to v0.3). `metadata` is
/// checked because v0.3 requires an object there. `fill_id` writes the `id`
/// v0.3 requires even when v1.0 left it out (ProtoJSON's `""`).
fn task_id_params(v: Value, at: &str, fill_id: bool) -> Translated {
    let mut f = Fields::of(v, at)?;
    let id = f.string(&["id"])?;
    let id = if fill_id {
        Some(id.unwrap_or_default())
    } else {
        id
    };
    let history = f.integer(&["historyLength", "history_length"])?;
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("id", id.map(string)),
        ("historyLength", history.map(Value::from)),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// ListTasks params. v0.3.0 defines `tasks/list` for gRPC and REST only, with
/// empty params, so this is best effort: the object is passed through with
/// `status` translated when it names a task state.
fn list_tasks_params(v: Value, at: &str, to_v1: bool) -> Translated {
    let mut f = Fields::of(params_object(v), at)?;
    let status_at = f.path("status");
    let status = f
        .take(&["status"])
        .map(|s| {
            if to_v1 {
                state_to_v1(s, &status_at)
            } else {
                state_to_v03(s, &status_at)
            }
        })
        .transpose()?;
    Ok(f.finish([("status", status)]))
}

/// v0.3 `{id, pushNotificationConfigId}` (task id, config id) -> v1.0
/// `{taskId, id}`. v0.3's `tasks/pushNotificationConfig/get` may omit the
/// config id; v1.0 then gets none either, as from the Python SDK.
fn push_config_ref_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["id"])?;
    let config_id = f.string(&["pushNotificationConfigId", "push_notification_config_id"])?;
    Ok(f.finish([
        ("taskId", task_id.map(string)),
        ("id", config_id.map(string)),
    ]))
}

/// v1.0 `{taskId, id}` -> v0.3 `{id, pushNotificationConfigId}`; an empty
/// config id is left out. `required` says whether v0.3 needs the config id
/// (delete does, get does not).
fn push_config_ref_v03(v: Value, at: &str, required: bool) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?.unwrap_or_default();
    let config_id = f.string(&["id"])?.filter(|c| required || !c.is_empty());
    let config_id = if required {
        Some(config_id.unwrap_or_default())
    } else {
        config_id
    };
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("id", Some(string(task_id))),
        ("pushNotificationConfigId", config_id.map(string)),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// v0.3 ListTaskPushNotificationConfigParams `{id}` -> v1.0 `{taskId}`.
fn list_push_params_v1(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["id"])?;
    Ok(f.finish([("taskId", task_id.map(string))]))
}

/// v1.0 ListTaskPushNotificationConfigsRequest -> v0.3 `{id}` (paging fields
/// stay as extra keys).
fn list_push_params_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let task_id = f.string(&["taskId", "task_id"])?.unwrap_or_default();
    let metadata = f.object(&["metadata"])?;
    Ok(f.finish([
        ("id", Some(string(task_id))),
        ("metadata", metadata.map(Value::Object)),
    ]))
}

/// GetExtendedAgentCard takes no params in v0.3 and only `tenant` in v1.0.
fn card_params(v: Value, at: &str) -> Translated {
    Fields::of(params_object(v), at).map(|f| f.finish([]))
}

/// v0.3 request params -> v1.0 params for `method` (the v1.0 Method). MessageSendParams -> SendMessageRequest
/// (`blocking: false` -> `returnImmediately: true`, absent `blocking` means blocking), TaskQueryParams ->
/// GetTaskRequest, TaskIdParams -> CancelTask/SubscribeToTask params, tasks/list params (best effort: v0.3.0
/// has none over JSON-RPC), push-config params (`id` is the task id in v0.3, the config id in v1.0).
/// Error paths start at the params' fields (`message.parts[1].file: needs bytes or uri`).
pub fn params_to_v1(method: Method, params: &Value) -> Result<Value, TranslateError> {
    check_depth(params, "")?;
    let p = params.clone();
    match method {
        Method::SendMessage | Method::SendStreamingMessage => send_params_v1(p, ""),
        Method::GetTask => task_query_v1(p, ""),
        Method::ListTasks => list_tasks_params(p, "", true),
        Method::CancelTask | Method::SubscribeToTask => task_id_params(p, "", false),
        Method::CreateTaskPushNotificationConfig => task_push_config_v1(p, ""),
        Method::GetTaskPushNotificationConfig | Method::DeleteTaskPushNotificationConfig => {
            push_config_ref_v1(p, "")
        }
        Method::ListTaskPushNotificationConfigs => list_push_params_v1(p, ""),
        Method::GetExtendedAgentCard => card_params(p, ""),
    }
}

/// The reverse (v1.0 request params -> v0.3), used by round-trip tests and by anything that must talk v0.3.
pub fn params_to_v03(method: Method, params: &Value) -> Result<Value, TranslateError> {
    check_depth(params, "")?;
    let p = params.clone();
    match method {
        Method::SendMessage | Method::SendStreamingMessage => send_params_v03(p, ""),
        Method::GetTask | Method::CancelTask | Method::SubscribeToTask => {
            task_id_params(p, "", true)
        }
        Method::ListTasks => list_tasks_params(p, "", false),
        Method::CreateTaskPushNotificationConfig => task_push_config_v03(p, ""),
        Method::GetTaskPushNotificationConfig => push_config_ref_v03(p, "", false),
        Method::DeleteTaskPushNotificationConfig => push_config_ref_v03(p, "", true),
        Method::ListTaskPushNotificationConfigs => list_push_params_v03(p, ""),
        Method::GetExtendedAgentCard => card_params(p, ""),
    }
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

/// v1.0 ListTasksResponse -> v0.3: a bare array of Tasks, the only `tasks/list`
/// result v0.3.0 defines (REST `[Task]`, gRPC `repeated Task`). The paging
/// fields (`nextPageToken`, `pageSize`, `totalSize`) have no v0.3 place.
fn list_tasks_result_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let tasks_at = f.path("tasks");
    let tasks = f.array(&["tasks"])?.unwrap_or_default();
    each(tasks, &tasks_at, task_v03)
}

/// v0.3 `[Task]` -> v1.0 ListTasksResponse, one page holding everything. An
/// object with `tasks` (as some v0.3-era servers answer) is accepted too.
fn list_tasks_result_v1(v: Value, at: &str) -> Translated {
    let tasks = match v {
        Value::Array(tasks) => each(tasks, at, task_v1)?,
        other => {
            let mut f = Fields::of(other, at)?;
            let tasks_at = f.path("tasks");
            let tasks = f.array(&["tasks"])?.unwrap_or_default();
            let tasks = each(tasks, &tasks_at, task_v1)?;
            let mut out = f.finish([("tasks", Some(tasks))]);
            fill_page_fields(&mut out);
            return Ok(out);
        }
    };
    let mut out = json!({ "tasks": tasks });
    fill_page_fields(&mut out);
    Ok(out)
}

/// The required paging fields of a ListTasksResponse, for a single page.
fn fill_page_fields(out: &mut Value) {
    let count = out
        .get("tasks")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if let Value::Object(o) = out {
        o.entry("nextPageToken").or_insert_with(|| json!(""));
        o.entry("pageSize").or_insert_with(|| json!(count));
        o.entry("totalSize").or_insert_with(|| json!(count));
    }
}

/// v1.0 ListTaskPushNotificationConfigsResponse -> v0.3 `[TaskPushNotificationConfig]`
/// (`nextPageToken` has no v0.3 place).
fn list_push_result_v03(v: Value, at: &str) -> Translated {
    let mut f = Fields::of(v, at)?;
    let configs_at = f.path("configs");
    let configs = f.array(&["configs"])?.unwrap_or_default();
    each(configs, &configs_at, task_push_config_v03)
}

fn list_push_result_v1(v: Value, at: &str) -> Translated {
    match v {
        Value::Array(configs) => Ok(json!({ "configs": each(configs, at, task_push_config_v1)? })),
        other => Err(fail(
            at,
            format!("must be an array, not {}", kind_of(&other)),
        )),
    }
}

/// A v1.0 JSON-RPC `result` for `method` -> the v0.3 `result`. SendMessage's {"task":T}|{"message":M} -> bare v0.3
/// Task | Message with "kind"; streaming methods' items as [`stream_item_to_v03`]; GetTask/CancelTask Task -> v0.3
/// Task; ListTasks response -> `[Task]`; push configs -> v0.3 TaskPushNotificationConfig (list: an array; delete:
/// null); GetExtendedAgentCard card -> [`card_to_v03_merged`].
pub fn result_to_v03(method: Method, result: &Value) -> Result<Value, TranslateError> {
    check_depth(result, "result")?;
    // Cloned only for the arms that translate a copy.
    let r = || result.clone();
    match method {
        Method::SendMessage => unwrap_oneof_v03(r(), "", 2),
        Method::SendStreamingMessage | Method::SubscribeToTask => unwrap_oneof_v03(r(), "", 4),
        Method::GetTask | Method::CancelTask => task_v03(r(), "task"),
        Method::ListTasks => list_tasks_result_v03(r(), "result"),
        Method::CreateTaskPushNotificationConfig | Method::GetTaskPushNotificationConfig => {
            task_push_config_v03(r(), "result")
        }
        Method::ListTaskPushNotificationConfigs => list_push_result_v03(r(), "result"),
        Method::DeleteTaskPushNotificationConfig => Ok(Value::Null),
        Method::GetExtendedAgentCard => Ok(card_to_v03_merged(result)),
    }
}

/// The reverse, for round-trip tests.
pub fn result_to_v1(method: Method, result: &Value) -> Result<Value, TranslateError> {
    check_depth(result, "result")?;
    // Cloned only for the arms that translate a copy.
    let r = || result.clone();
    match method {
        Method::SendMessage => wrap_oneof_v1(r(), "result", 2),
        Method::SendStreamingMessage | Method::SubscribeToTask => wrap_oneof_v1(r(), "result", 4),
        Method::GetTask | Method::CancelTask => task_v1(r(), "task"),
        Method::ListTasks => list_tasks_result_v1(r(), "result"),
        Method::CreateTaskPushNotificationConfig | Method::GetTaskPushNotificationConfig => {
            task_push_config_v1(r(), "result")
        }
        Method::ListTaskPushNotificationConfigs => list_push_result_v1(r(), "result"),
        Method::DeleteTaskPushNotificationConfig => Ok(json!({})),
        Method::GetExtendedAgentCard => card_to_v1(result),
    }
}

/// One v1.0 StreamResponse ({"task"}|{"message"}|{"statusUpdate"}|{"artifactUpdate"}) -> the v0.3 stream event
/// (bare Task/Message/TaskStatusUpdateEvent/TaskArtifactUpdateEvent with "kind"). `final` on status updates is
/// true when the state is terminal or interrupted (input-required, auth-required) — i.e. the event ends the
/// stream — and false otherwise.
pub fn stream_item_to_v03(item: &Value) -> Result<Value, TranslateError> {
    check_depth(item, "")?;
    unwrap_oneof_v03(item.clone(), "", 4)
}

/// The reverse.
pub fn stream_item_to_v1(item: &Value) -> Result<Value, TranslateError> {
    check_depth(item, "event")?;
    wrap_oneof_v1(item.clone(), "event", 4)
}

// ---------------------------------------------------------------------------
// Object-level converters
// ---------------------------------------------------------------------------

/// v0.3 Message -> v1.0 Message.
pub fn message_to_v1(m: &Value) -> Result<Value, TranslateError> {
    guarded(m, "message", message_v1)
}

/// v1.0 Message -> v0.3 Message.
pub fn message_to_v03(m: &Value) -> Result<Value, TranslateError> {
    guarded(m, "message", message_v03)
}

/// v0.3 TextPart/FilePart/DataPart -> v1.0 Part.
pub fn part_to_v1(p: &Value) -> Result<Value, TranslateError> {
    guarded(p, "part", part_v1)
}

/// v1.0 Part -> v0.3 TextPart/FilePart/DataPart.
pub fn part_to_v03(p: &Value) -> Result<Value, TranslateError> {
    guarded(p, "part", part_v03)
}

/// v0.3 Task -> v1.0 Task.
pub fn task_to_v1(t: &Value) -> Result<Value, TranslateError> {
    guarded(t, "task", task_v1)
}

/// v1.0 Task -> v0.3 Task.
pub fn task_to_v03(t: &Value) -> Result<Value, TranslateError> {
    guarded(t, "task", task_v03)
}

/// v0.3 TaskStatus -> v1.0 TaskStatus.
pub fn status_to_v1(s: &Value) -> Result<Value, TranslateError> {
    guarded(s, "status", status_v1)
}

/// v1.0 TaskStatus -> v0.3 TaskStatus.
pub fn status_to_v03(s: &Value) -> Result<Value, TranslateError> {
    guarded(s, "status", status_v03)
}

/// v0.3 Artifact -> v1.0 Artifact.
pub fn artifact_to_v1(a: &Value) -> Result<Value, TranslateError> {
    guarded(a, "artifact", artifact_v1)
}

/// v1.0 Artifact -> v0.3 Artifact.
pub fn artifact_to_v03(a: &Value) -> Result<Value, TranslateError> {
    guarded(a, "artifact", artifact_v03)
}

/// v0.3 TaskStatusUpdateEvent -> v1.0 (unwrapped) TaskStatusUpdateEvent.
pub fn status_event_to_v1(e: &Value) -> Result<Value, TranslateError> {
    guarded(e, "statusUpdate", status_event_v1)
}

/// v1.0 (unwrapped) TaskStatusUpdateEvent -> v0.3, with `final`.
pub fn status_event_to_v03(e: &Value) -> Result<Value, TranslateError> {
    guarded(e, "statusUpdate", status_event_v03)
}

/// v0.3 TaskArtifactUpdateEvent -> v1.0 (unwrapped) TaskArtifactUpdateEvent.
pub fn artifact_event_to_v1(e: &Value) -> Result<Value, TranslateError> {
    guarded(e, "artifactUpdate", artifact_event_v1)
}

/// v1.0 (unwrapped) TaskArtifactUpdateEvent -> v0.3.
pub fn artifact_event_to_v03(e: &Value) -> Result<Value, TranslateError> {
    guarded(e, "artifactUpdate", artifact_event_v03)
}

/// v0.3 TaskPushNotificationConfig -> v1.0 (flat) TaskPushNotificationConfig.
pub fn task_push_config_to_v1(c: &Value) -> Result<Value, TranslateError> {
    guarded(c, "config", task_push_config_v1)
}

/// v1.0 (flat) TaskPushNotificationConfig -> v0.3 TaskPushNotificationConfig.
pub fn task_push_config_to_v03(c: &Value) -> Result<Value, TranslateError> {
    guarded(c, "config", task_push_config_v03)
}

// ---------------------------------------------------------------------------
// Agent cards
// ---------------------------------------------------------------------------

/// Whether an interface's `protocolVersion` is v0.3 (`0.3` or `0.3.x`).
fn is_v03_version(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s == "0.3" || s.starts_with("0.3."))
}

/// v1.0 `protocolBinding` -> v0.3 `transport`: the three standard transports
/// keep their names (written in their canonical case); others pass through.
fn transport_name(binding: &str) -> String {
    ["JSONRPC", "HTTP+JSON", "GRPC"]
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(binding))
        .unwrap_or(binding)
        .to_owned()
}

/// Sets `url`, `preferredTransport`, `protocolVersion` and `additionalInterfaces`
/// from `supportedInterfaces`, overwriting whatever the agent published there
/// (a card relayed from MQTT may carry its own, pointing at the broker).
///
/// The interfaces offered are those of protocol version 0.3 if there are any,
/// else all of them; `url`/`preferredTransport` come from the first.
/// `additionalInterfaces` lists all offered ones, the main one included, as the
/// v0.3 spec asks (§5.6.2, "SHOULD include all supported transports, including
/// the main URL's transport"); the Python SDK leaves the main one out.
fn add_connection_fields(card: &mut Object) {
    let interfaces: Vec<(String, String, bool)> = card
        .get("supportedInterfaces")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|i| {
                    let url = i.get("url")?.as_str()?.to_owned();
                    let binding = i
                        .get("protocolBinding")
                        .or_else(|| i.get("protocol_binding"))
                        .and_then(Value::as_str)
                        .unwrap_or("JSONRPC");
                    let version = i
                        .get("protocolVersion")
                        .or_else(|| i.get("protocol_version"));
                    Some((
                        url,
                        transport_name(binding),
                        version.is_some_and(is_v03_version),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    card.insert("protocolVersion".to_owned(), json!(V03_PROTOCOL_VERSION));
    let any_v03 = interfaces.iter().any(|(_, _, v03)| *v03);
    let offered: Vec<&(String, String, bool)> = interfaces
        .iter()
        .filter(|(_, _, v03)| *v03 || !any_v03)
        .collect();
    let Some((url, transport, _)) = offered.first() else {
        return;
    };
    card.insert("url".to_owned(), json!(url));
    card.insert("preferredTransport".to_owned(), json!(transport));
    let additional: Vec<Value> = offered
        .iter()
        .map(|(url, transport, _)| json!({ "url": url, "transport": transport }))
        .collect();
    card.insert("additionalInterfaces".to_owned(), Value::Array(additional));
}

/// `supportsAuthenticatedExtendedCard` mirrors `capabilities.extendedAgentCard`
/// and, as in the Python SDK, is only written when true.
fn add_extended_card_flag(card: &mut Object) {
    let extended = card
        .get("capabilities")
        .and_then(|c| {
            c.get("extendedAgentCard")
                .or_else(|| c.get("extended_agent_card"))
        })
        .is_some_and(|b| b == &Value::Bool(true));
    if extended {
        card.insert(
            "supportsAuthenticatedExtendedCard".to_owned(),
            Value::Bool(true),
        );
    } else {
        card.remove("supportsAuthenticatedExtendedCard");
    }
}

/// v1.0 `[{"schemes": {"name": {"list": [scopes]}}}]` -> v0.3 `[{"name": [scopes]}]`.
fn security_requirements_v03(requirements: &[Value]) -> Value {
    let one = |r: &Value| -> Value {
        let schemes = r.get("schemes").and_then(Value::as_object);
        let pairs = schemes.into_iter().flatten().map(|(name, scopes)| {
            let list = scopes.get("list").and_then(Value::as_array);
            let list: Vec<Value> = list
                .into_iter()
                .flatten()
                .filter(|s| s.is_string())
                .cloned()
                .collect();
            (name.clone(), Value::Array(list))
        });
        Value::Object(pairs.collect())
    };
    Value::Array(requirements.iter().map(one).collect())
}

/// v0.3 `[{"name": [scopes]}]` -> v1.0 `[{"schemes": {"name": {"list": [scopes]}}}]`.
fn security_requirements_v1(requirements: &[Value]) -> Value {
    let one = |r: &Value| -> Value {
        let pairs = r.as_object().into_iter().flatten().map(|(name, scopes)| {
            let list = scopes.as_array().cloned().unwrap_or_default();
            (name.clone(), json!({ "list": list }))
        });
        json!({ "schemes": Value::Object(pairs.collect()) })
    };
    Value::Array(requirements.iter().map(one).collect())
}

/// Writes v0.3's `security` next to v1.0's `securityRequirements` (on the card
/// and on each skill).
fn add_security_v03(obj: &mut Object) {
    let requirements = obj
        .get("securityRequirements")
        .or_else(|| obj.get("security_requirements"))
        .and_then(Value::as_array)
        .map(|r| security_requirements_v03(r));
    if let Some(security) = requirements {
        obj.insert("security".to_owned(), security);
    }
}

/// One v1.0 SecurityScheme member and its v0.3 flattened form.
struct SchemeShape {
    /// The v1.0 oneof member, camelCase and proto name.
    member: [&'static str; 2],
    /// v0.3's `type`.
    kind: &'static str,
    /// v0.3 field, then its v1.0 names (camelCase, proto).
    fields: &'static [(&'static str, [&'static str; 2])],
}

const DESCRIPTION: (&str, [&str; 2]) = ("description", ["description", "description"]);

const SCHEME_SHAPES: [SchemeShape; 5] = [
    SchemeShape {
        member: ["apiKeySecurityScheme", "api_key_security_scheme"],
        kind: "apiKey",
        fields: &[
            ("in", ["location", "location"]),
            ("name", ["name", "name"]),
            DESCRIPTION,
        ],
    },
    SchemeShape {
        member: ["httpAuthSecurityScheme", "http_auth_security_scheme"],
        kind: "http",
        fields: &[
            ("scheme", ["scheme", "scheme"]),
            ("bearerFormat", ["bearerFormat", "bearer_format"]),
            DESCRIPTION,
        ],
    },
    SchemeShape {
        member: ["oauth2SecurityScheme", "oauth2_security_scheme"],
        kind: "oauth2",
        fields: &[
            ("flows", ["flows", "flows"]),
            (
                "oauth2MetadataUrl",
                ["oauth2MetadataUrl", "oauth2_metadata_url"],
            ),
            DESCRIPTION,
        ],
    },
    SchemeShape {
        member: [
            "openIdConnectSecurityScheme",
            "open_id_connect_security_scheme",
        ],
        kind: "openIdConnect",
        fields: &[
            (
                "openIdConnectUrl",
                ["openIdConnectUrl", "open_id_connect_url"],
            ),
            DESCRIPTION,
        ],
    },
    SchemeShape {
        member: ["mtlsSecurityScheme", "mtls_security_scheme"],
        kind: "mutualTLS",
        fields: &[DESCRIPTION],
    },
];

/// OAuth flows v0.3 knows, with their v1.0 names. v1.0's `deviceCode` has no
/// v0.3 form and is left out of the v0.3 fields (it stays in the v1.0 member).
const V03_FLOWS: [[&str; 2]; 4] = [
    ["authorizationCode", "authorization_code"],
    ["clientCredentials", "client_credentials"],
    ["implicit", "implicit"],
    ["password", "password"],
];

/// Flow fields, v0.3/v1.0 camelCase name then proto name.
const FLOW_FIELDS: [[&str; 2]; 4] = [
    ["authorizationUrl", "authorization_url"],
    ["tokenUrl", "token_url"],
    ["refreshUrl", "refresh_url"],
    ["scopes", "scopes"],
];

/// v1.0 OAuthFlows -> v0.3 OAuthFlows. `scopes`, required by v0.3 and omitted
/// by ProtoJSON when empty, defaults to `{}`.
fn flows_v03(flows: &Value) -> Value {
    let mut out = Object::new();
    for [name, proto] in V03_FLOWS {
        let Some(flow) = flows
            .get(name)
            .or_else(|| flows.get(proto))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let mut f = Object::new();
        for [field, proto_field] in FLOW_FIELDS {
            if let Some(v) = flow.get(field).or_else(|| flow.get(proto_field)) {
                f.insert(field.to_owned(), v.clone());
            }
        }
        f.entry("scopes").or_insert_with(|| json!({}));
        out.insert(name.to_owned(), Value::Object(f));
    }
    Value::Object(out)
}

/// v0.3 OAuthFlows -> v1.0, whose OAuthFlows is a oneof: the first flow present
/// (in the order authorizationCode, clientCredentials, implicit, password) is
/// kept.
fn flows_v1(flows: &Value) -> Value {
    V03_FLOWS
        .into_iter()
        .find_map(|[name, _]| flows.get(name).map(|f| json!({ name: f })))
        .unwrap_or_else(|| json!({}))
}

/// Adds the v0.3 flattened fields (`type`, `in`, `flows`, ...) to a v1.0
/// SecurityScheme, keeping the v1.0 member, so both versions read the same card.
fn add_scheme_fields_v03(scheme: &mut Object) {
    let Some((shape, member)) = SCHEME_SHAPES.iter().find_map(|shape| {
        let member = shape
            .member
            .iter()
            .find_map(|m| scheme.get(*m))?
            .as_object()?;
        Some((shape, member.clone()))
    }) else {
        return;
    };
    scheme.insert("type".to_owned(), json!(shape.kind));
    for (v03, [camel, proto]) in shape.fields {
        let Some(value) = member.get(*camel).or_else(|| member.get(*proto)) else {
            continue;
        };
        let value = if *v03 == "flows" {
            flows_v03(value)
        } else {
            value.clone()
        };
        scheme.insert((*v03).to_owned(), value);
    }
    if shape.kind == "oauth2" {
        scheme.entry("flows").or_insert_with(|| json!({}));
    }
}

/// Turns a v0.3 (or merged) SecurityScheme into v1.0's: the v1.0 member is
/// built from the v0.3 fields unless the card already has it, then the v0.3
/// fields are removed.
fn scheme_v1(scheme: &mut Object) {
    let Some(shape) = scheme
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| SCHEME_SHAPES.iter().find(|s| s.kind == t))
    else {
        return;
    };
    scheme.remove("type");
    let mut member = Object::new();
    for (v03, [camel, _]) in shape.fields {
        if let Some(value) = scheme.remove(*v03) {
            let value = if *v03 == "flows" {
                flows_v1(&value)
            } else {
                value
            };
            member.insert((*camel).to_owned(), value);
        }
    }
    if !shape.member.iter().any(|m| scheme.contains_key(*m)) {
        scheme.insert(shape.member[0].to_owned(), Value::Object(member));
    }
}

/// Defaults for fields v0.3 requires and ProtoJSON omits when empty.
fn add_required_defaults(card: &mut Object) {
    for key in ["defaultInputModes", "defaultOutputModes", "skills"] {
        card.entry(key).or_insert_with(|| json!([]));
    }
    card.entry("capabilities").or_insert_with(|| json!({}));
}

/// A v1.0 AgentCard (as the gateway serves it: supportedInterfaces already pointing at the gateway) -> the merged
/// card the official SDKs publish for v0.3 clients: all v1.0 fields kept, plus v0.3's `url`, `preferredTransport`,
/// `protocolVersion` ("0.3.0"), `additionalInterfaces` (each {url, transport}), `supportsAuthenticatedExtendedCard`
/// (when `capabilities.extendedAgentCard` is true), `security` (from `securityRequirements`, on the card and on
/// each skill), the flattened v0.3 fields of each security scheme next to its v1.0 member, and `[]` for the
/// `tags`, `skills` and input/output modes v0.3 requires. Anything but an object is returned unchanged.
pub fn card_to_v03_merged(card: &Value) -> Value {
    let mut out = card.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    add_connection_fields(obj);
    add_extended_card_flag(obj);
    add_security_v03(obj);
    add_required_defaults(obj);
    if let Some(skills) = obj.get_mut("skills").and_then(Value::as_array_mut) {
        for skill in skills.iter_mut().filter_map(Value::as_object_mut) {
            add_security_v03(skill);
            skill.entry("tags").or_insert_with(|| json!([]));
        }
    }
    let schemes = obj
        .get_mut("securitySchemes")
        .and_then(Value::as_object_mut);
    for scheme in schemes.into_iter().flat_map(|s| s.values_mut()) {
        if let Some(scheme) = scheme.as_object_mut() {
            add_scheme_fields_v03(scheme);
        }
    }
    out
}

/// Moves v0.3's `security` to v1.0's `securityRequirements` unless that is
/// already there.
fn security_v1(obj: &mut Object) {
    if let Some(security) = obj.remove("security")
        && !obj.contains_key("securityRequirements")
        && let Some(list) = security.as_array()
    {
        obj.insert(
            "securityRequirements".to_owned(),
            security_requirements_v1(list),
        );
    }
}

/// v0.3's `url`/`preferredTransport`/`additionalInterfaces` -> v1.0's
/// `supportedInterfaces` (unless present, as in a merged card), each with the
/// card's `protocolVersion`. An additional interface repeating the main one is
/// not listed twice.
fn connection_fields_v1(card: &mut Object) {
    let url = card.remove("url");
    let transport = card.remove("preferredTransport");
    let version = card.remove("protocolVersion");
    let additional = card.remove("additionalInterfaces");
    if card.contains_key("supportedInterfaces") {
        return;
    }
    let Some(Value::String(url)) = url else {
        return;
    };
    let version = version
        .filter(Value::is_string)
        .unwrap_or_else(|| json!(V03_PROTOCOL_VERSION));
    let main = json!({
        "url": url,
        "protocolBinding": transport.filter(Value::is_string).unwrap_or_else(|| json!("JSONRPC")),
        "protocolVersion": version,
    });
    let mut interfaces = vec![main.clone()];
    for i in additional
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let entry = json!({
            "url": i.get("url").cloned().unwrap_or(Value::Null),
            "protocolBinding": i.get("transport").cloned().unwrap_or(Value::Null),
            "protocolVersion": version,
        });
        if entry != main {
            interfaces.push(entry);
        }
    }
    card.insert("supportedInterfaces".to_owned(), Value::Array(interfaces));
}

/// A v0.3 (or merged) AgentCard -> v1.0, the way the Python SDK's card resolver
/// reads one: v0.3-only fields are moved to their v1.0 places, or removed when
/// the v1.0 field is already there.
pub fn card_to_v1(card: &Value) -> Result<Value, TranslateError> {
    check_depth(card, "card")?;
    let Value::Object(mut obj) = card.clone() else {
        return Err(fail("card", "must be an object"));
    };
    connection_fields_v1(&mut obj);
    if obj.remove("supportsAuthenticatedExtendedCard") == Some(Value::Bool(true)) {
        let caps = obj.entry("capabilities").or_insert_with(|| json!({}));
        if let Some(caps) = caps.as_object_mut() {
            caps.entry("extendedAgentCard").or_insert(Value::Bool(true));
        }
    }
    security_v1(&mut obj);
    if let Some(skills) = obj.get_mut("skills").and_then(Value::as_array_mut) {
        for skill in skills.iter_mut().filter_map(Value::as_object_mut) {
            security_v1(skill);
        }
    }
    let schemes = obj
        .get_mut("securitySchemes")
        .and_then(Value::as_object_mut);
    for scheme in schemes.into_iter().flat_map(|s| s.values_mut()) {
        if let Some(scheme) = scheme.as_object_mut() {
            scheme_v1(scheme);
        }
    }
    Ok(Value::Object(obj))
}

// ---------------------------------------------------------------------------
// Error messages
// ---------------------------------------------------------------------------

/// Whether `b` is part of a word of [`rename_words`].
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `text` with each word `rename` knows replaced, for the human-readable error
/// messages the gateway (or an agent) writes in v1.0 terms. A word is a run of
/// ASCII letters, digits and `_` (`TASK_STATE_COMPLETED`, `SendMessage`, each
/// segment of `message.parts[0]`); `rename` also gets the text before the word,
/// for names that depend on their parent. Text in double quotes is left alone:
/// the gateway quotes what the client sent (ids, values), which must read back
/// as sent.
pub fn rename_words(text: &str, rename: impl Fn(&str, &str) -> Option<&'static str>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut quoted) = (0, false);
    while i < bytes.len() {
        let start = i;
        if is_word_byte(bytes[i]) {
            while i < bytes.len() && is_word_byte(bytes[i]) {
                i += 1;
            }
            let word = &text[start..i];
            let renamed = if quoted {
                None
            } else {
                rename(&text[..start], word)
            };
            out.push_str(renamed.unwrap_or(word));
            continue;
        }
        match bytes[i] {
            b'"' => quoted = !quoted,
            // An escaped character inside quotes (`\"` of a Debug-formatted id).
            b'\\' if quoted => i += 1,
            _ => {}
        }
        i += 1;
        // Whole characters only: word and quote bytes are ASCII, so the next
        // one starts a character.
        while i < bytes.len() && !bytes[i].is_ascii() {
            i += 1;
        }
        out.push_str(&text[start..i.min(bytes.len())]);
    }
    out
}

/// The v0.3 JSON-RPC name of a v1.0 name: task states, roles, method names and
/// the one renamed field a message is likely to name.
fn v03_name(_before: &str, word: &str) -> Option<&'static str> {
    if let Some((_, _, v03)) = STATES.iter().find(|(v1, _, _)| *v1 == word) {
        return Some(v03);
    }
    match word {
        "ROLE_USER" => Some("user"),
        "ROLE_AGENT" => Some("agent"),
        "taskPushNotificationConfig" => Some("pushNotificationConfig"),
        _ => Method::from_name(word).map(method_name_v03),
    }
}

/// An error message for a v0.3 JSON-RPC client: the v1.0 names in it in v0.3
/// terms (`TASK_STATE_COMPLETED` -> `completed`, `ROLE_AGENT` -> `agent`,
/// `GetTask` -> `tasks/get`), quoted text left alone ([`rename_words`]).
pub fn text_to_v03(text: &str) -> String {
    rename_words(text, v03_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;
    use proptest::sample::select;

    // -----------------------------------------------------------------------
    // The v0.3 JSON Schema
    // -----------------------------------------------------------------------

    static SCHEMA: &str = include_str!("../../tests/schemas/a2a-v0.3.0-schema.json");

    /// Definitions the tests validate against.
    const DEFINITIONS: [&str; 16] = [
        "Message",
        "Part",
        "Task",
        "TaskStatus",
        "Artifact",
        "TaskStatusUpdateEvent",
        "TaskArtifactUpdateEvent",
        "MessageSendParams",
        "TaskQueryParams",
        "TaskIdParams",
        "TaskPushNotificationConfig",
        "GetTaskPushNotificationConfigParams",
        "ListTaskPushNotificationConfigParams",
        "DeleteTaskPushNotificationConfigParams",
        "AgentCard",
        "JSONRPCError",
    ];

    /// One compiled validator per definition: `{"$ref": "#/definitions/X"}` next
    /// to all the schema's definitions.
    fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
        static VALIDATORS: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
        VALIDATORS.get_or_init(|| {
            let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
            DEFINITIONS
                .into_iter()
                .map(|name| {
                    let root = json!({
                        "$schema": "http://json-schema.org/draft-07/schema#",
                        "$ref": format!("#/definitions/{name}"),
                        "definitions": schema["definitions"].clone(),
                    });
                    let v = jsonschema::validator_for(&root).expect("schema compiles");
                    (name, v)
                })
                .collect()
        })
    }

    /// The schema errors of `instance` as the v0.3 `definition`.
    fn v03_errors(definition: &str, instance: &Value) -> Vec<String> {
        validators()[definition]
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    fn assert_v03(definition: &str, instance: &Value) {
        let errors = v03_errors(definition, instance);
        assert!(
            errors.is_empty(),
            "not a valid v0.3 {definition}: {errors:#?}\n{instance:#}"
        );
    }

    #[test]
    fn the_schema_validators_do_reject_invalid_v03() {
        assert!(
            !v03_errors(
                "Task",
                &json!({"id": "t", "kind": "task", "status": {"state": "working"}})
            )
            .is_empty()
        );
        assert!(!v03_errors("Part", &json!({"kind": "text"})).is_empty());
        assert!(
            !v03_errors(
                "Message",
                &json!({"kind": "message", "messageId": "m", "role": "ROLE_USER", "parts": []})
            )
            .is_empty()
        );
        assert!(!v03_errors("TaskStatusUpdateEvent", &json!({"kind": "status-update", "taskId": "t", "contextId": "c", "status": {"state": "working"}})).is_empty());
        assert!(!v03_errors("AgentCard", &json!({"name": "n"})).is_empty());
        assert!(v03_errors("Task", &json!({"id": "t", "contextId": "c", "kind": "task", "status": {"state": "working"}})).is_empty());
    }

    /// The definition of a v0.3 result or stream event, by its kind.
    fn definition_of_kind(v: &Value) -> &'static str {
        match v["kind"].as_str() {
            Some("task") => "Task",
            Some("message") => "Message",
            Some("status-update") => "TaskStatusUpdateEvent",
            Some("artifact-update") => "TaskArtifactUpdateEvent",
            other => panic!("no v0.3 kind: {other:?} in {v}"),
        }
    }

    // -----------------------------------------------------------------------
    // Methods
    // -----------------------------------------------------------------------

    #[test]
    fn method_names_round_trip_and_match_the_schema() {
        for m in Method::ALL {
            let name = method_name_v03(m);
            assert!(!name.is_empty(), "{m} has no v0.3 name");
            assert_eq!(method_from_v03(name), Some(m));
        }
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let consts: Vec<&str> = schema["definitions"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|d| d.pointer("/properties/method/const")?.as_str())
            .collect();
        for name in consts {
            assert!(method_from_v03(name).is_some(), "{name} not mapped");
        }
        assert_eq!(method_from_v03("tasks/list"), Some(Method::ListTasks));
        assert_eq!(method_from_v03("SendMessage"), None);
        assert_eq!(method_from_v03("message/sendd"), None);
    }

    // -----------------------------------------------------------------------
    // Parts
    // -----------------------------------------------------------------------

    #[test]
    fn text_part_both_ways() {
        let v1 = json!({"text": "hi", "metadata": {"a": 1}});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(
            v03,
            json!({"kind": "text", "text": "hi", "metadata": {"a": 1}})
        );
        assert_v03("Part", &v03);
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
    }

    #[test]
    fn text_part_media_type_and_filename_survive_as_extra_keys() {
        let v1 = json!({"text": "# hi", "mediaType": "text/markdown", "filename": "a.md"});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(v03["kind"], "text");
        assert_eq!(v03["mediaType"], "text/markdown");
        assert_v03("Part", &v03);
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
    }

    #[test]
    fn file_part_with_bytes_both_ways() {
        let v1 = json!({"raw": "aGk=", "mediaType": "image/png", "filename": "x.png", "metadata": {"m": true}});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(
            v03,
            json!({"kind": "file", "file": {"bytes": "aGk=", "mimeType": "image/png", "name": "x.png"}, "metadata": {"m": true}})
        );
        assert_v03("Part", &v03);
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
    }

    #[test]
    fn file_part_with_uri_both_ways() {
        let v1 = json!({"url": "https://x/y.pdf"});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(
            v03,
            json!({"kind": "file", "file": {"uri": "https://x/y.pdf"}})
        );
        assert_v03("Part", &v03);
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
        // Proto field names are read too.
        let proto = json!({"url": "u", "media_type": "text/csv"});
        assert_eq!(part_to_v03(&proto).unwrap()["file"]["mimeType"], "text/csv");
    }

    #[test]
    fn file_part_needs_exactly_one_of_bytes_or_uri() {
        let params = json!({"message": {"kind": "message", "messageId": "m", "role": "user", "parts": [
            {"kind": "text", "text": "ok"},
            {"kind": "file", "file": {"mimeType": "image/png"}}
        ]}});
        let err = params_to_v1(Method::SendMessage, &params).unwrap_err();
        assert_eq!(err.to_string(), "message.parts[1].file: needs bytes or uri");
        let both = json!({"kind": "file", "file": {"bytes": "AA==", "uri": "u"}});
        assert_eq!(
            part_to_v1(&both).unwrap_err().to_string(),
            "part.file: has both bytes and uri"
        );
        let not_object = json!({"kind": "file", "file": "u"});
        assert!(
            part_to_v1(&not_object)
                .unwrap_err()
                .to_string()
                .starts_with("part.file: must be an object")
        );
    }

    #[test]
    fn file_object_extra_keys_move_to_the_part() {
        let v03 =
            json!({"kind": "file", "file": {"uri": "u", "x-size": 12, "text": "not content"}});
        let v1 = part_to_v1(&v03).unwrap();
        assert_eq!(v1, json!({"url": "u", "x-size": 12}));
    }

    #[test]
    fn data_part_with_an_object() {
        let v1 = json!({"data": {"k": [1, 2]}, "mediaType": "application/json"});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(v03["kind"], "data");
        assert_eq!(v03["data"], json!({"k": [1, 2]}));
        assert!(v03.get("metadata").is_none());
        assert_v03("Part", &v03);
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
    }

    #[test]
    fn data_part_with_a_non_object_is_wrapped_like_the_python_sdk() {
        for data in [json!([1, 2]), json!("s"), json!(3.5), json!(false)] {
            let v1 = json!({"data": data.clone()});
            let v03 = part_to_v03(&v1).unwrap();
            assert_eq!(
                v03,
                json!({"kind": "data", "data": {"value": data}, "metadata": {"data_part_compat": true}})
            );
            assert_v03("Part", &v03);
            assert_eq!(part_to_v1(&v03).unwrap(), v1);
        }
        // Other metadata is kept next to the marker and restored alone.
        let v1 = json!({"data": [1], "metadata": {"a": "b"}});
        let v03 = part_to_v03(&v1).unwrap();
        assert_eq!(v03["metadata"], json!({"a": "b", "data_part_compat": true}));
        assert_eq!(part_to_v1(&v03).unwrap(), v1);
    }

    #[test]
    fn data_part_compat_marker_is_only_trusted_on_a_lone_value() {
        let v03 = json!({"kind": "data", "data": {"value": 1, "other": 2}, "metadata": {"data_part_compat": true}});
        let v1 = part_to_v1(&v03).unwrap();
        assert_eq!(v1["data"], json!({"value": 1, "other": 2}));
        assert_eq!(v1["metadata"], json!({"data_part_compat": true}));
    }

    #[test]
    fn parts_need_exactly_one_content() {
        assert_eq!(
            part_to_v03(&json!({"text": "a", "url": "b"}))
                .unwrap_err()
                .to_string(),
            "part: needs exactly one of text, raw, url or data (found 2)"
        );
        assert!(part_to_v03(&json!({"mediaType": "x"})).is_err());
        assert!(
            part_to_v03(&json!({"text": 5}))
                .unwrap_err()
                .to_string()
                .starts_with("part.text: must be a string")
        );
        assert_eq!(
            part_to_v1(&json!({"kind": "video", "video": 1}))
                .unwrap_err()
                .to_string(),
            "part.kind: unknown part kind \"video\""
        );
        assert!(part_to_v1(&json!({"kind": "text"})).is_err());
    }

    #[test]
    fn v03_part_kind_is_inferred_when_missing_and_stray_content_is_dropped() {
        assert_eq!(
            part_to_v1(&json!({"text": "a"})).unwrap(),
            json!({"text": "a"})
        );
        assert_eq!(
            part_to_v1(&json!({"kind": "text", "text": "a", "url": "stray"})).unwrap(),
            json!({"text": "a"})
        );
        assert!(part_to_v1(&json!({"metadata": {}})).is_err());
    }

    // -----------------------------------------------------------------------
    // Messages, roles, states
    // -----------------------------------------------------------------------

    fn sample_message() -> Value {
        json!({
            "messageId": "m1", "contextId": "c1", "taskId": "t1", "role": "ROLE_USER",
            "parts": [{"text": "hi"}], "metadata": {"k": "v"}, "extensions": ["urn:x"],
            "referenceTaskIds": ["t0"], "x-unknown": {"kept": true}
        })
    }

    #[test]
    fn message_both_ways_keeps_unknown_fields() {
        let v03 = message_to_v03(&sample_message()).unwrap();
        assert_eq!(v03["kind"], "message");
        assert_eq!(v03["role"], "user");
        assert_eq!(v03["parts"][0], json!({"kind": "text", "text": "hi"}));
        assert_eq!(v03["x-unknown"], json!({"kept": true}));
        assert_v03("Message", &v03);
        assert_eq!(message_to_v1(&v03).unwrap(), sample_message());
    }

    #[test]
    fn message_accepts_proto_field_names() {
        let proto = json!({"message_id": "m", "task_id": "t", "context_id": "c", "role": "ROLE_AGENT",
            "parts": [], "reference_task_ids": ["a"]});
        let v03 = message_to_v03(&proto).unwrap();
        assert_eq!(v03["messageId"], "m");
        assert_eq!(v03["taskId"], "t");
        assert_eq!(v03["contextId"], "c");
        assert_eq!(v03["referenceTaskIds"], json!(["a"]));
        assert!(v03.get("message_id").is_none());
        assert_v03("Message", &v03);
    }

    #[test]
    fn roles() {
        let with_role = |r: Value| json!({"messageId": "m", "role": r, "parts": []});
        assert_eq!(
            message_to_v03(&with_role(json!("ROLE_USER"))).unwrap()["role"],
            "user"
        );
        assert_eq!(
            message_to_v03(&with_role(json!("ROLE_AGENT"))).unwrap()["role"],
            "agent"
        );
        assert_eq!(
            message_to_v03(&with_role(json!(1))).unwrap()["role"],
            "user"
        );
        // v0.3 has no unspecified role; the Python SDK calls it the agent.
        assert_eq!(
            message_to_v03(&with_role(json!("ROLE_UNSPECIFIED"))).unwrap()["role"],
            "agent"
        );
        assert_eq!(
            message_to_v03(&json!({"messageId": "m"})).unwrap()["role"],
            "agent"
        );
        assert!(message_to_v03(&with_role(json!([]))).is_err());

        assert_eq!(
            message_to_v1(&with_role(json!("user"))).unwrap()["role"],
            "ROLE_USER"
        );
        assert_eq!(
            message_to_v1(&with_role(json!("agent"))).unwrap()["role"],
            "ROLE_AGENT"
        );
        assert_eq!(
            message_to_v1(&with_role(json!("system")))
                .unwrap_err()
                .to_string(),
            "message.role: must be \"user\" or \"agent\", not \"system\""
        );
    }

    #[test]
    fn message_kind_must_match() {
        let err = message_to_v1(&json!({"kind": "task", "messageId": "m"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "message.kind: expected \"message\", got \"task\""
        );
    }

    #[test]
    fn every_state_both_ways() {
        let pairs = [
            ("TASK_STATE_SUBMITTED", "submitted"),
            ("TASK_STATE_WORKING", "working"),
            ("TASK_STATE_INPUT_REQUIRED", "input-required"),
            ("TASK_STATE_COMPLETED", "completed"),
            ("TASK_STATE_CANCELED", "canceled"),
            ("TASK_STATE_FAILED", "failed"),
            ("TASK_STATE_REJECTED", "rejected"),
            ("TASK_STATE_AUTH_REQUIRED", "auth-required"),
            ("TASK_STATE_UNSPECIFIED", "unknown"),
        ];
        for (v1, v03) in pairs {
            let s03 = status_to_v03(&json!({"state": v1})).unwrap();
            assert_eq!(s03, json!({"state": v03}));
            assert_v03("TaskStatus", &s03);
            assert_eq!(status_to_v1(&s03).unwrap(), json!({"state": v1}));
        }
        // Forward compatibility: a state from a later v1.x reads as unknown.
        assert_eq!(
            status_to_v03(&json!({"state": "TASK_STATE_PAUSED"})).unwrap()["state"],
            "unknown"
        );
        assert_eq!(
            status_to_v03(&json!({"state": 3})).unwrap()["state"],
            "completed"
        );
        assert_eq!(status_to_v03(&json!({})).unwrap()["state"], "unknown");
        assert!(status_to_v03(&json!({"state": {}})).is_err());
        assert_eq!(
            status_to_v1(&json!({"state": "done"}))
                .unwrap_err()
                .to_string(),
            "status.state: unknown task state \"done\""
        );
    }

    // -----------------------------------------------------------------------
    // Tasks, artifacts, events
    // -----------------------------------------------------------------------

    fn sample_task() -> Value {
        json!({
            "id": "t1", "contextId": "c1",
            "status": {"state": "TASK_STATE_COMPLETED", "timestamp": "2024-03-15T10:15:00.000Z",
                       "message": {"messageId": "s", "role": "ROLE_AGENT", "parts": [{"text": "done"}]}},
            "artifacts": [{"artifactId": "a1", "name": "out", "parts": [{"data": {"n": 1}}], "extensions": ["urn:e"]}],
            "history": [sample_message()],
            "metadata": {"origin": "test"},
            "createdAt": "2024-03-15T10:00:00.000Z"
        })
    }

    #[test]
    fn task_both_ways() {
        let v03 = task_to_v03(&sample_task()).unwrap();
        assert_eq!(v03["kind"], "task");
        assert_eq!(v03["status"]["state"], "completed");
        assert_eq!(v03["status"]["message"]["kind"], "message");
        assert_eq!(v03["artifacts"][0]["parts"][0]["kind"], "data");
        assert_eq!(v03["createdAt"], "2024-03-15T10:00:00.000Z");
        assert_v03("Task", &v03);
        assert_eq!(task_to_v1(&v03).unwrap(), sample_task());
    }

    #[test]
    fn task_fills_what_v03_requires_and_protojson_omits() {
        let v03 = task_to_v03(&json!({"id": "t"})).unwrap();
        assert_eq!(
            v03,
            json!({"kind": "task", "id": "t", "contextId": "", "status": {"state": "unknown"}})
        );
        assert_v03("Task", &v03);
        let v03 = task_to_v03(
            &json!({"id": "t", "context_id": "c", "status": {"state": "TASK_STATE_WORKING"},
            "artifacts": [{"artifact_id": "a"}]}),
        )
        .unwrap();
        assert_eq!(v03["contextId"], "c");
        assert_eq!(v03["artifacts"][0], json!({"artifactId": "a", "parts": []}));
        assert_v03("Task", &v03);
    }

    #[test]
    fn errors_name_the_path() {
        let mut t = sample_task();
        t["history"][0]["parts"][0] = json!({"raw": 5});
        assert_eq!(
            task_to_v03(&t).unwrap_err().to_string(),
            "task.history[0].parts[0].raw: must be a string, not a number"
        );
        let mut t = sample_task();
        t["artifacts"][0]["extensions"] = json!(["ok", 1]);
        assert_eq!(
            task_to_v03(&t).unwrap_err().to_string(),
            "task.artifacts[0].extensions[1]: must be a string"
        );
        assert_eq!(
            task_to_v03(&json!([1])).unwrap_err().to_string(),
            "task: must be an object, not an array"
        );
    }

    #[test]
    fn final_is_true_exactly_when_the_state_ends_the_stream() {
        let ending = [
            "TASK_STATE_COMPLETED",
            "TASK_STATE_FAILED",
            "TASK_STATE_CANCELED",
            "TASK_STATE_REJECTED",
            "TASK_STATE_INPUT_REQUIRED",
            "TASK_STATE_AUTH_REQUIRED",
        ];
        let open = [
            "TASK_STATE_SUBMITTED",
            "TASK_STATE_WORKING",
            "TASK_STATE_UNSPECIFIED",
            "TASK_STATE_NEW",
        ];
        for (states, expected) in [(&ending[..], true), (&open[..], false)] {
            for state in states {
                let item = json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}});
                let v03 = stream_item_to_v03(&item).unwrap();
                assert_eq!(v03["final"], expected, "{state}");
                assert_eq!(v03["kind"], "status-update");
                assert_v03("TaskStatusUpdateEvent", &v03);
            }
        }
        // `final` is dropped on the way back: v1.0 has no such field.
        let v03 = json!({"kind": "status-update", "taskId": "t", "contextId": "c", "status": {"state": "working"}, "final": true});
        assert_eq!(
            stream_item_to_v1(&v03).unwrap(),
            json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}})
        );
    }

    #[test]
    fn stream_items_both_ways() {
        let items = [
            json!({"task": sample_task()}),
            json!({"message": sample_message()}),
            json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "append": true, "lastChunk": false,
                "artifact": {"artifactId": "a", "parts": [{"url": "https://x"}]}, "metadata": {"i": 1}}}),
            json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}),
        ];
        for item in items {
            let v03 = stream_item_to_v03(&item).unwrap();
            assert_v03(definition_of_kind(&v03), &v03);
            assert_eq!(stream_item_to_v1(&v03).unwrap(), item);
        }
        // Proto member names are read too.
        let proto = json!({"artifact_update": {"task_id": "t", "context_id": "c", "artifact": {"artifact_id": "a"}, "last_chunk": true}});
        let v03 = stream_item_to_v03(&proto).unwrap();
        assert_eq!(v03["lastChunk"], true);
        assert_v03("TaskArtifactUpdateEvent", &v03);
    }

    #[test]
    fn stream_item_wrappers_need_exactly_one_member() {
        let two = json!({"task": sample_task(), "message": sample_message()});
        assert_eq!(
            stream_item_to_v03(&two).unwrap_err().to_string(),
            "result: needs exactly one of task, message, statusUpdate, artifactUpdate"
        );
        assert!(stream_item_to_v03(&json!({})).is_err());
        assert!(stream_item_to_v03(&json!("task")).is_err());
        assert!(stream_item_to_v1(&json!({"kind": "bogus"})).is_err());
    }

    #[test]
    fn lax_v03_events_without_kind_are_recognised() {
        let ev = json!({"taskId": "t", "contextId": "c", "status": {"state": "completed"}, "final": true});
        assert!(
            stream_item_to_v1(&ev)
                .unwrap()
                .get("statusUpdate")
                .is_some()
        );
        let task = json!({"id": "t", "contextId": "c", "status": {"state": "completed"}});
        assert!(stream_item_to_v1(&task).unwrap().get("task").is_some());
        let msg = json!({"messageId": "m", "role": "agent", "parts": []});
        assert!(stream_item_to_v1(&msg).unwrap().get("message").is_some());
    }

    // -----------------------------------------------------------------------
    // Params
    // -----------------------------------------------------------------------

    fn v03_send_params(configuration: Value) -> Value {
        json!({
            "message": {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "hi"}]},
            "configuration": configuration,
            "metadata": {"trace": "1"}
        })
    }

    #[test]
    fn blocking_defaults_to_blocking_in_both_versions() {
        let cases = [
            (json!({}), json!({})),
            (json!({"blocking": true}), json!({})),
            (
                json!({"blocking": false}),
                json!({"returnImmediately": true}),
            ),
        ];
        for (v03, v1) in cases {
            let out = params_to_v1(Method::SendMessage, &v03_send_params(v03)).unwrap();
            assert_eq!(out["configuration"], v1);
        }
        // Back to v0.3, `blocking` is always written.
        for (v1, blocking) in [
            (json!({}), true),
            (json!({"returnImmediately": false}), true),
            (json!({"returnImmediately": true}), false),
        ] {
            let params = json!({"message": sample_message(), "configuration": v1});
            let v03 = params_to_v03(Method::SendMessage, &params).unwrap();
            assert_eq!(v03["configuration"]["blocking"], blocking);
            assert_v03("MessageSendParams", &v03);
        }
    }

    #[test]
    fn send_params_both_ways() {
        let v03 = v03_send_params(json!({
            "acceptedOutputModes": ["text/plain"], "historyLength": 5, "blocking": false,
            "pushNotificationConfig": {"url": "https://hook", "id": "p1", "token": "tok",
                "authentication": {"schemes": ["Bearer", "Basic"], "credentials": "c"}}
        }));
        assert_v03("MessageSendParams", &v03);
        let v1 = params_to_v1(Method::SendStreamingMessage, &v03).unwrap();
        assert_eq!(
            v1,
            json!({
                "message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
                "configuration": {"acceptedOutputModes": ["text/plain"], "historyLength": 5, "returnImmediately": true,
                    "taskPushNotificationConfig": {"url": "https://hook", "id": "p1", "token": "tok",
                        "authentication": {"scheme": "Bearer", "credentials": "c"}}},
                "metadata": {"trace": "1"}
            })
        );
        let back = params_to_v03(Method::SendStreamingMessage, &v1).unwrap();
        assert_v03("MessageSendParams", &back);
        // Only the second authentication scheme is lost (v1.0 holds one).
        let mut expected = v03.clone();
        expected["configuration"]["pushNotificationConfig"]["authentication"]["schemes"] =
            json!(["Bearer"]);
        assert_eq!(back, expected);
    }

    #[test]
    fn history_length_zero_means_unlimited_in_v03_and_is_left_out() {
        let out = params_to_v1(
            Method::SendMessage,
            &v03_send_params(json!({"historyLength": 0})),
        )
        .unwrap();
        assert_eq!(out["configuration"], json!({}));
        let out = params_to_v1(Method::GetTask, &json!({"id": "t", "historyLength": 0})).unwrap();
        assert_eq!(out, json!({"id": "t"}));
        let out = params_to_v1(
            Method::GetTask,
            &json!({"id": "t", "historyLength": 3, "metadata": {"a": 1}}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"id": "t", "historyLength": 3, "metadata": {"a": 1}})
        );
        assert!(params_to_v1(Method::GetTask, &json!({"id": "t", "historyLength": 1.5})).is_err());
    }

    #[test]
    fn task_id_params_both_ways() {
        for m in [Method::GetTask, Method::CancelTask, Method::SubscribeToTask] {
            let v1 = json!({"id": "t", "tenant": "acme"});
            let v03 = params_to_v03(m, &v1).unwrap();
            assert_eq!(v03, v1);
            assert_v03(
                if m == Method::GetTask {
                    "TaskQueryParams"
                } else {
                    "TaskIdParams"
                },
                &v03,
            );
            assert_eq!(params_to_v1(m, &v03).unwrap(), v1);
        }
        let v03 = params_to_v03(Method::CancelTask, &json!({})).unwrap();
        assert_v03("TaskIdParams", &v03);
    }

    #[test]
    fn push_config_params_both_ways() {
        let set = json!({"taskId": "t", "pushNotificationConfig": {"url": "https://h", "id": "p",
            "authentication": {"schemes": ["Bearer"]}}});
        let v1 = params_to_v1(Method::CreateTaskPushNotificationConfig, &set).unwrap();
        assert_eq!(
            v1,
            json!({"taskId": "t", "url": "https://h", "id": "p", "authentication": {"scheme": "Bearer"}})
        );
        let back = params_to_v03(Method::CreateTaskPushNotificationConfig, &v1).unwrap();
        assert_eq!(back, set);
        assert_v03("TaskPushNotificationConfig", &back);
        assert_eq!(
            params_to_v1(
                Method::CreateTaskPushNotificationConfig,
                &json!({"taskId": "t"})
            )
            .unwrap_err()
            .to_string(),
            "pushNotificationConfig: is required"
        );

        let get = json!({"id": "t", "pushNotificationConfigId": "p"});
        let v1 = params_to_v1(Method::GetTaskPushNotificationConfig, &get).unwrap();
        assert_eq!(v1, json!({"taskId": "t", "id": "p"}));
        assert_eq!(
            params_to_v03(Method::GetTaskPushNotificationConfig, &v1).unwrap(),
            get
        );
        // v0.3's TaskIdParams form of get: no config id either way.
        let v1 = params_to_v1(Method::GetTaskPushNotificationConfig, &json!({"id": "t"})).unwrap();
        assert_eq!(v1, json!({"taskId": "t"}));
        let v03 = params_to_v03(
            Method::GetTaskPushNotificationConfig,
            &json!({"taskId": "t", "id": ""}),
        )
        .unwrap();
        assert_eq!(v03, json!({"id": "t"}));
        assert_v03("GetTaskPushNotificationConfigParams", &v03);

        let del = json!({"id": "t", "pushNotificationConfigId": "p"});
        let v1 = params_to_v1(Method::DeleteTaskPushNotificationConfig, &del).unwrap();
        assert_eq!(v1, json!({"taskId": "t", "id": "p"}));
        let back = params_to_v03(Method::DeleteTaskPushNotificationConfig, &v1).unwrap();
        assert_eq!(back, del);
        assert_v03("DeleteTaskPushNotificationConfigParams", &back);

        let list = json!({"id": "t"});
        let v1 = params_to_v1(Method::ListTaskPushNotificationConfigs, &list).unwrap();
        assert_eq!(v1, json!({"taskId": "t"}));
        let back = params_to_v03(
            Method::ListTaskPushNotificationConfigs,
            &json!({"taskId": "t", "pageSize": 10}),
        )
        .unwrap();
        assert_eq!(back, json!({"id": "t", "pageSize": 10}));
        assert_v03("ListTaskPushNotificationConfigParams", &back);
    }

    #[test]
    fn list_tasks_and_card_params_are_best_effort() {
        assert_eq!(
            params_to_v1(Method::ListTasks, &Value::Null).unwrap(),
            json!({})
        );
        assert_eq!(
            params_to_v1(
                Method::ListTasks,
                &json!({"status": "working", "pageSize": 10})
            )
            .unwrap(),
            json!({"status": "TASK_STATE_WORKING", "pageSize": 10})
        );
        assert_eq!(
            params_to_v03(Method::ListTasks, &json!({"status": "TASK_STATE_WORKING"})).unwrap(),
            json!({"status": "working"})
        );
        assert!(params_to_v1(Method::ListTasks, &json!({"status": "busy"})).is_err());
        assert_eq!(
            params_to_v1(Method::GetExtendedAgentCard, &Value::Null).unwrap(),
            json!({})
        );
        assert_eq!(
            params_to_v1(Method::SendMessage, &json!([1]))
                .unwrap_err()
                .to_string(),
            "params: must be an object, not an array"
        );
    }

    // -----------------------------------------------------------------------
    // Results
    // -----------------------------------------------------------------------

    #[test]
    fn send_message_results_are_bare_in_v03() {
        let task = result_to_v03(Method::SendMessage, &json!({"task": sample_task()})).unwrap();
        assert_eq!(task["kind"], "task");
        assert_v03("Task", &task);
        assert_eq!(
            result_to_v1(Method::SendMessage, &task).unwrap(),
            json!({"task": sample_task()})
        );
        let msg =
            result_to_v03(Method::SendMessage, &json!({"message": sample_message()})).unwrap();
        assert_eq!(msg["kind"], "message");
        assert_eq!(
            result_to_v1(Method::SendMessage, &msg).unwrap(),
            json!({"message": sample_message()})
        );
        // A status update is not a SendMessage result.
        assert!(result_to_v03(Method::SendMessage, &json!({"statusUpdate": {}})).is_err());
        assert!(result_to_v1(Method::SendMessage, &json!({"kind": "status-update"})).is_err());
    }

    #[test]
    fn task_results_and_streamed_results() {
        for m in [Method::GetTask, Method::CancelTask] {
            let v03 = result_to_v03(m, &sample_task()).unwrap();
            assert_v03("Task", &v03);
            assert_eq!(result_to_v1(m, &v03).unwrap(), sample_task());
        }
        for m in [Method::SendStreamingMessage, Method::SubscribeToTask] {
            let item = json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_FAILED"}}});
            let v03 = result_to_v03(m, &item).unwrap();
            assert_eq!(v03["final"], true);
            assert_eq!(result_to_v1(m, &v03).unwrap(), item);
        }
    }

    #[test]
    fn list_tasks_result_is_an_array_of_tasks() {
        let v1 =
            json!({"tasks": [sample_task()], "nextPageToken": "", "pageSize": 1, "totalSize": 1});
        let v03 = result_to_v03(Method::ListTasks, &v1).unwrap();
        let tasks = v03.as_array().unwrap();
        assert_eq!(tasks.len(), 1);
        assert_v03("Task", &tasks[0]);
        assert_eq!(result_to_v1(Method::ListTasks, &v03).unwrap(), v1);
        assert_eq!(
            result_to_v03(Method::ListTasks, &json!({})).unwrap(),
            json!([])
        );
        // The object form some v0.3-era servers use is read too.
        let obj = json!({"tasks": [task_to_v03(&sample_task()).unwrap()], "totalSize": 7});
        let back = result_to_v1(Method::ListTasks, &obj).unwrap();
        assert_eq!(back["totalSize"], 7);
        assert_eq!(back["tasks"][0], sample_task());
    }

    #[test]
    fn push_config_results() {
        let v1 =
            json!({"taskId": "t", "id": "p", "url": "https://h", "token": "x", "tenant": "acme"});
        let v03 = result_to_v03(Method::GetTaskPushNotificationConfig, &v1).unwrap();
        assert_eq!(
            v03,
            json!({"taskId": "t", "pushNotificationConfig": {"id": "p", "url": "https://h", "token": "x", "tenant": "acme"}})
        );
        assert_v03("TaskPushNotificationConfig", &v03);
        assert_eq!(
            result_to_v1(Method::GetTaskPushNotificationConfig, &v03).unwrap(),
            v1
        );

        let list = json!({"configs": [v1.clone()], "nextPageToken": "n"});
        let v03 = result_to_v03(Method::ListTaskPushNotificationConfigs, &list).unwrap();
        assert_eq!(v03.as_array().unwrap().len(), 1);
        assert_v03("TaskPushNotificationConfig", &v03[0]);
        assert_eq!(
            result_to_v1(Method::ListTaskPushNotificationConfigs, &v03).unwrap(),
            json!({"configs": [v1]})
        );
        assert_eq!(
            result_to_v03(Method::ListTaskPushNotificationConfigs, &json!({})).unwrap(),
            json!([])
        );

        assert_eq!(
            result_to_v03(Method::DeleteTaskPushNotificationConfig, &json!({})).unwrap(),
            Value::Null
        );
        assert_eq!(
            result_to_v1(Method::DeleteTaskPushNotificationConfig, &Value::Null).unwrap(),
            json!({})
        );
    }

    // -----------------------------------------------------------------------
    // Cards
    // -----------------------------------------------------------------------

    /// A served v1.0 card exercising every field the merge touches (the same
    /// card was fed to the Python SDK's `agent_card_to_dict` to get the
    /// expectations below).
    fn sample_card() -> Value {
        json!({
            "name": "Echo", "description": "d", "version": "1.0.0",
            "supportedInterfaces": [
                {"url": "http://gw/a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                {"url": "http://gw/a/v03", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
                {"url": "http://gw/a/rest03", "protocolBinding": "HTTP+JSON", "protocolVersion": "0.3"}
            ],
            "capabilities": {"streaming": true, "pushNotifications": false, "extendedAgentCard": true,
                "extensions": [{"uri": "u", "required": true}]},
            "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "s", "name": "S", "description": "d", "tags": ["t"],
                "securityRequirements": [{"schemes": {"k": {"list": ["a"]}}}]},
                {"id": "s2", "name": "S2", "description": "no tags"}],
            "securitySchemes": {
                "k": {"apiKeySecurityScheme": {"location": "header", "name": "X-Key"}},
                "o": {"oauth2SecurityScheme": {"flows": {"authorizationCode": {"authorizationUrl": "https://a",
                    "tokenUrl": "https://t", "scopes": {"r": "read"}, "pkceRequired": true}}}},
                "h": {"httpAuthSecurityScheme": {"scheme": "bearer", "bearerFormat": "JWT"}},
                "m": {"mtlsSecurityScheme": {"description": "mtls"}},
                "oi": {"openIdConnectSecurityScheme": {"openIdConnectUrl": "https://oidc"}},
                "dc": {"oauth2SecurityScheme": {"flows": {"deviceCode": {"deviceAuthorizationUrl": "https://d",
                    "tokenUrl": "https://t"}}}}
            },
            "securityRequirements": [{"schemes": {"k": {"list": []}, "o": {"list": ["r"]}}}],
            "provider": {"organization": "O", "url": "https://o"},
            "iconUrl": "https://i", "documentationUrl": "https://doc",
            "signatures": [{"protected": "p", "signature": "s", "header": {"kid": "k"}}]
        })
    }

    #[test]
    fn merged_card_keeps_v1_and_adds_v03_fields() {
        let card = sample_card();
        let merged = card_to_v03_merged(&card);
        assert_v03("AgentCard", &merged);
        // Every v1.0 field is still there, unchanged.
        for (k, v) in card.as_object().unwrap() {
            if k != "skills" && k != "securitySchemes" {
                assert_eq!(&merged[k], v, "{k}");
            }
        }
        assert_eq!(
            merged["skills"][0]["securityRequirements"],
            card["skills"][0]["securityRequirements"]
        );
        assert_eq!(
            merged["securitySchemes"]["k"]["apiKeySecurityScheme"],
            card["securitySchemes"]["k"]["apiKeySecurityScheme"]
        );
        // Connection fields from the first 0.3 interface; all 0.3 interfaces listed.
        assert_eq!(merged["url"], "http://gw/a/v03");
        assert_eq!(merged["preferredTransport"], "JSONRPC");
        assert_eq!(merged["protocolVersion"], "0.3.0");
        assert_eq!(
            merged["additionalInterfaces"],
            json!([{"url": "http://gw/a/v03", "transport": "JSONRPC"}, {"url": "http://gw/a/rest03", "transport": "HTTP+JSON"}])
        );
        // The rest as the Python SDK writes it.
        assert_eq!(merged["supportsAuthenticatedExtendedCard"], true);
        assert_eq!(merged["security"], json!([{"k": [], "o": ["r"]}]));
        assert_eq!(merged["skills"][0]["security"], json!([{"k": ["a"]}]));
        assert_eq!(merged["skills"][1]["tags"], json!([]));
        let schemes = &merged["securitySchemes"];
        assert_eq!(schemes["k"]["type"], "apiKey");
        assert_eq!(schemes["k"]["in"], "header");
        assert_eq!(schemes["k"]["name"], "X-Key");
        assert_eq!(schemes["h"]["type"], "http");
        assert_eq!(schemes["h"]["scheme"], "bearer");
        assert_eq!(schemes["h"]["bearerFormat"], "JWT");
        assert_eq!(schemes["o"]["type"], "oauth2");
        assert_eq!(
            schemes["o"]["flows"],
            json!({"authorizationCode": {"authorizationUrl": "https://a", "tokenUrl": "https://t", "scopes": {"r": "read"}}})
        );
        assert_eq!(schemes["dc"]["flows"], json!({}));
        assert_eq!(schemes["m"]["type"], "mutualTLS");
        assert_eq!(schemes["m"]["description"], "mtls");
        assert_eq!(schemes["oi"]["type"], "openIdConnect");
        assert_eq!(schemes["oi"]["openIdConnectUrl"], "https://oidc");
    }

    #[test]
    fn merged_card_falls_back_to_the_first_interface_and_overwrites_stale_fields() {
        let mut card = sample_card();
        card["supportedInterfaces"] = json!([
            {"url": "http://gw/a", "protocolBinding": "jsonrpc", "protocolVersion": "1.0"},
            {"url": "http://gw/a", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
        ]);
        card["url"] = json!("mqtt://broker:1883");
        card["protocolVersion"] = json!("1.0");
        card["supportsAuthenticatedExtendedCard"] = json!(true);
        card["capabilities"]["extendedAgentCard"] = json!(false);
        let merged = card_to_v03_merged(&card);
        assert_eq!(merged["url"], "http://gw/a");
        assert_eq!(merged["preferredTransport"], "JSONRPC");
        assert_eq!(merged["protocolVersion"], "0.3.0");
        assert_eq!(merged["additionalInterfaces"].as_array().unwrap().len(), 2);
        assert!(merged.get("supportsAuthenticatedExtendedCard").is_none());
        assert_v03("AgentCard", &merged);
        assert_eq!(card_to_v03_merged(&json!("x")), json!("x"));
    }

    #[test]
    fn merged_card_reads_back_as_the_v1_card() {
        let card = sample_card();
        let merged = card_to_v03_merged(&card);
        let mut expected = card.clone();
        expected["skills"][1]["tags"] = json!([]);
        assert_eq!(card_to_v1(&merged).unwrap(), expected);
        assert_eq!(
            result_to_v1(Method::GetExtendedAgentCard, &merged).unwrap(),
            expected
        );
        assert_eq!(
            result_to_v03(Method::GetExtendedAgentCard, &card).unwrap(),
            merged
        );
    }

    #[test]
    fn plain_v03_card_reads_as_v1() {
        let v03 = json!({
            "name": "n", "description": "d", "version": "1", "protocolVersion": "0.3.0",
            "url": "https://a", "preferredTransport": "JSONRPC",
            "additionalInterfaces": [{"url": "https://a", "transport": "JSONRPC"}, {"url": "https://a/g", "transport": "GRPC"}],
            "supportsAuthenticatedExtendedCard": true,
            "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": [],
            "securitySchemes": {"k": {"type": "apiKey", "in": "query", "name": "key"},
                "o": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "t", "scopes": {}}, "password": {"tokenUrl": "p", "scopes": {}}}}},
            "security": [{"k": []}]
        });
        assert_v03("AgentCard", &v03);
        let v1 = card_to_v1(&v03).unwrap();
        assert_eq!(
            v1["supportedInterfaces"],
            json!([{"url": "https://a", "protocolBinding": "JSONRPC", "protocolVersion": "0.3.0"},
                   {"url": "https://a/g", "protocolBinding": "GRPC", "protocolVersion": "0.3.0"}])
        );
        assert_eq!(v1["capabilities"]["extendedAgentCard"], true);
        assert_eq!(
            v1["securitySchemes"]["k"],
            json!({"apiKeySecurityScheme": {"location": "query", "name": "key"}})
        );
        assert_eq!(
            v1["securitySchemes"]["o"],
            json!({"oauth2SecurityScheme": {"flows": {"clientCredentials": {"tokenUrl": "t", "scopes": {}}}}})
        );
        assert_eq!(
            v1["securityRequirements"],
            json!([{"schemes": {"k": {"list": []}}}])
        );
        for gone in [
            "url",
            "preferredTransport",
            "protocolVersion",
            "additionalInterfaces",
            "security",
            "supportsAuthenticatedExtendedCard",
        ] {
            assert!(v1.get(gone).is_none(), "{gone}");
        }
    }

    // -----------------------------------------------------------------------
    // Error messages
    // -----------------------------------------------------------------------

    #[test]
    fn error_messages_use_v03_names() {
        assert_eq!(
            text_to_v03("task t-1 is already TASK_STATE_COMPLETED"),
            "task t-1 is already completed"
        );
        assert_eq!(
            text_to_v03("TASK_STATE_INPUT_REQUIRED, not TASK_STATE_CANCELED"),
            "input-required, not canceled"
        );
        assert_eq!(
            text_to_v03("invalid SendMessage params at `message.role`: expected ROLE_USER"),
            "invalid message/send params at `message.role`: expected user"
        );
        assert_eq!(
            text_to_v03("the task may still be running: use GetTask or SubscribeToTask"),
            "the task may still be running: use tasks/get or tasks/resubscribe"
        );
        assert_eq!(
            text_to_v03("configuration.taskPushNotificationConfig.url"),
            "configuration.pushNotificationConfig.url"
        );
        // Words are whole: longer names and parts of ids stay.
        assert_eq!(
            text_to_v03("SendMessageRequest xTASK_STATE_WORKING GetTasks"),
            "SendMessageRequest xTASK_STATE_WORKING GetTasks"
        );
        // Quoted text is what the client sent; escapes inside it do not end it.
        assert_eq!(
            text_to_v03(r#"no task "GetTask \" TASK_STATE_WORKING" in TASK_STATE_WORKING"#),
            r#"no task "GetTask \" TASK_STATE_WORKING" in working"#
        );
        // Non-ASCII text passes through whole.
        assert_eq!(text_to_v03("état TASK_STATE_FAILED — ✓"), "état failed — ✓");
        assert_eq!(text_to_v03(""), "");
    }

    // -----------------------------------------------------------------------
    // Robustness
    // -----------------------------------------------------------------------

    #[test]
    fn deep_values_are_refused_with_their_path() {
        let mut deep = json!(1);
        for _ in 0..1000 {
            deep = json!([deep]);
        }
        let msg = json!({"messageId": "m", "parts": [], "metadata": {"deep": deep}});
        let err = message_to_v03(&msg).unwrap_err().to_string();
        assert!(err.starts_with("message.metadata.deep[0][0][0]"), "{err}");
        assert!(
            err.ends_with(&format!("nested deeper than {MAX_DEPTH} levels")),
            "{err}"
        );
        assert!(stream_item_to_v1(&deep).is_err());
        assert!(params_to_v1(Method::SendMessage, &deep).is_err());

        // Nesting real JSON can have (serde_json parses up to 128) passes.
        let mut ok = json!(1);
        for _ in 0..120 {
            ok = json!({"a": ok});
        }
        let msg = json!({"messageId": "m", "parts": [], "metadata": {"ok": ok}});
        assert!(message_to_v03(&msg).is_ok());
    }

    #[test]
    fn non_objects_are_errors_not_panics() {
        for v in [Value::Null, json!(1), json!("s"), json!([]), json!(true)] {
            assert!(message_to_v03(&v).is_err());
            assert!(message_to_v1(&v).is_err());
            assert!(part_to_v03(&v).is_err());
            assert!(task_to_v1(&v).is_err());
            assert!(stream_item_to_v03(&v).is_err());
            assert!(card_to_v1(&v).is_err());
        }
    }

    // -----------------------------------------------------------------------
    // Property tests
    // -----------------------------------------------------------------------

    /// Keys and strings that steer random JSON into the converters' branches.
    const VOCABULARY: [&str; 56] = [
        "kind",
        "text",
        "raw",
        "url",
        "data",
        "file",
        "bytes",
        "uri",
        "mimeType",
        "mediaType",
        "media_type",
        "name",
        "filename",
        "metadata",
        "parts",
        "role",
        "messageId",
        "message_id",
        "contextId",
        "taskId",
        "task_id",
        "task",
        "message",
        "statusUpdate",
        "artifactUpdate",
        "status_update",
        "status",
        "state",
        "timestamp",
        "artifact",
        "artifacts",
        "history",
        "id",
        "append",
        "lastChunk",
        "final",
        "configuration",
        "blocking",
        "returnImmediately",
        "historyLength",
        "pushNotificationConfig",
        "taskPushNotificationConfig",
        "authentication",
        "schemes",
        "scheme",
        "extensions",
        "referenceTaskIds",
        "value",
        "data_part_compat",
        "tasks",
        "configs",
        "pushNotificationConfigId",
        "supportedInterfaces",
        "securitySchemes",
        "skills",
        "type",
    ];

    const WORDS: [&str; 16] = [
        "text",
        "file",
        "data",
        "message",
        "task",
        "status-update",
        "artifact-update",
        "user",
        "agent",
        "ROLE_USER",
        "TASK_STATE_COMPLETED",
        "completed",
        "input-required",
        "JSONRPC",
        "0.3",
        "apiKey",
    ];

    fn any_key() -> impl Strategy<Value = String> {
        prop_oneof![
            select(&VOCABULARY[..]).prop_map(str::to_owned),
            "[a-z_]{1,6}"
        ]
    }

    fn json_leaf() -> BoxedStrategy<Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1.0e6f64..1.0e6).prop_map(Value::from),
            select(&WORDS[..]).prop_map(|w| json!(w)),
            ".{0,8}".prop_map(Value::String),
        ]
        .boxed()
    }

    /// Arbitrary JSON, biased towards the shapes of A2A objects.
    fn any_json() -> BoxedStrategy<Value> {
        json_leaf()
            .prop_recursive(5, 48, 6, |inner| {
                prop_oneof![
                    vec(inner.clone(), 0..5).prop_map(Value::Array),
                    btree_map(any_key(), inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
            .boxed()
    }

    fn id() -> impl Strategy<Value = String> {
        "[a-z0-9-]{1,12}"
    }

    /// Metadata: absent, `{}` or an object with keys. (`{}` next to a wrapped
    /// non-object data part is the one value a round trip drops: [`v1_part`]
    /// leaves it out there, see [`round_trips`].)
    fn metadata() -> impl Strategy<Value = Option<Value>> {
        option::of(
            btree_map("[a-z]{1,6}", any_json(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        )
    }

    /// Puts the optional fields into an object.
    fn with(mut obj: Value, fields: Vec<(&str, Option<Value>)>) -> Value {
        if let Value::Object(o) = &mut obj {
            for (k, v) in fields {
                if let Some(v) = v {
                    o.insert(k.to_owned(), v);
                }
            }
        }
        obj
    }

    /// An optional string field's value.
    fn opt_str(s: Option<String>) -> Option<Value> {
        s.map(Value::String)
    }

    fn strings() -> impl Strategy<Value = Option<Value>> {
        option::of(vec("[a-z:/.]{1,10}", 0..3).prop_map(|v| json!(v)))
    }

    fn extra() -> impl Strategy<Value = Option<Value>> {
        option::of(any_json())
    }

    fn v1_part() -> impl Strategy<Value = Value> {
        let content = prop_oneof![
            ".{0,12}".prop_map(|t| ("text", json!(t))),
            "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(|b| ("raw", json!(b))),
            "https://[a-z]{1,6}\\.example/[a-z]{0,6}".prop_map(|u| ("url", json!(u))),
            any_json()
                .prop_filter("data is not null", |d| !d.is_null())
                .prop_map(|d| ("data", d)),
        ];
        (
            content,
            option::of("[a-z]{1,5}/[a-z]{1,5}"),
            option::of("[a-z]{1,8}\\.[a-z]{2,3}"),
            metadata(),
            extra(),
        )
            .prop_map(|((key, value), media, filename, metadata, extra)| {
                let wrapped = key == "data" && !value.is_object();
                let metadata = metadata.filter(|m| !(wrapped && m == &json!({})));
                with(
                    json!({ key: value }),
                    vec![
                        ("mediaType", media.map(|m| json!(m))),
                        ("filename", filename.map(|f| json!(f))),
                        ("metadata", metadata),
                        ("x-extra", extra),
                    ],
                )
            })
    }

    // Shapes v1.0 and v0.3 share: each takes the version's generators of what
    // it contains (parts, roles and states differ, and v0.3 adds `kind`).

    /// A Message of `part`s from one of `roles`.
    fn message_of(
        roles: Vec<&'static str>,
        part: impl Strategy<Value = Value>,
    ) -> impl Strategy<Value = Value> {
        (
            id(),
            select(roles),
            vec(part, 0..4),
            option::of(id()),
            option::of(id()),
            metadata(),
            strings(),
            strings(),
            extra(),
        )
            .prop_map(
                |(message_id, role, parts, context, task, metadata, extensions, refs, extra)| {
                    with(
                        json!({"messageId": message_id, "role": role, "parts": parts}),
                        vec![
                            ("contextId", opt_str(context)),
                            ("taskId", opt_str(task)),
                            ("metadata", metadata),
                            ("extensions", extensions),
                            ("referenceTaskIds", refs),
                            ("x-extra", extra),
                        ],
                    )
                },
            )
    }

    /// A TaskStatus in a `state`, perhaps with a `message`.
    fn status_of(
        state: impl Strategy<Value = Value>,
        message: impl Strategy<Value = Value>,
    ) -> impl Strategy<Value = Value> {
        (
            state,
            option::of(message),
            option::of("20[0-9]{2}-0[1-9]-1[0-9]T1[0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z"),
            extra(),
        )
            .prop_map(|(state, message, ts, extra)| {
                with(
                    json!({"state": state}),
                    vec![
                        ("message", message),
                        ("timestamp", opt_str(ts)),
                        ("x-extra", extra),
                    ],
                )
            })
    }

    /// An Artifact of `part`s.
    fn artifact_of(part: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        (
            id(),
            option::of(".{0,8}"),
            option::of(".{0,8}"),
            vec(part, 0..3),
            metadata(),
            strings(),
            extra(),
        )
            .prop_map(
                |(artifact_id, name, description, parts, metadata, extensions, extra)| {
                    with(
                        json!({"artifactId": artifact_id, "parts": parts}),
                        vec![
                            ("name", opt_str(name)),
                            ("description", opt_str(description)),
                            ("metadata", metadata),
                            ("extensions", extensions),
                            ("x-extra", extra),
                        ],
                    )
                },
            )
    }

    /// A Task with a `status`, perhaps `artifact`s and a history of `message`s.
    fn task_of(
        status: impl Strategy<Value = Value>,
        artifact: impl Strategy<Value = Value>,
        message: impl Strategy<Value = Value>,
    ) -> impl Strategy<Value = Value> {
        (
            id(),
            id(),
            status,
            option::of(vec(artifact, 0..3)),
            option::of(vec(message, 0..3)),
            metadata(),
            extra(),
        )
            .prop_map(
                |(task_id, context, status, artifacts, history, metadata, extra)| {
                    with(
                        json!({"id": task_id, "contextId": context, "status": status}),
                        vec![
                            ("artifacts", artifacts.map(Value::Array)),
                            ("history", history.map(Value::Array)),
                            ("metadata", metadata),
                            ("x-extra", extra),
                        ],
                    )
                },
            )
    }

    /// A TaskStatusUpdateEvent with a `status`.
    fn status_update_of(status: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        (id(), id(), status, metadata(), extra()).prop_map(|(t, c, status, metadata, extra)| {
            with(
                json!({"taskId": t, "contextId": c, "status": status}),
                vec![("metadata", metadata), ("x-extra", extra)],
            )
        })
    }

    /// A TaskArtifactUpdateEvent with an `artifact`.
    fn artifact_update_of(artifact: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        (
            id(),
            id(),
            artifact,
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            metadata(),
            extra(),
        )
            .prop_map(|(t, c, artifact, append, last, metadata, extra)| {
                with(
                    json!({"taskId": t, "contextId": c, "artifact": artifact}),
                    vec![
                        ("append", append.map(Value::Bool)),
                        ("lastChunk", last.map(Value::Bool)),
                        ("metadata", metadata),
                        ("x-extra", extra),
                    ],
                )
            })
    }

    /// A push notification config to a `url`, perhaps with an authentication:
    /// a scheme, credentials and extra fields, which `auth` puts in the
    /// version's shape.
    fn push_config_of(
        url: impl Strategy<Value = String>,
        auth: fn(Option<String>, Option<String>, Option<Value>) -> Value,
    ) -> impl Strategy<Value = Value> {
        let auth = (
            option::of("[A-Z][a-z]{2,6}"),
            option::of("[a-z0-9]{1,8}"),
            extra(),
        )
            .prop_map(move |(scheme, credentials, extra)| auth(scheme, credentials, extra));
        (
            url,
            option::of(id()),
            option::of(id()),
            option::of(auth),
            extra(),
        )
            .prop_map(|(url, config_id, token, auth, extra)| {
                with(
                    json!({"url": url}),
                    vec![
                        ("id", opt_str(config_id)),
                        ("token", opt_str(token)),
                        ("authentication", auth),
                        ("x-extra", extra),
                    ],
                )
            })
    }

    fn v1_message() -> impl Strategy<Value = Value> {
        message_of(vec!["ROLE_USER", "ROLE_AGENT"], v1_part())
    }

    fn v1_state() -> impl Strategy<Value = Value> {
        select(STATES.iter().map(|(v1, _, _)| *v1).collect::<Vec<_>>()).prop_map(|s| json!(s))
    }

    fn v1_status() -> impl Strategy<Value = Value> {
        status_of(v1_state(), v1_message())
    }

    fn v1_artifact() -> impl Strategy<Value = Value> {
        artifact_of(v1_part())
    }

    fn v1_task() -> impl Strategy<Value = Value> {
        task_of(v1_status(), v1_artifact(), v1_message())
    }

    fn v1_stream_item() -> impl Strategy<Value = Value> {
        prop_oneof![
            v1_task().prop_map(|t| json!({"task": t})),
            v1_message().prop_map(|m| json!({"message": m})),
            status_update_of(v1_status()).prop_map(|s| json!({"statusUpdate": s})),
            artifact_update_of(v1_artifact()).prop_map(|a| json!({"artifactUpdate": a})),
        ]
    }

    /// A v1.0 TaskPushNotificationConfig as it can appear in SendMessage.
    fn v1_push_config() -> impl Strategy<Value = Value> {
        push_config_of(
            "https://[a-z]{1,8}\\.example/hook",
            |scheme, credentials, extra| {
                with(
                    json!({}),
                    vec![
                        ("scheme", opt_str(scheme)),
                        ("credentials", opt_str(credentials)),
                        ("x-extra", extra),
                    ],
                )
            },
        )
    }

    fn v1_send_params() -> impl Strategy<Value = Value> {
        let config = (
            option::of(vec("[a-z]{1,5}/[a-z]{1,5}", 0..3)),
            option::of(1i64..1000),
            option::of(Just(true)),
            option::of(v1_push_config()),
            extra(),
        )
            .prop_map(|(modes, history, return_immediately, push, extra)| {
                with(
                    json!({}),
                    vec![
                        ("acceptedOutputModes", modes.map(|m| json!(m))),
                        ("historyLength", history.map(|h| json!(h))),
                        ("returnImmediately", return_immediately.map(Value::Bool)),
                        ("taskPushNotificationConfig", push),
                        ("x-extra", extra),
                    ],
                )
            });
        (
            v1_message(),
            option::of(config),
            metadata(),
            option::of(id()),
        )
            .prop_map(|(message, configuration, metadata, tenant)| {
                with(
                    json!({"message": message}),
                    vec![
                        ("configuration", configuration),
                        ("metadata", metadata),
                        ("tenant", tenant.map(|t| json!(t))),
                    ],
                )
            })
    }

    fn v1_task_push_config() -> impl Strategy<Value = Value> {
        (id(), v1_push_config(), option::of(id())).prop_map(|(task_id, mut config, tenant)| {
            config["taskId"] = json!(task_id);
            with(config, vec![("tenant", tenant.map(|t| json!(t)))])
        })
    }

    fn assert_ok_v03(
        definition: &str,
        out: Result<Value, TranslateError>,
    ) -> Result<(), TestCaseError> {
        if let Ok(v) = out {
            let errors = v03_errors(definition, &v);
            prop_assert!(
                errors.is_empty(),
                "invalid v0.3 {}: {:?}\n{}",
                definition,
                errors,
                v
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn messages_round_trip_and_validate(m in v1_message()) {
            let v03 = message_to_v03(&m).unwrap();
            assert_v03("Message", &v03);
            prop_assert_eq!(message_to_v1(&v03).unwrap(), m);
        }

        #[test]
        fn parts_round_trip_and_validate(p in v1_part()) {
            let v03 = part_to_v03(&p).unwrap();
            assert_v03("Part", &v03);
            prop_assert_eq!(part_to_v1(&v03).unwrap(), p);
        }

        #[test]
        fn tasks_round_trip_and_validate(t in v1_task()) {
            let v03 = task_to_v03(&t).unwrap();
            assert_v03("Task", &v03);
            prop_assert_eq!(task_to_v1(&v03).unwrap(), t.clone());
            let r = json!({"task": t});
            let v03 = result_to_v03(Method::SendMessage, &r).unwrap();
            prop_assert_eq!(result_to_v1(Method::SendMessage, &v03).unwrap(), r);
        }

        #[test]
        fn stream_items_round_trip_and_validate(item in v1_stream_item()) {
            let v03 = stream_item_to_v03(&item).unwrap();
            assert_v03(definition_of_kind(&v03), &v03);
            prop_assert_eq!(stream_item_to_v1(&v03).unwrap(), item);
        }

        #[test]
        fn send_params_round_trip_and_validate(p in v1_send_params()) {
            let v03 = params_to_v03(Method::SendMessage, &p).unwrap();
            assert_v03("MessageSendParams", &v03);
            prop_assert_eq!(params_to_v1(Method::SendMessage, &v03).unwrap(), p);
        }

        #[test]
        fn push_configs_round_trip_and_validate(c in v1_task_push_config()) {
            let v03 = params_to_v03(Method::CreateTaskPushNotificationConfig, &c).unwrap();
            assert_v03("TaskPushNotificationConfig", &v03);
            prop_assert_eq!(params_to_v1(Method::CreateTaskPushNotificationConfig, &v03).unwrap(), c.clone());
            let v03 = result_to_v03(Method::GetTaskPushNotificationConfig, &c).unwrap();
            prop_assert_eq!(result_to_v1(Method::GetTaskPushNotificationConfig, &v03).unwrap(), c);
        }

        /// Whatever comes in, nothing panics, and whatever v0.3 comes out is valid.
        #[test]
        fn arbitrary_json_never_panics_and_v03_outputs_validate(v in any_json()) {
            assert_ok_v03("Message", message_to_v03(&v))?;
            assert_ok_v03("Part", part_to_v03(&v))?;
            assert_ok_v03("Task", task_to_v03(&v))?;
            assert_ok_v03("TaskStatus", status_to_v03(&v))?;
            assert_ok_v03("Artifact", artifact_to_v03(&v))?;
            assert_ok_v03("TaskStatusUpdateEvent", status_event_to_v03(&v))?;
            assert_ok_v03("TaskArtifactUpdateEvent", artifact_event_to_v03(&v))?;
            assert_ok_v03("TaskPushNotificationConfig", task_push_config_to_v03(&v))?;
            if let Ok(e) = stream_item_to_v03(&v) {
                assert_ok_v03(definition_of_kind(&e), Ok(e))?;
            }
            if let Ok(r) = result_to_v03(Method::SendMessage, &v) {
                assert_ok_v03(definition_of_kind(&r), Ok(r))?;
            }
            for (method, definition) in [
                (Method::SendMessage, "MessageSendParams"),
                (Method::GetTask, "TaskQueryParams"),
                (Method::CancelTask, "TaskIdParams"),
                (Method::CreateTaskPushNotificationConfig, "TaskPushNotificationConfig"),
                (Method::GetTaskPushNotificationConfig, "GetTaskPushNotificationConfigParams"),
                (Method::ListTaskPushNotificationConfigs, "ListTaskPushNotificationConfigParams"),
                (Method::DeleteTaskPushNotificationConfig, "DeleteTaskPushNotificationConfigParams"),
            ] {
                assert_ok_v03(definition, params_to_v03(method, &v))?;
            }
            for m in Method::ALL {
                let _ = params_to_v1(m, &v);
                let _ = params_to_v03(m, &v);
                let _ = result_to_v1(m, &v);
                let _ = result_to_v03(m, &v);
            }
            let _ = message_to_v1(&v);
            let _ = part_to_v1(&v);
            let _ = task_to_v1(&v);
            let _ = status_to_v1(&v);
            let _ = artifact_to_v1(&v);
            let _ = status_event_to_v1(&v);
            let _ = artifact_event_to_v1(&v);
            let _ = task_push_config_to_v1(&v);
            let _ = stream_item_to_v1(&v);
            let _ = card_to_v1(&v);
            let _ = card_to_v03_merged(&v);
        }

        /// Random payloads inside valid v1.0 wrappers and parts: reaches deeper
        /// branches than bare random JSON does.
        #[test]
        fn arbitrary_payloads_in_v1_wrappers_give_valid_v03_or_errors(
            v in any_json(),
            member in select(vec!["task", "message", "statusUpdate", "artifactUpdate", "status_update", "artifact_update"]),
            content in select(vec!["text", "raw", "url", "data"]),
        ) {
            if let Ok(e) = stream_item_to_v03(&json!({ member: v.clone() })) {
                assert_ok_v03(definition_of_kind(&e), Ok(e))?;
            }
            let mut part = v.clone();
            if let Value::Object(o) = &mut part {
                for other in V1_PART_CONTENT {
                    o.remove(other);
                }
                o.insert(content.into(), json!("x"));
            }
            assert_ok_v03("Part", part_to_v03(&part))?;
            let message = json!({"messageId": "m", "role": "ROLE_USER", "parts": [part]});
            assert_ok_v03("Message", message_to_v03(&message))?;
        }

        /// Random JSON dressed as v0.3 (valid kinds on top) does not panic either.
        #[test]
        fn arbitrary_v03_shaped_json_never_panics(
            v in any_json(),
            kind in select(vec!["task", "message", "status-update", "artifact-update", "text", "file", "data"]),
        ) {
            let mut v = v;
            if let Value::Object(o) = &mut v {
                o.insert("kind".into(), json!(kind));
            }
            let _ = stream_item_to_v1(&v);
            let _ = part_to_v1(&v);
            let _ = message_to_v1(&v);
            let _ = task_to_v1(&v);
            let _ = result_to_v1(Method::SendMessage, &v);
        }

        /// Any v1.0 card gives a merged card that validates as a v0.3 card as
        /// long as the v1.0 fields v0.3 also requires are there.
        #[test]
        fn merged_cards_validate(t in proptest::collection::vec((id(), select(vec!["JSONRPC", "HTTP+JSON", "GRPC"]), select(vec!["1.0", "0.3", "0.3.1"])), 1..4)) {
            let mut card = sample_card();
            card["supportedInterfaces"] = t.iter().map(|(u, b, v)| json!({"url": u, "protocolBinding": b, "protocolVersion": v})).collect();
            let merged = card_to_v03_merged(&card);
            assert_v03("AgentCard", &merged);
            let first_v03 = t.iter().find(|(_, _, v)| v.starts_with("0.3")).or(t.first()).unwrap();
            prop_assert_eq!(&merged["url"], &json!(first_v03.0));
        }
    }

    /// Round trips over everything the translation covers, in both directions.
    ///
    /// v1.0 -> v0.3 -> v1.0 gives back every value the v0.3 schema can express;
    /// v0.3 -> v1.0 -> v0.3 gives back every schema-valid v0.3 value. What is
    /// deliberately not round-tripped, and so left out of the generators:
    ///
    /// v1.0 -> v0.3 -> v1.0
    /// - `metadata: {}` on a data part whose data is not an object: v0.3 needs
    ///   an object there, so the value is wrapped and flagged in the metadata
    ///   (the Python SDK's convention); once the flag is removed, an empty
    ///   metadata cannot be told from none.
    /// - `ROLE_UNSPECIFIED` (or an unknown role): v0.3 has only user and agent;
    ///   it reads back as ROLE_AGENT.
    /// - Omitted fields v0.3 requires (`parts`, `contextId`, `status`, ...):
    ///   they come back as ProtoJSON's defaults (`[]`, `""`, UNSPECIFIED), the
    ///   same values to a proto reader.
    /// - `historyLength: 0`: "no history" in v1.0, "no limit" in v0.3; left out.
    /// - `returnImmediately: false`: v0.3 `blocking: true`, comes back absent
    ///   (the same default).
    /// - An empty push config id (`""`, ProtoJSON's "none") in a get request.
    /// - The page fields of a partial ListTasks page and ListTaskPushNotificationConfigs'
    ///   `nextPageToken`: v0.3 answers both with bare arrays (one full page
    ///   round-trips).
    /// - Error codes -32008 and -32009: v0.3 has none; clients get -32603 with
    ///   the reason in `data` (errors are only ever sent to v0.3 clients, never
    ///   read back from them).
    /// - Card fields v0.3 requires and ProtoJSON omits when empty (`tags`,
    ///   `skills`, the modes, `capabilities`) come back as `[]`/`{}`.
    /// - Unknown keys named like a field of the other version (`kind`, `final`,
    ///   `file`, a card's `url`, ...) are that field there.
    ///
    /// v0.3 -> v1.0 -> v0.3
    /// - `final` is derived from the state (v1.0 has none): a `final` that
    ///   disagrees with the state is not kept.
    /// - An absent `blocking` comes back `true`, written explicitly (v0.3
    ///   servers block by default); `historyLength: 0` is left out.
    /// - Push authentication schemes after the first (v1.0 holds one).
    /// - Unknown keys of a `file` object move to the part, and those of a
    ///   TaskPushNotificationConfig into its `pushNotificationConfig`: v1.0 has
    ///   neither object.
    /// - A data part flagged `data_part_compat` whose data is `{"value": x}`
    ///   reads as the wrapped `x`.
    /// - Cards come back as the merged card, so the v0.3 card is compared as
    ///   contained in it; several OAuth flows keep the first (v1.0's OAuthFlows
    ///   is a oneof) and flows keep only their v0.3 fields;
    ///   `additionalInterfaces` lists the main interface first (v0.3 §5.6.2);
    ///   `supportsAuthenticatedExtendedCard: false` (the default) is dropped.
    mod round_trips {
        use super::*;
        use crate::a2a::error::{JsonRpcError, codes};
        use crate::gateway::error::{ErrorKind, GatewayError};

        // -------------------------------------------------------------------
        // v1.0 generators
        // -------------------------------------------------------------------

        /// GetTask params (v0.3 TaskQueryParams).
        fn v1_task_query() -> impl Strategy<Value = Value> {
            (
                id(),
                option::of(1i64..1000),
                metadata(),
                option::of(id()),
                extra(),
            )
                .prop_map(|(task, history, metadata, tenant, extra)| {
                    with(
                        json!({"id": task}),
                        vec![
                            ("historyLength", history.map(Value::from)),
                            ("metadata", metadata),
                            ("tenant", opt_str(tenant)),
                            ("x-extra", extra),
                        ],
                    )
                })
        }

        /// CancelTask / SubscribeToTask params (v0.3 TaskIdParams).
        fn v1_task_id() -> impl Strategy<Value = Value> {
            (id(), metadata(), option::of(id()), extra()).prop_map(
                |(task, metadata, tenant, extra)| {
                    with(
                        json!({"id": task}),
                        vec![
                            ("metadata", metadata),
                            ("tenant", opt_str(tenant)),
                            ("x-extra", extra),
                        ],
                    )
                },
            )
        }

        /// Get/DeleteTaskPushNotificationConfig params: `{taskId, id}`.
        fn v1_push_ref() -> impl Strategy<Value = Value> {
            (id(), id(), metadata(), option::of(id()), extra()).prop_map(
                |(task, config, metadata, tenant, extra)| {
                    with(
                        json!({"taskId": task, "id": config}),
                        vec![
                            ("metadata", metadata),
                            ("tenant", opt_str(tenant)),
                            ("x-extra", extra),
                        ],
                    )
                },
            )
        }

        /// ListTaskPushNotificationConfigs params; the paging fields have no
        /// v0.3 place and travel as extra keys.
        fn v1_list_push_params() -> impl Strategy<Value = Value> {
            (
                id(),
                option::of(1i64..100),
                option::of(id()),
                metadata(),
                extra(),
            )
                .prop_map(|(task, size, token, metadata, extra)| {
                    with(
                        json!({"taskId": task}),
                        vec![
                            ("pageSize", size.map(Value::from)),
                            ("pageToken", opt_str(token)),
                            ("metadata", metadata),
                            ("x-extra", extra),
                        ],
                    )
                })
        }

        /// ListTasks params (no v0.3 JSON-RPC schema: tasks/list is gRPC/REST
        /// only in v0.3.0; the status is translated, the rest passed on).
        fn v1_list_tasks_params() -> impl Strategy<Value = Value> {
            (
                option::of(id()),
                option::of(v1_state()),
                option::of(1i64..100),
                option::of(id()),
                option::of(any::<bool>()),
                option::of(id()),
            )
                .prop_map(|(context, status, size, token, artifacts, tenant)| {
                    with(
                        json!({}),
                        vec![
                            ("contextId", opt_str(context)),
                            ("status", status),
                            ("pageSize", size.map(Value::from)),
                            ("pageToken", opt_str(token)),
                            ("includeArtifacts", artifacts.map(Value::Bool)),
                            ("tenant", opt_str(tenant)),
                        ],
                    )
                })
        }

        /// One full page of ListTasks (what a bare v0.3 array can say).
        fn v1_task_page() -> impl Strategy<Value = Value> {
            vec(v1_task(), 0..3).prop_map(|tasks| {
                let n = tasks.len();
                json!({"tasks": tasks, "nextPageToken": "", "pageSize": n, "totalSize": n})
            })
        }

        fn url() -> impl Strategy<Value = String> {
            "https://[a-z]{1,8}\\.example/[a-z]{0,6}"
        }

        fn scopes() -> impl Strategy<Value = Value> {
            btree_map("[a-z:]{1,8}", ".{0,8}", 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect()))
        }

        /// A v1.0 OAuthFlows (a oneof: one flow), complete enough for v0.3's
        /// required fields; deviceCode has no v0.3 form.
        fn v1_flows() -> impl Strategy<Value = Value> {
            (
                select(vec![
                    "authorizationCode",
                    "clientCredentials",
                    "implicit",
                    "password",
                    "deviceCode",
                ]),
                url(),
                url(),
                option::of(url()),
                scopes(),
                option::of(any::<bool>()),
            )
                .prop_map(|(flow, auth_url, token_url, refresh, scopes, pkce)| {
                    let fields = match flow {
                        "authorizationCode" => {
                            json!({"authorizationUrl": auth_url, "tokenUrl": token_url})
                        }
                        "implicit" => json!({"authorizationUrl": auth_url}),
                        "deviceCode" => {
                            json!({"deviceAuthorizationUrl": auth_url, "tokenUrl": token_url})
                        }
                        _ => json!({"tokenUrl": token_url}),
                    };
                    let mut fields = with(
                        fields,
                        vec![("refreshUrl", opt_str(refresh)), ("scopes", Some(scopes))],
                    );
                    if flow == "authorizationCode"
                        && let Some(p) = pkce
                    {
                        fields["pkceRequired"] = json!(p);
                    }
                    json!({ flow: fields })
                })
        }

        /// A v1.0 SecurityScheme: one of the five members.
        fn v1_scheme() -> impl Strategy<Value = Value> {
            let description = option::of(".{0,10}");
            prop_oneof![
                (select(vec!["query", "header", "cookie"]), "[A-Za-z-]{1,8}", description.clone()).prop_map(
                    |(location, name, d)| json!({"apiKeySecurityScheme":
                        with(json!({"location": location, "name": name}), vec![("description", opt_str(d))])})
                ),
                (select(vec!["bearer", "basic"]), option::of("[A-Z]{2,4}"), description.clone()).prop_map(
                    |(scheme, format, d)| json!({"httpAuthSecurityScheme": with(json!({"scheme": scheme}),
                        vec![("bearerFormat", opt_str(format)), ("description", opt_str(d))])})
                ),
                (v1_flows(), option::of(url()), description.clone()).prop_map(|(flows, meta, d)| {
                    json!({"oauth2SecurityScheme": with(json!({"flows": flows}),
                        vec![("oauth2MetadataUrl", opt_str(meta)), ("description", opt_str(d))])})
                }),
                (url(), description.clone()).prop_map(|(u, d)| json!({"openIdConnectSecurityScheme":
                    with(json!({"openIdConnectUrl": u}), vec![("description", opt_str(d))])})),
                description.prop_map(|d| json!({"mtlsSecurityScheme": with(json!({}), vec![("description", opt_str(d))])})),
            ]
        }

        /// v1.0 security requirements over scheme names `names`.
        fn v1_requirements(names: Vec<String>) -> impl Strategy<Value = Value> {
            vec(
                btree_map(select(names), vec("[a-z:]{1,6}", 0..3), 0..3).prop_map(|m| {
                    let schemes: Object = m
                        .into_iter()
                        .map(|(k, v)| (k, json!({ "list": v })))
                        .collect();
                    json!({ "schemes": schemes })
                }),
                0..3,
            )
            .prop_map(Value::Array)
        }

        fn v1_skill(names: Vec<String>) -> impl Strategy<Value = Value> {
            (id(), ".{1,8}", ".{0,12}", vec("[a-z]{1,6}", 0..3), strings(), strings(), strings(),
                option::of(v1_requirements(names)))
                .prop_map(|(skill, name, description, tags, examples, input, output, security)| {
                    with(
                        json!({"id": skill, "name": name, "description": description, "tags": tags}),
                        vec![
                            ("examples", examples),
                            ("inputModes", input),
                            ("outputModes", output),
                            ("securityRequirements", security),
                        ],
                    )
                })
        }

        fn v1_capabilities() -> impl Strategy<Value = Value> {
            let extension = (
                "[a-z]{1,8}:[a-z]{1,8}",
                option::of(".{0,8}"),
                option::of(any::<bool>()),
                metadata(),
            )
                .prop_map(|(uri, d, required, params)| {
                    with(
                        json!({"uri": uri}),
                        vec![
                            ("description", opt_str(d)),
                            ("required", required.map(Value::Bool)),
                            ("params", params),
                        ],
                    )
                });
            (
                option::of(any::<bool>()),
                option::of(any::<bool>()),
                option::of(any::<bool>()),
                option::of(vec(extension, 0..3)),
            )
                .prop_map(|(streaming, push, extended, extensions)| {
                    with(
                        json!({}),
                        vec![
                            ("streaming", streaming.map(Value::Bool)),
                            ("pushNotifications", push.map(Value::Bool)),
                            ("extendedAgentCard", extended.map(Value::Bool)),
                            ("extensions", extensions.map(Value::Array)),
                        ],
                    )
                })
        }

        fn signatures() -> impl Strategy<Value = Option<Value>> {
            option::of(
                vec(
                    ("[A-Za-z0-9_-]{4,12}", "[A-Za-z0-9_-]{4,12}", metadata()).prop_map(
                        |(protected, signature, header)| {
                            with(
                                json!({"protected": protected, "signature": signature}),
                                vec![("header", header)],
                            )
                        },
                    ),
                    0..2,
                )
                .prop_map(Value::Array),
            )
        }

        fn provider() -> impl Strategy<Value = Option<Value>> {
            option::of((".{1,8}", url()).prop_map(|(o, u)| json!({"organization": o, "url": u})))
        }

        /// A v1.0 AgentCard with every field v0.3 can express, including those
        /// the merged card must translate (security schemes and requirements,
        /// OAuth flows, skills, extensions, signatures, the extended-card flag).
        fn v1_card() -> impl Strategy<Value = Value> {
            let interfaces = vec(
                (
                    url(),
                    select(vec!["JSONRPC", "HTTP+JSON", "GRPC"]),
                    select(vec!["1.0", "0.3", "0.3.0"]),
                )
                    .prop_map(
                        |(u, b, v)| json!({"url": u, "protocolBinding": b, "protocolVersion": v}),
                    ),
                1..4,
            );
            let schemes = btree_map("[a-z]{1,6}", v1_scheme(), 0..4);
            (schemes, interfaces).prop_flat_map(|(schemes, interfaces)| {
                let names: Vec<String> = schemes.keys().cloned().collect();
                let names = if names.is_empty() { vec!["none".to_owned()] } else { names };
                (
                    (".{1,8}", ".{0,12}", "[0-9]\\.[0-9]", Just(interfaces), provider(),
                        option::of(url()), option::of(url())),
                    (v1_capabilities(), Just(schemes), option::of(v1_requirements(names.clone())),
                        vec("[a-z]{1,5}/[a-z]{1,5}", 0..3), vec("[a-z]{1,5}/[a-z]{1,5}", 0..3),
                        vec(v1_skill(names), 0..3), signatures(), extra()),
                )
            })
            .prop_map(|((name, description, version, interfaces, provider, docs, icon),
                        (capabilities, schemes, requirements, input, output, skills, signatures, extra))| {
                let schemes: Object = schemes.into_iter().collect();
                with(
                    json!({"name": name, "description": description, "version": version,
                        "supportedInterfaces": interfaces, "capabilities": capabilities,
                        "defaultInputModes": input, "defaultOutputModes": output, "skills": skills}),
                    vec![
                        ("provider", provider),
                        ("documentationUrl", opt_str(docs)),
                        ("iconUrl", opt_str(icon)),
                        ("securitySchemes", (!schemes.is_empty()).then_some(Value::Object(schemes))),
                        ("securityRequirements", requirements),
                        ("signatures", signatures),
                        ("x-extra", extra),
                    ],
                )
            })
        }

        // -------------------------------------------------------------------
        // v0.3 generators (schema-valid values)
        // -------------------------------------------------------------------

        fn v03_part() -> impl Strategy<Value = Value> {
            let file = (
                prop_oneof![
                    "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(|b| ("bytes", b)),
                    url().prop_map(|u| ("uri", u)),
                ],
                option::of("[a-z]{1,5}/[a-z]{1,5}"),
                option::of("[a-z]{1,8}\\.[a-z]{2,3}"),
            )
                .prop_map(|((key, location), mime, name)| {
                    with(
                        json!({ key: location }),
                        vec![("mimeType", opt_str(mime)), ("name", opt_str(name))],
                    )
                });
            let data = btree_map("[a-z]{1,6}", any_json(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()));
            (
                prop_oneof![
                    ".{0,12}".prop_map(|t| json!({"kind": "text", "text": t})),
                    file.prop_map(|f| json!({"kind": "file", "file": f})),
                    data.prop_map(|d| json!({"kind": "data", "data": d})),
                ],
                metadata(),
                extra(),
            )
                .prop_map(|(part, metadata, extra)| {
                    with(part, vec![("metadata", metadata), ("x-extra", extra)])
                })
        }

        /// `value` (an object) with v0.3's `kind`.
        fn of_kind(kind: &str, mut value: Value) -> Value {
            value["kind"] = json!(kind);
            value
        }

        fn v03_message() -> impl Strategy<Value = Value> {
            message_of(vec!["user", "agent"], v03_part()).prop_map(|m| of_kind("message", m))
        }

        fn v03_state() -> impl Strategy<Value = Value> {
            select(STATES.iter().map(|(_, _, v03)| *v03).collect::<Vec<_>>()).prop_map(|s| json!(s))
        }

        fn v03_status() -> impl Strategy<Value = Value> {
            status_of(v03_state(), v03_message())
        }

        fn v03_artifact() -> impl Strategy<Value = Value> {
            artifact_of(v03_part())
        }

        fn v03_task() -> impl Strategy<Value = Value> {
            task_of(v03_status(), v03_artifact(), v03_message()).prop_map(|t| of_kind("task", t))
        }

        /// A v0.3 stream event, `final` true exactly when the state ends the
        /// stream (v1.0 derives it from the state).
        fn v03_event() -> impl Strategy<Value = Value> {
            let status_update = status_update_of(v03_status()).prop_map(|mut update| {
                let ends = STREAM_ENDING_V03_STATES
                    .contains(&update["status"]["state"].as_str().unwrap_or_default());
                update["final"] = json!(ends);
                of_kind("status-update", update)
            });
            let artifact_update =
                artifact_update_of(v03_artifact()).prop_map(|a| of_kind("artifact-update", a));
            prop_oneof![v03_task(), v03_message(), status_update, artifact_update]
        }

        fn v03_push_config() -> impl Strategy<Value = Value> {
            push_config_of(url(), |scheme, credentials, extra| {
                with(
                    json!({"schemes": scheme.into_iter().collect::<Vec<_>>()}),
                    vec![("credentials", opt_str(credentials)), ("x-extra", extra)],
                )
            })
        }

        fn v03_task_push_config() -> impl Strategy<Value = Value> {
            (id(), v03_push_config()).prop_map(
                |(task, config)| json!({"taskId": task, "pushNotificationConfig": config}),
            )
        }

        fn v03_send_params() -> impl Strategy<Value = Value> {
            let config = (
                option::of(vec("[a-z]{1,5}/[a-z]{1,5}", 0..3)),
                any::<bool>(),
                option::of(1i64..1000),
                option::of(v03_push_config()),
                extra(),
            )
                .prop_map(|(modes, blocking, history, push, extra)| {
                    with(
                        json!({"blocking": blocking}),
                        vec![
                            ("acceptedOutputModes", modes.map(|m| json!(m))),
                            ("historyLength", history.map(Value::from)),
                            ("pushNotificationConfig", push),
                            ("x-extra", extra),
                        ],
                    )
                });
            (v03_message(), option::of(config), metadata()).prop_map(
                |(message, config, metadata)| {
                    with(
                        json!({"message": message}),
                        vec![("configuration", config), ("metadata", metadata)],
                    )
                },
            )
        }

        /// A v0.3 security scheme and its one OAuth flow (v1.0 keeps one).
        fn v03_scheme() -> impl Strategy<Value = Value> {
            let description = option::of(".{0,10}");
            let flow = (select(vec!["authorizationCode", "clientCredentials", "implicit", "password"]), url(), url(),
                option::of(url()), scopes())
                .prop_map(|(flow, auth_url, token_url, refresh, scopes)| {
                    let fields = match flow {
                        "authorizationCode" => json!({"authorizationUrl": auth_url, "tokenUrl": token_url}),
                        "implicit" => json!({"authorizationUrl": auth_url}),
                        _ => json!({"tokenUrl": token_url}),
                    };
                    json!({ flow: with(fields, vec![("refreshUrl", opt_str(refresh)), ("scopes", Some(scopes))]) })
                });
            prop_oneof![
                (
                    select(vec!["query", "header", "cookie"]),
                    "[A-Za-z-]{1,8}",
                    description.clone()
                )
                    .prop_map(|(location, name, d)| with(
                        json!({"type": "apiKey", "in": location, "name": name}),
                        vec![("description", opt_str(d))]
                    )),
                (
                    select(vec!["bearer", "basic"]),
                    option::of("[A-Z]{2,4}"),
                    description.clone()
                )
                    .prop_map(|(scheme, format, d)| with(
                        json!({"type": "http", "scheme": scheme}),
                        vec![
                            ("bearerFormat", opt_str(format)),
                            ("description", opt_str(d))
                        ]
                    )),
                (flow, option::of(url()), description.clone()).prop_map(|(flows, meta, d)| with(
                    json!({"type": "oauth2", "flows": flows}),
                    vec![
                        ("oauth2MetadataUrl", opt_str(meta)),
                        ("description", opt_str(d))
                    ]
                )),
                (url(), description.clone()).prop_map(|(u, d)| with(
                    json!({"type": "openIdConnect", "openIdConnectUrl": u}),
                    vec![("description", opt_str(d))]
                )),
                description.prop_map(|d| with(
                    json!({"type": "mutualTLS"}),
                    vec![("description", opt_str(d))]
                )),
            ]
        }

        fn v03_security(names: Vec<String>) -> impl Strategy<Value = Value> {
            vec(
                btree_map(select(names), vec("[a-z:]{1,6}", 0..3), 0..3).prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect())
                }),
                0..3,
            )
            .prop_map(Value::Array)
        }

        /// A schema-valid v0.3 AgentCard.
        fn v03_card() -> impl Strategy<Value = Value> {
            let transport = select(vec!["JSONRPC", "HTTP+JSON", "GRPC"]);
            let others = vec((url(), transport.clone()), 0..3);
            let schemes = btree_map("[a-z]{1,6}", v03_scheme(), 0..4);
            (schemes, url(), transport, others, option::of(any::<bool>())).prop_flat_map(
                |(schemes, main, transport, others, list_interfaces)| {
                    let names: Vec<String> = schemes.keys().cloned().collect();
                    let names = if names.is_empty() { vec!["none".to_owned()] } else { names };
                    let mut seen = vec![main.clone()];
                    let mut additional = vec![json!({"url": main, "transport": transport})];
                    for (u, t) in others {
                        if !seen.contains(&u) {
                            seen.push(u.clone());
                            additional.push(json!({"url": u, "transport": t}));
                        }
                    }
                    let skill = (id(), ".{1,8}", ".{0,12}", vec("[a-z]{1,6}", 0..3), strings(), strings(),
                        option::of(v03_security(names.clone())))
                        .prop_map(|(skill, name, description, tags, examples, input, security)| {
                            with(json!({"id": skill, "name": name, "description": description, "tags": tags}),
                                vec![("examples", examples), ("inputModes", input), ("security", security)])
                        });
                    let capabilities = (option::of(any::<bool>()), option::of(any::<bool>()), option::of(any::<bool>()))
                        .prop_map(|(streaming, push, history)| with(json!({}), vec![
                            ("streaming", streaming.map(Value::Bool)),
                            ("pushNotifications", push.map(Value::Bool)),
                            ("stateTransitionHistory", history.map(Value::Bool)),
                        ]));
                    (
                        (".{1,8}", ".{0,12}", "[0-9]\\.[0-9]", Just(main), Just(transport),
                            Just(list_interfaces.map(|_| Value::Array(additional))), provider()),
                        (capabilities, Just(schemes), option::of(v03_security(names)),
                            vec("[a-z]{1,5}/[a-z]{1,5}", 0..3), vec(skill, 0..3), option::of(Just(true)),
                            signatures(), extra()),
                    )
                },
            )
            .prop_map(|((name, description, version, url, transport, additional, provider),
                        (capabilities, schemes, security, modes, skills, extended, signatures, extra))| {
                let schemes: Object = schemes.into_iter().collect();
                with(
                    json!({"name": name, "description": description, "version": version,
                        "protocolVersion": V03_PROTOCOL_VERSION, "url": url, "preferredTransport": transport,
                        "capabilities": capabilities, "defaultInputModes": modes, "defaultOutputModes": modes,
                        "skills": skills}),
                    vec![
                        ("additionalInterfaces", additional),
                        ("provider", provider),
                        ("securitySchemes", (!schemes.is_empty()).then_some(Value::Object(schemes))),
                        ("security", security),
                        ("supportsAuthenticatedExtendedCard", extended.map(Value::Bool)),
                        ("signatures", signatures),
                        ("x-extra", extra),
                    ],
                )
            })
        }

        /// Whether every field of `inner` is in `outer` with the same value
        /// (objects may have more keys, arrays match element by element).
        fn contains(outer: &Value, inner: &Value) -> bool {
            match (outer, inner) {
                (Value::Object(o), Value::Object(i)) => i
                    .iter()
                    .all(|(k, v)| o.get(k).is_some_and(|x| contains(x, v))),
                (Value::Array(o), Value::Array(i)) => {
                    o.len() == i.len() && o.iter().zip(i).all(|(x, v)| contains(x, v))
                }
                _ => outer == inner,
            }
        }

        /// A JSON-RPC error an agent might send: core codes (v1.0-only ones
        /// included), profile errors with their marker, anything else.
        fn agent_error() -> impl Strategy<Value = JsonRpcError> {
            let code = prop_oneof![
                select(vec![
                    -32700i64, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004,
                    -32005, -32006, -32007, -32008, -32009, -32099, -31001
                ]),
                any::<i64>(),
            ];
            let data = prop_oneof![
                option::of(any_json()),
                select(vec![
                    "request_expired",
                    "responder_unavailable",
                    "transport_protocol_error"
                ])
                .prop_map(|m| Some(json!({ "a2a_error": m }))),
            ];
            (code, ".{0,16}", data).prop_map(|(code, message, data)| JsonRpcError {
                code,
                message,
                data,
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            // ----- v1.0 -> v0.3 -> v1.0 -----

            #[test]
            fn task_query_and_id_params_round_trip(q in v1_task_query(), t in v1_task_id()) {
                let v03 = params_to_v03(Method::GetTask, &q).unwrap();
                assert_v03("TaskQueryParams", &v03);
                prop_assert_eq!(params_to_v1(Method::GetTask, &v03).unwrap(), q);
                for m in [Method::CancelTask, Method::SubscribeToTask] {
                    let v03 = params_to_v03(m, &t).unwrap();
                    assert_v03("TaskIdParams", &v03);
                    prop_assert_eq!(params_to_v1(m, &v03).unwrap(), t.clone());
                }
            }

            #[test]
            fn push_config_params_round_trip(r in v1_push_ref(), l in v1_list_push_params()) {
                for (m, definition) in [
                    (Method::GetTaskPushNotificationConfig, "GetTaskPushNotificationConfigParams"),
                    (Method::DeleteTaskPushNotificationConfig, "DeleteTaskPushNotificationConfigParams"),
                ] {
                    let v03 = params_to_v03(m, &r).unwrap();
                    assert_v03(definition, &v03);
                    prop_assert_eq!(params_to_v1(m, &v03).unwrap(), r.clone());
                }
                let m = Method::ListTaskPushNotificationConfigs;
                let v03 = params_to_v03(m, &l).unwrap();
                assert_v03("ListTaskPushNotificationConfigParams", &v03);
                prop_assert_eq!(params_to_v1(m, &v03).unwrap(), l);
            }

            #[test]
            fn push_config_results_round_trip(configs in vec(v1_task_push_config(), 0..4)) {
                let m = Method::ListTaskPushNotificationConfigs;
                let list = json!({ "configs": configs });
                let v03 = result_to_v03(m, &list).unwrap();
                for c in v03.as_array().unwrap() {
                    assert_v03("TaskPushNotificationConfig", c);
                }
                prop_assert_eq!(result_to_v1(m, &v03).unwrap(), list);
                for c in &configs {
                    let m = Method::CreateTaskPushNotificationConfig;
                    let v03 = result_to_v03(m, c).unwrap();
                    assert_v03("TaskPushNotificationConfig", &v03);
                    prop_assert_eq!(&result_to_v1(m, &v03).unwrap(), c);
                }
                let m = Method::DeleteTaskPushNotificationConfig;
                prop_assert_eq!(result_to_v1(m, &result_to_v03(m, &json!({})).unwrap()).unwrap(), json!({}));
            }

            #[test]
            fn list_tasks_params_and_results_round_trip(p in v1_list_tasks_params(), page in v1_task_page()) {
                let v03 = params_to_v03(Method::ListTasks, &p).unwrap();
                prop_assert_eq!(params_to_v1(Method::ListTasks, &v03).unwrap(), p);
                let v03 = result_to_v03(Method::ListTasks, &page).unwrap();
                for t in v03.as_array().unwrap() {
                    assert_v03("Task", t);
                }
                prop_assert_eq!(result_to_v1(Method::ListTasks, &v03).unwrap(), page);
            }

            #[test]
            fn cards_round_trip_through_the_merged_card(card in v1_card()) {
                let merged = card_to_v03_merged(&card);
                assert_v03("AgentCard", &merged);
                prop_assert_eq!(card_to_v1(&merged).unwrap(), card);
            }

            /// Errors go one way only (to v0.3 clients): the v0.3 error is valid
            /// and is the v1.0 one, except for the v1.0-only codes, which become
            /// InternalError keeping message, data, and the reason.
            #[test]
            fn errors_reach_v03_clients_unchanged_or_as_internal_errors(
                e in agent_error(),
                kind in select(ErrorKind::ALL.to_vec()),
            ) {
                let relayed = GatewayError::from_agent("o/u/a", e);
                let own = GatewayError::new(kind, "m").with("agent", "o/u/a");
                for g in [relayed, own] {
                    let (v1, v03) = (g.to_jsonrpc(), g.to_jsonrpc_v03());
                    assert_v03("JSONRPCError", &serde_json::to_value(&v03).unwrap());
                    if [codes::EXTENSION_SUPPORT_REQUIRED, codes::VERSION_NOT_SUPPORTED].contains(&v1.code) {
                        prop_assert_eq!(v03.code, codes::INTERNAL_ERROR);
                        prop_assert_eq!(&v03.message, &v1.message);
                        match &v1.data {
                            Some(d) => prop_assert_eq!(v03.data.as_ref(), Some(d)),
                            None => prop_assert_eq!(&v03.data.unwrap()[0]["reason"], g.kind.spec().reason),
                        }
                    } else {
                        prop_assert_eq!(v03, v1);
                    }
                }
            }

            // ----- v0.3 -> v1.0 -> v0.3 over schema-valid v0.3 -----

            #[test]
            fn v03_parts_messages_tasks_and_events_round_trip(
                part in v03_part(), message in v03_message(), task in v03_task(), event in v03_event(),
            ) {
                assert_v03("Part", &part);
                prop_assert_eq!(part_to_v03(&part_to_v1(&part).unwrap()).unwrap(), part);
                assert_v03("Message", &message);
                prop_assert_eq!(message_to_v03(&message_to_v1(&message).unwrap()).unwrap(), message.clone());
                assert_v03("Task", &task);
                prop_assert_eq!(task_to_v03(&task_to_v1(&task).unwrap()).unwrap(), task.clone());
                prop_assert_eq!(
                    result_to_v03(Method::GetTask, &result_to_v1(Method::GetTask, &task).unwrap()).unwrap(),
                    task.clone()
                );
                for r in [task, message] {
                    let m = Method::SendMessage;
                    prop_assert_eq!(result_to_v03(m, &result_to_v1(m, &r).unwrap()).unwrap(), r);
                }
                assert_v03(definition_of_kind(&event), &event);
                prop_assert_eq!(stream_item_to_v03(&stream_item_to_v1(&event).unwrap()).unwrap(), event);
            }

            #[test]
            fn v03_params_round_trip(
                send in v03_send_params(),
                config in v03_task_push_config(),
                task in id(),
                config_id in id(),
                history in option::of(1i64..1000),
                metadata in metadata(),
            ) {
                let round = |m: Method, v: &Value| params_to_v03(m, &params_to_v1(m, v).unwrap()).unwrap();
                assert_v03("MessageSendParams", &send);
                prop_assert_eq!(round(Method::SendMessage, &send), send);
                assert_v03("TaskPushNotificationConfig", &config);
                prop_assert_eq!(round(Method::CreateTaskPushNotificationConfig, &config), config.clone());
                let with_metadata = |v: Value| with(v, vec![("metadata", metadata.clone())]);
                let query = with_metadata(with(json!({"id": task}), vec![("historyLength", history.map(Value::from))]));
                assert_v03("TaskQueryParams", &query);
                prop_assert_eq!(round(Method::GetTask, &query), query);
                let by_id = with_metadata(json!({"id": task}));
                assert_v03("TaskIdParams", &by_id);
                prop_assert_eq!(round(Method::CancelTask, &by_id), by_id.clone());
                assert_v03("ListTaskPushNotificationConfigParams", &by_id);
                prop_assert_eq!(round(Method::ListTaskPushNotificationConfigs, &by_id), by_id.clone());
                let by_config = with_metadata(json!({"id": task, "pushNotificationConfigId": config_id}));
                for (m, definition) in [
                    (Method::GetTaskPushNotificationConfig, "GetTaskPushNotificationConfigParams"),
                    (Method::DeleteTaskPushNotificationConfig, "DeleteTaskPushNotificationConfigParams"),
                ] {
                    assert_v03(definition, &by_config);
                    prop_assert_eq!(round(m, &by_config), by_config.clone());
                }
            }

            #[test]
            fn v03_list_results_round_trip(tasks in vec(v03_task(), 0..3), configs in vec(v03_task_push_config(), 0..3)) {
                let tasks = Value::Array(tasks);
                let m = Method::ListTasks;
                prop_assert_eq!(result_to_v03(m, &result_to_v1(m, &tasks).unwrap()).unwrap(), tasks);
                let configs = Value::Array(configs);
                let m = Method::ListTaskPushNotificationConfigs;
                prop_assert_eq!(result_to_v03(m, &result_to_v1(m, &configs).unwrap()).unwrap(), configs);
            }

            #[test]
            fn v03_cards_come_back_inside_the_merged_card(card in v03_card()) {
                assert_v03("AgentCard", &card);
                let v1 = card_to_v1(&card).unwrap();
                let merged = card_to_v03_merged(&v1);
                assert_v03("AgentCard", &merged);
                prop_assert!(contains(&merged, &card), "{:#}\nis not in\n{:#}", card, merged);
                // And the v1.0 card is stable from there on.
                prop_assert_eq!(card_to_v1(&merged).unwrap(), v1);
            }
        }
    }
}
