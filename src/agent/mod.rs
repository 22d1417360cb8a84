//! The agent SDK: write one async handler, get an A2A agent on MQTT that follows
//! the *A2A over MQTT* profile.
//!
//! What the SDK does for you:
//!
//! - publishes the card retained (QoS 1) on `$a2a/v1/discovery/{org}/{unit}/{agent}`
//!   with `a2a-status=online`, `a2a-status-source=agent`, again after every
//!   reconnect; sets a Last Will that republishes it with `a2a-status=offline`,
//!   `a2a-status-source=lwt`; on [`RunningAgent::shutdown`] republishes it offline
//!   itself before disconnecting;
//! - serves SendMessage, SendStreamingMessage, GetTask, ListTasks, CancelTask and
//!   SubscribeToTask on `$a2a/v1/request/{org}/{unit}/{agent}` from an in-memory
//!   task store, streaming every status and artifact update;
//! - deduplicates retries by `Task.id` (a repeated message returns the existing
//!   task), refuses a `contextId` that differs from the task's (-32602), echoes
//!   Correlation Data byte for byte, and answers `responder_unavailable` (-32004)
//!   when its limits are reached.
//!
//! ```no_run
//! use a2a_mqtt_gateway::agent::{Agent, CardBuilder, TaskContext, HandlerError};
//!
//! async fn echo(task: TaskContext) -> Result<(), HandlerError> {
//!     let text = task.text();
//!     task.artifact_text("echo", text);
//!     Ok(()) // the task completes
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = Agent::builder("acme", "plant1", "echo")?
//!     .broker("mqtt://127.0.0.1:1883")?
//!     .card_from(CardBuilder::new("Echo", "Repeats what you say")
//!         .skill("echo", "Echo", "Returns the input text", &["demo"]))
//!     .start(echo)
//!     .await?;
//! tokio::signal::ctrl_c().await?;
//! agent.shutdown().await;
//! # Ok(()) }
//! ```

mod card;
mod context;
pub mod samples;
mod server;
pub mod store;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use card::{CardBuilder, MQTT_BINDING};
pub use context::{Handler, HandlerError, HandlerFuture, TaskContext};
pub use server::ServerLimits;

use crate::a2a::card::{CardError, validate};
use crate::a2a::types::{Message, Task, TaskState, TaskStatus};
use crate::mqtt::broker_url::BrokerUrlError;
use crate::mqtt::session::SessionError;
use crate::mqtt::topics::IdError;
use crate::mqtt::{
    AgentAddr, BrokerUrl, MqttSession, OutgoingMessage, PublishProperties, QoS, STATUS_PROPERTY,
    STATUS_SOURCE_PROPERTY, SessionHandle, SessionOptions, SessionState, TlsFiles, Will,
};

/// Largest card the SDK publishes (the gateway's default limit).
const MAX_CARD_BYTES: usize = 64 * 1024;

/// Shortest MQTT keep-alive the SDK accepts: rumqttc's MQTT 5 client panics
/// below 5 s, so a shorter one is refused with an error before it gets there.
pub const MIN_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the agent has no card: call .card() or .card_from()")]
    MissingCard,
    #[error("the agent's card is invalid: {0}")]
    InvalidCard(#[from] CardError),
    #[error("keep-alive {0:?} is too short: the MQTT client needs at least {MIN_KEEP_ALIVE:?}")]
    KeepAliveTooShort(Duration),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// Entry point of the SDK.
pub struct Agent;

impl Agent {
    /// Starts describing the agent `{org}/{unit}/{agent}`.
    pub fn builder(org: &str, unit: &str, agent: &str) -> Result<AgentBuilder, IdError> {
        let addr = AgentAddr::new(org, unit, agent)?;
        let broker = BrokerUrl {
            host: "127.0.0.1".into(),
            port: 1883,
            tls: false,
        };
        Ok(AgentBuilder {
            options: SessionOptions::for_profile_id(org, unit, agent, broker),
            addr,
            card: None,
            card_builder: None,
            limits: ServerLimits::default(),
            task_capacity: 10_000,
            queue: 1024,
        })
    }
}

/// Configures an agent before it starts.
pub struct AgentBuilder {
    addr: AgentAddr,
    options: SessionOptions,
    card: Option<Value>,
    card_builder: Option<CardBuilder>,
    limits: ServerLimits,
    task_capacity: usize,
    queue: usize,
}

impl AgentBuilder {
    /// The broker, `mqtt://host:port` or `mqtts://host:port` (default
    /// `mqtt://127.0.0.1:1883`).
    pub fn broker(mut self, url: &str) -> Result<Self, BrokerUrlError> {
        self.options.broker = url.parse()?;
        Ok(self)
    }

    /// Username and password for the broker.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.options.username = Some(username.into());
        self.options.password = Some(password.into());
        self
    }

    /// TLS files for an `mqtts://` broker.
    pub fn tls(mut self, files: TlsFiles) -> Self {
        self.options.tls = files;
        self
    }

    /// The Agent Card to publish, as JSON.
    pub fn card(mut self, card: Value) -> Self {
        self.card = Some(card);
        self
    }

    /// The Agent Card, built for this agent and broker when the agent starts.
    pub fn card_from(mut self, builder: CardBuilder) -> Self {
        self.card_builder = Some(builder);
        self
    }

    /// Handlers running at once (default 64).
    pub fn max_concurrent_tasks(mut self, n: usize) -> Self {
        self.limits.max_concurrent_tasks = n.max(1);
        self
    }

    /// Streams, subscriptions and blocking sends answered at once (default 1024).
    pub fn max_open_streams(mut self, n: usize) -> Self {
        self.limits.max_open_streams = n.max(1);
        self
    }

    /// Tasks kept in memory; finished ones are evicted first (default 10 000).
    pub fn task_capacity(mut self, n: usize) -> Self {
        self.task_capacity = n.max(1);
        self
    }

    /// How long a cancelled handler may run on before it is aborted (default 5 s).
    pub fn cancel_grace(mut self, d: Duration) -> Self {
        self.limits.cancel_grace = d;
        self
    }

    /// MQTT keep-alive; the broker declares the agent dead (and publishes its
    /// Last Will) after 1.5 times this without traffic (default 30 s, at least
    /// [`MIN_KEEP_ALIVE`]: [`AgentBuilder::start`] refuses shorter ones).
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.options.keep_alive = d;
        self
    }

    /// Direct access to the session options (reconnect timing, packet size...).
    pub fn session(mut self, f: impl FnOnce(&mut SessionOptions)) -> Self {
        f(&mut self.options);
        self
    }

    /// Connects and starts serving. Returns once the session is started; use
    /// [`RunningAgent::wait_online`] to wait for the card to be published.
    pub async fn start(self, handler: impl Handler) -> Result<RunningAgent, AgentError> {
        if self.options.keep_alive < MIN_KEEP_ALIVE {
            return Err(AgentError::KeepAliveTooShort(self.options.keep_alive));
        }
        let card = match (self.card, self.card_builder) {
            (Some(card), _) => card,
            (None, Some(b)) => b.build(&self.addr, &self.options.broker),
            (None, None) => return Err(AgentError::MissingCard),
        };
        let card_bytes = Bytes::from(card.to_string());
        validate(&card_bytes, MAX_CARD_BYTES)?;

        let mut options = self.options;
        let request_topic = self.addr.request_topic();
        options.subscriptions = vec![(request_topic, QoS::AtLeastOnce)];
        options.last_will = Some(Will {
            topic: self.addr.discovery_topic(),
            payload: card_bytes.clone(),
            qos: QoS::AtLeastOnce,
            retain: true,
            user_properties: status_properties("offline", "lwt"),
        });

        let (queue_tx, queue_rx) = mpsc::channel(self.queue);
        let session_cell = Arc::new(OnceLock::new());
        let inbound = Arc::new(server::AgentInbound {
            queue: queue_tx,
            session: session_cell.clone(),
        });
        let session = MqttSession::start(options, inbound)?;
        let handle = session.handle();
        let _ = session_cell.set(handle.clone());

        let stop = CancellationToken::new();
        let store = Arc::new(store::TaskStore::new(self.task_capacity));
        let server = Arc::new(server::Server {
            session: handle.clone(),
            store: store.clone(),
            handler: Arc::new(handler),
            task_permits: Arc::new(Semaphore::new(self.limits.max_concurrent_tasks)),
            stream_permits: Arc::new(Semaphore::new(self.limits.max_open_streams)),
            limits: self.limits,
            stop: stop.clone(),
        });
        let (announced_tx, announced_rx) = watch::channel(0u64);
        let serve_task = tokio::spawn(server.run(queue_rx));
        let announce_task = tokio::spawn(announce(
            handle.clone(),
            self.addr.discovery_topic(),
            card_bytes.clone(),
            announced_tx,
            stop.clone(),
        ));
        tracing::info!(agent = %self.addr, "agent starting");
        Ok(RunningAgent {
            addr: self.addr,
            session: Some(session),
            handle,
            store,
            card: card_bytes,
            announced: announced_rx,
            tasks: vec![serve_task, announce_task],
            stop,
        })
    }
}

fn status_properties(status: &str, source: &str) -> Vec<(String, String)> {
    vec![
        (STATUS_PROPERTY.into(), status.into()),
        (STATUS_SOURCE_PROPERTY.into(), source.into()),
    ]
}

fn card_message(topic: &str, card: &Bytes, status: &str) -> OutgoingMessage {
    OutgoingMessage {
        retain: true,
        properties: PublishProperties {
            user_properties: status_properties(status, "agent"),
            content_type: Some("application/json".into()),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(topic, card.clone())
    }
}

/// Publishes the card online after every new session.
async fn announce(
    session: SessionHandle,
    topic: String,
    card: Bytes,
    announced: watch::Sender<u64>,
    stop: CancellationToken,
) {
    let mut state = session.watch_state();
    let mut last = 0u64;
    loop {
        let generation = {
            let wait = state.wait_for(|s| {
                matches!(s, SessionState::Stopped)
                    || matches!(s, SessionState::Up { generation } if *generation != last)
            });
            let seen = tokio::select! {
                _ = stop.cancelled() => return,
                seen = wait => seen,
            };
            match seen.as_deref() {
                Ok(SessionState::Up { generation }) => *generation,
                _ => return,
            }
        };
        match session
            .publish(
                card_message(&topic, &card, "online"),
                Duration::from_secs(5),
            )
            .await
        {
            Ok(()) => {
                last = generation;
                announced.send_replace(generation);
                tracing::info!(%topic, "agent card published (online)");
            }
            Err(e) => {
                tracing::warn!(%topic, error = %e, "could not publish the agent card; will retry");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// A running agent. Dropping it cuts the connection like a crash would; call
/// [`RunningAgent::shutdown`] to leave cleanly.
pub struct RunningAgent {
    addr: AgentAddr,
    session: Option<MqttSession>,
    handle: SessionHandle,
    store: Arc<store::TaskStore>,
    card: Bytes,
    announced: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

impl RunningAgent {
    /// The agent's address.
    pub fn addr(&self) -> &AgentAddr {
        &self.addr
    }

    /// Waits until the card was published online, at most `timeout`.
    pub async fn wait_online(&self, timeout: Duration) -> bool {
        let mut rx = self.announced.clone();
        tokio::time::timeout(timeout, rx.wait_for(|g| *g > 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.handle.is_up()
    }

    /// A task as the agent stores it.
    pub fn task(&self, id: &str) -> Option<Task> {
        self.store.get(id)
    }

    /// Leaves cleanly: stops taking requests, fails tasks still running (their
    /// streams end), republishes the card with `a2a-status=offline`, then sends
    /// DISCONNECT so the broker does not publish the Last Will.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for id in self.store.unfinished() {
            self.store.set_status(
                &id,
                TaskStatus::now(
                    TaskState::Failed,
                    Some(Message::agent_text("the agent shut down")),
                ),
            );
            if let Some(t) = self.store.cancel_token(&id) {
                t.cancel();
            }
        }
        // Give open streams a moment to queue their final updates.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let topic = self.addr.discovery_topic();
        if let Err(e) = self
            .handle
            .publish(
                card_message(&topic, &self.card, "offline"),
                Duration::from_secs(2),
            )
            .await
        {
            tracing::warn!(%topic, error = %e, "could not publish the offline card");
        }
        if let Some(session) = self.session.take() {
            session.shutdown(Duration::from_secs(2)).await;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        tracing::info!(agent = %self.addr, "agent stopped");
    }

    /// Drops the broker connection without DISCONNECT, as a crash would: the
    /// broker publishes the Last Will (card with `a2a-status=offline`,
    /// `a2a-status-source=lwt`). For tests and fast exits.
    pub async fn abort(mut self) {
        self.stop.cancel();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(session) = self.session.take() {
            session.abort().await;
        }
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.stop.cancel();
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keep_alives_the_mqtt_client_cannot_take_are_refused() {
        // rumqttc panics below 5 s; the builder must answer with an error first
        // (no broker is needed: nothing connects before the check).
        for secs in [0, 2, 4] {
            let started = Agent::builder("acme", "plant1", "echo")
                .expect("ids")
                .keep_alive(Duration::from_secs(secs))
                .card_from(samples::echo_card())
                .start(samples::echo)
                .await;
            match started {
                Err(AgentError::KeepAliveTooShort(d)) => assert_eq!(d.as_secs(), secs),
                Err(other) => panic!("{secs} s: wrong error {other}"),
                Ok(_) => panic!("{secs} s: a keep-alive under 5 s was accepted"),
            }
        }
    }
}
