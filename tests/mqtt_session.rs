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
