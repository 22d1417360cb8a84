//! Real agents differ and misbehave. These fake agents speak raw MQTT 5 to a real
//! broker; the gateway must still give HTTP clients what A2A promises.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

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

fn fast_config(broker: &Broker) -> a2a_mqtt_gateway::config::Config {
    let mut c = test_config(broker);
    c.requests.reply_first_timeout_ms = 400;
    c.requests.stream_idle_timeout_ms = 600;
    c.requests.max_attempts = 3;
    c.requests.retry_backoff_ms = 50;
    c
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
            _ => {
                let msg = &body["params"]["message"];
                let task = msg["taskId"].as_str().unwrap_or_default().to_owned();
                let ctx = msg["contextId"].as_str().unwrap_or_default().to_owned();
                let text = msg["parts"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                agent
                    .reply(
                        &req,
                        &status_event(&id, &task, &ctx, "TASK_STATE_SUBMITTED"),
                    )
                    .await;
                agent
                    .reply(&req, &status_event(&id, &task, &ctx, "TASK_STATE_WORKING"))
                    .await;
                agent
                    .reply(
                        &req,
                        &artifact_event(&id, &task, &ctx, &text.to_uppercase()),
                    )
                    .await;
                agent
                    .reply(
                        &req,
                        &status_event(&id, &task, &ctx, "TASK_STATE_COMPLETED"),
                    )
                    .await;
            }
        }
    }
}

#[tokio::test]
async fn an_emqx_style_agent_looks_like_a_proper_a2a_agent() {
    let broker = Broker::start();
    let agent = fake_agent(&broker, true).await;
    tokio::spawn(serve_emqx_style(agent));
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
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
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let call = tokio::spawn(async move {
        rpc(
            &url,
            &request(json!(1), "SendMessage", send_params("again")),
        )
        .await
    });

    let first = agent
        .next(Duration::from_secs(5))
        .await
        .expect("first attempt");
    // Dropped: no reply. The gateway must republish.
    let second = agent
        .next(Duration::from_secs(5))
        .await
        .expect("second attempt");
    let (b1, b2) = (payload_json(&first), payload_json(&second));
    let corr = |p: &a2a_mqtt_gateway::mqtt::Publish| {
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
    agent
        .reply(
            &second,
            &json!({"jsonrpc": "2.0", "id": b2["id"], "result": {"task": {
            "id": task_id, "contextId": ctx, "status": {"state": "TASK_STATE_COMPLETED"}}}}),
        )
        .await;
    let r = call.await.unwrap();
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
    // A late reply to the first attempt is ignored, not mis-delivered.
    agent
        .reply(&first, &json!({"jsonrpc": "2.0", "id": 1, "result": {}}))
        .await;
}

#[tokio::test]
async fn an_agent_that_never_answers_times_out_after_every_attempt() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let mut config = fast_config(&broker);
    config.requests.max_attempts = 2;
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(AGENT, "online").await;
    let r = rpc(
        &gw.agent_url(AGENT),
        &request(json!(1), "GetTask", json!({"id": "t"})),
    )
    .await;
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
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let call =
        tokio::spawn(
            async move { rpc(&url, &request(json!(1), "GetTask", json!({"id": "t"}))).await },
        );
    let busy = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32004, "message": "busy", "data": {"a2a_error": "responder_unavailable"}}});
    for _ in 0..3 {
        let req = agent.next(Duration::from_secs(5)).await.expect("attempt");
        agent.reply(&req, &busy).await;
    }
    let r = call.await.unwrap();
    assert_eq!(
        r["error"]["code"], -31011,
        "not the core UnsupportedOperation code: {r}"
    );
    assert_eq!(r["error"]["data"][0]["reason"], "AGENT_UNAVAILABLE");
    assert!(r["error"]["message"].as_str().unwrap().contains("busy"));

    // A busy answer followed by a real one succeeds.
    let url = gw.agent_url(AGENT);
    let call =
        tokio::spawn(
            async move { rpc(&url, &request(json!(2), "GetTask", json!({"id": "t"}))).await },
        );
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    agent.reply(&req, &busy).await;
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 2, "result": {"id": "t", "status": {"state": "TASK_STATE_WORKING"}}}))
        .await;
    let r = call.await.unwrap();
    assert_eq!(r["result"]["status"]["state"], "TASK_STATE_WORKING", "{r}");
}

#[tokio::test]
async fn transport_protocol_errors_are_not_retried() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let call =
        tokio::spawn(
            async move { rpc(&url, &request(json!(1), "GetTask", json!({"id": "t"}))).await },
        );
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "bad metadata", "data": {"a2a_error": "transport_protocol_error"}}}))
        .await;
    let r = call.await.unwrap();
    assert_eq!(r["error"]["code"], -31012, "{r}");
    assert!(
        agent.next(Duration::from_millis(600)).await.is_none(),
        "no retry"
    );
}

#[tokio::test]
async fn core_errors_from_agents_are_relayed_unchanged() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let call = tokio::spawn(async move {
        rpc(&url, &request(json!("x"), "GetTask", json!({"id": "t"}))).await
    });
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    let error = json!({"code": -32001, "message": "Task not found", "data": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "TASK_NOT_FOUND", "domain": "a2a-protocol.org"}]});
    agent
        .reply(
            &req,
            &json!({"jsonrpc": "2.0", "id": "whatever", "error": error}),
        )
        .await;
    let r = call.await.unwrap();
    assert_eq!(r["id"], "x", "the client's id, not the agent's");
    assert_eq!(r["error"], error);
}

/// Streamed tokens repeat ("ha", "ha"): identical appended chunks are data, not
/// redeliveries, and reach the client every time, streamed and aggregated.
#[tokio::test]
async fn identical_appended_chunks_are_all_delivered() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, true).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let chunk = |id: &Value, task: &str, ctx: &str| {
        json!({"jsonrpc": "2.0", "id": id, "result": {"artifactUpdate": {
            "taskId": task, "contextId": ctx, "append": true, "lastChunk": false,
            "artifact": {"artifactId": "laugh", "parts": [{"text": "ha"}]}}}})
    };
    for (method, streamed) in [("SendStreamingMessage", true), ("SendMessage", false)] {
        let u = url.clone();
        let body = request(json!(1), method, send_params("laugh"));
        let call = tokio::spawn(async move {
            if streamed {
                rpc_stream(&u, &body).await.1
            } else {
                vec![rpc(&u, &body).await]
            }
        });
        let req = agent.next(Duration::from_secs(5)).await.unwrap();
        let b = payload_json(&req);
        let (task, ctx) = (
            b["params"]["message"]["taskId"].as_str().unwrap(),
            b["params"]["message"]["contextId"].as_str().unwrap(),
        );
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
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, true).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);

    // Every item delivered twice (QoS 1 duplicates): the client sees each once
    // (none of these is an appended chunk; see the test above).
    let u = url.clone();
    let call = tokio::spawn(async move {
        rpc_stream(
            &u,
            &request(json!(1), "SendStreamingMessage", send_params("dup")),
        )
        .await
    });
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    let b = payload_json(&req);
    let (task, ctx) = (
        b["params"]["message"]["taskId"].as_str().unwrap(),
        b["params"]["message"]["contextId"].as_str().unwrap(),
    );
    for item in [
        status_event(&b["id"], task, ctx, "TASK_STATE_WORKING"),
        artifact_event(&b["id"], task, ctx, "once"),
        status_event(&b["id"], task, ctx, "TASK_STATE_COMPLETED"),
    ] {
        agent.reply(&req, &item).await;
        agent.reply(&req, &item).await;
    }
    let (_, events) = call.await.unwrap();
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
    let u = url.clone();
    let call =
        tokio::spawn(
            async move { rpc(&u, &request(json!(2), "GetTask", json!({"id": "t"}))).await },
        );
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    let props = req.properties.as_ref().unwrap();
    // First a reply with a foreign correlation: ignored.
    let foreign = a2a_mqtt_gateway::mqtt::OutgoingMessage {
        properties: a2a_mqtt_gateway::mqtt::PublishProperties {
            correlation_data: Some(bytes::Bytes::from_static(b"not-yours")),
            ..Default::default()
        },
        ..a2a_mqtt_gateway::mqtt::OutgoingMessage::new(
            props.response_topic.clone().unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
        )
    };
    agent
        .handle
        .publish(foreign, Duration::from_secs(1))
        .await
        .unwrap();
    let garbage = a2a_mqtt_gateway::mqtt::OutgoingMessage {
        properties: a2a_mqtt_gateway::mqtt::PublishProperties {
            correlation_data: props.correlation_data.clone(),
            ..Default::default()
        },
        ..a2a_mqtt_gateway::mqtt::OutgoingMessage::new(
            props.response_topic.clone().unwrap(),
            &b"\x00\xffnot json"[..],
        )
    };
    agent
        .handle
        .publish(garbage, Duration::from_secs(1))
        .await
        .unwrap();
    let r = call.await.unwrap();
    assert_eq!(r["error"]["code"], -32006, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "INVALID_AGENT_RESPONSE");

    // A reply about another task is refused.
    let u = url.clone();
    let call =
        tokio::spawn(
            async move { rpc(&u, &request(json!(3), "GetTask", json!({"id": "mine"}))).await },
        );
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 3, "result": {"id": "someone-elses", "status": {"state": "TASK_STATE_WORKING"}}}))
        .await;
    let r = call.await.unwrap();
    assert_eq!(r["error"]["code"], -32006, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("someone-elses")
    );
}

/// Answers each GetTask the gateway sends about `task` with `result` until
/// `call` ends. Every attempt is answered: on a loaded machine an answer can
/// miss its attempt's first-reply window, and the gateway then asks again.
async fn answer_get_task_until_done<T>(
    agent: &mut RawClient,
    mut call: tokio::task::JoinHandle<T>,
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

#[tokio::test]
async fn a_stalled_stream_is_recovered_with_get_task() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, true).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);

    let u = url.clone();
    let call = tokio::spawn(async move {
        rpc_stream(
            &u,
            &request(json!(1), "SendStreamingMessage", send_params("slow")),
        )
        .await
    });
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    let b = payload_json(&req);
    let task = b["params"]["message"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": task, "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}}))
        .await;
    // Then silence; the gateway asks GetTask after the idle timeout.
    let (_, events) = answer_get_task_until_done(
        &mut agent,
        call,
        &task,
        json!({"id": task, "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}),
    )
    .await;
    assert_eq!(
        state_of(&events.last().unwrap()["result"]),
        Some("TASK_STATE_COMPLETED"),
        "{events:#?}"
    );

    // Still running after the silence: the stream ends with a clear error.
    let u = url.clone();
    let call = tokio::spawn(async move {
        rpc_stream(
            &u,
            &request(json!(2), "SendStreamingMessage", send_params("slower")),
        )
        .await
    });
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    let b = payload_json(&req);
    let task = b["params"]["message"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    agent
        .reply(&req, &json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": task, "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}}))
        .await;
    let (_, events) = answer_get_task_until_done(
        &mut agent,
        call,
        &task,
        json!({"id": task, "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}),
    )
    .await;
    let last = events.last().unwrap();
    assert_eq!(last["error"]["code"], -31004, "{events:#?}");
    assert_eq!(
        last["error"]["data"][0]["metadata"]["taskState"],
        "TASK_STATE_WORKING"
    );
}

#[tokio::test]
async fn extended_cards_are_relayed_with_urls_rewritten() {
    let broker = Broker::start();
    let mut agent = fake_agent(&broker, false).await;
    let gw = TestGateway::start_with(fast_config(&broker)).await;
    gw.wait_agent(AGENT, "online").await;
    let url = gw.agent_url(AGENT);
    let u = url.clone();
    let call = tokio::spawn(async move {
        rpc(&u, &request(json!(1), "GetExtendedAgentCard", json!({}))).await
    });
    let req = agent.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(payload_json(&req)["method"], "GetExtendedAgentCard");
    let mut extended = card_json("Fake (extended)", false);
    extended["signatures"] = json!([{"protected": "x", "signature": "y"}]);
    agent
        .reply(
            &req,
            &json!({"jsonrpc": "2.0", "id": 1, "result": extended}),
        )
        .await;
    let r = call.await.unwrap();
    assert_eq!(r["result"]["name"], "Fake (extended)", "{r}");
    assert_eq!(r["result"]["supportedInterfaces"][0]["url"], url.as_str());
    assert!(r["result"].get("signatures").is_none());
}
