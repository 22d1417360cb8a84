//! Malformed input at the HTTP edge gets the right JSON-RPC error, never a hang.

mod common;

use a2a_mqtt_gateway::agent::samples;
use common::*;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";

async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = http()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    status_and_json(r).await
}

#[tokio::test]
async fn envelope_errors() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let url = gw.agent_url(ECHO);

    let cases: Vec<(&str, i64, Value)> = vec![
        ("{\"jsonrpc\": \"2.0\", \"id\": 1, ", -32700, Value::Null),
        ("not json at all", -32700, Value::Null),
        (
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\"}]",
            -32600,
            Value::Null,
        ),
        ("\"a string\"", -32600, Value::Null),
        (
            "{\"jsonrpc\":\"2.0\",\"method\":\"GetTask\"}",
            -32600,
            Value::Null,
        ),
        (
            "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"GetTask\"}",
            -32600,
            json!(3),
        ),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"message/sendd\"}",
            -32601,
            json!(4),
        ),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"GetTask\",\"params\":{}}",
            -32602,
            json!(5),
        ),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"GetTask\",\"params\":[\"x\"]}",
            -32602,
            json!(6),
        ),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"SendMessage\",\"params\":{\"message\":{\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"a\",\"data\":{}}]}}}",
            -32602,
            json!("s"),
        ),
    ];
    for (body, code, id) in cases {
        let (status, r) = post_raw(&url, body.to_owned()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(r["error"]["code"], code, "{body} -> {r}");
        assert_eq!(r["id"], id, "{body} -> {r}");
        assert!(!r["error"]["message"].as_str().unwrap().is_empty());
    }

    // The batch error says why.
    let (_, r) = post_raw(&url, "[]").await;
    assert!(
        r["error"]["message"].as_str().unwrap().contains("batch"),
        "{r}"
    );
    // Bad params name the field.
    let (_, r) = post_raw(
        &url,
        r#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"nope":1}]}}}"#,
    )
    .await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("message.parts[0]"),
        "{r}"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let broker = Broker::start();
    let mut config = test_config(&broker);
    config.http.max_body_bytes = 64 * 1024;
    let gw = TestGateway::start_with(config).await;
    let big = request(
        json!(1),
        "SendMessage",
        send_params(&"x".repeat(100 * 1024)),
    );
    let (status, r) = post_raw(&gw.agent_url(ECHO), big.to_string()).await;
    assert_eq!(status, 413);
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["error"]["data"][0]["reason"], "BODY_TOO_LARGE");

    // Same without a Content-Length (chunked): still refused, not buffered.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, _) = post_raw(&gw.agent_url(ECHO), body).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn requests_larger_than_the_mqtt_packet_limit_are_refused_cleanly() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let mut config = test_config(&broker);
    config.mqtt.max_packet_size = 32 * 1024;
    config.discovery.max_card_bytes = 16 * 1024;
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(ECHO, "online").await;
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params(&"y".repeat(40 * 1024))),
    )
    .await;
    assert_eq!(
        r["error"]["data"][0]["reason"], "REQUEST_TOO_LARGE_FOR_BROKER",
        "{r}"
    );
    // The session survived: a normal request still works.
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(2), "SendMessage", send_params("small")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
}

#[tokio::test]
async fn unknown_agents_and_hostile_ids_fail_before_any_topic_is_built() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    // Watch everything published under $a2a: nothing may appear.
    let mut spy = RawClient::connect(&broker, "test/raw/spy", &["$a2a/v1/request/#"]).await;

    let r = rpc(
        &gw.agent_url("acme/plant1/ghost"),
        &request(json!(1), "GetTask", json!({"id": "t"})),
    )
    .await;
    assert_eq!(r["error"]["code"], -31001, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "AGENT_NOT_FOUND");

    for path in [
        "acme/plant%2B1/x",
        "acme/%23/x",
        "acme/plant1/%24SYS",
        "acme/plant1/a%2Fb",
        &format!("acme/plant1/{}", "a".repeat(200)),
    ] {
        let r = rpc(
            &format!("{}/agents/{path}", gw.base),
            &request(json!(2), "GetTask", json!({"id": "t"})),
        )
        .await;
        assert_eq!(r["error"]["code"], -32602, "{path}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("invalid agent address"),
            "{r}"
        );
    }
    assert!(
        spy.next(std::time::Duration::from_millis(300))
            .await
            .is_none(),
        "nothing published"
    );

    // Unknown routes: JSON 404.
    let r = http()
        .get(format!("{}/nope", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
}

#[tokio::test]
async fn streaming_to_a_non_streaming_agent_is_refused_by_its_card() {
    let broker = Broker::start();
    let _agent = start_agent(
        &broker,
        ECHO,
        samples::echo_card().streaming(false),
        samples::echo,
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let (ct, events) = rpc_stream(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendStreamingMessage", send_params("x")),
    )
    .await;
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_eq!(events[0]["error"]["code"], -32004, "{events:?}");
    // Blocking SendMessage still works (sent as SendMessage over MQTT).
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(2), "SendMessage", send_params("plain")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "plain",
        "{r}"
    );
}

#[tokio::test]
async fn malformed_paths_and_parts_get_the_gateway_error_format() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    // Invalid UTF-8 in a percent-encoded id.
    let r = rpc(
        &format!("{}/agents/%FF/plant1/echo", gw.base),
        &request(json!(1), "GetTask", json!({"id": "t"})),
    )
    .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = http()
        .get(format!("{}/agents/%FF/plant1/echo/tasks/t", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["reason"], "INVALID_PARAMS");
    // Raw bytes that are not base64; data that is null.
    let bad = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"raw": "!!"}]}});
    let r = rpc(&gw.agent_url(ECHO), &request(json!(2), "SendMessage", bad)).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("base64"));
    let null_data =
        json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"data": null}]}});
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(3), "SendMessage", null_data),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
}

/// A client that sends part of its headers and then nothing is disconnected
/// after `http.header_read_timeout_secs`; other clients are served meanwhile.
#[tokio::test]
async fn clients_that_never_finish_their_headers_are_cut_off() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let broker = Broker::start();
    let mut config = test_config(&broker);
    config.http.header_read_timeout_secs = 1;
    let gw = TestGateway::start_with(config).await;

    let mut slow = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();

    // Served while the slow client holds its connection.
    let r = http()
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    let closed_after = started.elapsed();
    assert!(
        matches!(read, Ok(Ok(_)) | Ok(Err(_))),
        "the connection was still open after 5 s"
    );
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed too early: {closed_after:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected reply to a half-sent request: {text}"
    );
    eprintln!(
        "slow-header client cut off after {} ms",
        closed_after.as_millis()
    );
}

/// Request heads up to `http.max_header_bytes` are served; larger ones get 431
/// and the connection is closed, not buffered.
#[tokio::test]
async fn request_heads_over_the_limit_get_431() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let url = format!("{}/healthz", gw.base);
    for (header_kib, status) in [(6, 200), (9, 431)] {
        let r = http()
            .get(&url)
            .header("x-padding", "x".repeat(header_kib * 1024))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "a {header_kib} KiB header");
    }
}
