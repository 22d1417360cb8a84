//! The CLI's HTTP client for a running gateway: the registry API and A2A v1.0
//! JSON-RPC (plain and streamed).

use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::{Value, json};

use super::{CliError, sse};

/// Talks to one gateway.
pub struct GatewayClient {
    base: String,
    http: reqwest::Client,
}

impl GatewayClient {
    /// A client for the gateway at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<GatewayClient, CliError> {
        crate::install_crypto_provider();
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::usage(format!(
                "--gateway {base:?} must be an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CliError::remote(format!("cannot build an HTTP client: {e}")))?;
        Ok(GatewayClient { base, http })
    }

    fn unreachable(&self, e: reqwest::Error) -> CliError {
        CliError::remote(format!("cannot reach the gateway at {}: {e}", self.base))
    }

    /// A registry API call; non-2xx answers become errors carrying the gateway's message.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), CliError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(60));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.map_err(|e| self.unreachable(e))?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| self.unreachable(e))?;
        if !(200..300).contains(&status) {
            return Err(self.http_failure(status, &text));
        }
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                CliError::remote(format!(
                    "the gateway answered HTTP {status} with something that is not JSON"
                ))
            })?
        };
        Ok((status, value))
    }

    /// A non-2xx answer that is not a JSON-RPC response: the gateway's error
    /// body, or whatever answers at a wrong base URL.
    fn http_failure(&self, status: u16, text: &str) -> CliError {
        let body = serde_json::from_str::<Value>(text).ok();
        CliError::from_http_error(status, body.as_ref(), &self.base)
    }

    fn rpc_body(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    }

    /// A JSON-RPC call to `agent`; returns the `result`.
    pub async fn rpc(&self, agent: &str, method: &str, params: Value) -> Result<Value, CliError> {
        let r = self
            .http
            .post(format!("{}/agents/{agent}", self.base))
            .header("A2A-Version", "1.0")
            .json(&Self::rpc_body(method, params))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| self.unreachable(e))?;
        self.rpc_answer(status, &text)
    }

    /// The `result` of a JSON-RPC answer. JSON-RPC errors come with HTTP 200
    /// (413 for a body over the limit); another status without a JSON-RPC
    /// body did not come from an agent's endpoint.
    fn rpc_answer(&self, status: u16, text: &str) -> Result<Value, CliError> {
        match serde_json::from_str::<Value>(text) {
            Ok(v) if v.get("jsonrpc").is_some() => rpc_result(v),
            _ if status != 200 => Err(self.http_failure(status, text)),
            _ => Err(CliError::remote(format!(
                "the gateway answered HTTP {status} with something that is not JSON-RPC"
            ))),
        }
    }

    /// A streaming JSON-RPC call; yields each `result` (StreamResponse) as it comes.
    pub async fn rpc_stream(
        &self,
        agent: &str,
        method: &str,
        params: Value,
    ) -> Result<impl Stream<Item = Result<Value, CliError>> + use<>, CliError> {
        let r = self
            .http
            .post(format!("{}/agents/{agent}", self.base))
            .header("A2A-Version", "1.0")
            .header("Accept", "text/event-stream")
            .json(&Self::rpc_body(method, params))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let is_sse = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            // An error before the stream started comes as a plain JSON-RPC response.
            let status = r.status().as_u16();
            let text = r.text().await.map_err(|e| self.unreachable(e))?;
            return Err(self
                .rpc_answer(status, &text)
                .err()
                .unwrap_or_else(|| CliError::remote("the gateway did not stream")));
        }
        let events = sse::data_events(r.bytes_stream());
        Ok(events.map(|data| match data {
            Ok(text) => serde_json::from_str::<Value>(&text)
                .map_err(|_| CliError::remote("the gateway sent an event that is not JSON"))
                .and_then(rpc_result),
            Err(e) => Err(CliError::remote(format!("the stream broke: {e}"))),
        }))
    }
}

/// The `result` of a JSON-RPC response, or its error as a [`CliError`].
fn rpc_result(mut response: Value) -> Result<Value, CliError> {
    if let Some(error) = response.get("error") {
        return Err(CliError::from_rpc_error(error));
    }
    match response.get_mut("result") {
        Some(r) => Ok(r.take()),
        None => Err(CliError::remote(
            "the gateway answered without a result or an error",
        )),
    }
}
