//! `a2a-gateway demo`: an embedded broker, sample agents and the gateway in one
//! process, so a newcomer sees the whole path work with one command.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::agent::samples::{self, Inspection};
use crate::agent::{Agent, RunningAgent};
use crate::config::Config;
use crate::embedded_broker::EmbeddedBroker;
use crate::gateway::{ClientIdForm, Gateway};

/// Sample agents the demo registers.
pub const DEMO_AGENTS: [&str; 2] = ["demo/factory/echo", "demo/factory/inspect"];

/// Runs the demo until `shutdown` resolves, then stops everything cleanly.
pub async fn run(
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let broker = EmbeddedBroker::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| e.to_string())?;
    let broker_url = broker.url();

    let echo = start_sample(&broker_url, "echo", |b| {
        b.card_from(samples::echo_card()).start(samples::echo)
    })
    .await?;
    let inspect = start_sample(&broker_url, "inspect", |b| {
        b.card_from(samples::inspection_card())
            .start(Inspection::default())
    })
    .await?;

    let mut config = Config::default();
    config.mqtt.url = broker_url.clone();
    config.http.listen = listen.to_string();
    config.discovery.sync_quiet_ms = 50;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // The embedded broker refuses `/` in client ids; every session of the demo
    // uses the fallback form from the start instead of being refused first.
    let gateway = Gateway::start_with_client_ids(config, ClientIdForm::Fallback)
        .map_err(|e| e.to_string())?;
    let state = gateway.state().clone();
    let server = tokio::spawn(gateway.serve(listener, shutdown));

    // Wait until the gateway has indexed the samples, then say how to try it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(state.is_ready() && state.index().len() >= DEMO_AGENTS.len()) {
        if tokio::time::Instant::now() > deadline {
            return Err("the demo gateway did not become ready within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A closed stdout (`demo | head`) must not stop a running demo: the banner
    // is a courtesy, so failing to print it is ignored.
    let _ = crate::cli::output::line(banner(local, &broker_url));

    server
        .await
        .map_err(|e| format!("gateway task failed: {e}"))?;
    echo.shutdown().await;
    inspect.shutdown().await;
    broker.stop().await;
    let _ = crate::cli::output::line("demo stopped");
    Ok(())
}

async fn start_sample<F, Fut>(
    broker_url: &str,
    name: &str,
    start: F,
) -> Result<RunningAgent, String>
where
    F: FnOnce(crate::agent::AgentBuilder) -> Fut,
    Fut: Future<Output = Result<RunningAgent, crate::agent::AgentError>>,
{
    let builder = Agent::builder("demo", "factory", name)
        .map_err(|e| e.to_string())?
        .broker(broker_url)
        .map_err(|e| e.to_string())?
        .session(|o| ClientIdForm::Fallback.apply(o));
    let agent = start(builder).await.map_err(|e| e.to_string())?;
    if !agent.wait_online(Duration::from_secs(10)).await {
        return Err(format!("sample agent {name} did not come online"));
    }
    Ok(agent)
}

/// What the demo prints once ready: URLs and curl lines that work as pasted.
pub fn banner(local: SocketAddr, broker_url: &str) -> String {
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let base = format!("http://{}", SocketAddr::new(host, local.port()));
    format!(
        r#"
a2a-gateway demo is running
  gateway        {base}
  MQTT broker    {broker_url}   (embedded, in memory)
  agents         {base}/agents/demo/factory/echo
                 {base}/agents/demo/factory/inspect   (streams progress for ~30 s)

Try:
  curl -s {base}/agents/demo/factory/echo/.well-known/agent-card.json

  curl -s {base}/agents/demo/factory/echo -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{{"message":{{"messageId":"m1","role":"ROLE_USER","parts":[{{"text":"hello"}}]}}}}}}'

  curl -sN {base}/agents/demo/factory/inspect -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":2,"method":"SendStreamingMessage","params":{{"message":{{"messageId":"m2","role":"ROLE_USER","parts":[{{"text":"line 4"}}]}}}}}}'

Press Ctrl-C to stop.
"#
    )
}
