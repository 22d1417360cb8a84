//! JSON-RPC error objects and the codes A2A and the MQTT profile give them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Numeric JSON-RPC error codes.
pub mod codes {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid JSON-RPC request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad params.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;

    /// A2A TaskNotFoundError.
    pub const TASK_NOT_FOUND: i64 = -32001;
    /// A2A TaskNotCancelableError.
    pub const TASK_NOT_CANCELABLE: i64 = -32002;
    /// A2A PushNotificationNotSupportedError (collides with the profile's
    /// `request_expired`, told apart by `data.a2a_error`).
    pub const PUSH_NOTIFICATION_NOT_SUPPORTED: i64 = -32003;
    /// A2A UnsupportedOperationError (collides with the profile's
    /// `responder_unavailable`).
    pub const UNSUPPORTED_OPERATION: i64 = -32004;
    /// A2A ContentTypeNotSupportedError (collides with the profile's
    /// `transport_protocol_error`).
    pub const CONTENT_TYPE_NOT_SUPPORTED: i64 = -32005;
    /// A2A InvalidAgentResponseError.
    pub const INVALID_AGENT_RESPONSE: i64 = -32006;
    /// A2A ExtendedAgentCardNotConfiguredError.
    pub const EXTENDED_CARD_NOT_CONFIGURED: i64 = -32007;
    /// A2A ExtensionSupportRequiredError.
    pub const EXTENSION_SUPPORT_REQUIRED: i64 = -32008;
    /// A2A VersionNotSupportedError.
    pub const VERSION_NOT_SUPPORTED: i64 = -32009;
}

/// The MQTT profile's transport errors, marked by `error.data.a2a_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileError {
    /// -32003 `request_expired`: retry-eligible.
    RequestExpired,
    /// -32004 `responder_unavailable`: retry-eligible.
    ResponderUnavailable,
    /// -32005 `transport_protocol_error`: not retryable.
    TransportProtocolError,
}

impl ProfileError {
    /// The `data.a2a_error` marker.
    pub fn marker(self) -> &'static str {
        match self {
            ProfileError::RequestExpired => "request_expired",
            ProfileError::ResponderUnavailable => "responder_unavailable",
            ProfileError::TransportProtocolError => "transport_protocol_error",
        }
    }

    /// The JSON-RPC code the profile assigns.
    pub fn code(self) -> i64 {
        match self {
            ProfileError::RequestExpired => -32003,
            ProfileError::ResponderUnavailable => -32004,
            ProfileError::TransportProtocolError => -32005,
        }
    }

    /// Whether the requester may retry (profile: -32003 and -32004 are, -32005 is not).
    pub fn is_retryable(self) -> bool {
        !matches!(self, ProfileError::TransportProtocolError)
    }
}

/// A JSON-RPC 2.0 error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl JsonRpcError {
    /// An error without details.
    pub fn new(code: i64, message: impl Into<String>) -> JsonRpcError {
        JsonRpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// An error of the MQTT profile, with its mandatory `data.a2a_error`.
    pub fn profile(kind: ProfileError, message: impl Into<String>) -> JsonRpcError {
        JsonRpcError {
            code: kind.code(),
            message: message.into(),
            data: Some(serde_json::json!({ "a2a_error": kind.marker() })),
        }
    }

    /// Tells whether this is one of the profile's transport errors rather than the
    /// core A2A error sharing its code. The presence of `data.a2a_error` decides:
    /// the codes alone are ambiguous, and core A2A errors never carry it.
    ///
    /// An agent that breaks the profile's pairing of marker and code is still
    /// reporting a transport error, and relaying it under its core code would
    /// tell the client something else entirely (-32003 + `transport_protocol_error`
    /// is not "push notifications not supported"). So a known marker names the
    /// error whatever the code; an unknown marker on one of the profile's codes
    /// leaves the code to name it; anything else is not a profile error.
    pub fn profile_error(&self) -> Option<ProfileError> {
        let marker = self.data.as_ref()?.get("a2a_error")?;
        let by_marker = match marker.as_str() {
            Some("request_expired") => Some(ProfileError::RequestExpired),
            Some("responder_unavailable") => Some(ProfileError::ResponderUnavailable),
            Some("transport_protocol_error") => Some(ProfileError::TransportProtocolError),
            _ => None,
        };
        by_marker.or_else(|| {
            [
                ProfileError::RequestExpired,
                ProfileError::ResponderUnavailable,
                ProfileError::TransportProtocolError,
            ]
            .into_iter()
            .find(|p| p.code() == self.code)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profile_errors_are_told_apart_from_core_codes_by_marker() {
        let core = JsonRpcError::new(codes::UNSUPPORTED_OPERATION, "no");
        assert_eq!(core.profile_error(), None);
        let busy = JsonRpcError::profile(ProfileError::ResponderUnavailable, "busy");
        assert_eq!(
            busy.profile_error(),
            Some(ProfileError::ResponderUnavailable)
        );
        assert!(busy.profile_error().is_some_and(ProfileError::is_retryable));
        // Core errors with other data are core errors.
        let core_with_info = JsonRpcError {
            code: codes::PUSH_NOTIFICATION_NOT_SUPPORTED,
            message: "x".into(),
            data: Some(json!([{"reason": "PUSH_NOTIFICATION_NOT_SUPPORTED"}])),
        };
        assert_eq!(core_with_info.profile_error(), None);
    }

    #[test]
    fn a_marker_that_does_not_match_its_code_still_marks_a_profile_error() {
        let odd = |code: i64, marker: Value| JsonRpcError {
            code,
            message: "x".into(),
            data: Some(json!({ "a2a_error": marker })),
        };
        // A known marker names the error, whatever the code.
        assert_eq!(
            odd(-32003, json!("transport_protocol_error")).profile_error(),
            Some(ProfileError::TransportProtocolError)
        );
        assert_eq!(
            odd(-32005, json!("responder_unavailable")).profile_error(),
            Some(ProfileError::ResponderUnavailable)
        );
        assert_eq!(
            odd(codes::TASK_NOT_FOUND, json!("request_expired")).profile_error(),
            Some(ProfileError::RequestExpired)
        );
        // An unknown marker on a profile code: the code names it.
        assert_eq!(
            odd(-32004, json!("overloaded")).profile_error(),
            Some(ProfileError::ResponderUnavailable)
        );
        assert_eq!(
            odd(-32003, json!(7)).profile_error(),
            Some(ProfileError::RequestExpired)
        );
        // An unknown marker on any other code is not the profile's.
        assert_eq!(
            odd(codes::TASK_NOT_FOUND, json!("whatever")).profile_error(),
            None
        );
    }
}
