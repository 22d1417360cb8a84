//! A supervised MQTT 5 session around rumqttc.
//!
//! rumqttc gives a client handle and an event loop that must be polled. Used
//! naively it has traps: a 10 KiB incoming packet limit, Nagle left on, reconnects
//! without backoff, subscriptions lost on a new session, a `publish().await` that
//! can deadlock when the same task polls, and an oversized outgoing packet that
//! kills the connection. [`MqttSession`] closes each of them:
//!
//! - one owner task polls the event loop and never publishes; it hands incoming
//!   publishes to an [`Inbound`] handler that must not block;
//! - TCP_NODELAY is on and the maximum packet size is explicit (and announced to the
//!   broker, which then never sends anything larger);
//! - reconnects wait a jittered exponential backoff;
//! - every (re)connect is a clean session whose subscriptions are re-issued before
//!   anything else; the session reports itself up only once the broker acknowledged
//!   them, so nothing is published to a reply topic nobody listens on;
//! - [`SessionHandle::try_publish`] never waits: a full queue, a down session or an
//!   oversized packet is an immediate, typed error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::ConnectReturnCode;
use rumqttc::v5::mqttbytes::v5::{
    Filter, LastWill, LastWillProperties, Packet, PublishProperties, Subscribe, SubscribeReasonCode,
};
use rumqttc::v5::{
    AsyncClient, ClientError, ConnectionError, Event, EventLoop, MqttOptions, Request,
};
use rumqttc::{NetworkOptions, Outgoing, TlsConfiguration, Transport};
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::backoff::Backoff;
use super::broker_url::BrokerUrl;
pub use super::tls::{TlsError, TlsFiles};

pub use rumqttc::v5::mqttbytes::v5::Publish;

/// Receives what arrives on the session. Called on the owner task: must return
/// quickly and never block (hand work to bounded channels or spawn).
pub trait Inbound: Send + Sync + 'static {
    /// A PUBLISH arrived on one of the session's subscriptions.
    fn on_publish(&self, publish: &Publish);

    /// A new session was established (`generation` counts them). Called before
    /// any message of that session is handed over, so retained messages that
    /// follow can be attributed to it.
    fn on_connected(&self, _generation: u64) {}

    /// The broker connection was lost after having been up.
    fn on_connection_lost(&self) {}

    /// A QoS 1 PUBLISH of ours was written with packet id `pkid`.
    fn on_publish_sent(&self, _pkid: u16) {}

    /// The broker acknowledged packet `pkid`; `accepted` is false when its
    /// reason code is an error (not authorised, quota exceeded, ...).
    fn on_puback(&self, _pkid: u16, _accepted: bool, _reason: &str) {}
}

/// The message the broker publishes when this client vanishes (Last Will).
#[derive(Debug, Clone)]
pub struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub user_properties: Vec<(String, String)>,
}

/// Everything needed to run a session.
#[derive(Clone)]
pub struct SessionOptions {
    pub client_id: String,
    pub broker: BrokerUrl,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: TlsFiles,
    pub keep_alive: Duration,
    pub connect_timeout: Duration,
    /// Largest MQTT packet accepted or sent, in bytes.
    pub max_packet_size: u32,
    /// Capacity of the queue between handles and the owner task.
    pub request_queue: usize,
    /// QoS 1 publishes awaiting PUBACK before further ones wait in the queue
    /// (the broker's Receive Maximum lowers it). rumqttc preallocates a slot per
    /// unit of this limit (~220 bytes each), 14 MiB at its default of 65 535.
    pub max_inflight: u16,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    pub last_will: Option<Will>,
    /// Filters subscribed on every new session, in this order.
    pub subscriptions: Vec<(String, QoS)>,
    /// Client id to use instead when the broker refuses `client_id` as invalid
    /// (some brokers refuse the `/` of the profile's `{org}/{unit}/{agent}`).
    pub fallback_client_id: Option<String>,
}

impl std::fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOptions")
            .field("client_id", &self.client_id)
            .field("broker", &self.broker.to_string())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("keep_alive", &self.keep_alive)
            .field("max_packet_size", &self.max_packet_size)
            .field("request_queue", &self.request_queue)
            .field("max_inflight", &self.max_inflight)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl SessionOptions {
    /// Defaults matching `gateway.yaml`, for the given client and broker.
    pub fn new(client_id: impl Into<String>, broker: BrokerUrl) -> SessionOptions {
        SessionOptions {
            client_id: client_id.into(),
            broker,
            username: None,
            password: None,
            tls: TlsFiles::default(),
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_packet_size: 1024 * 1024,
            request_queue: 4096,
            max_inflight: 256,
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_millis(1000),
            last_will: None,
            subscriptions: Vec::new(),
            fallback_client_id: None,
        }
    }

    /// The profile's client id `{org}/{unit}/{id}`, with `{org}:{unit}:{id}` as the
    /// fallback for brokers that refuse `/` in client ids (`:` cannot occur in
    /// ids, so the fallback stays unique).
    pub fn for_profile_id(org: &str, unit: &str, id: &str, broker: BrokerUrl) -> SessionOptions {
        SessionOptions {
            fallback_client_id: Some(format!("{org}:{unit}:{id}")),
            ..SessionOptions::new(format!("{org}/{unit}/{id}"), broker)
        }
    }
}

/// A session that could not be set up.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Why a publish was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublishError {
    #[error("not connected to the MQTT broker")]
    Disconnected,
    #[error("the MQTT outgoing queue is full ({capacity} messages waiting)")]
    QueueFull { capacity: usize },
    #[error("message of about {size} bytes exceeds the MQTT packet limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("topic {0:?} is not a valid MQTT topic name")]
    InvalidTopic(String),
    #[error("the MQTT session has stopped")]
    Stopped,
    #[error("timed out waiting for room in the MQTT outgoing queue")]
    Timeout,
}

/// Connection state, as the rest of the program sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Not (yet) connected, or subscriptions not yet acknowledged.
    Connecting,
    /// Connected, subscriptions acknowledged. `generation` counts sessions.
    Up { generation: u64 },
    /// Shut down.
    Stopped,
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub properties: PublishProperties,
}

impl OutgoingMessage {
    /// A QoS 1, non-retained message with no properties.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> OutgoingMessage {
        OutgoingMessage {
            topic: topic.into(),
            payload: payload.into(),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: PublishProperties::default(),
        }
    }

    /// Rough upper bound of the encoded packet size.
    fn encoded_size(&self) -> usize {
        let p = &self.properties;
        let props: usize = p
            .user_properties
            .iter()
            .map(|(k, v)| k.len() + v.len() + 5)
            .sum::<usize>()
            + p.response_topic.as_ref().map_or(0, |t| t.len() + 3)
            + p.correlation_data.as_ref().map_or(0, |c| c.len() + 3)
            + p.content_type.as_ref().map_or(0, |c| c.len() + 3)
            + 16;
        self.topic.len() + self.payload.len() + props + 16
    }
}

struct Shared {
    client_id: String,
    state: watch::Sender<SessionState>,
    up: AtomicBool,
    generation: AtomicU64,
    /// Smallest of our own limit and the broker's, in bytes.
    max_outgoing: AtomicU32,
    own_max: u32,
    queue_capacity: usize,
    /// QoS 1 publishes handed to rumqttc, and PUBACKs received: a graceful
    /// shutdown waits for them to meet, because a DISCONNECT sent while PUBACKs
    /// are unread makes the close a reset, and the broker then drops what it had
    /// not read yet — the last publishes.
    qos1_queued: AtomicU64,
    qos1_acked: AtomicU64,
}

impl Shared {
    fn set_up(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
        self.up.store(true, Ordering::Release);
        self.state.send_replace(SessionState::Up { generation });
    }

    /// Returns whether the session was up.
    fn set_down(&self) -> bool {
        let was_up = self.up.swap(false, Ordering::AcqRel);
        self.state.send_if_modified(|s| {
            if matches!(s, SessionState::Connecting) {
                false
            } else {
                *s = SessionState::Connecting;
                true
            }
        });
        was_up
    }

    fn set_stopped(&self) {
        self.up.store(false, Ordering::Release);
        self.state.send_replace(SessionState::Stopped);
    }
}

/// Cheap, cloneable access to a running session.
#[derive(Clone)]
pub struct SessionHandle {
    client: AsyncClient,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("client_id", &self.client_id())
            .field("up", &self.is_up())
            .finish()
    }
}

impl SessionHandle {
    /// The MQTT client id.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// Whether the session is connected with its subscriptions in place.
    pub fn is_up(&self) -> bool {
        self.shared.up.load(Ordering::Acquire)
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        *self.shared.state.borrow()
    }

    /// A receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.shared.state.subscribe()
    }

    /// Waits until the session is up, at most `timeout`. Returns whether it is.
    pub async fn wait_up(&self, timeout: Duration) -> bool {
        let mut rx = self.watch_state();
        let wait = rx.wait_for(|s| matches!(s, SessionState::Up { .. } | SessionState::Stopped));
        matches!(
            tokio::time::timeout(timeout, wait).await,
            Ok(Ok(s)) if matches!(*s, SessionState::Up { .. })
        )
    }

    /// Largest payload+headers this session can publish right now, in bytes.
    pub fn max_packet_size(&self) -> usize {
        self.shared.max_outgoing.load(Ordering::Relaxed) as usize
    }

    fn check(&self, msg: &OutgoingMessage) -> Result<(), PublishError> {
        if !self.is_up() {
            return Err(match self.state() {
                SessionState::Stopped => PublishError::Stopped,
                _ => PublishError::Disconnected,
            });
        }
        // Checked here, not left to rumqttc: it refuses a bad topic with the
        // same error as a full queue, and the two must not be confused.
        if !valid_topic_name(&msg.topic) {
            return Err(PublishError::InvalidTopic(msg.topic.clone()));
        }
        let size = msg.encoded_size();
        let limit = self.max_packet_size();
        if size > limit {
            return Err(PublishError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Queues a publish without waiting. Fails at once when the session is down,
    /// the queue is full or the message is too large.
    pub fn try_publish(&self, msg: OutgoingMessage) -> Result<(), PublishError> {
        self.check(&msg)?;
        let qos = msg.qos;
        self.client
            .try_publish_with_properties(
                msg.topic,
                msg.qos,
                msg.retain,
                msg.payload,
                msg.properties,
            )
            .map_err(|e| self.map_client_error(e))?;
        self.count_queued(qos);
        Ok(())
    }

    fn count_queued(&self, qos: QoS) {
        if qos == QoS::AtLeastOnce {
            self.shared.qos1_queued.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Queues a publish, waiting at most `timeout` for room in the queue. For
    /// callers that should slow down rather than fail (agents replying).
    pub async fn publish(
        &self,
        msg: OutgoingMessage,
        timeout: Duration,
    ) -> Result<(), PublishError> {
        self.check(&msg)?;
        let qos = msg.qos;
        let fut = self.client.publish_with_properties(
            msg.topic,
            msg.qos,
            msg.retain,
            msg.payload,
            msg.properties,
        );
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => {
                r.map_err(|e| self.map_client_error(e))?;
                self.count_queued(qos);
                Ok(())
            }
            Err(_) => Err(PublishError::Timeout),
        }
    }

    /// What a refusal by rumqttc means. The topic was checked before (see
    /// [`Self::check`]), so rumqttc refuses only because its request channel is
    /// full (a `try_` send) or closed (the owner task, which holds the event loop,
    /// has ended — and it marks the session stopped before that, see `Owner`).
    fn map_client_error(&self, e: ClientError) -> PublishError {
        if matches!(self.state(), SessionState::Stopped) {
            return PublishError::Stopped;
        }
        match e {
            ClientError::TryRequest(_) => PublishError::QueueFull {
                capacity: self.shared.queue_capacity,
            },
            // An awaited send waits for room; it fails only on a closed channel.
            ClientError::Request(_) => PublishError::Stopped,
        }
    }
}

/// An MQTT topic name one may publish to: not empty, no wildcards, no NUL, at
/// most 65 535 bytes (MQTT 5 §4.7).
fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty() && topic.len() <= usize::from(u16::MAX) && !topic.contains(['+', '#', '\0'])
}

/// A running session: the owner task plus a handle. Dropping it stops the owner
/// task without a DISCONNECT (as a crash would); call [`MqttSession::shutdown`]
/// for a graceful end.
pub struct MqttSession {
    handle: SessionHandle,
    owner: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl MqttSession {
    /// Starts the owner task. Returns at once; the connection is made in the
    /// background (see [`SessionHandle::wait_up`]).
    pub fn start(
        opts: SessionOptions,
        inbound: Arc<dyn Inbound>,
    ) -> Result<MqttSession, SessionError> {
        let mut mo = MqttOptions::new(
            opts.client_id.clone(),
            opts.broker.host.clone(),
            opts.broker.port,
        );
        mo.set_keep_alive(opts.keep_alive.max(Duration::from_secs(1)));
        mo.set_clean_start(true);
        mo.set_max_packet_size(Some(opts.max_packet_size));
        mo.set_request_channel_capacity(opts.request_queue.max(1));
        mo.set_outgoing_inflight_upper_limit(opts.max_inflight.max(1));
        mo.set_connection_timeout(opts.connect_timeout.as_secs().max(1));
        // As many unacknowledged QoS 1 messages towards us as the broker likes.
        mo.set_receive_maximum(Some(u16::MAX));
        let mut net = NetworkOptions::new();
        net.set_tcp_nodelay(true);
        net.set_connection_timeout(opts.connect_timeout.as_secs().max(1));
        mo.set_network_options(net);
        if let Some(user) = &opts.username {
            mo.set_credentials(user.clone(), opts.password.clone().unwrap_or_default());
        }
        if opts.broker.tls {
            mo.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(super::tls::client_config(&opts.tls)?),
            )));
        }
        if let Some(will) = &opts.last_will {
            let props = LastWillProperties {
                delay_interval: None,
                payload_format_indicator: None,
                message_expiry_interval: None,
                content_type: Some("application/json".into()),
                response_topic: None,
                correlation_data: None,
                user_properties: will.user_properties.clone(),
            };
            mo.set_last_will(LastWill::new(
                will.topic.clone(),
                will.payload.clone(),
                will.qos,
                will.retain,
                Some(props),
            ));
        }

        let (client, eventloop) = AsyncClient::new(mo, opts.request_queue.max(1));
        let (state, _) = watch::channel(SessionState::Connecting);
        let shared = Arc::new(Shared {
            client_id: opts.client_id.clone(),
            state,
            up: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            max_outgoing: AtomicU32::new(opts.max_packet_size),
            own_max: opts.max_packet_size,
            queue_capacity: opts.request_queue.max(1),
            qos1_queued: AtomicU64::new(0),
            qos1_acked: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let filters: Vec<Filter> = opts
            .subscriptions
            .iter()
            .map(|(f, q)| Filter::new(f.clone(), *q))
            .collect();
        let backoff = Backoff::new(opts.reconnect_initial, opts.reconnect_max, 0.2);
        let owner = tokio::spawn(own_event_loop(
            eventloop,
            shared.clone(),
            inbound,
            filters,
            backoff,
            stop.clone(),
            opts.broker.to_string(),
            opts.fallback_client_id.clone(),
        ));
        Ok(MqttSession {
            handle: SessionHandle { client, shared },
            owner: Some(owner),
            stop,
        })
    }

    /// A handle for publishing and watching state.
    pub fn handle(&self) -> SessionHandle {
        self.handle.clone()
    }

    /// Sends DISCONNECT after everything already queued (so a final publish queued
    /// before this call still goes out), waits up to `timeout` for it to be
    /// written, then stops the owner task.
    pub async fn shutdown(mut self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut finished = false;
        let shared = self.handle.shared.clone();
        let all_acked = async {
            while self.handle.is_up()
                && shared.qos1_acked.load(Ordering::Acquire)
                    < shared.qos1_queued.load(Ordering::Acquire)
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let _ = tokio::time::timeout_at(deadline, all_acked).await;
        if self.handle.is_up() {
            let queued = tokio::time::timeout_at(deadline, self.handle.client.disconnect()).await;
            if matches!(queued, Ok(Ok(()))) {
                if let Some(owner) = self.owner.as_mut() {
                    finished = tokio::time::timeout_at(deadline, owner).await.is_ok();
                }
            }
        }
        self.stop.cancel();
        if let Some(owner) = self.owner.take()
            && !finished
        {
            owner.abort();
            let _ = owner.await;
        }
        self.handle.shared.set_stopped();
    }

    /// Drops the connection at once, without DISCONNECT: the broker treats it as a
    /// lost client and publishes its Last Will. What a crash looks like to the
    /// broker; useful in tests and for fast exits.
    pub async fn abort(mut self) {
        self.stop.cancel();
        if let Some(owner) = self.owner.take() {
            owner.abort();
            let _ = owner.await;
        }
        self.handle.shared.set_stopped();
    }
}

impl Drop for MqttSession {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(owner) = self.owner.take() {
            owner.abort();
        }
        // At once, not when the aborted task is dropped: a publish queued in
        // between would be accepted and then lost with the event loop.
        self.handle.shared.set_stopped();
    }
}

/// The event loop, owned by the owner task. Dropped however the task ends
/// (returned, aborted, panicked), it marks the session stopped *before* the
/// event loop and its request channel go: a handle that then finds the channel
/// closed also finds the session stopped, never "up with a full queue".
struct Owner {
    eventloop: EventLoop,
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.set_stopped();
    }
}

#[allow(clippy::too_many_arguments)] // one owner, started in one place
async fn own_event_loop(
    eventloop: EventLoop,
    shared: Arc<Shared>,
    inbound: Arc<dyn Inbound>,
    filters: Vec<Filter>,
    mut backoff: Backoff,
    stop: CancellationToken,
    broker: String,
    mut fallback_client_id: Option<String>,
) {
    let mut owner = Owner {
        eventloop,
        shared: shared.clone(),
    };
    let eventloop = &mut owner.eventloop;
    let mut client_id = shared.client_id.clone();
    let mut generation = 0u64;
    let mut awaiting_suback = false;
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(publish))) => inbound.on_publish(&publish),
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff.reset();
                generation += 1;
                let broker_max = ack
                    .properties
                    .as_ref()
                    .and_then(|p| p.max_packet_size)
                    .unwrap_or(u32::MAX);
                shared
                    .max_outgoing
                    .store(shared.own_max.min(broker_max), Ordering::Relaxed);
                info!(%client_id, %broker, generation, "connected to MQTT broker");
                inbound.on_connected(generation);
                if filters.is_empty() {
                    shared.set_up(generation);
                } else {
                    // A clean session has no subscriptions: restore them before any
                    // queued request goes out (pending requests are sent first).
                    eventloop
                        .pending
                        .push_front(Request::Subscribe(Subscribe::new_many(
                            filters.clone(),
                            None,
                        )));
                    awaiting_suback = true;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) if awaiting_suback => {
                awaiting_suback = false;
                for (filter, code) in filters.iter().zip(&ack.return_codes) {
                    if !matches!(code, SubscribeReasonCode::Success(_)) {
                        error!(%client_id, filter = %filter.path, reason = ?code, "broker refused a subscription");
                    }
                }
                shared.set_up(generation);
            }
            Ok(Event::Incoming(Packet::Disconnect(d))) => {
                warn!(%client_id, reason = ?d.reason_code, "broker ended the session");
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                debug!(%client_id, "DISCONNECT sent");
                break;
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => {
                inbound.on_publish_sent(pkid)
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                shared.qos1_acked.fetch_add(1, Ordering::AcqRel);
                use rumqttc::v5::mqttbytes::v5::PubAckReason;
                let accepted = matches!(
                    ack.reason,
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers
                );
                inbound.on_puback(ack.pkid, accepted, &format!("{:?}", ack.reason));
            }
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::ClientIdentifierNotValid,
            )) if fallback_client_id.is_some() => {
                if let Some(fallback) = fallback_client_id.take() {
                    warn!(refused = %client_id, using = %fallback, %broker,
                        "broker refused the profile's client id; using the fallback form");
                    eventloop.options.set_client_id(fallback.clone());
                    client_id = fallback;
                }
            }
            Err(e) => {
                awaiting_suback = false;
                if shared.set_down() {
                    warn!(%client_id, %broker, error = %e, "lost MQTT broker connection; reconnecting");
                    inbound.on_connection_lost();
                }
                let delay = backoff.next_delay();
                let attempt = backoff.attempts();
                // Every failure on the first tries, then at powers of two, so a long
                // outage does not flood the log.
                if attempt <= 3 || attempt.is_power_of_two() {
                    warn!(%client_id, %broker, error = %e, attempt, retry_in_ms = delay.as_millis() as u64, "cannot reach MQTT broker");
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    shared.set_stopped();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let mut o = SessionOptions::new("c", "mqtt://h:1".parse().unwrap());
        o.username = Some("user".into());
        o.password = Some("hunter2".into());
        let shown = format!("{o:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn size_estimate_covers_properties() {
        let mut m = OutgoingMessage::new("t", vec![0u8; 100]);
        let base = m.encoded_size();
        m.properties
            .user_properties
            .push(("k".into(), "v".repeat(50)));
        assert!(m.encoded_size() >= base + 51);
    }
}
