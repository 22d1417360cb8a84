//! An echo agent on MQTT: repeats the text it gets as an artifact; a message
//! starting with `/ask` makes it ask a question first (INPUT_REQUIRED).
//!
//! ```sh
//! cargo run --example echo_agent -- mqtt://127.0.0.1:1883 acme/plant1/echo
//! ```

use a2a_mqtt_gateway::agent::{Agent, samples};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let broker = args
        .next()
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let addr = args.next().unwrap_or_else(|| "demo/factory/echo".into());
    let mut ids = addr.splitn(3, '/');
    let (org, unit, name) = match (ids.next(), ids.next(), ids.next()) {
        (Some(o), Some(u), Some(a)) => (o, u, a),
        _ => return Err(format!("agent address {addr:?} must be org/unit/agent").into()),
    };

    let agent = Agent::builder(org, unit, name)?
        .broker(&broker)?
        .card_from(samples::echo_card())
        .start(samples::echo)
        .await?;
    println!("echo agent {addr} serving via {broker}; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    agent.shutdown().await; // republishes the card offline, then disconnects
    Ok(())
}
