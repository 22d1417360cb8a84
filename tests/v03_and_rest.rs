//! Every client works: A2A v0.3 JSON-RPC (checked against the v0.3 JSON Schema),
//! the v1.0 REST binding and the v0.3 REST paths, version negotiation, cards for
//! both versions — through a real broker to SDK agents.

mod common;

use std::time::Duration;

use a2a_mqtt_gateway::a2a::types::Artifact;
use a2a_mqtt_gateway::agent::samples::{self, Inspection};
use a2a_mqtt_gateway::agent::{CardBuilder, HandlerError, TaskContext};
use common::*;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";
const INSPECT: &str = "acme/plant1/inspect";

static SCHEMA: &str = include_str!("schemas/a2a-v0.3.0-schema.json");

/// Asserts that `instance` is a valid v0.3 `definition`.
fn assert_v03(definition: &str, instance: &Value) {
    let mut schema: Value = serde_json::from_str(SCHEMA).expect("schema JSON");
    let definitions = schema["definitions"].take();
    let root = json!({"$ref": format!("#/definitions/{definition}"), "definitions": definitions});
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid v0.3 {definition}: {errors:#?}\n{instance:#}"
    );
}

async fn post(url: &str, version: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = http().post(url).json(body);
    if let Some(v) = version {
        req = req.header("A2A-Version", v);
    }
    let r = req.send().await.unwrap();
    status_and_json(r).await
}

async fn get(url: &str, version: Option<&str>) -> (u16, Value) {
    let mut req = http().get(url);
    if let Some(v) = version {
        req = req.header("A2A-Version", v);
    }
    let r = req.send().await.unwrap();
    status_and_json(r).await
}

/// SSE `data:` payloads of a streaming POST or GET, with the event names.
async fn sse(
    method: reqwest::Method,
    url: &str,
    version: Option<&str>,
    body: Option<&Value>,
) -> (u16, String, Vec<(String, Value)>) {
    let mut req = http()
        .request(method, url)
        .header("Accept", "text/event-stream");
    if let Some(v) = version {
        req = req.header("A2A-Version", v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = content_type(&r);
    let text = r.text().await.unwrap();
    let events = text
        .split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_owned();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            (!data.is_empty()).then(|| {
                (
                    name,
                    serde_json::from_str(&data.join("\n")).expect("data is JSON"),
                )
            })
        })
        .collect();
    (status, ct, events)
}

fn v03_send(text: &str) -> Value {
    json!({"message": {"kind": "message", "messageId": uuid::Uuid::new_v4().to_string(), "role": "user",
        "parts": [{"kind": "text", "text": text}]}})
}

async fn setup() -> (
    Broker,
    TestGateway,
    Vec<a2a_mqtt_gateway::agent::RunningAgent>,
) {
    let broker = Broker::start();
    let echo = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let inspect = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        Inspection {
            steps: 30,
            step_delay: Duration::from_millis(100),
        },
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    gw.wait_agent(INSPECT, "online").await;
    (broker, gw, vec![echo, inspect])
}

#[tokio::test]
async fn v03_json_rpc_round_trip_matches_the_v03_schema() {
    let (broker, gw, _agents) = setup().await;
    let url = gw.agent_url(ECHO);

    // message/send without A2A-Version: v0.3, a bare Task with kind.
    let (_, r) = post(&url, None, &json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": v03_send("hello v0.3")})).await;
    assert_v03("SendMessageSuccessResponse", &r);
    let task = &r["result"];
    assert_eq!(task["kind"], "task", "{r}");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(
        task["artifacts"][0]["parts"][0],
        json!({"kind": "text", "text": "hello v0.3"})
    );
    let id = task["id"].as_str().unwrap().to_owned();

    // tasks/get and historyLength.
    let (_, r) = post(&url, Some("0.3"), &json!({"jsonrpc": "2.0", "id": "g", "method": "tasks/get", "params": {"id": id, "historyLength": 1}})).await;
    assert_v03("GetTaskSuccessResponse", &r);
    assert_eq!(r["result"]["history"].as_array().unwrap().len(), 1);

    // message/stream: v0.3 events, `final` on the last status update.
    let (status, ct, events) = sse(
        reqwest::Method::POST,
        &url,
        Some("0.3"),
        Some(&json!({"jsonrpc": "2.0", "id": 7, "method": "message/stream", "params": v03_send("streamed")})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/event-stream"));
    for (_, e) in &events {
        assert_v03("SendStreamingMessageSuccessResponse", e);
        assert_eq!(e["id"], 7);
    }
    assert_eq!(events[0].1["result"]["kind"], "task");
    let last = &events.last().unwrap().1["result"];
    assert_eq!(last["kind"], "status-update");
    assert_eq!(last["final"], true);
    assert_eq!(last["status"]["state"], "completed");
    let finals = events
        .iter()
        .filter(|(_, e)| e["result"]["final"] == true)
        .count();
    assert_eq!(finals, 1, "only the last status update is final");

    // blocking: false, tasks/resubscribe and tasks/cancel on the long agent.
    let long = gw.agent_url(INSPECT);
    let mut params = v03_send("line 3");
    params["configuration"] = json!({"blocking": false});
    let (_, r) = post(
        &long,
        Some("0.3"),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "message/send", "params": params}),
    )
    .await;
    assert_v03("SendMessageSuccessResponse", &r);
    let state = r["result"]["status"]["state"].as_str().unwrap();
    assert!(matches!(state, "submitted" | "working"), "{r}");
    let id = r["result"]["id"].as_str().unwrap().to_owned();
    let mut sub = open_stream_as(
        &long,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tasks/resubscribe", "params": {"id": id}}),
        Some("0.3"),
    )
    .await;
    let first = tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_v03("SendStreamingMessageSuccessResponse", &first);
    assert_eq!(first["result"]["kind"], "task");
    let (_, r) = post(
        &long,
        Some("0.3"),
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tasks/cancel", "params": {"id": id}}),
    )
    .await;
    assert_v03("CancelTaskSuccessResponse", &r);
    assert_eq!(r["result"]["status"]["state"], "canceled");
    let mut last = Value::Null;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
        assert_v03("SendStreamingMessageSuccessResponse", &e);
        last = e;
    }
    assert_eq!(last["result"]["status"]["state"], "canceled");
    assert_eq!(last["result"]["final"], true);

    // Errors keep the v0.3 shapes and codes.
    let (_, r) = post(
        &url,
        Some("0.3"),
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tasks/get", "params": {"id": "nope"}}),
    )
    .await;
    assert_v03("JSONRPCErrorResponse", &r);
    assert_eq!(r["error"]["code"], -32001);
    let (_, r) = post(
        &url,
        Some("0.3"),
        &json!({"jsonrpc": "2.0", "id": 6, "method": "tasks/pushNotificationConfig/set",
        "params": {"taskId": "t", "pushNotificationConfig": {"url": "https://example.com/hook"}}}),
    )
    .await;
    assert_v03("JSONRPCErrorResponse", &r);
    assert_eq!(r["error"]["code"], -32003);
    let (_, r) = post(&url, Some("0.3"), &json!({"jsonrpc": "2.0", "id": 8, "method": "message/send", "params": {"message": {"kind": "message"}}})).await;
    assert_v03("JSONRPCErrorResponse", &r);
    assert_eq!(r["error"]["code"], -32602, "{r}");

    v03_push_config_methods(&url).await;
    v03_input_required(&url).await;
    v03_file_and_data_parts(&broker, &gw).await;
    v03_extended_cards(&broker, &gw).await;
}

/// Sends a v0.3 JSON-RPC request that is itself valid against the schema's
/// `{request}` definition, and checks the answer against `{response}` (which
/// admits the method's success result or a JSON-RPC error).
async fn v03_call(url: &str, request: &str, response: &str, method: &str, params: Value) -> Value {
    let mut body = json!({"jsonrpc": "2.0", "id": method, "method": method, "params": params});
    if body["params"].is_null() {
        body.as_object_mut().map(|b| b.remove("params"));
    }
    assert_v03(request, &body);
    let (status, r) = post(url, Some("0.3"), &body).await;
    assert_eq!(status, 200, "{r}");
    assert_v03(response, &r);
    assert_eq!(r["id"], method, "{r}");
    r
}

/// tasks/pushNotificationConfig/get, list and delete are refused as set is:
/// PushNotificationNotSupportedError, a valid response of each method.
async fn v03_push_config_methods(url: &str) {
    let by_config = json!({"id": "t-1", "pushNotificationConfigId": "c-1"});
    for (method, request, response, params) in [
        (
            "tasks/pushNotificationConfig/get",
            "GetTaskPushNotificationConfigRequest",
            "GetTaskPushNotificationConfigResponse",
            by_config.clone(),
        ),
        (
            "tasks/pushNotificationConfig/get",
            "GetTaskPushNotificationConfigRequest",
            "GetTaskPushNotificationConfigResponse",
            json!({"id": "t-1"}),
        ),
        (
            "tasks/pushNotificationConfig/list",
            "ListTaskPushNotificationConfigRequest",
            "ListTaskPushNotificationConfigResponse",
            json!({"id": "t-1"}),
        ),
        (
            "tasks/pushNotificationConfig/delete",
            "DeleteTaskPushNotificationConfigRequest",
            "DeleteTaskPushNotificationConfigResponse",
            by_config.clone(),
        ),
    ] {
        let r = v03_call(url, request, response, method, params).await;
        assert_v03("JSONRPCErrorResponse", &r);
        assert_v03("PushNotificationNotSupportedError", &r["error"]);
    }
}

/// A task that asks for input: `input-required`, the question an agent-role
/// status message, `final` on the stream's last event; the answer completes it.
async fn v03_input_required(url: &str) {
    let r = v03_call(
        url,
        "SendMessageRequest",
        "SendMessageSuccessResponse",
        "message/send",
        v03_send("/ask first"),
    )
    .await;
    let task = &r["result"];
    assert_v03("Task", task);
    assert_eq!(task["status"]["state"], "input-required", "{r}");
    let question = &task["status"]["message"];
    assert_v03("Message", question);
    assert_eq!(question["role"], "agent", "{question}");
    assert_eq!(question["kind"], "message", "{question}");
    assert_eq!(
        question["parts"][0],
        json!({"kind": "text", "text": "What should I echo?"})
    );

    let mut answer = v03_send("the answer");
    answer["message"]["taskId"] = task["id"].clone();
    answer["message"]["contextId"] = task["contextId"].clone();
    let r = v03_call(
        url,
        "SendMessageRequest",
        "SendMessageSuccessResponse",
        "message/send",
        answer,
    )
    .await;
    assert_eq!(r["result"]["status"]["state"], "completed", "{r}");
    assert_eq!(
        r["result"]["artifacts"][0]["parts"][0]["text"],
        "the answer"
    );
    let roles: Vec<&str> = r["result"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    assert!(
        roles.contains(&"agent") && roles.contains(&"user"),
        "{roles:?}"
    );

    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "message/stream", "params": v03_send("/ask streamed")});
    assert_v03("SendStreamingMessageRequest", &body);
    let (_, _, events) = sse(reqwest::Method::POST, url, Some("0.3"), Some(&body)).await;
    for (_, e) in &events {
        assert_v03("SendStreamingMessageSuccessResponse", e);
    }
    let last = &events.last().expect("events").1["result"];
    assert_eq!(last["kind"], "status-update", "{last}");
    assert_eq!(last["status"]["state"], "input-required", "{last}");
    assert_eq!(last["final"], true, "an interrupted state ends the stream");
    assert_eq!(last["status"]["message"]["role"], "agent", "{last}");
}

/// Hands the parts of the message back as its artifact.
async fn mirror(task: TaskContext) -> Result<(), HandlerError> {
    task.artifact(
        Artifact {
            artifact_id: "mirror".into(),
            name: Some("mirror".into()),
            description: None,
            parts: task.message().parts.clone(),
            metadata: None,
            extensions: Vec::new(),
        },
        false,
        true,
    );
    Ok(())
}

/// File parts (bytes and URI, with name and MIME type) and a data part with
/// metadata go to an agent and come back, in the history and as an artifact,
/// exactly as sent.
async fn v03_file_and_data_parts(broker: &Broker, gw: &TestGateway) {
    const MIRROR: &str = "acme/plant1/mirror";
    let _mirror = start_agent(
        broker,
        MIRROR,
        CardBuilder::new("Mirror", "Returns the parts it gets"),
        mirror,
    )
    .await;
    gw.wait_agent(MIRROR, "online").await;
    let parts = json!([
        {"kind": "text", "text": "see attached"},
        {"kind": "file", "file": {"bytes": "aGVsbG8gd29ybGQ=", "mimeType": "text/plain", "name": "hello.txt"}},
        {"kind": "file", "file": {"uri": "https://example.com/report.pdf", "mimeType": "application/pdf"}},
        {"kind": "data", "data": {"torque": 42, "unit": "Nm", "ok": true}, "metadata": {"source": "sensor-7"}},
    ]);
    let params = json!({"message": {"kind": "message", "messageId": "m-parts", "role": "user", "parts": parts},
        "configuration": {"blocking": true, "acceptedOutputModes": ["text/plain", "application/json"]}});
    let r = v03_call(
        &gw.agent_url(MIRROR),
        "SendMessageRequest",
        "SendMessageSuccessResponse",
        "message/send",
        params,
    )
    .await;
    let task = &r["result"];
    assert_v03("Task", task);
    assert_eq!(task["status"]["state"], "completed", "{r}");
    assert_eq!(task["artifacts"][0]["parts"], parts, "the artifact: {r}");
    assert_eq!(task["history"][0]["parts"], parts, "the history: {r}");
    for (i, part) in parts.as_array().expect("parts").iter().enumerate() {
        let definition = match part["kind"].as_str() {
            Some("file") => "FilePart",
            Some("data") => "DataPart",
            _ => "TextPart",
        };
        assert_v03(definition, &task["artifacts"][0]["parts"][i]);
    }
}

/// agent/getAuthenticatedExtendedCard: an agent's extended card comes back as
/// the merged card, valid as a v0.3 AgentCard and pointing at the gateway; an
/// agent without one answers with an error that is a valid response too.
async fn v03_extended_cards(broker: &Broker, gw: &TestGateway) {
    const CARDS: &str = "acme/plant1/cards";
    let mut agent = RawClient::connect(broker, CARDS, &["$a2a/v1/request/acme/plant1/cards"]).await;
    let mut card = card_json("Cards", false);
    card["capabilities"]["extendedAgentCard"] = json!(true);
    agent
        .publish_retained(
            "$a2a/v1/discovery/acme/plant1/cards",
            card.to_string(),
            &[("a2a-status", "online"), ("a2a-status-source", "agent")],
        )
        .await;
    gw.wait_agent(CARDS, "online").await;
    let mut extended = card.clone();
    extended["name"] = json!("Cards (extended)");
    extended["securitySchemes"] = json!({
        "key": {"apiKeySecurityScheme": {"location": "header", "name": "X-Key"}},
        "oauth": {"oauth2SecurityScheme": {"flows": {"clientCredentials": {
            "tokenUrl": "https://auth.example.com/token", "scopes": {"read": "Read tasks"}}}}}
    });
    extended["securityRequirements"] = json!([{"schemes": {"oauth": {"list": ["read"]}}}]);
    extended["skills"][0]["securityRequirements"] = json!([{"schemes": {"key": {"list": []}}}]);
    let answer = tokio::spawn(async move {
        let req = agent
            .next(Duration::from_secs(10))
            .await
            .expect("the card request");
        let body = payload_json(&req);
        assert_eq!(body["method"], "GetExtendedAgentCard");
        agent
            .reply(
                &req,
                &json!({"jsonrpc": "2.0", "id": body["id"], "result": extended}),
            )
            .await;
        agent
    });
    let url = gw.agent_url(CARDS);
    let r = v03_call(
        &url,
        "GetAuthenticatedExtendedCardRequest",
        "GetAuthenticatedExtendedCardSuccessResponse",
        "agent/getAuthenticatedExtendedCard",
        Value::Null,
    )
    .await;
    let _agent = answer.await.expect("the fake agent");
    let merged = &r["result"];
    assert_v03("AgentCard", merged);
    assert_eq!(merged["name"], "Cards (extended)");
    assert_eq!(merged["url"], url.as_str(), "{merged}");
    assert_eq!(merged["supportsAuthenticatedExtendedCard"], true);
    assert_eq!(
        merged["securitySchemes"]["key"]["type"], "apiKey",
        "{merged}"
    );
    assert_eq!(
        merged["securitySchemes"]["oauth"]["flows"]["clientCredentials"]["tokenUrl"],
        "https://auth.example.com/token"
    );
    assert_eq!(merged["security"], json!([{"oauth": ["read"]}]));

    // The echo agent has none: its error is relayed, a valid response.
    let r = v03_call(
        &gw.agent_url(ECHO),
        "GetAuthenticatedExtendedCardRequest",
        "GetAuthenticatedExtendedCardResponse",
        "agent/getAuthenticatedExtendedCard",
        Value::Null,
    )
    .await;
    assert_v03("JSONRPCErrorResponse", &r);
    assert_v03("UnsupportedOperationError", &r["error"]);
}

#[tokio::test]
async fn version_negotiation() {
    let (_b, gw, _agents) = setup().await;
    let url = gw.agent_url(ECHO);
    // Unknown version: -32009 naming what is served.
    let (_, r) = post(
        &url,
        Some("0.5"),
        &request(json!(1), "SendMessage", send_params("x")),
    )
    .await;
    assert_eq!(r["error"]["code"], -32009, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("1.0, 0.3"));
    // As a query parameter.
    let (_, r) = post(
        &format!("{url}?A2A-Version=2.1"),
        None,
        &request(json!(1), "SendMessage", send_params("x")),
    )
    .await;
    assert_eq!(r["error"]["code"], -32009, "{r}");
    let (_, r) = post(
        &format!("{url}?A2A-Version=1.0"),
        None,
        &request(json!(1), "SendMessage", send_params("q")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
    // A method of the other version is refused with a hint.
    let (_, r) = post(
        &url,
        Some("1.0"),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": v03_send("x")}),
    )
    .await;
    assert_eq!(r["error"]["code"], -32601);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SendMessage"),
        "{r}"
    );
    let (_, r) = post(
        &url,
        Some("0.3"),
        &request(json!(1), "SendMessage", send_params("x")),
    )
    .await;
    assert_eq!(r["error"]["code"], -32601);
    // A patch level is ignored.
    let (_, r) = post(
        &url,
        Some("1.0.1"),
        &request(json!(1), "SendMessage", send_params("p")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
    // An empty header or query parameter names no version: the method decides.
    for (suffix, header) in [("", Some("")), ("?A2A-Version=", None)] {
        let (_, r) = post(
            &format!("{url}{suffix}"),
            header,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": v03_send("e")}),
        )
        .await;
        assert_eq!(r["result"]["kind"], "task", "{suffix} {header:?}: {r}");
        let (_, r) = post(
            &format!("{url}{suffix}"),
            header,
            &request(json!(1), "SendMessage", send_params("e")),
        )
        .await;
        assert!(r["result"]["task"].is_object(), "{suffix} {header:?}: {r}");
    }
}

/// REST treats an explicit version as JSON-RPC does: it must match the path's
/// family (v0.3 paths start with /v1/), else 404 METHOD_NOT_FOUND naming the
/// path to use, in the path's dialect; empty means none; an unserved version is
/// VERSION_NOT_SUPPORTED, at the v0.3 card location too.
#[tokio::test]
async fn rest_version_must_match_the_path() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);
    let v1_body = send_params("v1 body");
    let v03_body = json!({"message": {"messageId": "m-3", "role": "ROLE_USER", "content": [{"text": "v03 body"}]}});

    // A v1.0 body on a v0.3 path with A2A-Version 1.0: refused, not parsed as v1.0.
    let r = http()
        .post(format!("{base}/v1/message:send"))
        .header("A2A-Version", "1.0")
        .json(&v1_body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], -32601, "v0.3 shape: {e}");
    assert_eq!(e["type"], "MethodNotFoundError", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("\"message:send\""),
        "names the v1.0 path: {e}"
    );
    // And the other way round, also as a query parameter.
    for (url, header) in [
        (format!("{base}/message:send"), Some("0.3")),
        (format!("{base}/message:send?A2A-Version=0.3"), None),
    ] {
        let mut req = http().post(&url).json(&v03_body);
        if let Some(h) = header {
            req = req.header("A2A-Version", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 404, "{url}");
        assert_eq!(r.headers()["content-type"], "application/a2a+json");
        let e: Value = r.json().await.unwrap();
        assert_eq!(
            e["error"]["details"][0]["reason"], "METHOD_NOT_FOUND",
            "{e}"
        );
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("v1/message:send"),
            "{e}"
        );
    }
    // Empty header or query parameter: the path decides.
    for (suffix, header) in [("", Some("")), ("?A2A-Version=", None)] {
        let (s, r) = post(
            &format!("{base}/v1/message:send{suffix}"),
            header,
            &v03_body,
        )
        .await;
        assert_eq!(s, 200, "{suffix} {header:?}: {r}");
        assert_eq!(r["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
        let (s, r) = post(&format!("{base}/message:send{suffix}"), header, &v1_body).await;
        assert_eq!(s, 200, "{suffix} {header:?}: {r}");
        assert_eq!(r["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    }
    // A matching header is fine, patch level included.
    let (s, r) = post(&format!("{base}/v1/message:send"), Some("0.3.0"), &v03_body).await;
    assert_eq!(s, 200, "{r}");
    // An unserved version: 400 in the path's dialect.
    let (s, e) = post(&format!("{base}/v1/message:send"), Some("0.5"), &v03_body).await;
    assert_eq!(s, 400);
    assert_eq!(e["type"], "VersionNotSupportedError", "{e}");
    assert_eq!(e["code"], -32603, "-32009 is v1.0-only: {e}");
    assert_eq!(e["data"][0]["reason"], "VERSION_NOT_SUPPORTED", "{e}");
    // The v0.3 card location answers an unserved version as agent-card.json does.
    for path in ["agent.json", "agent-card.json"] {
        let (s, e) = get(&format!("{base}/.well-known/{path}"), Some("2.0")).await;
        assert_eq!(s, 400, "{path}: {e}");
        assert_eq!(
            e["error"]["details"][0]["reason"], "VERSION_NOT_SUPPORTED",
            "{path}"
        );
        let (s, e) = get(&format!("{base}/.well-known/{path}?A2A-Version=9"), None).await;
        assert_eq!(s, 400, "{path}?: {e}");
        let (s, card) = get(&format!("{base}/.well-known/{path}"), Some("")).await;
        assert_eq!(s, 200, "{path}");
        assert_v03("AgentCard", &card);
    }
    let (s, card) = get(&format!("{base}/.well-known/agent.json"), Some("1.0")).await;
    assert_eq!(s, 200);
    assert_v03("AgentCard", &card);
}

#[tokio::test]
async fn cards_for_both_versions() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);
    let (s, v1) = get(&format!("{base}/.well-known/agent-card.json"), Some("1.0")).await;
    assert_eq!(s, 200);
    assert!(v1.get("url").is_none(), "pure v1.0 card: {v1}");
    let ifaces: Vec<(String, String)> = v1["supportedInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["protocolBinding"].as_str().unwrap().to_owned(),
                i["protocolVersion"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ifaces[0],
        ("JSONRPC".into(), "1.0".into()),
        "JSON-RPC v1.0 preferred"
    );
    assert!(ifaces.contains(&("HTTP+JSON".into(), "1.0".into())));
    assert!(ifaces.contains(&("JSONRPC".into(), "0.3".into())));
    for i in v1["supportedInterfaces"].as_array().unwrap() {
        assert_eq!(i["url"], base.as_str());
    }

    for (path, version) in [
        ("agent-card.json", None),
        ("agent-card.json", Some("0.3")),
        ("agent.json", None),
    ] {
        let (s, merged) = get(&format!("{base}/.well-known/{path}"), version).await;
        assert_eq!(s, 200, "{path}");
        assert_v03("AgentCard", &merged);
        assert_eq!(merged["url"], base.as_str(), "{path}");
        assert_eq!(merged["preferredTransport"], "JSONRPC");
        assert!(
            merged["protocolVersion"]
                .as_str()
                .unwrap()
                .starts_with("0.3")
        );
        assert!(
            merged["supportedInterfaces"].is_array(),
            "v1.0 fields kept: {merged}"
        );
        let transports: Vec<&str> = merged["additionalInterfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["transport"].as_str().unwrap())
            .collect();
        assert!(transports.contains(&"HTTP+JSON"), "{transports:?}");
    }
}

#[tokio::test]
async fn rest_binding_v1() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);

    // message:send
    let r = http()
        .post(format!("{base}/message:send"))
        .header("A2A-Version", "1.0")
        .header("Content-Type", "application/a2a+json")
        .body(send_params("rest hello").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/a2a+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["task"]["artifacts"][0]["parts"][0]["text"], "rest hello",
        "{body}"
    );
    let id = body["task"]["id"].as_str().unwrap().to_owned();
    let ctx = body["task"]["contextId"].as_str().unwrap().to_owned();

    // GET tasks/{id}
    let (s, t) = get(&format!("{base}/tasks/{id}?historyLength=0"), Some("1.0")).await;
    assert_eq!(s, 200);
    assert_eq!(t["id"], id.as_str());
    assert!(t.get("history").is_none(), "{t}");

    // GET tasks (ListTasks with query parameters and pagination)
    for i in 0..3 {
        let mut p = send_params(&format!("more {i}"));
        p["message"]["contextId"] = json!(ctx);
        post(&format!("{base}/message:send"), Some("1.0"), &p).await;
    }
    let (s, page1) = get(
        &format!("{base}/tasks?contextId={ctx}&pageSize=2"),
        Some("1.0"),
    )
    .await;
    assert_eq!(s, 200, "{page1}");
    assert_eq!(page1["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(page1["totalSize"], 4);
    let token = page1["nextPageToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let (_, page2) = get(
        &format!("{base}/tasks?contextId={ctx}&pageSize=2&pageToken={token}"),
        Some("1.0"),
    )
    .await;
    assert_eq!(page2["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(page2["nextPageToken"], "");
    let (s, e) = get(&format!("{base}/tasks?pageSize=lots"), Some("1.0")).await;
    assert_eq!(s, 400, "{e}");

    // message:stream — SSE of bare StreamResponse objects.
    let (s, ct, events) = sse(
        reqwest::Method::POST,
        &format!("{base}/message:stream"),
        Some("1.0"),
        Some(&send_params("rest stream")),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/event-stream"));
    assert!(events[0].1.get("task").is_some(), "{events:?}");
    assert!(events.iter().all(|(_, e)| e.get("jsonrpc").is_none()));
    assert_eq!(
        state_of(&events.last().unwrap().1),
        Some("TASK_STATE_COMPLETED")
    );

    // cancel and subscribe (GET and POST) on the long agent.
    let long = gw.agent_url(INSPECT);
    let mut p = send_params("line 5");
    p["configuration"] = json!({"returnImmediately": true});
    let (_, started) = post(&format!("{long}/message:send"), Some("1.0"), &p).await;
    let id = started["task"]["id"].as_str().unwrap().to_owned();
    let mut get_sub = {
        let url = format!("{long}/tasks/{id}:subscribe");
        let r = http()
            .get(&url)
            .header("A2A-Version", "1.0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r
    };
    let first = get_sub.chunk().await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("\"task\""),
        "{first:?}"
    );
    drop(get_sub);
    let (s, c) = post(
        &format!("{long}/tasks/{id}:cancel"),
        Some("1.0"),
        &json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["status"]["state"], "TASK_STATE_CANCELED");
    // Subscribing to a final task: 400 UNSUPPORTED_OPERATION (POST form).
    let (s, e) = post(
        &format!("{long}/tasks/{id}:subscribe"),
        Some("1.0"),
        &json!({}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["details"][0]["reason"], "UNSUPPORTED_OPERATION");
    assert_eq!(e["error"]["details"][0]["domain"], "a2a-protocol.org");
}

#[tokio::test]
async fn rest_errors_use_google_rpc_status() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);
    let cases: Vec<(reqwest::Method, String, Option<Value>, u16, &str)> = vec![
        (
            reqwest::Method::GET,
            format!("{base}/tasks/nope"),
            None,
            404,
            "TASK_NOT_FOUND",
        ),
        (
            reqwest::Method::POST,
            format!("{base}/tasks/nope:cancel"),
            Some(json!({})),
            404,
            "TASK_NOT_FOUND",
        ),
        (
            reqwest::Method::POST,
            format!("{base}/message:send"),
            Some(json!({"message": {"role": "ROLE_USER"}})),
            400,
            "INVALID_PARAMS",
        ),
        (
            reqwest::Method::POST,
            format!("{base}/tasks/t/pushNotificationConfigs"),
            Some(json!({"url": "https://x"})),
            400,
            "PUSH_NOTIFICATION_NOT_SUPPORTED",
        ),
        (
            reqwest::Method::GET,
            format!("{}/agents/acme/plant1/ghost/tasks/t", gw.base),
            None,
            404,
            "AGENT_NOT_FOUND",
        ),
        (
            reqwest::Method::GET,
            format!("{base}/no/such/route"),
            None,
            404,
            "METHOD_NOT_FOUND",
        ),
        (
            reqwest::Method::GET,
            format!("{base}/message:send"),
            None,
            405,
            "HTTP_METHOD_NOT_ALLOWED",
        ),
    ];
    for (method, url, body, status, reason) in cases {
        let mut req = http()
            .request(method.clone(), &url)
            .header("A2A-Version", "1.0");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {url}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], status, "{e}");
        assert!(e["error"]["status"].is_string());
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(
            e["error"]["details"][0]["@type"],
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        assert_eq!(
            e["error"]["details"][0]["reason"], reason,
            "{method} {url}: {e}"
        );
    }
    // Malformed body.
    let r = http()
        .post(format!("{base}/message:send"))
        .header("A2A-Version", "1.0")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (s, e) = post(
        &format!("{base}/message:send"),
        Some("7.0"),
        &send_params("x"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["details"][0]["reason"], "VERSION_NOT_SUPPORTED");
}

#[tokio::test]
async fn v03_rest_paths() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);
    // What the official Python SDK's v0.3 REST client sends (v0.3 proto JSON).
    let body = json!({"request": {"message_id": "m-1", "role": "ROLE_USER", "content": [{"text": "legacy rest"}]},
        "configuration": {"blocking": true}});
    let (s, r) = post(&format!("{base}/v1/message:send"), Some("0.3"), &body).await;
    assert_eq!(s, 200, "{r}");
    let task = &r["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    let id = task["id"].as_str().unwrap().to_owned();
    let (s, t) = get(&format!("{base}/v1/tasks/{id}?historyLength=0"), None).await;
    assert_eq!(s, 200);
    assert_eq!(t["id"], id.as_str());
    assert!(
        t["history"].as_array().is_some_and(|h| !h.is_empty()),
        "v0.3 historyLength=0 means no limit: {t}"
    );
    let (s, _, events) = sse(
        reqwest::Method::POST,
        &format!("{base}/v1/message:stream"),
        None,
        Some(&body),
    )
    .await;
    assert_eq!(s, 200);
    assert!(events[0].1.get("task").is_some(), "{events:?}");
    let last = &events.last().unwrap().1;
    let update = last
        .get("statusUpdate")
        .or_else(|| last.get("status_update"))
        .expect("status update last");
    assert_eq!(update["final"], true, "{last}");
}

#[tokio::test]
async fn v03_rest_errors_name_the_error_type() {
    let (_b, gw, _agents) = setup().await;
    let base = gw.agent_url(ECHO);
    let (s, e) = get(&format!("{base}/v1/tasks/nope"), None).await;
    assert_eq!(s, 404);
    // Python's compat client reads `type`, the JavaScript SDK's `code`.
    assert_eq!(e["type"], "TaskNotFoundError", "{e}");
    assert_eq!(e["code"], -32001, "{e}");
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert_eq!(e["error"]["status"], "NOT_FOUND", "{e}");
}

/// Error messages written for v0.3 clients use v0.3 names: an agent's
/// "already TASK_STATE_COMPLETED" reaches a v0.3 JSON-RPC client as
/// "already completed", the gateway's `params.message.parts` a v0.3 REST client
/// as `params.message.content`; v1.0 clients get the v1.0 names.
#[tokio::test]
async fn v03_error_messages_use_v03_names() {
    let (_b, gw, _agents) = setup().await;
    let url = gw.agent_url(ECHO);
    let (_, r) = post(
        &url,
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": v03_send("done")}),
    )
    .await;
    let id = r["result"]["id"].as_str().expect("task id").to_owned();
    let (_, r) = post(
        &url,
        None,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/cancel", "params": {"id": id}}),
    )
    .await;
    assert_v03("JSONRPCErrorResponse", &r);
    assert_eq!(r["error"]["code"], -32002, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.ends_with("is already completed"), "{message}");
    let (_, r) = post(
        &url,
        Some("1.0"),
        &request(json!(3), "CancelTask", json!({"id": id})),
    )
    .await;
    let message = r["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("is already TASK_STATE_COMPLETED"),
        "{message}"
    );

    let empty = json!({"message": {"messageId": "m-e", "role": "ROLE_USER", "content": []}});
    let (s, e) = post(&format!("{url}/v1/message:send"), None, &empty).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["type"], "InvalidParamsError", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("message.content"), "{message}");
    assert!(!message.contains("parts"), "{message}");
}

/// A failure in the middle of a v0.3 REST stream ends it with an `error` event
/// in the v0.3 error body (the JavaScript SDK reads its `code`, Python its
/// `type`; the google.rpc.Status is kept), a v1.0 one with the Status.
#[tokio::test]
async fn rest_stream_failures_are_error_events_in_the_clients_dialect() {
    const FAKE: &str = "acme/plant1/fake";
    let broker = Broker::start();
    let mut agent = RawClient::connect(&broker, FAKE, &["$a2a/v1/request/acme/plant1/fake"]).await;
    agent
        .publish_retained(
            "$a2a/v1/discovery/acme/plant1/fake",
            card_json("Fake", true).to_string(),
            &[("a2a-status", "online"), ("a2a-status-source", "agent")],
        )
        .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(FAKE, "online").await;
    let base = gw.agent_url(FAKE);

    for (path, version, body) in [
        (
            "v1/message:stream",
            "0.3",
            json!({"message": {"messageId": "m-1", "role": "ROLE_USER", "content": [{"text": "fail"}]}}),
        ),
        (
            "message:stream",
            "1.0",
            json!({"message": {"messageId": "m-2", "role": "ROLE_USER", "parts": [{"text": "fail"}]}}),
        ),
    ] {
        let url = format!("{base}/{path}");
        let call = tokio::spawn(async move {
            sse(reqwest::Method::POST, &url, Some(version), Some(&body)).await
        });
        // The agent starts the task, then fails with a core A2A error.
        let req = agent
            .next(Duration::from_secs(5))
            .await
            .expect("the stream request reaches the agent");
        let b = payload_json(&req);
        let message = &b["params"]["message"];
        agent
            .reply(&req, &json!({"jsonrpc": "2.0", "id": b["id"], "result": {"statusUpdate": {
                "taskId": message["taskId"], "contextId": message["contextId"],
                "status": {"state": "TASK_STATE_WORKING", "timestamp": "2026-11-25T10:00:00+00:00"}}}}))
            .await;
        agent
            .reply(
                &req,
                &json!({"jsonrpc": "2.0", "id": b["id"],
                "error": {"code": -32004, "message": "no more of that"}}),
            )
            .await;
        let (status, _, events) = call.await.expect("the stream call");
        assert_eq!(status, 200, "{version}: {events:?}");
        assert!(
            events.len() >= 2,
            "{version}: the Task, then the failure: {events:?}"
        );
        let (name, error) = events.last().expect("events");
        assert_eq!(name, "error", "{version}: {events:?}");
        assert_eq!(
            error["error"]["status"], "FAILED_PRECONDITION",
            "{version}: {error}"
        );
        assert_eq!(
            error["error"]["message"], "no more of that",
            "{version}: {error}"
        );
        if version == "0.3" {
            assert_eq!(error["code"], -32004, "{error}");
            assert_eq!(error["type"], "UnsupportedOperationError", "{error}");
            assert_eq!(error["message"], "no more of that", "{error}");
        } else {
            assert_eq!(
                error.as_object().map(|o| o.len()),
                Some(1),
                "only the Status: {error}"
            );
        }
    }
    gw.shutdown().await;
}
