//! The agent SDK as seen by a raw MQTT 5 requester on a real broker.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use a2a_mqtt_gateway::agent::{Agent, CardBuilder, HandlerError, TaskContext, samples};
use a2a_mqtt_gateway::mqtt::{OutgoingMessage, Publish, PublishProperties};
use bytes::Bytes;
use common::*;
use serde_json::{Value, json};

const AGENT: &str = "acme/plant1/sdk";
const REQUEST_TOPIC: &str = "$a2a/v1/request/acme/plant1/sdk";
const REPLY_TOPIC: &str = "$a2a/v1/reply/test/requester/r1/x";

/// A requester subscribed to its reply topic.
async fn requester(broker: &Broker) -> RawClient {
    RawClient::connect(
        broker,
        "test/requester/r1",
        &["$a2a/v1/reply/test/requester/r1/#"],
    )
    .await
}

async fn send(client: &RawClient, correlation: Option<&[u8]>, body: &Value) {
    let msg = OutgoingMessage {
        properties: PublishProperties {
            response_topic: Some(REPLY_TOPIC.into()),
            correlation_data: correlation.map(Bytes::copy_from_slice),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(REQUEST_TOPIC, body.to_string())
    };
    client
        .handle
        .publish(msg, Duration::from_secs(5))
        .await
        .unwrap();
}

/// Replies until one ends the stream (or times out).
async fn replies(
    client: &mut RawClient,
    correlation: &[u8],
    until_final: bool,
) -> Vec<(Publish, Value)> {
    let mut out = Vec::new();
    while let Some(p) = client.next(Duration::from_secs(5)).await {
        let corr = p
            .properties
            .as_ref()
            .and_then(|pp| pp.correlation_data.clone())
            .unwrap_or_default();
        if &corr[..] != correlation {
            continue;
        }
        let v: Value = serde_json::from_slice(&p.payload).unwrap();
        let done = !until_final
            || v.get("error").is_some()
            || matches!(
                state_of(&v["result"]),
                Some(
                    "TASK_STATE_COMPLETED"
                        | "TASK_STATE_FAILED"
                        | "TASK_STATE_CANCELED"
                        | "TASK_STATE_INPUT_REQUIRED"
                )
            );
        out.push((p, v));
        if done {
            break;
        }
    }
    out
}

fn send_request(method: &str, task_id: &str, message_id: &str, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": "r", "method": method, "params": {"message": {
        "messageId": message_id, "role": "ROLE_USER", "taskId": task_id, "parts": [{"text": text}]}}})
}

#[tokio::test]
async fn correlation_data_is_echoed_byte_for_byte() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, AGENT, samples::echo_card(), samples::echo).await;
    let mut client = requester(&broker).await;
    let correlation = [0u8, 159, 146, 150, 255, b'x']; // not UTF-8
    let task = uuid::Uuid::new_v4().to_string();
    send(
        &client,
        Some(&correlation),
        &send_request("SendStreamingMessage", &task, "m1", "hi"),
    )
    .await;
    let got = replies(&mut client, &correlation, true).await;
    assert!(
        got.len() >= 3,
        "{:?}",
        got.iter().map(|(_, v)| v).collect::<Vec<_>>()
    );
    for (p, v) in &got {
        assert_eq!(
            &p.properties
                .as_ref()
                .unwrap()
                .correlation_data
                .as_ref()
                .unwrap()[..],
            &correlation
        );
        assert_eq!(v["id"], "r");
    }
    assert!(
        got[0].1["result"].get("task").is_some(),
        "a stream starts with the Task"
    );
    assert_eq!(
        state_of(&got.last().unwrap().1["result"]),
        Some("TASK_STATE_COMPLETED")
    );
}

#[tokio::test]
async fn retries_are_deduplicated_by_task_id() {
    let broker = Broker::start();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let _agent = start_agent(
        &broker,
        AGENT,
        samples::echo_card(),
        move |task: TaskContext| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                task.artifact_text("echo", task.text());
                Ok::<(), HandlerError>(())
            }
        },
    )
    .await;
    let mut client = requester(&broker).await;
    let task = uuid::Uuid::new_v4().to_string();
    let body = send_request("SendMessage", &task, "m1", "once");
    send(&client, Some(b"attempt-1"), &body).await;
    let first = replies(&mut client, b"attempt-1", true).await;
    send(&client, Some(b"attempt-2"), &body).await; // the requester's retry
    let second = replies(&mut client, b"attempt-2", true).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one task, one run");
    let (a, b) = (
        &first.last().unwrap().1["result"]["task"],
        &second.last().unwrap().1["result"]["task"],
    );
    assert_eq!(a["id"], task.as_str());
    assert_eq!(a, b, "the retry gets the existing task state");
}

#[tokio::test]
async fn protocol_violations_are_refused_with_the_profile_codes() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, AGENT, samples::echo_card(), samples::echo).await;
    let mut client = requester(&broker).await;

    let cases: Vec<(&[u8], Value, i64)> = vec![
        (
            b"no-task-id",
            json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}}),
            -32602,
        ),
        (
            b"bad-task-id",
            send_request("SendMessage", "not-a-uuid", "m", "x"),
            -32602,
        ),
        (
            b"unknown-method",
            json!({"jsonrpc": "2.0", "id": 1, "method": "Frobnicate"}),
            -32601,
        ),
        (
            b"push",
            json!({"jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig", "params": {}}),
            -32003,
        ),
        (
            b"missing-task",
            json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "nope"}}),
            -32001,
        ),
    ];
    for (corr, body, code) in cases {
        send(&client, Some(corr), &body).await;
        let got = replies(&mut client, corr, false).await;
        let v = &got
            .first()
            .unwrap_or_else(|| panic!("no reply for {}", String::from_utf8_lossy(corr)))
            .1;
        assert_eq!(
            v["error"]["code"],
            code,
            "{}: {v}",
            String::from_utf8_lossy(corr)
        );
        assert!(
            v["error"]["data"].get("a2a_error").is_none(),
            "core errors carry no profile marker: {v}"
        );
    }
    // Not JSON at all.
    let msg = OutgoingMessage {
        properties: PublishProperties {
            response_topic: Some(REPLY_TOPIC.into()),
            correlation_data: Some(Bytes::from_static(b"garbage")),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(REQUEST_TOPIC, &b"\xff\xfe"[..])
    };
    client
        .handle
        .publish(msg, Duration::from_secs(5))
        .await
        .unwrap();
    let got = replies(&mut client, b"garbage", false).await;
    assert_eq!(got[0].1["error"]["code"], -32700);

    // No correlation data: transport_protocol_error.
    send(
        &client,
        None,
        &send_request("SendMessage", &uuid::Uuid::new_v4().to_string(), "m", "x"),
    )
    .await;
    let got = replies(&mut client, b"", false).await;
    assert_eq!(got[0].1["error"]["code"], -32005);
    assert_eq!(
        got[0].1["error"]["data"]["a2a_error"],
        "transport_protocol_error"
    );
}

#[tokio::test]
async fn a_busy_agent_answers_responder_unavailable() {
    let broker = Broker::start();
    let agent = Agent::builder("acme", "plant1", "sdk")
        .unwrap()
        .broker(&broker.url())
        .unwrap()
        .max_concurrent_tasks(1)
        .card_from(CardBuilder::new("Slow", "slow"))
        .start(|task: TaskContext| async move {
            task.cancelled().await;
            Ok::<(), HandlerError>(())
        })
        .await
        .unwrap();
    assert!(agent.wait_online(Duration::from_secs(5)).await);
    let mut client = requester(&broker).await;
    let mut first = send_request("SendMessage", &uuid::Uuid::new_v4().to_string(), "m1", "a");
    first["params"]["configuration"] = json!({"returnImmediately": true});
    send(&client, Some(b"one"), &first).await;
    let got = replies(&mut client, b"one", false).await;
    assert!(got[0].1["result"]["task"].is_object(), "{:?}", got[0].1);
    send(
        &client,
        Some(b"two"),
        &send_request("SendMessage", &uuid::Uuid::new_v4().to_string(), "m2", "b"),
    )
    .await;
    let got = replies(&mut client, b"two", false).await;
    assert_eq!(got[0].1["error"]["code"], -32004);
    assert_eq!(
        got[0].1["error"]["data"]["a2a_error"],
        "responder_unavailable"
    );
}

#[tokio::test]
async fn the_card_is_retained_with_liveness_properties() {
    let broker = Broker::start();
    let agent = start_agent(&broker, AGENT, samples::echo_card(), samples::echo).await;
    let mut watcher = RawClient::connect(
        &broker,
        "test/watcher/w",
        &["$a2a/v1/discovery/acme/plant1/sdk"],
    )
    .await;
    let card = watcher
        .next(Duration::from_secs(5))
        .await
        .expect("retained card");
    assert!(card.retain, "delivered as retained");
    let props = card.properties.as_ref().unwrap();
    let prop = |k: &str| {
        props
            .user_properties
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(prop("a2a-status").as_deref(), Some("online"));
    assert_eq!(prop("a2a-status-source").as_deref(), Some("agent"));
    let json: Value = serde_json::from_slice(&card.payload).unwrap();
    assert_eq!(json["name"], "Echo");

    agent.abort().await;
    let will = watcher
        .next(Duration::from_secs(10))
        .await
        .expect("last will");
    let props = will.properties.as_ref().unwrap();
    let prop = |k: &str| {
        props
            .user_properties
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(prop("a2a-status").as_deref(), Some("offline"));
    assert_eq!(prop("a2a-status-source").as_deref(), Some("lwt"));
    assert_eq!(will.payload, card.payload, "the will carries the card");
}
