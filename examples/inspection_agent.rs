//! A long-running "inspection" agent: walks a production line station by
//! station, streaming progress and report lines for tens of seconds, and stops
//! at once when the task is cancelled.
//!
//! ```sh
//! cargo run --example inspection_agent -- mqtt://127.0.0.1:1883 acme/plant1/inspect 10 3
//! #                                       broker               address           steps seconds-per-step
//! ```

use std::time::Duration;

use a2a_mqtt_gateway::agent::{Agent, samples};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let broker = args
        .next()
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let addr = args.next().unwrap_or_else(|| "demo/factory/inspect".into());
    let steps: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let secs: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3.0);
    let mut ids = addr.splitn(3, '/');
    let (org, unit, name) = match (ids.next(), ids.next(), ids.next()) {
        (Some(o), Some(u), Some(a)) => (o, u, a),
        _ => return Err(format!("agent address {addr:?} must be org/unit/agent").into()),
    };

    let handler = samples::Inspection {
        steps,
        step_delay: Duration::from_secs_f64(secs),
    };
    let agent = Agent::builder(org, unit, name)?
        .broker(&broker)?
        .card_from(samples::inspection_card())
        .start(handler)
        .await?;
    println!(
        "inspection agent {addr} serving via {broker} ({steps} steps x {secs}s); Ctrl-C to stop"
    );
    tokio::signal::ctrl_c().await?;
    agent.shutdown().await;
    Ok(())
}
