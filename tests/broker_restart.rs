//! The broker goes away and comes back: the gateway reconnects, restores its
//! subscriptions and index, and serves again.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples;
use common::*;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";

async fn readyz(gw: &TestGateway) -> (u16, Value) {
    get_json(&format!("{}/readyz", gw.base)).await
}

#[tokio::test]
async fn broker_restart_while_idle() {
    let mut broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let url = gw.agent_url(ECHO);
    let r = rpc(
        &url,
        &request(json!(1), "SendMessage", send_params("before")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );

    broker.stop();
    // Not ready while the broker is away; requests fail with a clear error.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = readyz(&gw).await;
        if status == 503 {
            assert_eq!(body["broker"], "disconnected", "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz stayed 200 with the broker down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = rpc(
        &url,
        &request(json!(2), "SendMessage", send_params("during")),
    )
    .await;
    assert_eq!(r["error"]["code"], -31005, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "BROKER_UNAVAILABLE");
    // The index is kept meanwhile: the card is still served.
    let card = http()
        .get(format!("{url}/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(card.status(), 200);

    broker.restart();
    let back = Instant::now();
    gw.wait_ready(Duration::from_secs(10)).await;
    eprintln!(
        "gateway ready {:?} after the broker came back",
        back.elapsed()
    );
    gw.wait_agent(ECHO, "online").await;
    let r = rpc(
        &url,
        &request(json!(3), "SendMessage", send_params("after")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "after",
        "{r}"
    );
    let (_, body) = readyz(&gw).await;
    assert_eq!(body["agents"], 1);
}

#[tokio::test]
async fn a_short_outage_is_bridged_by_retries() {
    let mut broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let mut config = test_config(&broker);
    config.requests.retry_backoff_ms = 1000; // profile default: 1 s, 2 s
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(ECHO, "online").await;
    let url = gw.agent_url(ECHO);

    broker.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.state.session().is_up() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let call = tokio::spawn(async move {
        rpc(
            &url,
            &request(json!(1), "SendMessage", send_params("bridged")),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.restart();
    let r = call.await.unwrap();
    assert_eq!(
        r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "bridged",
        "{r}"
    );
}

#[tokio::test]
async fn agents_removed_while_the_gateway_was_away_are_dropped_on_resync() {
    let mut broker = Broker::start();
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    raw.publish_retained(
        "$a2a/v1/discovery/acme/u/stays",
        card_json("Stays", false).to_string(),
        &[],
    )
    .await;
    raw.publish_retained(
        "$a2a/v1/discovery/acme/u/goes",
        card_json("Goes", false).to_string(),
        &[],
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    assert_eq!(gw.state.index().len(), 2);

    // The gateway loses the broker; meanwhile "goes" is unregistered.
    broker.stop();
    broker.restart();
    let raw = RawClient::connect(&broker, "test/raw/publisher2", &[]).await;
    raw.publish_retained("$a2a/v1/discovery/acme/u/goes", Vec::<u8>::new(), &[])
        .await;
    gw.wait_ready(Duration::from_secs(10)).await;
    gw.wait_agent_gone("acme/u/goes").await;
    assert!(
        gw.state
            .index()
            .get(&"acme/u/stays".parse().unwrap())
            .is_some()
    );
}

#[tokio::test]
async fn an_open_stream_ends_with_an_error_event_when_the_broker_goes() {
    let mut broker = Broker::start();
    let _agent = start_agent(
        &broker,
        "acme/plant1/inspect",
        samples::inspection_card(),
        samples::Inspection {
            steps: 100,
            step_delay: Duration::from_millis(100),
        },
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent("acme/plant1/inspect", "online").await;
    let mut events = open_stream(
        &gw.agent_url("acme/plant1/inspect"),
        &request(json!(9), "SendStreamingMessage", send_params("line")),
    )
    .await;
    let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(first["result"].get("task").is_some());
    broker.stop();
    let mut last = Value::Null;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        last = e;
    }
    assert_eq!(last["id"], 9);
    assert_eq!(last["error"]["code"], -31005, "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SubscribeToTask")
    );
}
