//! Every JSON-RPC method through the gateway to SDK agents, over a real broker.

mod common;

use std::time::Duration;

use a2a_mqtt_gateway::agent::samples::{self, Inspection};
use common::*;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";
const INSPECT: &str = "acme/plant1/inspect";

fn fast_inspection() -> Inspection {
    Inspection {
        steps: 4,
        step_delay: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn send_message_blocks_until_the_task_completes() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;

    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("hello")),
    )
    .await;
    assert_eq!(r["jsonrpc"], "2.0");
    assert_eq!(r["id"], 1);
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "hello");
    let task_id = task["id"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(task_id).unwrap().get_version_num(),
        4,
        "gateway-minted UUIDv4"
    );
    assert!(!task["contextId"].as_str().unwrap().is_empty());
}

/// A blocking SendMessage goes out as SendMessage; when the task outlasts the
/// first-reply timeout, the retry (same Task.id) asks for a stream, so the call
/// ends with the completed task instead of timing out or duplicating work.
#[tokio::test]
async fn a_blocking_send_outlasting_the_first_reply_timeout_completes() {
    let broker = Broker::start();
    let inspection = Inspection {
        steps: 6,
        step_delay: Duration::from_millis(250),
    };
    let _agent = start_agent(&broker, INSPECT, samples::inspection_card(), inspection).await;
    let mut config = test_config(&broker);
    config.requests.reply_first_timeout_ms = 400;
    config.requests.stream_idle_timeout_ms = 2000;
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(INSPECT, "online").await;
    let mut watcher = RawClient::connect(&broker, "test/watch/w1", &["$a2a/v1/request/#"]).await;

    let started = std::time::Instant::now();
    let r = rpc(
        &gw.agent_url(INSPECT),
        &request(json!(9), "SendMessage", send_params("line 9")),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "the whole task ran"
    );
    let mut methods = Vec::new();
    while let Some(p) = watcher.next(Duration::from_millis(200)).await {
        let body = payload_json(&p);
        assert_eq!(
            body["params"]["message"]["taskId"], task["id"],
            "one Task.id"
        );
        methods.push(body["method"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(methods[0], "SendMessage", "{methods:?}");
    assert_eq!(methods[1], "SendStreamingMessage", "{methods:?}");
    assert_eq!(methods.len(), 2, "one retry was enough: {methods:?}");
    let tasks = rpc(
        &gw.agent_url(INSPECT),
        &request(json!(10), "ListTasks", json!({})),
    )
    .await;
    assert_eq!(
        tasks["result"]["tasks"].as_array().map(Vec::len),
        Some(1),
        "the retry did not start a second task: {tasks}"
    );
}

#[tokio::test]
async fn return_immediately_answers_before_the_work_is_done() {
    let broker = Broker::start();
    let _agent = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        fast_inspection(),
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(INSPECT, "online").await;

    let mut params = send_params("line 7");
    params["configuration"] = json!({"returnImmediately": true});
    let r = rpc(
        &gw.agent_url(INSPECT),
        &request(json!("a"), "SendMessage", params),
    )
    .await;
    let task = &r["result"]["task"];
    let state = task["status"]["state"].as_str().unwrap();
    assert!(
        matches!(state, "TASK_STATE_SUBMITTED" | "TASK_STATE_WORKING"),
        "not final yet: {r}"
    );
    let id = task["id"].as_str().unwrap().to_owned();

    // Poll with GetTask until done.
    let mut last = Value::Null;
    for _ in 0..100 {
        last = rpc(
            &gw.agent_url(INSPECT),
            &request(json!(2), "GetTask", json!({"id": id})),
        )
        .await;
        if last["result"]["status"]["state"] == "TASK_STATE_COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        last["result"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{last}"
    );
    assert_eq!(
        last["result"]["artifacts"][0]["parts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn streaming_starts_with_the_task_and_ends_on_completion() {
    let broker = Broker::start();
    let _agent = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        fast_inspection(),
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(INSPECT, "online").await;

    let (ct, events) = rpc_stream(
        &gw.agent_url(INSPECT),
        &request(json!(42), "SendStreamingMessage", send_params("line 2")),
    )
    .await;
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert!(events.len() >= 1 + 4 + 4, "{events:#?}");
    for e in &events {
        assert_eq!(e["jsonrpc"], "2.0");
        assert_eq!(
            e["id"], 42,
            "every event carries the request id, as a number"
        );
        assert!(e.get("result").is_some(), "{e}");
    }
    let results: Vec<&Value> = events.iter().map(|e| &e["result"]).collect();
    assert!(
        results[0].get("task").is_some(),
        "first event is the Task: {}",
        results[0]
    );
    let task_id = results[0]["task"]["id"].as_str().unwrap();
    let last = results.last().unwrap();
    assert_eq!(state_of(last), Some("TASK_STATE_COMPLETED"));
    // Order: progress statuses and artifact chunks interleave in station order.
    let chunks: Vec<&str> = results
        .iter()
        .filter_map(|r| r.get("artifactUpdate"))
        .map(|a| a["artifact"]["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        chunks,
        [
            "station 1: ok\n",
            "station 2: ok\n",
            "station 3: ok\n",
            "station 4: ok\n"
        ]
    );
    for r in &results[1..] {
        let ev = r
            .get("statusUpdate")
            .or_else(|| r.get("artifactUpdate"))
            .unwrap();
        assert_eq!(ev["taskId"], task_id);
    }
}

#[tokio::test]
async fn ids_are_echoed_exactly() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;
    for id in [json!(7), json!("seven"), json!(7.5), json!(-1), json!(null)] {
        let r = rpc(
            &gw.agent_url(ECHO),
            &request(id.clone(), "SendMessage", send_params("x")),
        )
        .await;
        assert_eq!(r["id"], id, "{r}");
        assert!(r.get("result").is_some(), "{r}");
    }
    // Raw text check: the number stays a number on the wire.
    let body = r#"{"jsonrpc":"2.0","id":12,"method":"GetTask","params":{"id":"nope"}}"#;
    let text = http()
        .post(gw.agent_url(ECHO))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"id\":12"), "{text}");
}

#[tokio::test]
async fn get_list_cancel_and_subscribe() {
    let broker = Broker::start();
    let _agent = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        Inspection {
            steps: 50,
            step_delay: Duration::from_millis(100),
        },
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(INSPECT, "online").await;
    let url = gw.agent_url(INSPECT);

    let mut params = send_params("line 9");
    params["configuration"] = json!({"returnImmediately": true});
    let started = rpc(&url, &request(json!(1), "SendMessage", params)).await;
    let id = started["result"]["task"]["id"].as_str().unwrap().to_owned();
    let context = started["result"]["task"]["contextId"]
        .as_str()
        .unwrap()
        .to_owned();

    // SubscribeToTask: starts with the current Task, then live updates.
    let mut sub = open_stream(
        &url,
        &request(json!("s"), "SubscribeToTask", json!({"id": id})),
    )
    .await;
    let first = tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first["id"], "s");
    assert_eq!(first["result"]["task"]["id"], id.as_str(), "{first}");
    let second = tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        second["result"].get("statusUpdate").is_some()
            || second["result"].get("artifactUpdate").is_some()
    );

    let got = rpc(
        &url,
        &request(json!(2), "GetTask", json!({"id": id, "historyLength": 1})),
    )
    .await;
    assert_eq!(got["result"]["id"], id.as_str());
    assert_eq!(got["result"]["history"].as_array().unwrap().len(), 1);

    let listed = rpc(
        &url,
        &request(json!(3), "ListTasks", json!({"contextId": context})),
    )
    .await;
    assert_eq!(listed["result"]["tasks"][0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed["result"]["totalSize"], 1);
    assert_eq!(listed["result"]["nextPageToken"], "");

    let cancelled = rpc(&url, &request(json!(4), "CancelTask", json!({"id": id}))).await;
    assert_eq!(
        cancelled["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{cancelled}"
    );

    // The subscription ends with the cancellation.
    let mut last = Value::Null;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
        last = ev;
    }
    assert_eq!(
        state_of(&last["result"]),
        Some("TASK_STATE_CANCELED"),
        "{last}"
    );

    // Cancelling again: not cancelable. Subscribing to a final task: unsupported.
    let again = rpc(&url, &request(json!(5), "CancelTask", json!({"id": id}))).await;
    assert_eq!(again["error"]["code"], -32002, "{again}");
    let late = rpc(
        &url,
        &request(json!(6), "SubscribeToTask", json!({"id": id})),
    )
    .await;
    assert_eq!(late["error"]["code"], -32004, "{late}");
    let missing = rpc(
        &url,
        &request(json!(7), "GetTask", json!({"id": "no-such-task"})),
    )
    .await;
    assert_eq!(missing["error"]["code"], -32001, "{missing}");
}

#[tokio::test]
async fn multi_turn_input_required() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;
    let url = gw.agent_url(ECHO);

    let first = rpc(&url, &request(json!(1), "SendMessage", send_params("/ask"))).await;
    let task = &first["result"]["task"];
    assert_eq!(
        task["status"]["state"], "TASK_STATE_INPUT_REQUIRED",
        "{first}"
    );
    assert_eq!(
        task["status"]["message"]["parts"][0]["text"],
        "What should I echo?"
    );
    let (id, ctx) = (task["id"].clone(), task["contextId"].clone());

    let mut params = send_params("the answer");
    params["message"]["taskId"] = id.clone();
    params["message"]["contextId"] = ctx.clone();
    let second = rpc(&url, &request(json!(2), "SendMessage", params)).await;
    assert_eq!(
        second["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{second}"
    );
    assert_eq!(
        second["result"]["task"]["artifacts"][0]["parts"][0]["text"],
        "the answer"
    );
    assert_eq!(second["result"]["task"]["id"], id);

    // A different contextId for the same task is refused by the agent (-32602).
    let mut params = send_params("wrong context");
    params["message"]["taskId"] = id;
    params["message"]["contextId"] = json!("some-other-context");
    let third = rpc(&url, &request(json!(3), "SendMessage", params)).await;
    assert_eq!(third["error"]["code"], -32602, "{third}");
}

#[tokio::test]
async fn push_notification_methods_are_not_supported() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;
    for method in [
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
    ] {
        let r = rpc(
            &gw.agent_url(ECHO),
            &request(json!(1), method, json!({"taskId": "t", "id": "c"})),
        )
        .await;
        assert_eq!(r["error"]["code"], -32003, "{method}: {r}");
    }
    let (_, card) = get_json(&format!(
        "{}/.well-known/agent-card.json",
        gw.agent_url(ECHO)
    ))
    .await;
    assert_eq!(card["capabilities"]["pushNotifications"], false);
}

#[tokio::test]
async fn trailing_slash_and_concurrent_callers_get_their_own_answers() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;
    let url = format!("{}/", gw.agent_url(ECHO));
    let calls = (0..64).map(|i| {
        let url = url.clone();
        async move {
            let r = rpc(
                &url,
                &request(json!(i), "SendMessage", send_params(&format!("caller {i}"))),
            )
            .await;
            (i, r)
        }
    });
    for (i, r) in futures::future::join_all(calls).await {
        assert_eq!(r["id"], i);
        assert_eq!(
            r["result"]["task"]["artifacts"][0]["parts"][0]["text"],
            format!("caller {i}"),
            "no cross-delivery: {r}"
        );
    }
}

#[tokio::test]
async fn a_long_blocking_call_keeps_the_connection_alive() {
    let broker = Broker::start();
    let _agent = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        Inspection {
            steps: 3,
            step_delay: Duration::from_millis(1000),
        },
    )
    .await;
    let mut config = test_config(&broker);
    config.http.keepalive_secs = 1;
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(INSPECT, "online").await;

    // A client that gives up after 1.8 s of silence, like short-timeout HTTP
    // clients and proxies; the task takes about 3 s.
    a2a_mqtt_gateway::install_crypto_provider();
    let impatient = reqwest::Client::builder()
        .read_timeout(Duration::from_millis(1800))
        .build()
        .unwrap();
    let body = request(json!(1), "SendMessage", send_params("slow line"));
    let text = impatient
        .post(gw.agent_url(INSPECT))
        .json(&body)
        .send()
        .await
        .expect("response starts")
        .text()
        .await
        .expect("body arrives despite the read timeout");
    assert!(
        text.starts_with(' '),
        "keep-alive whitespace first: {text:?}"
    );
    let r: Value = serde_json::from_str(&text).expect("still valid JSON");
    assert_eq!(r["id"], 1);
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
}
