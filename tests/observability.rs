//! `/metrics` counts what the gateway did.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn metrics_count_calls_agents_and_connection() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, "acme/plant1/echo").await;
    let url = gw.agent_url("acme/plant1/echo");
    for i in 0..3 {
        rpc(&url, &request(json!(i), "SendMessage", send_params("m"))).await;
    }
    rpc(
        &url,
        &request(json!(9), "GetTask", json!({"id": "missing"})),
    )
    .await;
    rpc(
        &gw.agent_url("acme/plant1/ghost"),
        &request(json!(9), "GetTask", json!({"id": "t"})),
    )
    .await;
    http()
        .get(format!("{url}/tasks/missing"))
        .header("A2A-Version", "1.0")
        .send()
        .await
        .unwrap();

    let text = gw.metrics().await;
    for line in [
        "a2a_gateway_calls_total{binding=\"jsonrpc\",method=\"SendMessage\",outcome=\"ok\"} 3",
        "a2a_gateway_calls_total{binding=\"jsonrpc\",method=\"GetTask\",outcome=\"TASK_NOT_FOUND\"} 1",
        "a2a_gateway_calls_total{binding=\"jsonrpc\",method=\"GetTask\",outcome=\"AGENT_NOT_FOUND\"} 1",
        "a2a_gateway_calls_total{binding=\"rest\",method=\"GetTask\",outcome=\"TASK_NOT_FOUND\"} 1",
        "a2a_gateway_agents{status=\"online\"} 1",
        "a2a_gateway_broker_connected 1",
        "a2a_gateway_discovery_synced 1",
        "a2a_gateway_requests_in_flight 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(
        text.contains("a2a_gateway_call_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("a2a_gateway_replies_delivered_total"),
        "{text}"
    );
}
