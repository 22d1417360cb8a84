//! The MQTT session wrapper against a real broker: bursts of QoS 1 publishes
//! through a small in-flight window all arrive, in order, also across shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use a2a_mqtt_gateway::mqtt::{Inbound, MqttSession, OutgoingMessage, Publish, QoS, SessionOptions};
use common::*;

struct Ignore;

impl Inbound for Ignore {
    fn on_publish(&self, _: &Publish) {}
}

async fn burst(broker: &Broker, max_inflight: u16, n: usize) -> Vec<usize> {
    let mut sub = RawClient::connect(broker, "test/burst/sub", &["burst/#"]).await;
    let mut options = SessionOptions::new(
        format!("test/burst/pub{max_inflight}"),
        broker.url().parse().expect("url"),
    );
    options.max_inflight = max_inflight;
    options.request_queue = n + 16;
    let session = MqttSession::start(options, Arc::new(Ignore)).expect("session");
    assert!(session.handle().wait_up(Duration::from_secs(10)).await);
    for i in 0..n {
        let mut msg = OutgoingMessage::new("burst/x", i.to_string());
        msg.qos = QoS::AtLeastOnce;
        session
            .handle()
            .publish(msg, Duration::from_secs(10))
            .await
            .expect("queued");
    }
    session.shutdown(Duration::from_secs(10)).await;
    let mut got = Vec::new();
    while let Some(p) = sub.next(Duration::from_millis(500)).await {
        got.push(
            String::from_utf8_lossy(&p.payload)
                .parse()
                .unwrap_or(usize::MAX),
        );
    }
    got
}

#[tokio::test]
async fn a_burst_through_a_small_window_arrives_whole_and_in_order() {
    let broker = Broker::start();
    for window in [8u16, 256] {
        let got = burst(&broker, window, 2000).await;
        let expected: Vec<usize> = (0..2000).collect();
        let missing: Vec<usize> = expected
            .iter()
            .copied()
            .filter(|i| !got.contains(i))
            .collect();
        eprintln!("window {window}: missing {missing:?}");
        assert_eq!(
            got.len(),
            2000,
            "window {window}: {} of 2000 arrived",
            got.len()
        );
        assert_eq!(got, expected, "window {window}: in order");
    }
}

/// A broker that accepts the connection, answers CONNACK, then never reads or
/// answers again (stalled, as a hung or SIGSTOPped broker is): nothing is ever
/// acknowledged, so the in-flight window and then the queue fill up.
async fn stalled_broker() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        // MQTT 5 CONNACK: no session present, success, no properties.
        socket
            .write_all(&[0x20, 0x03, 0x00, 0x00, 0x00])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        drop(socket);
    });
    (addr, task)
}

#[tokio::test]
async fn a_stalled_broker_makes_publishes_fail_at_once_with_queue_full() {
    use a2a_mqtt_gateway::mqtt::PublishError;
    let (addr, broker) = stalled_broker().await;
    let mut options = SessionOptions::new(
        "test/stalled/pub",
        format!("mqtt://{addr}").parse().expect("url"),
    );
    options.request_queue = 1;
    options.max_inflight = 1;
    let session = MqttSession::start(options, Arc::new(Ignore)).expect("session");
    let handle = session.handle();
    assert!(
        handle.wait_up(Duration::from_secs(10)).await,
        "CONNACK read"
    );

    // One publish in flight (never acknowledged), one waiting in the queue of
    // one; the next is refused. Every call returns at once.
    let mut outcomes = Vec::new();
    for i in 0..4 {
        let started = std::time::Instant::now();
        let outcome = handle.try_publish(OutgoingMessage::new("stalled/x", i.to_string()));
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(200),
            "try_publish waited {took:?}"
        );
        outcomes.push(outcome);
        // Let the owner task take what it can before the next one.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outcomes[0], Ok(()), "{outcomes:?}");
    assert_eq!(
        outcomes.last().unwrap(),
        &Err(PublishError::QueueFull { capacity: 1 }),
        "{outcomes:?}"
    );
    // A bad topic is named as such, not taken for a full queue.
    assert_eq!(
        handle.try_publish(OutgoingMessage::new("stalled/+/x", "x")),
        Err(PublishError::InvalidTopic("stalled/+/x".into()))
    );
    // The awaiting variant gives up after its timeout rather than waiting on.
    let started = std::time::Instant::now();
    let waited = handle
        .publish(
            OutgoingMessage::new("stalled/x", "late"),
            Duration::from_millis(100),
        )
        .await;
    assert_eq!(waited, Err(PublishError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(2));

    // A dropped session (its owner task aborted) is stopped, not "full".
    drop(session);
    assert_eq!(
        handle.try_publish(OutgoingMessage::new("stalled/x", "after")),
        Err(PublishError::Stopped)
    );
    broker.abort();
}
