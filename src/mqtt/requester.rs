//! The requester side of the profile: publish a request with Response Topic and
//! fresh Correlation Data, wait for correlated replies, retry and time out as the
//! profile's "Requester Retry and Timeout Profile" says.
//!
//! - every attempt gets new Correlation Data; the payload (and so `Task.id`) is the
//!   same bytes each time;
//! - retry-eligible: publish refused because the session is down, no first reply
//!   within `reply_first_timeout`, the connection dropped before the first reply,
//!   or a first reply the caller marks retryable (the profile's -32003/-32004);
//! - once any reply arrived there is no republish; a stream that stays silent for
//!   `stream_idle_timeout` ends with [`RequestError::StreamIdle`];
//! - a full outgoing queue or too many requests in flight fail at once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use thiserror::Error;

use super::backoff::Backoff;
use super::router::{Delivery, Reply, ReplyRouter, ReplyWaiter};
use super::session::{OutgoingMessage, PublishError, SessionHandle};

/// Timeouts and retries (profile defaults: 15 s, 30 s, 3 attempts, 1/2/4 s ±20 %).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub reply_first_timeout: Duration,
    pub stream_idle_timeout: Duration,
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_jitter: f64,
    /// MQTT Message Expiry Interval put on requests; the profile says it should
    /// exceed `reply_first_timeout`.
    pub message_expiry: Option<Duration>,
    /// Requests waiting for replies beyond which new ones are refused.
    pub max_in_flight: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            reply_first_timeout: Duration::from_secs(15),
            stream_idle_timeout: Duration::from_secs(30),
            max_attempts: 3,
            backoff_initial: Duration::from_secs(1),
            backoff_jitter: 0.2,
            message_expiry: Some(Duration::from_secs(16)),
            max_in_flight: 10_000,
        }
    }
}

/// Why a request produced no (more) replies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("no reply within {timeout:?} after {attempts} attempt(s)")]
    NoReply { attempts: u32, timeout: Duration },
    #[error("the MQTT broker is unreachable (tried {attempts} time(s))")]
    BrokerUnavailable { attempts: u32 },
    #[error("the MQTT broker connection dropped while the reply was streaming")]
    ConnectionLost,
    #[error("the stream sent nothing for {idle:?}")]
    StreamIdle { idle: Duration },
    #[error("replies arrived faster than the client read them; the stream was cut")]
    Overflow,
    #[error("{0}")]
    Publish(PublishError),
    #[error("{in_flight} requests are already waiting for replies (limit {limit})")]
    TooManyInFlight { in_flight: usize, limit: usize },
    #[error("the gateway is shutting down and no longer waits for replies")]
    ShuttingDown,
}

/// One request to publish.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub topic: String,
    /// The JSON-RPC request, encoded once and republished as is on retries.
    pub payload: Bytes,
    /// What retries publish instead of `payload`, when a retry should ask in
    /// another way for the same logical operation (same `Task.id`).
    pub retry_payload: Option<Bytes>,
    pub user_properties: Vec<(String, String)>,
}

impl OutboundRequest {
    /// A request republished unchanged on retries.
    pub fn new(topic: String, payload: Bytes) -> OutboundRequest {
        OutboundRequest {
            topic,
            payload,
            retry_payload: None,
            user_properties: Vec::new(),
        }
    }

    fn payload_for(&self, attempt: u32) -> Bytes {
        match &self.retry_payload {
            Some(retry) if attempt > 1 => retry.clone(),
            _ => self.payload.clone(),
        }
    }
}

/// Publishes requests and hands back their replies.
#[derive(Clone)]
pub struct Requester {
    session: SessionHandle,
    router: Arc<ReplyRouter>,
    reply_topic: Arc<str>,
    policy: Arc<RetryPolicy>,
}

impl Requester {
    /// `reply_topic` must be covered by a subscription of `session` whose publishes
    /// are routed to `router`.
    pub fn new(
        session: SessionHandle,
        router: Arc<ReplyRouter>,
        reply_topic: String,
        policy: RetryPolicy,
    ) -> Requester {
        Requester {
            session,
            router,
            reply_topic: reply_topic.into(),
            policy: Arc::new(policy),
        }
    }

    /// The retry policy in use.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Publishes `request` and waits for its first correlated reply, retrying per
    /// the policy. `retryable` tells whether a first reply is a transient refusal
    /// worth retrying (it is returned anyway on the last attempt).
    pub async fn start(
        &self,
        request: &OutboundRequest,
        retryable: &(dyn Fn(&Reply) -> bool + Sync),
    ) -> Result<Exchange, RequestError> {
        let limit = self.policy.max_in_flight;
        let in_flight = self.router.in_flight();
        if in_flight >= limit {
            return Err(RequestError::TooManyInFlight { in_flight, limit });
        }
        let max_attempts = self.policy.max_attempts.max(1);
        let mut backoff = Backoff::new(
            self.policy.backoff_initial,
            Duration::from_secs(3600),
            self.policy.backoff_jitter,
        );
        let mut last_error = RequestError::NoReply {
            attempts: 0,
            timeout: self.policy.reply_first_timeout,
        };
        for attempt in 1..=max_attempts {
            if self.router.is_closed() {
                return Err(RequestError::ShuttingDown);
            }
            if attempt > 1 {
                let delay = backoff.next_delay();
                if matches!(last_error, RequestError::BrokerUnavailable { .. }) {
                    // Go as soon as the broker is back, but no later than the delay.
                    self.session.wait_up(delay).await;
                } else {
                    tokio::time::sleep(delay).await;
                }
            }
            let correlation = Bytes::from(uuid::Uuid::new_v4().simple().to_string());
            let mut waiter = self.router.register(correlation.clone());
            match self
                .session
                .try_publish(self.message(request, attempt, correlation))
            {
                Ok(()) => {}
                Err(PublishError::Disconnected) => {
                    last_error = RequestError::BrokerUnavailable { attempts: attempt };
                    continue;
                }
                Err(e) => return Err(RequestError::Publish(e)),
            }
            match tokio::time::timeout(self.policy.reply_first_timeout, waiter.recv()).await {
                Ok(Some(Delivery::Reply(reply))) => {
                    if attempt < max_attempts && retryable(&reply) {
                        tracing::debug!(attempt, topic = %request.topic, "agent asked to retry later");
                        last_error = RequestError::NoReply {
                            attempts: attempt,
                            timeout: self.policy.reply_first_timeout,
                        };
                        continue;
                    }
                    return Ok(Exchange {
                        waiter,
                        first: Some(reply),
                        idle: self.policy.stream_idle_timeout,
                        attempts: attempt,
                    });
                }
                Ok(Some(Delivery::ConnectionLost)) => {
                    last_error = RequestError::BrokerUnavailable { attempts: attempt };
                }
                Ok(Some(Delivery::Overflow)) | Ok(None) => return Err(RequestError::Overflow),
                Ok(Some(Delivery::ShuttingDown)) => return Err(RequestError::ShuttingDown),
                Err(_) => {
                    tracing::debug!(attempt, topic = %request.topic, "no reply in time");
                    last_error = RequestError::NoReply {
                        attempts: attempt,
                        timeout: self.policy.reply_first_timeout,
                    };
                }
            }
        }
        Err(last_error)
    }

    fn message(
        &self,
        request: &OutboundRequest,
        attempt: u32,
        correlation: Bytes,
    ) -> OutgoingMessage {
        let properties = PublishProperties {
            response_topic: Some(self.reply_topic.to_string()),
            correlation_data: Some(correlation),
            user_properties: request.user_properties.clone(),
            content_type: Some("application/json".into()),
            payload_format_indicator: Some(1),
            message_expiry_interval: self
                .policy
                .message_expiry
                .map(|d| d.as_secs_f64().ceil().min(u32::MAX as f64) as u32),
            ..PublishProperties::default()
        };
        OutgoingMessage {
            properties,
            ..OutgoingMessage::new(request.topic.clone(), request.payload_for(attempt))
        }
    }
}

/// The replies of one request (one correlation), first one already received.
#[derive(Debug)]
pub struct Exchange {
    waiter: ReplyWaiter,
    first: Option<Box<Reply>>,
    idle: Duration,
    attempts: u32,
}

impl Exchange {
    /// The next reply. Errors end the exchange.
    pub async fn next(&mut self) -> Result<Reply, RequestError> {
        if let Some(first) = self.first.take() {
            return Ok(*first);
        }
        match tokio::time::timeout(self.idle, self.waiter.recv()).await {
            Ok(Some(Delivery::Reply(reply))) => Ok(*reply),
            Ok(Some(Delivery::ConnectionLost)) => Err(RequestError::ConnectionLost),
            Ok(Some(Delivery::Overflow)) | Ok(None) => Err(RequestError::Overflow),
            Ok(Some(Delivery::ShuttingDown)) => Err(RequestError::ShuttingDown),
            Err(_) => Err(RequestError::StreamIdle { idle: self.idle }),
        }
    }

    /// The first reply, while [`Exchange::next`] has not handed it out yet.
    pub fn first(&self) -> Option<&Reply> {
        self.first.as_deref()
    }

    /// How many publishes it took to get the first reply.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}
