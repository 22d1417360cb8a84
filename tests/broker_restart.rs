//! The broker goes away and comes back: the gateway reconnects, restores its
//! subscriptions and index, and serves again.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples;
use common::procs::start_gateway;
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

/// One `key=value` field of a log line, as a number.
fn log_field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// The broker is away for 1.5 s. Meanwhile a listener on its port accepts
/// every connection and closes it at once, so each reconnect attempt of a
/// gateway process is seen (its time of arrival) and fails fast. The backoff
/// is set to what the defaults are: 100 ms doubling up to 1 s, ±20 % jitter.
///
/// Asserts: a few attempts, not a loop (at most 6 in the window; the backoff
/// gives 3 to 5); the gap before each later attempt is at least its nominal
/// delay less the jitter (160, 320, 640 ms, ...: a loaded machine makes timers
/// late, never early), less 50 ms for this test's own scheduling; the gateway
/// logs those attempts (`attempt`, `retry_in_ms`) with the delays the backoff
/// prescribes; it is ready again once the broker is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_attempts_back_off_during_an_outage() {
    let mut broker = Broker::start();
    let gw = start_gateway(
        &broker,
        "restart-backoff",
        &[
            ("A2A_GATEWAY__MQTT__RECONNECT_INITIAL_MS", "100"),
            ("A2A_GATEWAY__MQTT__RECONNECT_MAX_MS", "1000"),
        ],
    )
    .await;
    let nominal_ms = |attempt: u32| (100u64 << (attempt.min(10) - 1)).min(1000);

    tokio::task::block_in_place(|| broker.stop());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", broker.port))
        .await
        .expect("the broker's port is free once it has stopped");
    let t0 = Instant::now();
    let window = Duration::from_millis(1500);
    let mut arrivals = Vec::new();
    while let Ok(accepted) = tokio::time::timeout_at((t0 + window).into(), listener.accept()).await
    {
        let (conn, _) = accepted.expect("accept");
        arrivals.push(t0.elapsed());
        drop(conn);
    }
    drop(listener);
    tokio::task::block_in_place(|| broker.restart());
    let ready = gw.wait_ready(Duration::from_secs(10)).await;

    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    let log = gw.proc.log();
    let logged: Vec<(u64, u64)> = log
        .lines()
        .filter(|l| l.contains("cannot reach MQTT broker"))
        .filter_map(|l| Some((log_field(l, "attempt")?, log_field(l, "retry_in_ms")?)))
        .collect();
    eprintln!(
        "outage of {} ms: {} connection attempts at {:?} ms (gaps {gaps:?} ms); \
         logged (attempt, retry_in_ms): {logged:?}; ready {} ms after the broker's return",
        window.as_millis(),
        arrivals.len(),
        arrivals.iter().map(Duration::as_millis).collect::<Vec<_>>(),
        ready.as_millis()
    );
    assert!(
        (2..=6).contains(&arrivals.len()),
        "{} reconnect attempts in {window:?} (backoff: 3 or 4); gaps {gaps:?} ms",
        arrivals.len()
    );
    for (i, gap) in gaps.iter().enumerate() {
        // The first arrival is the first attempt, or a later one if the
        // listener was bound late: either way the gap is at least the delay,
        // less the jitter, less up to 50 ms this test may have taken to
        // notice the earlier arrival.
        let floor = (nominal_ms(i as u32 + 2) * 8 / 10).saturating_sub(50);
        assert!(
            *gap >= u128::from(floor),
            "gap {i} between attempts was {gap} ms, below the backoff's {floor} ms: {gaps:?}"
        );
    }
    // Each failure is logged with the delay before the next attempt, the
    // first three and then every power of two (so a long outage does not flood
    // the log); two arrivals mean at least three lines.
    assert!(
        logged.len() >= 3,
        "too few logged attempts: {logged:?}\n{}",
        gw.proc.log_tail(20)
    );
    let expected = (1..).filter(|n: &u64| *n <= 3 || n.is_power_of_two());
    for ((attempt, retry_in_ms), want) in logged.iter().zip(expected) {
        assert_eq!(*attempt, want, "logged attempts: {logged:?}");
        let nominal = nominal_ms(*attempt as u32);
        assert!(
            (nominal * 8 / 10..=nominal * 12 / 10).contains(retry_in_ms),
            "attempt {attempt}: retry in {retry_in_ms} ms, backoff says {nominal} ms ±20 %: {logged:?}"
        );
    }
}
