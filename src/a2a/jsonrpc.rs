//! The JSON-RPC 2.0 envelope: parse a request once, echo its `id` exactly, build
//! responses without re-encoding payloads that are already JSON.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{JsonRpcError, codes};

/// The request `id`, kept as the exact JSON text the client sent so it is echoed
/// with the same type and spelling (`1` stays `1`, `"1"` stays `"1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Box<str>);

impl RequestId {
    /// `null`, used when the request's id could not be read.
    pub fn null() -> RequestId {
        RequestId("null".into())
    }

    /// A string id.
    pub fn string(s: &str) -> RequestId {
        let quoted = serde_json::to_string(s).unwrap_or_else(|_| "null".into());
        RequestId(quoted.into_boxed_str())
    }

    /// The id as JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// A parsed request envelope. `params` borrows from the request body.
#[derive(Debug)]
pub struct Request<'a> {
    pub id: RequestId,
    pub method: String,
    /// The raw `params` object, if any.
    pub params: Option<&'a RawValue>,
}

/// Why an envelope was refused, with the id to answer with when it was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeError {
    pub id: RequestId,
    pub error: JsonRpcError,
}

impl EnvelopeError {
    fn new(id: RequestId, code: i64, message: impl Into<String>) -> EnvelopeError {
        EnvelopeError {
            id,
            error: JsonRpcError::new(code, message),
        }
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<&'a RawValue>,
    /// `Some("null")` for an explicit null, `None` only when absent.
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Parses one JSON-RPC 2.0 request.
///
/// Errors follow JSON-RPC: invalid JSON is -32700; a batch, a non-object, a wrong
/// `jsonrpc`, a missing or ill-typed `id` or `method` are -32600; non-object
/// `params` (A2A uses named params only) are -32602.
pub fn parse_request(body: &[u8]) -> Result<Request<'_>, EnvelopeError> {
    let raw: &RawValue = serde_json::from_slice(body).map_err(|e| {
        EnvelopeError::new(
            RequestId::null(),
            codes::PARSE_ERROR,
            format!("Invalid JSON payload: {e}"),
        )
    })?;
    match raw.get().as_bytes().first() {
        Some(b'{') => {}
        Some(b'[') => {
            return Err(EnvelopeError::new(
                RequestId::null(),
                codes::INVALID_REQUEST,
                "JSON-RPC batch requests are not supported: send one request object per HTTP request",
            ));
        }
        _ => {
            return Err(EnvelopeError::new(
                RequestId::null(),
                codes::INVALID_REQUEST,
                "a JSON-RPC request must be a JSON object",
            ));
        }
    }
    let env: RawEnvelope<'_> = serde_json::from_str(raw.get()).map_err(|e| {
        EnvelopeError::new(
            RequestId::null(),
            codes::INVALID_REQUEST,
            format!("Request payload validation error: {e}"),
        )
    })?;

    let id = match env.id {
        None => {
            return Err(EnvelopeError::new(
                RequestId::null(),
                codes::INVALID_REQUEST,
                "the request has no \"id\": notifications are not supported, every A2A call needs an id",
            ));
        }
        Some(raw_id) => {
            let text = raw_id.get();
            match text.as_bytes().first() {
                Some(b'"') | Some(b'-') | Some(b'0'..=b'9') | Some(b'n') => RequestId(text.into()),
                _ => {
                    return Err(EnvelopeError::new(
                        RequestId::null(),
                        codes::INVALID_REQUEST,
                        "\"id\" must be a string, a number or null",
                    ));
                }
            }
        }
    };

    if env.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Err(EnvelopeError::new(
            id,
            codes::INVALID_REQUEST,
            "\"jsonrpc\" must be exactly \"2.0\"",
        ));
    }

    let method = match env.method.map(|m| serde_json::from_str::<String>(m.get())) {
        Some(Ok(m)) => m,
        Some(Err(_)) => {
            return Err(EnvelopeError::new(
                id,
                codes::INVALID_REQUEST,
                "\"method\" must be a string",
            ));
        }
        None => {
            return Err(EnvelopeError::new(
                id,
                codes::INVALID_REQUEST,
                "the request has no \"method\"",
            ));
        }
    };

    let params = match env.params {
        Some(p) if p.get() == "null" => None,
        Some(p) if p.get().starts_with('{') => Some(p),
        Some(_) => {
            return Err(EnvelopeError::new(
                id,
                codes::INVALID_PARAMS,
                "\"params\" must be a JSON object (A2A uses named parameters)",
            ));
        }
        None => None,
    };

    Ok(Request { id, method, params })
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` around an already-encoded result.
pub fn success(id: &RequestId, result_json: &str) -> String {
    let mut out = String::with_capacity(result_json.len() + id.0.len() + 32);
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(&id.0);
    out.push_str(",\"result\":");
    out.push_str(result_json);
    out.push('}');
    out
}

/// [`success`] around JSON text held as bytes (a result relayed from an agent).
pub fn success_bytes(id: &RequestId, result_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(result_json.len() + id.0.len() + 32);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.0.as_bytes());
    out.extend_from_slice(b",\"result\":");
    out.extend_from_slice(result_json);
    out.push(b'}');
    out
}

/// `{"jsonrpc":"2.0","id":<id>,"error":{...}}`.
pub fn failure(id: &RequestId, error: &JsonRpcError) -> String {
    let encoded = serde_json::to_string(error).unwrap_or_else(|_| {
        format!(
            "{{\"code\":{},\"message\":\"error could not be encoded\"}}",
            error.code
        )
    });
    let mut out = String::with_capacity(encoded.len() + id.0.len() + 32);
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(&id.0);
    out.push_str(",\"error\":");
    out.push_str(&encoded);
    out.push('}');
    out
}

/// The `error` member of an agent's reply, if it has one; the rest is skimmed,
/// not built (the retry check runs on every first reply).
pub fn reply_error(payload: &[u8]) -> Option<JsonRpcError> {
    #[derive(Deserialize)]
    struct ErrorOnly {
        #[serde(default)]
        error: Option<JsonRpcError>,
    }
    serde_json::from_slice::<ErrorOnly>(payload).ok()?.error
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` for a result still to encode.
pub fn success_value(id: &RequestId, result: &serde_json::Value) -> String {
    // serde_json's writer, not `Value`'s `Display`: that one goes through
    // `fmt::Write` a token at a time and cost three times as much.
    match serde_json::to_string(result) {
        Ok(encoded) => success(id, &encoded),
        Err(e) => failure(
            id,
            &JsonRpcError::new(
                codes::INTERNAL_ERROR,
                format!("result could not be encoded: {e}"),
            ),
        ),
    }
}

/// A JSON-RPC response as received from an agent: either side may be present.
#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<JsonRpcError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_code(body: &str) -> i64 {
        parse_request(body.as_bytes()).unwrap_err().error.code
    }

    #[test]
    fn ids_are_echoed_with_their_json_type() {
        for id in ["1", "\"1\"", "-7", "1.5", "null", "\"a\\\"b\""] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"GetTask"}}"#);
            let req = parse_request(body.as_bytes()).unwrap();
            assert_eq!(req.id.as_json(), id);
            let out = success(&req.id, "{}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                v["id"],
                serde_json::from_str::<serde_json::Value>(id).unwrap()
            );
        }
    }

    #[test]
    fn envelope_errors_have_the_json_rpc_codes() {
        assert_eq!(err_code("{not json"), codes::PARSE_ERROR);
        assert_eq!(err_code(""), codes::PARSE_ERROR);
        assert_eq!(err_code("[]"), codes::INVALID_REQUEST);
        assert_eq!(
            err_code(r#"[{"jsonrpc":"2.0","id":1,"method":"GetTask"}]"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(err_code("42"), codes::INVALID_REQUEST);
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","method":"GetTask"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"1.0","id":1,"method":"GetTask"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":{},"method":"GetTask"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":[1]}"#),
            codes::INVALID_PARAMS
        );
    }

    #[test]
    fn batch_error_explains_itself() {
        let e = parse_request(b"[1,2]").unwrap_err();
        assert!(e.error.message.contains("batch"), "{}", e.error.message);
    }

    #[test]
    fn readable_id_is_kept_for_later_errors() {
        let e = parse_request(br#"{"jsonrpc":"2.1","id":"abc","method":"x"}"#).unwrap_err();
        assert_eq!(e.id.as_json(), "\"abc\"");
    }

    #[test]
    fn failure_is_valid_json() {
        let out = failure(&RequestId::string("x"), &JsonRpcError::new(-32601, "nope"));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], -32601);
        assert_eq!(v["id"], "x");
    }
}
