//! The discovery index and the served cards, over a real broker.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples;
use a2a_mqtt_gateway::mqtt::SessionState;
use common::*;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";

async fn card_of(gw: &TestGateway, agent: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http().get(format!(
        "{}/.well-known/agent-card.json",
        gw.agent_url(agent)
    ));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    status_and_json(req.send().await.unwrap()).await
}

#[tokio::test]
async fn registered_agents_are_served_with_urls_rewritten_to_the_gateway() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;

    let (status, card) = card_of(&gw, ECHO, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(card["name"], "Echo");
    let ifaces = card["supportedInterfaces"].as_array().unwrap();
    assert_eq!(
        ifaces.len(),
        4,
        "JSON-RPC and HTTP+JSON, each in 1.0 and 0.3"
    );
    assert_eq!(
        ifaces[0]["url"],
        format!("{}/agents/acme/plant1/echo", gw.base)
    );
    assert_eq!(ifaces[0]["protocolBinding"], "JSONRPC");
    assert_eq!(ifaces[0]["protocolVersion"], "1.0");

    // Behind a proxy.
    let (_, card) = card_of(
        &gw,
        ECHO,
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "a2a.example.com"),
        ],
    )
    .await;
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        "https://a2a.example.com/agents/acme/plant1/echo"
    );

    // Unknown agent: 404 with a google.rpc.Status body; hostile ids: 400.
    let (status, body) = card_of(&gw, "acme/plant1/nobody", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["details"][0]["reason"], "AGENT_NOT_FOUND");
    let r = http()
        .get(format!(
            "{}/agents/acme/plant%2B1/x/.well-known/agent-card.json",
            gw.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn public_url_from_config_wins() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let mut config = test_config(&broker);
    config.http.public_url = Some("https://gw.example.org/a2a".into());
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(ECHO, "online").await;
    let (_, card) = card_of(&gw, ECHO, &[("X-Forwarded-Host", "ignored.example")]).await;
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        "https://gw.example.org/a2a/agents/acme/plant1/echo"
    );
}

#[tokio::test]
async fn updates_replace_and_empty_retained_unregisters() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    let topic = "$a2a/v1/discovery/acme/line/robot";

    raw.publish_retained(
        topic,
        card_json("Robot", true).to_string(),
        &[("a2a-status", "online"), ("a2a-status-source", "agent")],
    )
    .await;
    gw.wait_agent("acme/line/robot", "online").await;
    let first_seen = gw
        .state
        .index()
        .get(&"acme/line/robot".parse().unwrap())
        .unwrap()
        .first_seen;

    raw.publish_retained(
        topic,
        card_json("Robot v2", true).to_string(),
        &[("a2a-status", "online")],
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, card) = card_of(&gw, "acme/line/robot", &[]).await;
        if card["name"] == "Robot v2" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "update not applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let entry = gw
        .state
        .index()
        .get(&"acme/line/robot".parse().unwrap())
        .unwrap();
    assert_eq!(
        entry.first_seen, first_seen,
        "first_seen kept across updates"
    );
    assert!(entry.last_seen >= first_seen);

    raw.publish_retained(topic, Vec::<u8>::new(), &[]).await;
    gw.wait_agent_gone("acme/line/robot").await;
    let (status, _) = card_of(&gw, "acme/line/robot", &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_killed_agent_is_marked_offline_by_its_will_and_fails_fast() {
    let broker = Broker::start();
    let agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let mut config = test_config(&broker);
    config.requests.reply_first_timeout_ms = 15_000; // the profile default
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent(ECHO, "online").await;

    agent.abort().await; // connection dropped without DISCONNECT
    gw.wait_agent(ECHO, "offline").await;
    let entry = gw.state.index().get(&ECHO.parse().unwrap()).unwrap();
    assert_eq!(entry.status_source.as_deref(), Some("lwt"));

    let started = std::time::Instant::now();
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("hi")),
    )
    .await;
    assert_eq!(r["error"]["code"], -31002, "{r}");
    assert_eq!(r["error"]["data"][0]["reason"], "AGENT_OFFLINE");
    assert!(r["error"]["message"].as_str().unwrap().contains("offline"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed at once, not after 15 s"
    );
    // The card is still served (it is registered, just offline).
    let (status, _) = card_of(&gw, ECHO, &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_graceful_shutdown_republishes_the_card_offline() {
    let broker = Broker::start();
    let (agent, gw) = gateway_with_echo(&broker, ECHO).await;
    agent.shutdown().await;
    gw.wait_agent(ECHO, "offline").await;
    let entry = gw.state.index().get(&ECHO.parse().unwrap()).unwrap();
    assert_eq!(entry.status_source.as_deref(), Some("agent"), "not the LWT");
}

#[tokio::test]
async fn invalid_cards_are_not_indexed_and_do_not_disturb_others() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    raw.publish_retained(
        "$a2a/v1/discovery/acme/line/good",
        card_json("Good", false).to_string(),
        &[],
    )
    .await;

    let mut missing_name = card_json("X", false);
    missing_name.as_object_mut().unwrap().remove("name");
    let mut bad_interfaces = card_json("X", false);
    bad_interfaces["supportedInterfaces"] = json!("mqtt://x");
    let mut huge = card_json("X", false);
    huge["description"] = json!("x".repeat(70 * 1024));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("notjson", b"{this is not json".to_vec(), "not valid JSON"),
        ("array", b"[1,2,3]".to_vec(), "JSON object"),
        (
            "noname",
            missing_name.to_string().into_bytes(),
            "`name` is missing",
        ),
        (
            "badifaces",
            bad_interfaces.to_string().into_bytes(),
            "supportedInterfaces",
        ),
        ("huge", huge.to_string().into_bytes(), "limit"),
        (
            "bad id!",
            card_json("X", false).to_string().into_bytes(),
            "outside",
        ),
    ];
    for (id, payload, _) in &cases {
        raw.publish_retained(
            &format!("$a2a/v1/discovery/acme/line/{id}"),
            payload.clone(),
            &[],
        )
        .await;
    }
    // A card published after the bad ones is still indexed.
    raw.publish_retained(
        "$a2a/v1/discovery/acme/line/late",
        card_json("Late", false).to_string(),
        &[],
    )
    .await;
    gw.wait_agent("acme/line/late", "unknown").await;
    gw.wait_agent("acme/line/good", "unknown").await;
    assert_eq!(gw.state.index().len(), 2);
    for (id, _, reason) in &cases {
        let topic = format!("$a2a/v1/discovery/acme/line/{id}");
        let rejection = gw
            .state
            .index()
            .rejection(&topic)
            .unwrap_or_else(|| panic!("{id} not rejected"));
        assert!(
            rejection.reason.contains(reason),
            "{id}: {}",
            rejection.reason
        );
    }
    let r = rpc(
        &gw.agent_url("acme/line/notjson"),
        &request(json!(1), "GetTask", json!({"id": "t"})),
    )
    .await;
    assert_eq!(r["error"]["code"], -31001, "{r}");
}

#[tokio::test]
async fn readiness_waits_for_the_retained_burst() {
    let broker = Broker::start();
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    for i in 0..500 {
        raw.publish_retained(
            &format!("$a2a/v1/discovery/fleet/u{}/agent{i}", i % 7),
            card_json(&format!("Agent {i}"), false).to_string(),
            &[("a2a-status", "online")],
        )
        .await;
    }
    // Let the broker store them all (our publishes are queued in order).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gw = TestGateway::start(&broker).await; // returns once /readyz is 200
    assert_eq!(
        gw.state.index().len(),
        500,
        "ready only after the whole burst"
    );
    let ready: Value = http()
        .get(format!("{}/readyz", gw.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["agents"], 500);
    assert_eq!(ready["discovery"], "synced");
    let health = http()
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn discovery_filters_limit_what_is_indexed() {
    let broker = Broker::start();
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    raw.publish_retained(
        "$a2a/v1/discovery/acme/u/a",
        card_json("A", false).to_string(),
        &[],
    )
    .await;
    raw.publish_retained(
        "$a2a/v1/discovery/other/u/b",
        card_json("B", false).to_string(),
        &[],
    )
    .await;
    let mut config = test_config(&broker);
    config.discovery.filters = vec!["$a2a/v1/discovery/acme/+/+".into()];
    let gw = TestGateway::start_with(config).await;
    gw.wait_agent("acme/u/a", "unknown").await;
    assert!(
        gw.state
            .index()
            .get(&"other/u/b".parse().unwrap())
            .is_none()
    );
    assert_eq!(gw.state.index().len(), 1);
}

/// HTTP/2 requests carry the host as `:authority`, not `Host`: the served card
/// must still name the address the client used, not `http.listen`.
#[tokio::test]
async fn cards_fetched_over_http2_point_at_the_address_the_client_used() {
    let broker = Broker::start();
    let (_agent, gw) = gateway_with_echo(&broker, ECHO).await;
    // `localhost`, not the 127.0.0.1 the gateway listens on, nor http.listen's port.
    let base = format!("http://localhost:{}", gw.addr.port());
    assert_ne!(gw.state.config().http.listen, gw.addr.to_string());
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2
        .get(format!(
            "{base}/agents/acme/plant1/echo/.well-known/agent-card.json"
        ))
        .header("A2A-Version", "1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let card: Value = r.json().await.unwrap();
    let expected = format!("{base}/agents/acme/plant1/echo");
    assert_eq!(card["supportedInterfaces"][0]["url"], expected, "{card:#}");
    // The registry names the same endpoint.
    let registry = h2
        .get(format!("{base}/api/v1/agents/acme/plant1/echo"))
        .send()
        .await
        .unwrap();
    let (_, entry) = status_and_json(registry).await;
    assert!(entry.to_string().contains(&expected), "{entry:#}");
}

/// `a2a_gateway_invalid_cards_total` from `/metrics`.
async fn invalid_cards_metric(gw: &TestGateway) -> u64 {
    let text = gw.metrics().await;
    assert!(
        text.contains("# HELP a2a_gateway_invalid_cards Agent cards refused as invalid"),
        "{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("a2a_gateway_invalid_cards_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no invalid cards counter in {text}"))
}

/// An invalid card is reported once, however often the broker delivers it
/// (retained cards come again on every reconnect); a new invalid card counts.
#[tokio::test]
async fn invalid_cards_are_counted_once_per_distinct_card() {
    let mut broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    assert_eq!(invalid_cards_metric(&gw).await, 0);
    let topic = "$a2a/v1/discovery/acme/line/broken";
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    raw.publish_retained(topic, "{not json", &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.state.index().rejection(topic).is_none() {
        assert!(Instant::now() < deadline, "the card was never refused");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(invalid_cards_metric(&gw).await, 1);
    // The same card again, live...
    raw.publish_retained(topic, "{not json", &[]).await;
    // ...and in the retained burst of the session after a broker restart.
    drop(raw);
    broker.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = gw.state.session().state();
        if matches!(state, SessionState::Up { generation } if generation >= 2)
            && gw.state.index().is_synced()
        {
            break;
        }
        assert!(Instant::now() < deadline, "no resync after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        invalid_cards_metric(&gw).await,
        1,
        "the same card counts once"
    );
    let raw = RawClient::connect(&broker, "test/raw/publisher2", &[]).await;
    // A different invalid card on the same topic is news.
    raw.publish_retained(topic, "[]", &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while invalid_cards_metric(&gw).await != 2 {
        assert!(Instant::now() < deadline, "the new card was not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
