//! Failures at the HTTP edge and the one table that maps each to its JSON-RPC
//! code, its HTTP status and its `google.rpc.ErrorInfo` reason.
//!
//! Core A2A errors keep their codes. The gateway's own failures, and the MQTT
//! profile's transport errors relayed from agents (whose codes -32003..-32005
//! collide with core A2A codes), use codes in -31001..-31099, outside the
//! JSON-RPC reserved range, so no client mistakes them for core A2A errors.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::a2a::error::{JsonRpcError, ProfileError, codes};
use crate::mqtt::{PublishError, RequestError};

/// The `domain` of ErrorInfo for the gateway's own failures.
pub const ERROR_DOMAIN: &str = "a2a-mqtt-gateway";
/// The `domain` A2A requires for its own error types (v1.0.1 §11.6).
pub const A2A_DOMAIN: &str = "a2a-protocol.org";

/// Every kind of failure, each with one row in [`ErrorKind::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    BodyTooLarge,
    HttpMethodNotAllowed,
    Internal,
    TaskNotFound,
    TaskNotCancelable,
    PushNotificationNotSupported,
    UnsupportedOperation,
    ContentTypeNotSupported,
    InvalidAgentResponse,
    ExtendedCardNotConfigured,
    ExtensionSupportRequired,
    VersionNotSupported,
    AgentNotFound,
    AgentOffline,
    AgentTimeout,
    StreamIdle,
    BrokerUnavailable,
    GatewayOverloaded,
    ClientTooSlow,
    RequestTooLarge,
    AgentRequestExpired,
    AgentUnavailable,
    AgentTransportError,
    BrokerRefused,
    ShuttingDown,
}

/// One row of the error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    pub code: i64,
    pub status: StatusCode,
    /// The google.rpc.Code name (`status` of a REST error body), per A2A §5.4.
    pub grpc: &'static str,
    pub reason: &'static str,
    /// Whether A2A defines this error (ErrorInfo domain `a2a-protocol.org`) or the
    /// gateway does.
    pub a2a: bool,
    /// The code v0.3 clients get, in a JSON-RPC error and as the `code` of a v0.3
    /// REST error body. v0.3 does not define -32008 and -32009: they become
    /// -32603 InternalError, as the Python SDK's v0.3 adapter answers.
    pub v03_code: i64,
    /// The `type` of a v0.3 REST error body: the A2A error class the Python SDK's
    /// compat REST client raises (it falls back on the HTTP status without one).
    pub v03_type: Option<&'static str>,
    /// What it means, for the README.
    pub meaning: &'static str,
}

impl ErrorSpec {
    /// A row whose v0.3 code differs from the v1.0 one.
    const fn v03_code(self, code: i64) -> ErrorSpec {
        ErrorSpec {
            v03_code: code,
            ..self
        }
    }

    /// A gateway row that v0.3 REST clients still read as an A2A error class
    /// (those that reuse a core JSON-RPC code).
    const fn v03_type(self, class: &'static str) -> ErrorSpec {
        ErrorSpec {
            v03_type: Some(class),
            ..self
        }
    }
}

impl ErrorKind {
    /// All kinds, in table order.
    pub const ALL: [ErrorKind; 29] = [
        ErrorKind::ParseError,
        ErrorKind::InvalidRequest,
        ErrorKind::MethodNotFound,
        ErrorKind::InvalidParams,
        ErrorKind::BodyTooLarge,
        ErrorKind::HttpMethodNotAllowed,
        ErrorKind::Internal,
        ErrorKind::TaskNotFound,
        ErrorKind::TaskNotCancelable,
        ErrorKind::PushNotificationNotSupported,
        ErrorKind::UnsupportedOperation,
        ErrorKind::ContentTypeNotSupported,
        ErrorKind::InvalidAgentResponse,
        ErrorKind::ExtendedCardNotConfigured,
        ErrorKind::ExtensionSupportRequired,
        ErrorKind::VersionNotSupported,
        ErrorKind::AgentNotFound,
        ErrorKind::AgentOffline,
        ErrorKind::AgentTimeout,
        ErrorKind::StreamIdle,
        ErrorKind::BrokerUnavailable,
        ErrorKind::GatewayOverloaded,
        ErrorKind::ClientTooSlow,
        ErrorKind::RequestTooLarge,
        ErrorKind::AgentRequestExpired,
        ErrorKind::AgentUnavailable,
        ErrorKind::AgentTransportError,
        ErrorKind::BrokerRefused,
        ErrorKind::ShuttingDown,
    ];

    /// The single source of truth: code, HTTP status, reason, what v0.3 clients
    /// get, meaning.
    pub const fn spec(self) -> ErrorSpec {
        use ErrorKind::*;
        /// An A2A error: v0.3 clients get the same code (unless overridden) and
        /// the error class `class`.
        const fn a2a(
            code: i64,
            status: StatusCode,
            grpc: &'static str,
            reason: &'static str,
            class: &'static str,
            meaning: &'static str,
        ) -> ErrorSpec {
            ErrorSpec {
                code,
                status,
                grpc,
                reason,
                a2a: true,
                v03_code: code,
                v03_type: Some(class),
                meaning,
            }
        }
        /// A gateway error: the same code for v0.3, no A2A error class.
        const fn own(
            code: i64,
            status: StatusCode,
            grpc: &'static str,
            reason: &'static str,
            meaning: &'static str,
        ) -> ErrorSpec {
            ErrorSpec {
                code,
                status,
                grpc,
                reason,
                a2a: false,
                v03_code: code,
                v03_type: None,
                meaning,
            }
        }
        match self {
            ParseError => a2a(
                codes::PARSE_ERROR,
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "PARSE_ERROR",
                "JSONParseError",
                "the body is not valid JSON",
            ),
            InvalidRequest => a2a(
                codes::INVALID_REQUEST,
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "INVALID_REQUEST",
                "InvalidRequestError",
                "not a JSON-RPC 2.0 request object (batches included)",
            ),
            MethodNotFound => a2a(
                codes::METHOD_NOT_FOUND,
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "METHOD_NOT_FOUND",
                "MethodNotFoundError",
                "unknown method",
            ),
            InvalidParams => a2a(
                codes::INVALID_PARAMS,
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "INVALID_PARAMS",
                "InvalidParamsError",
                "params missing or malformed; invalid ids in the URL",
            ),
            BodyTooLarge => own(
                codes::INVALID_REQUEST,
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_ARGUMENT",
                "BODY_TOO_LARGE",
                "request body over http.max_body_bytes",
            )
            .v03_type("InvalidRequestError"),
            // JSON-RPC has one route and answers every method itself; this is
            // for the REST binding and the other routes.
            HttpMethodNotAllowed => own(
                codes::METHOD_NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED,
                "UNIMPLEMENTED",
                "HTTP_METHOD_NOT_ALLOWED",
                "the HTTP method is not served on that path (the `Allow` header lists those that are)",
            )
            .v03_type("MethodNotFoundError"),
            Internal => a2a(
                codes::INTERNAL_ERROR,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "INTERNAL_ERROR",
                "InternalError",
                "a bug in the gateway",
            ),
            TaskNotFound => a2a(
                codes::TASK_NOT_FOUND,
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "TASK_NOT_FOUND",
                "TaskNotFoundError",
                "the agent does not know the task",
            ),
            TaskNotCancelable => a2a(
                codes::TASK_NOT_CANCELABLE,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "TASK_NOT_CANCELABLE",
                "TaskNotCancelableError",
                "the task is already final",
            ),
            PushNotificationNotSupported => a2a(
                codes::PUSH_NOTIFICATION_NOT_SUPPORTED,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "PUSH_NOTIFICATION_NOT_SUPPORTED",
                "PushNotificationNotSupportedError",
                "push notifications are not relayed by the gateway",
            ),
            UnsupportedOperation => a2a(
                codes::UNSUPPORTED_OPERATION,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "UNSUPPORTED_OPERATION",
                "UnsupportedOperationError",
                "the agent does not support the operation",
            ),
            ContentTypeNotSupported => a2a(
                codes::CONTENT_TYPE_NOT_SUPPORTED,
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "CONTENT_TYPE_NOT_SUPPORTED",
                "ContentTypeNotSupportedError",
                "the agent does not take that media type",
            ),
            InvalidAgentResponse => a2a(
                codes::INVALID_AGENT_RESPONSE,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "INVALID_AGENT_RESPONSE",
                "InvalidAgentResponseError",
                "the agent replied with something that is not valid A2A",
            ),
            ExtendedCardNotConfigured => a2a(
                codes::EXTENDED_CARD_NOT_CONFIGURED,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
                "ExtendedAgentCardNotConfiguredError",
                "the agent has no extended card",
            ),
            ExtensionSupportRequired => a2a(
                codes::EXTENSION_SUPPORT_REQUIRED,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "EXTENSION_SUPPORT_REQUIRED",
                "ExtensionSupportRequiredError",
                "the agent requires an extension the client did not declare",
            )
            .v03_code(codes::INTERNAL_ERROR),
            VersionNotSupported => a2a(
                codes::VERSION_NOT_SUPPORTED,
                StatusCode::BAD_REQUEST,
                "FAILED_PRECONDITION",
                "VERSION_NOT_SUPPORTED",
                "VersionNotSupportedError",
                "the A2A-Version is not served",
            )
            .v03_code(codes::INTERNAL_ERROR),
            AgentNotFound => own(
                -31001,
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "AGENT_NOT_FOUND",
                "no valid card is registered for this agent",
            ),
            AgentOffline => own(
                -31002,
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "AGENT_OFFLINE",
                "the agent's card says a2a-status=offline; failed at once",
            ),
            AgentTimeout => own(
                -31003,
                StatusCode::GATEWAY_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "AGENT_TIMEOUT",
                "no reply within requests.reply_first_timeout_ms, after every attempt",
            ),
            StreamIdle => own(
                -31004,
                StatusCode::GATEWAY_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "STREAM_IDLE_TIMEOUT",
                "a reply stream sent nothing for requests.stream_idle_timeout_ms",
            ),
            BrokerUnavailable => own(
                -31005,
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "BROKER_UNAVAILABLE",
                "the gateway is not connected to the MQTT broker (or lost it mid-stream)",
            ),
            GatewayOverloaded => own(
                -31006,
                StatusCode::SERVICE_UNAVAILABLE,
                "RESOURCE_EXHAUSTED",
                "GATEWAY_OVERLOADED",
                "outgoing queue full or too many requests in flight; retry later",
            ),
            ClientTooSlow => own(
                -31007,
                StatusCode::SERVICE_UNAVAILABLE,
                "RESOURCE_EXHAUSTED",
                "CLIENT_TOO_SLOW",
                "the client read a stream slower than the agent wrote it; the stream was cut",
            ),
            RequestTooLarge => own(
                -31008,
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_ARGUMENT",
                "REQUEST_TOO_LARGE_FOR_BROKER",
                "the request exceeds the MQTT packet size limit",
            ),
            AgentRequestExpired => own(
                -31010,
                StatusCode::GATEWAY_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "AGENT_REQUEST_EXPIRED",
                "the agent reports the request expired before processing (profile -32003)",
            ),
            AgentUnavailable => own(
                -31011,
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "AGENT_UNAVAILABLE",
                "the agent reports it is overloaded or unavailable (profile -32004), after every attempt",
            ),
            AgentTransportError => own(
                -31012,
                StatusCode::BAD_GATEWAY,
                "UNAVAILABLE",
                "AGENT_TRANSPORT_PROTOCOL_ERROR",
                "the agent refused the MQTT binding metadata (profile -32005)",
            ),
            BrokerRefused => own(
                -31013,
                StatusCode::BAD_GATEWAY,
                "PERMISSION_DENIED",
                "BROKER_REFUSED",
                "the broker refused to store a card (e.g. the gateway may not publish on discovery topics)",
            ),
            ShuttingDown => own(
                -31020,
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "GATEWAY_SHUTTING_DOWN",
                "the gateway is stopping",
            ),
        }
    }

    /// The kind of a core A2A code an agent returned.
    fn from_core_code(code: i64) -> Option<ErrorKind> {
        Some(match code {
            codes::PARSE_ERROR => ErrorKind::ParseError,
            codes::INVALID_REQUEST => ErrorKind::InvalidRequest,
            codes::METHOD_NOT_FOUND => ErrorKind::MethodNotFound,
            codes::INVALID_PARAMS => ErrorKind::InvalidParams,
            codes::INTERNAL_ERROR => ErrorKind::Internal,
            codes::TASK_NOT_FOUND => ErrorKind::TaskNotFound,
            codes::TASK_NOT_CANCELABLE => ErrorKind::TaskNotCancelable,
            codes::PUSH_NOTIFICATION_NOT_SUPPORTED => ErrorKind::PushNotificationNotSupported,
            codes::UNSUPPORTED_OPERATION => ErrorKind::UnsupportedOperation,
            codes::CONTENT_TYPE_NOT_SUPPORTED => ErrorKind::ContentTypeNotSupported,
            codes::INVALID_AGENT_RESPONSE => ErrorKind::InvalidAgentResponse,
            codes::EXTENDED_CARD_NOT_CONFIGURED => ErrorKind::ExtendedCardNotConfigured,
            codes::EXTENSION_SUPPORT_REQUIRED => ErrorKind::ExtensionSupportRequired,
            codes::VERSION_NOT_SUPPORTED => ErrorKind::VersionNotSupported,
            _ => return None,
        })
    }
}

/// A failure to report to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub message: String,
    /// Extra `ErrorInfo.metadata` entries (strings only, per google.rpc).
    pub metadata: Vec<(&'static str, String)>,
    /// An agent's own error object, relayed with its code and data as sent.
    relayed: Option<JsonRpcError>,
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GatewayError {}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> GatewayError {
        GatewayError {
            kind,
            message: message.into(),
            metadata: Vec::new(),
            relayed: None,
        }
    }

    /// Adds an `ErrorInfo.metadata` entry.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> GatewayError {
        self.metadata.push((key, value.into()));
        self
    }

    /// An error object an agent returned. Core A2A errors pass through unchanged;
    /// the profile's transport errors get the gateway's own codes so clients do
    /// not read them as the core errors sharing their numbers.
    pub fn from_agent(agent: &str, error: JsonRpcError) -> GatewayError {
        if let Some(profile) = error.profile_error() {
            let (kind, what) = match profile {
                ProfileError::RequestExpired => (
                    ErrorKind::AgentRequestExpired,
                    "the request expired before the agent processed it",
                ),
                ProfileError::ResponderUnavailable => (
                    ErrorKind::AgentUnavailable,
                    "the agent is temporarily unavailable or overloaded",
                ),
                ProfileError::TransportProtocolError => (
                    ErrorKind::AgentTransportError,
                    "the agent refused the MQTT request metadata",
                ),
            };
            let detail = if error.message.is_empty() {
                String::new()
            } else {
                format!(": {}", error.message)
            };
            return GatewayError::new(kind, format!("agent {agent}: {what}{detail}"))
                .with("agent", agent)
                .with("agentCode", error.code.to_string())
                .with("a2aError", profile.marker());
        }
        let kind = ErrorKind::from_core_code(error.code).unwrap_or(ErrorKind::Internal);
        GatewayError {
            kind,
            message: error.message.clone(),
            metadata: vec![("agent", agent.to_owned())],
            relayed: Some(error),
        }
    }

    /// A requester failure, phrased for the client.
    pub fn from_request(agent: &str, error: RequestError) -> GatewayError {
        let e = match &error {
            RequestError::NoReply { attempts, timeout } => GatewayError::new(
                ErrorKind::AgentTimeout,
                format!(
                    "agent {agent} did not reply within {} ms ({attempts} attempt(s))",
                    timeout.as_millis()
                ),
            )
            .with("attempts", attempts.to_string()),
            RequestError::BrokerUnavailable { attempts } => GatewayError::new(
                ErrorKind::BrokerUnavailable,
                format!(
                    "the gateway is not connected to the MQTT broker (tried {attempts} time(s)); retry shortly"
                ),
            ),
            RequestError::ConnectionLost => GatewayError::new(
                ErrorKind::BrokerUnavailable,
                format!(
                    "the MQTT broker connection dropped while agent {agent} was replying; the task may still be running: use GetTask or SubscribeToTask"
                ),
            ),
            RequestError::StreamIdle { idle } => GatewayError::new(
                ErrorKind::StreamIdle,
                format!(
                    "agent {agent} sent nothing for {} ms; the task may still be running: use GetTask or SubscribeToTask",
                    idle.as_millis()
                ),
            ),
            RequestError::Overflow => GatewayError::new(
                ErrorKind::ClientTooSlow,
                "the stream was cut because the client read it slower than the agent wrote it; resume with SubscribeToTask",
            ),
            RequestError::ShuttingDown => GatewayError::new(
                ErrorKind::ShuttingDown,
                format!(
                    "the gateway is shutting down and its drain period (http.shutdown_grace_secs) ended before agent {agent} replied; the task may still be running: use GetTask or SubscribeToTask on another instance"
                ),
            ),
            RequestError::TooManyInFlight { in_flight, limit } => GatewayError::new(
                ErrorKind::GatewayOverloaded,
                format!(
                    "the gateway is overloaded ({in_flight} requests in flight, limit {limit}); retry later"
                ),
            ),
            RequestError::Publish(PublishError::QueueFull { capacity }) => GatewayError::new(
                ErrorKind::GatewayOverloaded,
                format!(
                    "the gateway is overloaded (MQTT outgoing queue of {capacity} full); retry later"
                ),
            ),
            RequestError::Publish(PublishError::TooLarge { size, limit }) => GatewayError::new(
                ErrorKind::RequestTooLarge,
                format!(
                    "the request (~{size} bytes) exceeds the MQTT packet size limit of {limit} bytes"
                ),
            ),
            RequestError::Publish(PublishError::Disconnected) => GatewayError::new(
                ErrorKind::BrokerUnavailable,
                "the gateway is not connected to the MQTT broker; retry shortly",
            ),
            RequestError::Publish(PublishError::Stopped) => {
                GatewayError::new(ErrorKind::ShuttingDown, "the gateway is shutting down")
            }
            RequestError::Publish(other) => GatewayError::new(
                ErrorKind::Internal,
                format!("could not publish the request: {other}"),
            ),
        };
        e.with("agent", agent)
    }

    /// The JSON-RPC code.
    pub fn code(&self) -> i64 {
        self.relayed
            .as_ref()
            .map_or(self.kind.spec().code, |e| e.code)
    }

    /// The HTTP status (for bindings that use it).
    pub fn status(&self) -> StatusCode {
        self.kind.spec().status
    }

    /// The `ErrorInfo` detail.
    pub fn error_info(&self) -> Value {
        let metadata: serde_json::Map<String, Value> = self
            .metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
            .collect();
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": self.kind.spec().reason,
            "domain": if self.kind.spec().a2a { A2A_DOMAIN } else { ERROR_DOMAIN },
            "metadata": metadata,
        })
    }

    /// `google.rpc` details for REST bodies: the ErrorInfo, then any typed
    /// details a relayed agent error carried.
    pub fn details(&self) -> Vec<Value> {
        let mut details = vec![self.error_info()];
        if let Some(Value::Array(relayed)) = self.relayed.as_ref().and_then(|e| e.data.as_ref()) {
            details.extend(
                relayed
                    .iter()
                    .filter(|d| {
                        d.get("@type")
                            .and_then(Value::as_str)
                            .is_some_and(|t| !t.ends_with("google.rpc.ErrorInfo"))
                    })
                    .cloned(),
            );
        }
        details
    }

    /// The JSON-RPC error object. A relayed agent error keeps its code, message
    /// and data exactly.
    pub fn to_jsonrpc(&self) -> JsonRpcError {
        if let Some(relayed) = &self.relayed {
            return relayed.clone();
        }
        JsonRpcError {
            code: self.kind.spec().code,
            message: self.message.clone(),
            data: Some(Value::Array(vec![self.error_info()])),
        }
    }

    /// The JSON-RPC error object a v0.3 client gets: [`Self::to_jsonrpc`] with
    /// the table's v0.3 code in place of a code v0.3 does not define (a relayed
    /// agent error's too). Message and `data` are kept; without `data`, the
    /// ErrorInfo is added so the reason the code no longer tells is not lost.
    /// Codes outside the table (an agent's own) pass unchanged.
    pub fn to_jsonrpc_v03(&self) -> JsonRpcError {
        let mut error = self.to_jsonrpc();
        let spec = self.kind.spec();
        if error.code == spec.code && spec.v03_code != spec.code {
            error.code = spec.v03_code;
            error
                .data
                .get_or_insert_with(|| Value::Array(vec![self.error_info()]));
        }
        error
    }
}

impl From<crate::a2a::jsonrpc::EnvelopeError> for GatewayError {
    fn from(e: crate::a2a::jsonrpc::EnvelopeError) -> GatewayError {
        let kind = ErrorKind::from_core_code(e.error.code).unwrap_or(ErrorKind::InvalidRequest);
        GatewayError::new(kind, e.error.message)
    }
}

/// The error table as Markdown rows (used by the README and checked by a test).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| reason | JSON-RPC code | REST status | v0.3 code | v0.3 REST `type` | defined by | meaning |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for kind in ErrorKind::ALL {
        let s = kind.spec();
        let v03_type = s.v03_type.map_or("—".to_owned(), |t| format!("`{t}`"));
        out.push_str(&format!(
            "| `{}` | {} | {} {} | {} | {} | {} | {} |\n",
            s.reason,
            s.code,
            s.status.as_u16(),
            s.grpc,
            s.v03_code,
            v03_type,
            if s.a2a { "A2A" } else { "gateway" },
            s.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reasons_and_gateway_codes_are_unique() {
        let reasons: HashSet<_> = ErrorKind::ALL.iter().map(|k| k.spec().reason).collect();
        assert_eq!(reasons.len(), ErrorKind::ALL.len());
        let own: Vec<i64> = ErrorKind::ALL
            .iter()
            .map(|k| k.spec().code)
            .filter(|c| *c <= -31000 && *c > -32000)
            .collect();
        let unique: HashSet<_> = own.iter().collect();
        assert_eq!(unique.len(), own.len(), "{own:?}");
    }

    #[test]
    fn profile_errors_from_agents_do_not_masquerade_as_core_errors() {
        let e = GatewayError::from_agent(
            "o/u/a",
            JsonRpcError::profile(ProfileError::ResponderUnavailable, "busy"),
        );
        let j = e.to_jsonrpc();
        assert_eq!(j.code, -31011);
        assert_ne!(j.code, codes::UNSUPPORTED_OPERATION);
        assert_eq!(j.data.unwrap()[0]["reason"], "AGENT_UNAVAILABLE");
    }

    #[test]
    fn core_errors_from_agents_pass_through() {
        let original = JsonRpcError {
            code: codes::TASK_NOT_FOUND,
            message: "Task not found".into(),
            data: Some(json!([{"@type": "x", "reason": "TASK_NOT_FOUND"}])),
        };
        let e = GatewayError::from_agent("o/u/a", original.clone());
        assert_eq!(e.to_jsonrpc(), original);
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn v03_clients_get_v03_codes_from_the_table() {
        // Codes v0.3 defines are kept, for gateway and relayed errors alike.
        for kind in [ErrorKind::TaskNotFound, ErrorKind::AgentOffline] {
            let e = GatewayError::new(kind, "m");
            assert_eq!(e.to_jsonrpc_v03(), e.to_jsonrpc(), "{kind:?}");
        }
        let relayed = JsonRpcError::new(codes::EXTENDED_CARD_NOT_CONFIGURED, "no card");
        let e = GatewayError::from_agent("o/u/a", relayed.clone());
        assert_eq!(e.to_jsonrpc_v03(), relayed, "-32007 exists in v0.3");
        // v1.0-only codes become InternalError; the reason survives in data.
        let e = GatewayError::new(ErrorKind::VersionNotSupported, "version 9");
        let v03 = e.to_jsonrpc_v03();
        assert_eq!((v03.code, v03.message.as_str()), (-32603, "version 9"));
        assert_eq!(v03.data.unwrap()[0]["reason"], "VERSION_NOT_SUPPORTED");
        // A relayed one without data gets the ErrorInfo; with data keeps it.
        let e = GatewayError::from_agent("o/u/a", JsonRpcError::new(-32008, "ext"));
        let v03 = e.to_jsonrpc_v03();
        assert_eq!(v03.code, -32603);
        assert_eq!(v03.data.unwrap()[0]["reason"], "EXTENSION_SUPPORT_REQUIRED");
        let with_data = JsonRpcError {
            code: -32008,
            message: "ext".into(),
            data: Some(json!({"x": 1})),
        };
        let v03 = GatewayError::from_agent("o/u/a", with_data).to_jsonrpc_v03();
        assert_eq!((v03.code, v03.data), (-32603, Some(json!({"x": 1}))));
        // An agent's own code outside the table passes unchanged.
        let own = JsonRpcError::new(-32050, "custom");
        assert_eq!(
            GatewayError::from_agent("o/u/a", own.clone()).to_jsonrpc_v03(),
            own
        );
    }

    #[test]
    fn every_v03_code_is_one_v03_defines_and_types_follow_codes() {
        // The codes of the v0.3 schema's error definitions, and the gateway's own.
        const V03_CODES: [i64; 12] = [
            -32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004, -32005, -32006,
            -32007,
        ];
        for kind in ErrorKind::ALL {
            let s = kind.spec();
            assert!(
                V03_CODES.contains(&s.v03_code) || (-31099..=-31001).contains(&s.v03_code),
                "{kind:?}: {}",
                s.v03_code
            );
            // An A2A class is named for every A2A error, and a gateway error
            // reusing a core code gets that code's class.
            assert_eq!(s.a2a, s.a2a && s.v03_type.is_some(), "{kind:?}");
            if let Some(class) = s.v03_type {
                let core = ErrorKind::from_core_code(s.code).map(|k| k.spec().v03_type);
                assert_eq!(core, Some(Some(class)), "{kind:?}");
            }
        }
    }

    #[test]
    fn gateway_errors_carry_error_info() {
        let e = GatewayError::new(ErrorKind::AgentOffline, "agent o/u/a is offline")
            .with("agent", "o/u/a");
        let j = e.to_jsonrpc();
        assert_eq!(j.code, -31002);
        let info = &j.data.unwrap()[0];
        assert_eq!(info["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
        assert_eq!(info["reason"], "AGENT_OFFLINE");
        assert_eq!(info["metadata"]["agent"], "o/u/a");
    }
}

#[cfg(test)]
mod readme {
    /// The README's error table is generated from [`super::markdown_table`]; this
    /// keeps it true.
    #[test]
    fn readme_lists_the_error_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let table = super::markdown_table();
        assert!(
            readme.contains(&table),
            "README.md must contain the error table exactly as generated:\n{table}"
        );
    }
}
