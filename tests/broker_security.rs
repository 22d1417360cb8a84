//! TLS (rustls) and username/password to the broker, against a Mosquitto that
//! requires them.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::{Agent, samples};
use a2a_mqtt_gateway::config::Secret;
use a2a_mqtt_gateway::mqtt::TlsFiles;
use common::*;
use serde_json::json;

const ECHO: &str = "secure/plant/echo";

fn secure_config(
    broker: &Broker,
    tls: &TlsMaterial,
    password: &str,
) -> a2a_mqtt_gateway::config::Config {
    let mut c = test_config(broker);
    c.mqtt.url = broker.tls_url();
    c.mqtt.username = Some("gateway".into());
    c.mqtt.password = Some(Secret::new(password));
    c.mqtt.tls.ca_file = Some(tls.ca.clone());
    c
}

async fn secure_agent(broker: &Broker, tls: TlsFiles) -> a2a_mqtt_gateway::agent::RunningAgent {
    let agent = Agent::builder("secure", "plant", "echo")
        .unwrap()
        .broker(&broker.tls_url())
        .unwrap()
        .credentials("gateway", "s3cret")
        .tls(tls)
        .card_from(samples::echo_card())
        .start(samples::echo)
        .await
        .expect("agent starts");
    assert!(
        agent.wait_online(Duration::from_secs(10)).await,
        "agent online over TLS"
    );
    agent
}

#[tokio::test]
async fn gateway_and_agents_work_over_tls_with_a_password() {
    let (broker, tls) = Broker::start_secure("gateway", "s3cret", false);
    let _agent = secure_agent(
        &broker,
        TlsFiles {
            ca_file: Some(tls.ca.clone()),
            ..TlsFiles::default()
        },
    )
    .await;
    let gw = TestGateway::start_with(secure_config(&broker, &tls, "s3cret")).await;
    gw.wait_agent(ECHO, "online").await;
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("over tls")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "over tls",
        "{r}"
    );
}

#[tokio::test]
async fn a_wrong_password_keeps_the_gateway_unready() {
    let (broker, tls) = Broker::start_secure("gateway", "s3cret", false);
    let gw =
        a2a_mqtt_gateway::gateway::Gateway::start(secure_config(&broker, &tls, "wrong")).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!gw.state().session().is_up());
    assert!(!gw.state().is_ready());
}

#[tokio::test]
async fn an_unknown_ca_is_refused() {
    let (broker, tls) = Broker::start_secure("gateway", "s3cret", false);
    let (_other, other_tls) = Broker::start_secure("x", "y", false);
    let mut config = secure_config(&broker, &tls, "s3cret");
    config.mqtt.tls.ca_file = Some(other_tls.ca.clone());
    let gw = a2a_mqtt_gateway::gateway::Gateway::start(config).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !gw.state().session().is_up(),
        "a broker whose certificate we cannot verify is not used"
    );
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate() {
    let (broker, tls) = Broker::start_secure("gateway", "s3cret", true);
    // Without a client certificate: refused.
    let gw =
        a2a_mqtt_gateway::gateway::Gateway::start(secure_config(&broker, &tls, "s3cret")).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !gw.state().session().is_up(),
        "no client certificate, no session"
    );
    drop(gw);

    let mut config = secure_config(&broker, &tls, "s3cret");
    config.mqtt.tls.client_cert_file = Some(tls.client_cert.clone());
    config.mqtt.tls.client_key_file = Some(tls.client_key.clone());
    let started = Instant::now();
    let gw = TestGateway::start_with(config).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let _agent = secure_agent(
        &broker,
        TlsFiles {
            ca_file: Some(tls.ca.clone()),
            client_cert_file: Some(tls.client_cert.clone()),
            client_key_file: Some(tls.client_key.clone()),
        },
    )
    .await;
    gw.wait_agent(ECHO, "online").await;
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("mtls")),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "mtls",
        "{r}"
    );
}
