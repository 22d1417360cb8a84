//! Real agents differ and misbehave. These fake agents speak raw MQTT 5 to a real
//! broker; the gateway must still give HTTP clients what A2A promises.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::config::Config;
use a2a_mqtt_gateway::mqtt::Publish;
use common::*;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const AGENT: &str = "acme/plant1/fake";

/// Publishes a card for `AGENT` and listens on its request topic.
async fn fake_agent(broker: &Broker, streaming: bool) -> RawClient {
    let client = RawClient::connect(broker, AGENT, &["$a2a/v1/request/acme/plant1/fake"]).await;
    let mut card = card_json("Fake", streaming);
    // Like the stock EMQX SDK: skills without tags, patch-level protocolVersion.
    card["skills"][0].as_object_mut().unwrap().remove("tags");
    card["supportedInterfaces"][0]["protocolVersion"] = json!("1.0.0");
    client
        .publish_retained(
            "$a2a/v1/discovery/acme/plant1/fake",
            card.to_string(),
            &[("a2a-status", "online"), ("a2a-status-source", "agent")],
        )
        .await;
    client
}

fn fast_config(broker: &Broker) -> Config {
    let mut c = test_config(broker);
    c.requests.reply_first_timeout_ms = 400;
    c.requests.stream_idle_timeout_ms = 600;
    c.requests.max_attempts = 3;
    c.requests.retry_backoff_ms = 50;
    c
}

/// A broker, the fake agent on it, and a gateway with [`fast_config`] changed
/// by `tune` that has indexed the agent online. The broker is handed back only
/// to be kept alive for the test.
async fn tuned_gateway_with_fake_agent(
    streaming: bool,
    tune: impl FnOnce(&mut Config),
) -> (Broker, RawClient, TestGateway) {
    let broker = Broker::start();
    let agent = fake_agent(&broker, streaming).await;
    let mut config = fast_config(&broker);
    tune(&mut config);
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(AGENT, "online").await;
    (broker, agent, gw)
}

/// [`tuned_gateway_with_fake_agent`] with [`fast_config`] as it is.
async fn gateway_with_fake_agent(streaming: bool) -> (Broker, RawClient, TestGateway) {
    tuned_gateway_with_fake_agent(streaming, |_| {}).await
}

/// Sends `body` in the background: the call waits on the fake agent, which
/// the test plays meanwhile.
fn spawn_rpc(url: &str, body: Value) -> JoinHandle<Value> {
    let url = url.to_owned();
    tokio::spawn(async move { rpc(&url, &body).await })
}

/// [`spawn_rpc`] for a streaming call: its SSE events once the stream ends.
fn spawn_rpc_stream(url: &str, body: Value) -> JoinHandle<Vec<Value>> {
    let url = url.to_owned();
    tokio::spawn(async move { rpc_stream(&url, &body).await.1 })
}

/// GetTask for task `t`, the request most tests need an answer to.
fn get_task_t(id: impl Into<Value>) -> Value {
    request(id.into(), "GetTask", json!({"id": "t"}))
}

/// The agent's answer to [`get_task_t`]: task `t`, working.
fn working_task_t(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"id": "t", "status": {"state": "TASK_STATE_WORKING"}}})
}

/// An error reply carrying the MQTT profile's `a2a_error` marker.
fn marked_error(id: i64, code: i64, message: &str, marker: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": {"a2a_error": marker}}})
}

/// The next request the gateway publishes to the agent; `what` names it in
/// the failure message.
async fn next_request(agent: &mut RawClient, what: &str) -> Publish {
    agent
        .next(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no request from the gateway within 5 s: {what}"))
}

/// Answers the gateway's next request with `reply`; returns the request.
async fn answer_next(agent: &mut RawClient, reply: &Value) -> Publish {
    let req = next_request(agent, "a request to answer").await;
    agent.reply(&req, reply).await;
    req
}

/// Answers each of `attempts` requests (the gateway's retries of one call)
/// with `reply`.
async fn answer_attempts(agent: &mut RawClient, attempts: usize, reply: &Value) {
    for _ in 0..attempts {
        answer_next(agent, reply).await;
    }
}

/// Calls `body`, answering each of the `attempts` requests the gateway
/// publishes for it with `reply`; the call's response.
async fn rpc_answering(
    agent: &mut RawClient,
    url: &str,
    body: Value,
    attempts: usize,
    reply: &Value,
) -> Value {
    let call = spawn_rpc(url, body);
    answer_attempts(agent, attempts, reply).await;
    call.await.unwrap()
}

/// Asserts that the gateway publishes no further request for `quiet_ms`.
async fn assert_no_request_within(agent: &mut RawClient, quiet_ms: u64, why: &str) {
    let extra = agent.next(Duration::from_millis(quiet_ms)).await;
    assert!(extra.is_none(), "{why}: {extra:?}");
}

/// Publishes `body` to the reply topic of `request` under `correlation`
/// instead of the request's own Correlation Data.
async fn reply_with_correlation(
    agent: &RawClient,
    request: &Publish,
    correlation: &'static [u8],
    body: &Value,
) {
    let props = request.properties.as_ref().expect("request properties");
    let msg = a2a_mqtt_gateway::mqtt::OutgoingMessage {
        properties: a2a_mqtt_gateway::mqtt::PublishProperties {
            correlation_data: Some(bytes::Bytes::from_static(correlation)),
            ..Default::default()
        },
        ..a2a_mqtt_gateway::mqtt::OutgoingMessage::new(
            props.response_topic.clone().expect("response topic"),
            body.to_string(),
        )
    };
    agent
        .handle
        .publish(msg, Duration::from_secs(5))
        .await
        .expect("reply published");
}

/// The gateway's count of replies nobody was waiting for, as `/metrics`
/// exposes it (`a2a_gateway_replies_unmatched`, a Prometheus counter).
async fn unmatched_replies(gw: &TestGateway) -> u64 {
    let text = gw.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix("a2a_gateway_replies_unmatched_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no a2a_gateway_replies_unmatched_total in /metrics:\n{text}"))
}

/// Waits (up to 5 s) until the unmatched-replies counter reaches `want`, then
/// checks that it did not go past it.
async fn wait_unmatched(gw: &TestGateway, want: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = unmatched_replies(gw).await;
    while seen < want {
        assert!(
            Instant::now() < deadline,
            "{what}: the gateway counted {seen} unmatched replies, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        seen = unmatched_replies(gw).await;
    }
    assert_eq!(seen, want, "{what}: unmatched replies");
}

/// The taskId and contextId the gateway gave a SendMessage request's message.
fn task_and_context(request: &Value) -> (&str, &str) {
    let message = &request["params"]["message"];
    (
        message["taskId"].as_str().expect("taskId"),
        message["contextId"].as_str().expect("contextId"),
    )
}

fn status_event(id: &Value, task: &str, ctx: &str, state: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"statusUpdate": {
        "taskId": task, "contextId": ctx,
        "status": {"state": state, "timestamp": "2026-11-25T10:00:00+00:00"}}}})
}

fn artifact_event(id: &Value, task: &str, ctx: &str, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"artifactUpdate": {
        "taskId": task, "contextId": ctx, "lastChunk": true,
        "artifact": {"artifactId": "a1", "parts": [{"text": text}]}}}})
}

/// Answers every request the way the EMQX Python SDK agent does.
async fn serve_emqx_style(mut agent: RawClient) {
    while let Some(req) = agent.next(Duration::from_secs(30)).await {
        let body = payload_json(&req);
        let id = body["id"].clone();
        match body["method"].as_str().unwrap_or_default() {
            "CancelTask" => {
                let task = body["params"]["id"].as_str().unwrap_or_default();
                agent
                    .reply(&req, &status_event(&id, task, "", "TASK_STATE_CANCELED"))
                    .await;
            }
            "SubscribeToTask" => {
                // As it streams a message's task: updates only, no Task first.
                let task = body["params"]["id"].as_str().unwrap_or_default();
                let ctx = format!("ctx-of-{task}");
                for item in [
                    status_event(&id, task, &ctx, "TASK_STATE_WORKING"),
                    artifact_event(&id, task, &ctx, "RESUMED"),
                    status_event(&id, task, &ctx, "TASK_STATE_COMPLETED"),
                ] {
                    agent.reply(&req, &item).await;
                }
            }
            _ => {
                let msg = &body["params"]["message"];
                let task = msg["taskId"].as_str().unwrap_or_default();
                let ctx = msg["contextId"].as_str().unwrap_or_default();
                let text = msg["parts"][0]["text"].as_str().unwrap_or_default();
                for item in [
                    status_event(&id, task, ctx, "TASK_STATE_SUBMITTED"),
                    status_event(&id, task, ctx, "TASK_STATE_WORKING"),
                    artifact_event(&id, task, ctx, &text.to_uppercase()),
                    status_event(&id, task, ctx, "TASK_STATE_COMPLETED"),
                ] {
                    agent.reply(&req, &item).await;
                }
            }
        }
    }
}

#[tokio::test]
async fn an_emqx_style_agent_looks_like_a_proper_a2a_agent() {
    let (_broker, agent, gw) = gateway_with_fake_agent(true).await;
    tokio::spawn(serve_emqx_style(agent));
    let url = gw.agent_url(AGENT);

    // SendMessage: the reply stream is aggregated into the final Task.
    let r = rpc(
        &url,
        &request(json!(1), "SendMessage", send_params("bolt torque")),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "BOLT TORQUE");
    assert_eq!(task["history"][0]["parts"][0]["text"], "bolt torque");

    // Streaming: a Task is synthesised first.
    let (_, events) = rpc_stream(
        &url,
        &request(json!(2), "SendStreamingMessage", send_params("x")),
    )
    .await;
    let first = &events[0]["result"];
    assert!(first.get("task").is_some(), "{events:#?}");
    assert_eq!(first["task"]["status"]["state"], "TASK_STATE_SUBMITTED");
    assert_eq!(
        state_of(&events.last().unwrap()["result"]),
        Some("TASK_STATE_COMPLETED")
    );
    assert!(events.iter().all(|e| e["id"] == 2));

    // CancelTask answered with a status update becomes a Task.
    let r = rpc(
        &url,
        &request(json!(3), "CancelTask", json!({"id": "t-123"})),
    )
    .await;
    assert_eq!(r["result"]["id"], "t-123", "{r}");
    assert_eq!(r["result"]["status"]["state"], "TASK_STATE_CANCELED");
}

#[tokio::test]
async fn a_lost_request_is_retried_with_new_correlation_and_the_same_task_id() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let call = spawn_rpc(
        &gw.agent_url(AGENT),
        request(json!(1), "SendMessage", send_params("again")),
    );

    let first = next_request(&mut agent, "first attempt").await;
    // Dropped: no reply. The gateway must republish.
    let second = next_request(&mut agent, "second attempt").await;
    // The profile's QoS 1 on the request path: the broker hands a QoS 1
    // subscriber the lower of the publish's QoS and its own, so this is what the
    // gateway published at.
    for attempt in [&first, &second] {
        assert_eq!(
            attempt.qos,
            a2a_mqtt_gateway::mqtt::QoS::AtLeastOnce,
            "requests go out at QoS 1"
        );
    }
    let (b1, b2) = (payload_json(&first), payload_json(&second));
    let corr = |p: &Publish| {
        p.properties
            .as_ref()
            .unwrap()
            .correlation_data
            .clone()
            .unwrap()
    };
    assert_ne!(
        corr(&first),
        corr(&second),
        "fresh Correlation Data per attempt"
    );
    assert!(
        std::str::from_utf8(&corr(&first)).is_ok(),
        "text correlation data"
    );
    assert_eq!(
        b1["params"]["message"]["taskId"], b2["params"]["message"]["taskId"],
        "same Task.id"
    );
    assert_eq!(first.payload, second.payload, "same request bytes");
    let props = second.properties.as_ref().unwrap();
    assert!(
        props
            .response_topic
            .as_ref()
            .unwrap()
            .starts_with("$a2a/v1/reply/a2a-gateway/default/")
    );
    assert!(props.message_expiry_interval.is_some());

    let task_id = b2["params"]["message"]["taskId"].as_str().unwrap();
    let ctx = b2["params"]["message"]["contextId"].as_str().unwrap();
    let outcome = |state: &str| {
        json!({"jsonrpc": "2.0", "id": b2["id"], "result": {"task": {
            "id": task_id, "contextId": ctx, "status": {"state": state}}}})
    };
    let unmatched = unmatched_replies(&gw).await;
    // The first attempt's answer arrives late, while the call waits on the
    // second: a valid outcome for the same Task.id, but its correlation is
    // forgotten. Sent first on the same topic, it reaches the gateway first.
    agent.reply(&first, &outcome("TASK_STATE_FAILED")).await;
    agent.reply(&second, &outcome("TASK_STATE_COMPLETED")).await;
    let r = call.await.unwrap();
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "the second attempt's answer, not the late first one: {r}"
    );
    wait_unmatched(&gw, unmatched + 1, "the late reply to the first attempt").await;
    // Once more after the call has ended: ignored and counted again.
    agent
        .reply(&first, &json!({"jsonrpc": "2.0", "id": 1, "result": {}}))
        .await;
    wait_unmatched(&gw, unmatched + 2, "a second late reply").await;
}

#[tokio::test]
async fn an_agent_that_never_answers_times_out_after_every_attempt() {
    let (_broker, mut agent, gw) =
        tuned_gateway_with_fake_agent(false, |c| c.requests.max_attempts = 2).await;
    let r = rpc(&gw.agent_url(AGENT), &get_task_t(1)).await;
    assert_eq!(r["error"]["code"], -31003, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "AGENT_TIMEOUT");
    assert_eq!(r["error"]["data"][0]["metadata"]["attempts"], "2");
    let mut seen = 0;
    while agent.next(Duration::from_millis(100)).await.is_some() {
        seen += 1;
    }
    assert_eq!(seen, 2, "exactly max_attempts publishes");
}

#[tokio::test]
async fn responder_unavailable_is_retried_then_relayed_under_a_gateway_code() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let url = gw.agent_url(AGENT);
    let busy = marked_error(1, -32004, "busy", "responder_unavailable");
    let r = rpc_answering(&mut agent, &url, get_task_t(1), 3, &busy).await;
    assert_eq!(
        r["error"]["code"], -31011,
        "not the core UnsupportedOperation code: {r}"
    );
    assert_eq!(r["error"]["data"][0]["reason"], "AGENT_UNAVAILABLE");
    assert!(r["error"]["message"].as_str().unwrap().contains("busy"));

    // A busy answer followed by a real one succeeds.
    let call = spawn_rpc(&url, get_task_t(2));
    answer_next(&mut agent, &busy).await;
    answer_next(&mut agent, &working_task_t(2)).await;
    let r = call.await.unwrap();
    assert_eq!(r["result"]["status"]["state"], "TASK_STATE_WORKING", "{r}");
}

#[tokio::test]
async fn transport_protocol_errors_are_not_retried() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let r = rpc_answering(
        &mut agent,
        &gw.agent_url(AGENT),
        get_task_t(1),
        1,
        &marked_error(1, -32005, "bad metadata", "transport_protocol_error"),
    )
    .await;
    assert_eq!(r["error"]["code"], -31012, "{r}");
    assert_no_request_within(&mut agent, 600, "no retry").await;
}

#[tokio::test]
async fn core_errors_from_agents_are_relayed_unchanged() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let error = json!({"code": -32001, "message": "Task not found", "data": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "TASK_NOT_FOUND", "domain": "a2a-protocol.org"}]});
    let r = rpc_answering(
        &mut agent,
        &gw.agent_url(AGENT),
        get_task_t("x"),
        1,
        &json!({"jsonrpc": "2.0", "id": "whatever", "error": error}),
    )
    .await;
    assert_eq!(r["id"], "x", "the client's id, not the agent's");
    assert_eq!(r["error"], error);
}

/// Streamed tokens repeat ("ha", "ha"): identical appended chunks are data, not
/// redeliveries, and reach the client every time, streamed and aggregated.
#[tokio::test]
async fn identical_appended_chunks_are_all_delivered() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(true).await;
    let url = gw.agent_url(AGENT);
    let chunk = |id: &Value, task: &str, ctx: &str| {
        json!({"jsonrpc": "2.0", "id": id, "result": {"artifactUpdate": {
            "taskId": task, "contextId": ctx, "append": true, "lastChunk": false,
            "artifact": {"artifactId": "laugh", "parts": [{"text": "ha"}]}}}})
    };
    for (method, streamed) in [("SendStreamingMessage", true), ("SendMessage", false)] {
        let body = request(json!(1), method, send_params("laugh"));
        let u = url.clone();
        let call = tokio::spawn(async move {
            if streamed {
                rpc_stream(&u, &body).await.1
            } else {
                vec![rpc(&u, &body).await]
            }
        });
        let req = next_request(&mut agent, method).await;
        let b = payload_json(&req);
        let (task, ctx) = task_and_context(&b);
        for _ in 0..3 {
            agent.reply(&req, &chunk(&b["id"], task, ctx)).await;
        }
        agent
            .reply(
                &req,
                &status_event(&b["id"], task, ctx, "TASK_STATE_COMPLETED"),
            )
            .await;
        let answers = call.await.unwrap();
        if streamed {
            let chunks = answers
                .iter()
                .filter(|e| e["result"].get("artifactUpdate").is_some())
                .count();
            assert_eq!(chunks, 3, "{answers:#?}");
        } else {
            let parts = &answers[0]["result"]["task"]["artifacts"][0]["parts"];
            assert_eq!(
                parts,
                &json!([{"text": "ha"}, {"text": "ha"}, {"text": "ha"}]),
                "{answers:#?}"
            );
        }
    }
}

#[tokio::test]
async fn duplicates_garbage_foreign_correlations_and_wrong_task_ids() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(true).await;
    let url = gw.agent_url(AGENT);

    // Every item delivered twice (QoS 1 duplicates): the client sees each once
    // (none of these is an appended chunk; see the test above).
    let call = spawn_rpc_stream(
        &url,
        request(json!(1), "SendStreamingMessage", send_params("dup")),
    );
    let req = next_request(&mut agent, "SendStreamingMessage").await;
    let b = payload_json(&req);
    let (task, ctx) = task_and_context(&b);
    for item in [
        status_event(&b["id"], task, ctx, "TASK_STATE_WORKING"),
        artifact_event(&b["id"], task, ctx, "once"),
        status_event(&b["id"], task, ctx, "TASK_STATE_COMPLETED"),
    ] {
        agent.reply(&req, &item).await;
        agent.reply(&req, &item).await;
    }
    let events = call.await.unwrap();
    let artifacts = events
        .iter()
        .filter(|e| e["result"].get("artifactUpdate").is_some())
        .count();
    assert_eq!(artifacts, 1, "{events:#?}");
    assert_eq!(
        events.len(),
        4,
        "task + working + artifact + completed: {events:#?}"
    );

    // Garbage: reported as an invalid agent response.
    let call = spawn_rpc(&url, get_task_t(2));
    let req = next_request(&mut agent, "GetTask").await;
    // First a reply with a foreign correlation: ignored.
    reply_with_correlation(
        &agent,
        &req,
        b"not-yours",
        &json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
    )
    .await;
    agent.reply_bytes(&req, &b"\x00\xffnot json"[..]).await;
    let r = call.await.unwrap();
    assert_eq!(r["error"]["code"], -32006, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "INVALID_AGENT_RESPONSE");

    // A reply about another task is refused.
    let get_mine = request(json!(3), "GetTask", json!({"id": "mine"}));
    let someone_elses = json!({"jsonrpc": "2.0", "id": 3, "result": {"id": "someone-elses", "status": {"state": "TASK_STATE_WORKING"}}});
    let r = rpc_answering(&mut agent, &url, get_mine, 1, &someone_elses).await;
    assert_eq!(r["error"]["code"], -32006, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("someone-elses")
    );
}

/// Two clients wait on one misbehaving agent at the same time. The agent
/// answers A's request with B's task, repeats that answer after A has had its
/// error, and sends a valid Task for B under a correlation nobody used. None of
/// it reaches B: A is told the agent's answer was invalid, each stray reply is
/// counted as unmatched (`a2a_gateway_replies_unmatched`), and B gets exactly
/// the answer to its own request.
#[tokio::test]
async fn one_clients_reply_never_reaches_another() {
    let (_broker, mut agent, gw) = tuned_gateway_with_fake_agent(false, |c| {
        // One attempt each, waited for long: B stays on its first request (and
        // correlation) throughout, and A's is never retried.
        c.requests.reply_first_timeout_ms = 20_000;
        c.requests.max_attempts = 1;
    })
    .await;
    let url = gw.agent_url(AGENT);
    let unmatched = unmatched_replies(&gw).await;

    let a = spawn_rpc(
        &url,
        request(json!("A"), "GetTask", json!({"id": "task-a"})),
    );
    let b = spawn_rpc(
        &url,
        request(json!("B"), "GetTask", json!({"id": "task-b"})),
    );
    let mut by_task = std::collections::HashMap::new();
    for _ in 0..2 {
        let req = next_request(&mut agent, "A's and B's GetTask").await;
        let task = payload_json(&req)["params"]["id"]
            .as_str()
            .expect("GetTask params.id")
            .to_owned();
        by_task.insert(task, req);
    }
    let req_a = by_task
        .remove("task-a")
        .expect("A's request reached the agent");
    let req_b = by_task
        .remove("task-b")
        .expect("B's request reached the agent");
    let rpc_id = |req: &Publish| payload_json(req)["id"].clone();

    // B's task as the agent wrongly sends it: failed, marked stray. Were any
    // of these delivered to B, B's answer would show it.
    let stray = |id: Value| {
        json!({"jsonrpc": "2.0", "id": id, "result": {"id": "task-b", "contextId": "ctx-b",
            "status": {"state": "TASK_STATE_FAILED"}, "metadata": {"stray": true}}})
    };
    let b_task = json!({"id": "task-b", "contextId": "ctx-b",
        "status": {"state": "TASK_STATE_WORKING"}, "metadata": {"for": "B"}});

    // 1. A's correlation, B's Task.id: A's call fails as an invalid answer.
    agent.reply(&req_a, &stray(rpc_id(&req_a))).await;
    let ra = a.await.expect("A's call");
    assert_eq!(ra["id"], "A", "{ra}");
    assert_eq!(ra["error"]["code"], -32006, "{ra}");
    assert_eq!(ra["error"]["data"][0]["reason"], "INVALID_AGENT_RESPONSE");
    assert!(
        ra["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("task-b")),
        "{ra}"
    );
    assert!(!b.is_finished(), "B answered before its reply was sent");

    // 2. The same reply again, now that A is done (B still waits).
    agent.reply(&req_a, &stray(rpc_id(&req_a))).await;
    // 3. A valid Task for B, under a correlation nobody used.
    reply_with_correlation(&agent, &req_b, b"nobody-asked", &stray(rpc_id(&req_b))).await;
    wait_unmatched(&gw, unmatched + 2, "the repeated reply and the foreign one").await;
    assert!(!b.is_finished(), "B answered before its reply was sent");

    // B's own answer, and nothing else, reaches B.
    agent
        .reply(
            &req_b,
            &json!({"jsonrpc": "2.0", "id": rpc_id(&req_b), "result": b_task}),
        )
        .await;
    let rb = b.await.expect("B's call");
    assert_eq!(
        rb,
        json!({"jsonrpc": "2.0", "id": "B", "result": b_task}),
        "B gets exactly its own answer"
    );
    assert_eq!(
        unmatched_replies(&gw).await,
        unmatched + 2,
        "B's answer was matched"
    );
    assert_no_request_within(&mut agent, 300, "no retries").await;
}

/// Answers each GetTask the gateway sends about `task` with `result` until
/// `call` ends. Every attempt is answered: on a loaded machine an answer can
/// miss its attempt's first-reply window, and the gateway then asks again.
async fn answer_get_task_until_done<T>(
    agent: &mut RawClient,
    mut call: JoinHandle<T>,
    task: &str,
    result: Value,
) -> T {
    let mut asked = 0;
    loop {
        tokio::select! {
            done = &mut call => {
                assert!(asked > 0, "the gateway never asked GetTask");
                return done.unwrap();
            }
            get = agent.next(Duration::from_secs(10)) => {
                let get = get.expect("a GetTask follow-up, or the end of the call");
                let g = payload_json(&get);
                assert_eq!(g["method"], "GetTask");
                assert_eq!(g["params"]["id"], task);
                asked += 1;
                agent
                    .reply(&get, &json!({"jsonrpc": "2.0", "id": g["id"], "result": result}))
                    .await;
            }
        }
    }
}

/// Streams message `text` to the fake agent, which answers with its task
/// working and then falls silent; each GetTask the gateway asks after the idle
/// timeout is answered with the task in `state_when_asked`. The stream's events.
async fn stream_a_stalling_task(
    agent: &mut RawClient,
    url: &str,
    id: i64,
    text: &str,
    state_when_asked: &str,
) -> Vec<Value> {
    let call = spawn_rpc_stream(
        url,
        request(json!(id), "SendStreamingMessage", send_params(text)),
    );
    let req = next_request(agent, "SendStreamingMessage").await;
    let task = task_and_context(&payload_json(&req)).0.to_owned();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": task, "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}}))
        .await;
    // Then silence; the gateway asks GetTask after the idle timeout.
    answer_get_task_until_done(
        agent,
        call,
        &task,
        json!({"id": task, "contextId": "c", "status": {"state": state_when_asked}}),
    )
    .await
}

#[tokio::test]
async fn a_stalled_stream_is_recovered_with_get_task() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(true).await;
    let url = gw.agent_url(AGENT);

    let events = stream_a_stalling_task(&mut agent, &url, 1, "slow", "TASK_STATE_COMPLETED").await;
    assert_eq!(
        state_of(&events.last().unwrap()["result"]),
        Some("TASK_STATE_COMPLETED"),
        "{events:#?}"
    );

    // Still running after the silence: the stream ends with a clear error.
    let events = stream_a_stalling_task(&mut agent, &url, 2, "slower", "TASK_STATE_WORKING").await;
    let last = events.last().unwrap();
    assert_eq!(last["error"]["code"], -31004, "{events:#?}");
    assert_eq!(
        last["error"]["data"][0]["metadata"]["taskState"],
        "TASK_STATE_WORKING"
    );
}

#[tokio::test]
async fn extended_cards_are_relayed_with_urls_rewritten() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let url = gw.agent_url(AGENT);
    let call = spawn_rpc(&url, request(json!(1), "GetExtendedAgentCard", json!({})));
    let mut extended = card_json("Fake (extended)", false);
    extended["signatures"] = json!([{"protected": "x", "signature": "y"}]);
    let req = answer_next(
        &mut agent,
        &json!({"jsonrpc": "2.0", "id": 1, "result": extended}),
    )
    .await;
    assert_eq!(payload_json(&req)["method"], "GetExtendedAgentCard");
    let r = call.await.unwrap();
    assert_eq!(r["result"]["name"], "Fake (extended)", "{r}");
    assert_eq!(r["result"]["supportedInterfaces"][0]["url"], url.as_str());
    assert!(r["result"].get("signatures").is_none());
}

#[tokio::test]
async fn subscribe_to_task_on_an_emqx_style_agent_starts_with_the_task() {
    let (_broker, agent, gw) = gateway_with_fake_agent(true).await;
    tokio::spawn(serve_emqx_style(agent));
    let (content_type, events) = rpc_stream(
        &gw.agent_url(AGENT),
        &request(json!(7), "SubscribeToTask", json!({"id": "t-77"})),
    )
    .await;
    assert!(content_type.starts_with("text/event-stream"), "{events:#?}");
    // The agent streamed updates only; the client's stream starts with the Task.
    let first = &events[0]["result"];
    assert_eq!(first["task"]["id"], "t-77", "{events:#?}");
    assert_eq!(first["task"]["contextId"], "ctx-of-t-77");
    assert_eq!(first["task"]["status"]["state"], "TASK_STATE_WORKING");
    assert!(
        events[1..]
            .iter()
            .any(|e| e["result"]["artifactUpdate"]["artifact"]["parts"][0]["text"] == "RESUMED"),
        "{events:#?}"
    );
    assert_eq!(
        state_of(&events.last().unwrap()["result"]),
        Some("TASK_STATE_COMPLETED")
    );
    assert!(events.iter().all(|e| e["id"] == 7));
}

#[tokio::test]
async fn too_many_requests_in_flight_fail_at_once_with_gateway_overloaded() {
    let (_broker, mut agent, gw) = tuned_gateway_with_fake_agent(false, |c| {
        c.requests.max_in_flight = 1;
        // A slow agent: the first call stays in flight until answered.
        c.requests.reply_first_timeout_ms = 10_000;
        c.requests.max_attempts = 1;
    })
    .await;
    let url = gw.agent_url(AGENT);
    let first = spawn_rpc(&url, get_task_t(1));
    let pending = next_request(&mut agent, "the first call reached the agent").await;

    let started = Instant::now();
    let r = rpc(&url, &get_task_t(2)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not after a timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(r["id"], 2);
    assert_eq!(r["error"]["code"], -31006, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "GATEWAY_OVERLOADED");
    assert_eq!(
        r["error"]["message"],
        "the gateway is overloaded (1 requests in flight, limit 1); retry later"
    );
    assert_no_request_within(&mut agent, 300, "a refused call publishes nothing").await;

    // The first call is unaffected, and once it is answered there is room again.
    let task = working_task_t(1);
    agent.reply(&pending, &task).await;
    let r = first.await.unwrap();
    assert_eq!(r["result"]["id"], "t", "{r}");
    let third = spawn_rpc(&url, get_task_t(3));
    let req = next_request(&mut agent, "room again").await;
    agent.reply(&req, &task).await;
    assert_eq!(third.await.unwrap()["result"]["id"], "t");
}

#[tokio::test]
async fn request_expired_is_retried_then_relayed_as_agent_request_expired() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    // Retry-eligible (profile): every attempt is made, each answered "expired".
    let expired = marked_error(1, -32003, "stale", "request_expired");
    let url = gw.agent_url(AGENT);
    let r = rpc_answering(&mut agent, &url, get_task_t(1), 3, &expired).await;
    assert_eq!(
        r["error"]["code"], -31010,
        "not the core PushNotificationNotSupported code: {r}"
    );
    let info = &r["error"]["data"][0];
    assert_eq!(info["reason"], "AGENT_REQUEST_EXPIRED");
    assert_eq!(info["metadata"]["a2aError"], "request_expired");
    assert_eq!(info["metadata"]["agentCode"], "-32003");
    assert!(r["error"]["message"].as_str().unwrap().contains("stale"));
    assert_no_request_within(&mut agent, 300, "exactly max_attempts publishes").await;
}

/// The profile pairs each marker with one code; an agent that mixes them is
/// still reporting a transport error, never a core A2A one.
#[tokio::test]
async fn a_profile_error_with_a_mismatched_marker_never_reaches_clients_as_a_core_code() {
    let (_broker, mut agent, gw) = gateway_with_fake_agent(false).await;
    let url = gw.agent_url(AGENT);

    // -32003 (core: PushNotificationNotSupported) marked transport_protocol_error:
    // the marker names it, so it is not retried either.
    let mismatched = marked_error(1, -32003, "bad metadata", "transport_protocol_error");
    let r = rpc_answering(&mut agent, &url, get_task_t(1), 1, &mismatched).await;
    assert_eq!(r["error"]["code"], -31012, "{r}");
    assert_eq!(
        r["error"]["data"][0]["reason"],
        "AGENT_TRANSPORT_PROTOCOL_ERROR"
    );
    assert_eq!(r["error"]["data"][0]["metadata"]["agentCode"], "-32003");
    assert_no_request_within(&mut agent, 600, "no retry").await;

    // -32005 (core: ContentTypeNotSupported) marked responder_unavailable:
    // retried as the profile says, then relayed as the agent being unavailable.
    let busy = marked_error(2, -32005, "busy", "responder_unavailable");
    let r = rpc_answering(&mut agent, &url, get_task_t(2), 3, &busy).await;
    assert_eq!(r["error"]["code"], -31011, "{r}");

    // An unknown marker on a profile code: the code names the transport error.
    let unknown = marked_error(3, -32005, "odd", "something_else");
    let r = rpc_answering(&mut agent, &url, get_task_t(3), 1, &unknown).await;
    assert_eq!(r["error"]["code"], -31012, "{r}");
}

/// The profile's backoff between retries: 1×, then 2× the initial delay, each
/// ±jitter, after each attempt's first-reply timeout. Bounds are loose (a
/// loaded machine only makes timers late); the ratio and the order carry it.
#[tokio::test]
async fn retries_wait_a_doubling_backoff_between_attempts() {
    let (_broker, mut agent, gw) = tuned_gateway_with_fake_agent(false, |c| {
        c.requests.reply_first_timeout_ms = 100;
        c.requests.retry_backoff_ms = 500;
        c.requests.retry_jitter = 0.2;
        c.requests.max_attempts = 3;
    })
    .await;
    let call = spawn_rpc(&gw.agent_url(AGENT), get_task_t(1));
    let mut arrivals = Vec::new();
    while arrivals.len() < 3 {
        agent
            .next(Duration::from_secs(10))
            .await
            .expect("every attempt is published");
        arrivals.push(Instant::now());
    }
    let r = call.await.unwrap();
    assert_eq!(r["error"]["code"], -31003, "{r}");
    assert_no_request_within(&mut agent, 300, "exactly max_attempts publishes").await;

    // Each gap is the first-reply timeout plus that retry's backoff.
    let backoff =
        |i: usize| (arrivals[i + 1] - arrivals[i]).saturating_sub(Duration::from_millis(100));
    let (first, second) = (backoff(0), backoff(1));
    let ms = |d: Duration| d.as_millis() as u64;
    assert!(
        (300..=1600).contains(&ms(first)),
        "first backoff ≈ 500 ms ±20 %: {first:?}"
    );
    assert!(
        (700..=2400).contains(&ms(second)),
        "second backoff ≈ 1000 ms ±20 %: {second:?}"
    );
    assert!(
        second > first,
        "the backoff grows: {first:?} then {second:?}"
    );
    let ratio = second.as_secs_f64() / first.as_secs_f64();
    assert!(
        (1.2..=3.5).contains(&ratio),
        "the backoff doubles (within jitter): {first:?} then {second:?}"
    );
}

#[tokio::test]
async fn gateways_without_a_configured_instance_get_their_own_ids_and_reply_topics() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let config = fast_config(&broker);
    assert_eq!(config.gateway.instance, None);
    let one = TestGateway::start_with(config.clone()).await;
    let two = TestGateway::start_with(config).await;
    let ids = [
        one.state.session().client_id(),
        two.state.session().client_id(),
    ];
    assert_ne!(ids[0], ids[1], "one broker, two distinct client ids");
    for id in ids {
        let instance = id
            .strip_prefix("a2a-gateway/default/")
            .unwrap_or_else(|| panic!("{{org}}/{{unit}}/{{instance}}: {id}"));
        assert!(
            instance.len() == 16 && instance.bytes().all(|b| b.is_ascii_hexdigit()),
            "a random instance id: {id}"
        );
    }

    // Each asks with its own reply topic (and so gets its own replies).
    let mut topics = Vec::new();
    for gw in [&one, &two] {
        gw.wait_agent(AGENT, "online").await;
        let call = spawn_rpc(&gw.agent_url(AGENT), get_task_t(1));
        let req = answer_next(&mut agent, &working_task_t(1)).await;
        let topic = req
            .properties
            .as_ref()
            .and_then(|p| p.response_topic.clone())
            .unwrap();
        assert_eq!(call.await.unwrap()["result"]["id"], "t");
        topics.push(topic);
    }
    assert_eq!(topics[0], format!("$a2a/v1/reply/{}/rpc", ids[0]));
    assert_eq!(topics[1], format!("$a2a/v1/reply/{}/rpc", ids[1]));
    // Neither took the other's session over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(one.state.session().is_up() && two.state.session().is_up());
}
