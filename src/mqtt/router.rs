//! Routes replies to the request that is waiting for them, by MQTT Correlation
//! Data.
//!
//! Each in-flight request registers a bounded channel under a fresh correlation
//! value and gets a [`ReplyWaiter`] whose drop unregisters it. Routing runs on the
//! session's owner task, so it never waits: when a waiter's channel is full (its
//! consumer, say an SSE client, stopped reading) the waiter is failed with
//! [`Delivery::Overflow`] and forgotten, instead of buffering without bound or
//! stalling every other request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;

use super::session::Publish;

/// User property naming the concrete responder (pools and task handover).
pub const RESPONDER_PROPERTY: &str = "a2a-responder-agent-id";

/// One correlated reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub payload: Bytes,
    /// `a2a-responder-agent-id`, when the responder set it.
    pub responder: Option<String>,
}

/// What a waiter receives.
///
/// The reply is boxed so that a slot of a waiter's channel, held as long as the
/// request (an SSE stream can be open for hours), costs a pointer rather than
/// the size of a `Reply`.
#[derive(Debug, Clone)]
pub enum Delivery {
    Reply(Box<Reply>),
    /// The broker connection dropped; the reply may never come.
    ConnectionLost,
    /// Replies arrived faster than they were consumed; the rest were dropped.
    Overflow,
    /// The gateway is stopping and will not wait for the reply any longer.
    ShuttingDown,
}

/// Counters for what could not be delivered.
#[derive(Debug, Default)]
pub struct RouterStats {
    pub delivered: AtomicU64,
    /// Replies without correlation data, or with one nobody waits for (late,
    /// duplicate or foreign): protocol errors the profile says to ignore.
    pub unmatched: AtomicU64,
    pub overflows: AtomicU64,
}

/// The correlation table.
#[derive(Debug)]
pub struct ReplyRouter {
    /// flume rather than tokio's mpsc: a tokio channel allocates a block of 32
    /// slots and cache-padded state up front (~1.1 KB), flume grows its queue
    /// on demand (~0.3 KB for a waiter that holds a reply or two), and every
    /// open SSE stream holds one.
    waiters: DashMap<Bytes, flume::Sender<Delivery>>,
    capacity: usize,
    stats: RouterStats,
    /// Set by [`ReplyRouter::shut_down`]: no request should start any more.
    closed: AtomicBool,
}

impl ReplyRouter {
    /// A router whose waiters buffer at most `capacity` replies each.
    pub fn new(capacity: usize) -> Arc<ReplyRouter> {
        Arc::new(ReplyRouter {
            waiters: DashMap::new(),
            capacity: capacity.max(1),
            stats: RouterStats::default(),
            closed: AtomicBool::new(false),
        })
    }

    /// Registers a waiter for `correlation`. Correlation values must be unique
    /// among in-flight requests; a fresh UUID per publish is.
    pub fn register(self: &Arc<Self>, correlation: Bytes) -> ReplyWaiter {
        let (tx, rx) = flume::bounded(self.capacity);
        self.waiters.insert(correlation.clone(), tx);
        ReplyWaiter {
            router: self.clone(),
            correlation,
            rx,
        }
    }

    /// Delivers a reply publish. Never blocks.
    pub fn route(&self, publish: &Publish) {
        let Some(props) = publish.properties.as_ref() else {
            self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("reply without properties ignored");
            return;
        };
        let Some(correlation) = props.correlation_data.as_ref() else {
            self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("reply without correlation data ignored");
            return;
        };
        let responder = props
            .user_properties
            .iter()
            .find(|(k, _)| k == RESPONDER_PROPERTY)
            .map(|(_, v)| v.clone());
        let delivery = Delivery::Reply(Box::new(Reply {
            payload: publish.payload.clone(),
            responder,
        }));
        let full = match self.waiters.get(correlation) {
            None => {
                self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    correlation = %String::from_utf8_lossy(correlation),
                    "reply with unknown correlation ignored"
                );
                return;
            }
            Some(tx) => match tx.try_send(delivery) {
                Ok(()) => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(flume::TrySendError::Full(_)) => true,
                Err(flume::TrySendError::Disconnected(_)) => false,
            },
        };
        // Either way this waiter is done: forget it so later replies count as
        // unmatched instead of piling up.
        if let Some((_, tx)) = self.waiters.remove(correlation) {
            if full {
                self.stats.overflows.fetch_add(1, Ordering::Relaxed);
                Self::force_overflow(tx);
            }
        }
    }

    /// Tells every waiter that the connection dropped.
    pub fn connection_lost(&self) {
        self.tell_every_waiter(Delivery::ConnectionLost);
    }

    /// Tells every waiter that the gateway stops waiting (its drain period on
    /// shutdown is over), and marks the router closed: requests that would
    /// start after this see [`ReplyRouter::is_closed`].
    pub fn shut_down(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.tell_every_waiter(Delivery::ShuttingDown);
    }

    /// Whether [`ReplyRouter::shut_down`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn tell_every_waiter(&self, delivery: Delivery) {
        let mut full = Vec::new();
        for entry in self.waiters.iter() {
            if let Err(flume::TrySendError::Full(_)) = entry.value().try_send(delivery.clone()) {
                full.push(entry.key().clone());
            }
        }
        // Removing while iterating would deadlock the shard; do it after.
        for key in full {
            if let Some((_, tx)) = self.waiters.remove(&key) {
                self.stats.overflows.fetch_add(1, Ordering::Relaxed);
                Self::force_overflow(tx);
            }
        }
    }

    /// A waiter whose buffer is full gets the overflow marker once there is room;
    /// a detached task waits for that so the owner never does.
    fn force_overflow(tx: flume::Sender<Delivery>) {
        if let Err(flume::TrySendError::Full(overflow)) = tx.try_send(Delivery::Overflow) {
            tokio::spawn(async move {
                let _ = tx.send_async(overflow).await;
            });
        }
    }

    /// Number of requests waiting for replies.
    pub fn in_flight(&self) -> usize {
        self.waiters.len()
    }

    /// Delivery counters.
    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    fn unregister(&self, correlation: &Bytes) {
        self.waiters.remove(correlation);
    }
}

/// The receiving end for one correlation; unregisters on drop.
#[derive(Debug)]
pub struct ReplyWaiter {
    router: Arc<ReplyRouter>,
    correlation: Bytes,
    rx: flume::Receiver<Delivery>,
}

impl ReplyWaiter {
    /// The correlation value this waiter answers to.
    pub fn correlation(&self) -> &Bytes {
        &self.correlation
    }

    /// The next delivery; `None` once the router forgot this waiter and everything
    /// buffered was read.
    pub async fn recv(&mut self) -> Option<Delivery> {
        self.rx.recv_async().await.ok()
    }
}

impl Drop for ReplyWaiter {
    fn drop(&mut self) {
        self.router.unregister(&self.correlation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::PublishProperties;

    fn reply(corr: &str, body: &str) -> Publish {
        let props = PublishProperties {
            correlation_data: Some(Bytes::copy_from_slice(corr.as_bytes())),
            user_properties: vec![(RESPONDER_PROPERTY.into(), "worker-2".into())],
            ..PublishProperties::default()
        };
        Publish::new("r", QoS::AtLeastOnce, body.to_owned(), Some(props))
    }

    #[tokio::test]
    async fn delivers_by_correlation_only() {
        let router = ReplyRouter::new(4);
        let mut a = router.register(Bytes::from_static(b"a"));
        let mut b = router.register(Bytes::from_static(b"b"));
        router.route(&reply("b", "to-b"));
        router.route(&reply("a", "to-a"));
        router.route(&reply("zzz", "nobody"));
        let Some(Delivery::Reply(ra)) = a.recv().await else {
            panic!()
        };
        let Some(Delivery::Reply(rb)) = b.recv().await else {
            panic!()
        };
        assert_eq!(&ra.payload[..], b"to-a");
        assert_eq!(&rb.payload[..], b"to-b");
        assert_eq!(rb.responder.as_deref(), Some("worker-2"));
        assert_eq!(router.stats().unmatched.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn dropped_waiter_unregisters() {
        let router = ReplyRouter::new(4);
        let w = router.register(Bytes::from_static(b"x"));
        assert_eq!(router.in_flight(), 1);
        drop(w);
        assert_eq!(router.in_flight(), 0);
        router.route(&reply("x", "late"));
        assert_eq!(router.stats().unmatched.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_full_waiter_is_failed_not_grown() {
        let router = ReplyRouter::new(2);
        let mut w = router.register(Bytes::from_static(b"s"));
        for i in 0..10 {
            router.route(&reply("s", &i.to_string()));
        }
        assert_eq!(router.in_flight(), 0, "overflowed waiter must be forgotten");
        let mut seen = Vec::new();
        while let Some(d) = w.recv().await {
            seen.push(d);
        }
        assert!(matches!(seen.last(), Some(Delivery::Overflow)), "{seen:?}");
        assert!(seen.len() <= 3);
    }

    #[tokio::test]
    async fn connection_loss_reaches_every_waiter() {
        let router = ReplyRouter::new(2);
        let mut a = router.register(Bytes::from_static(b"a"));
        let mut b = router.register(Bytes::from_static(b"b"));
        router.connection_lost();
        assert!(matches!(a.recv().await, Some(Delivery::ConnectionLost)));
        assert!(matches!(b.recv().await, Some(Delivery::ConnectionLost)));
    }

    #[tokio::test]
    async fn shutting_down_reaches_every_waiter_and_closes_the_router() {
        let router = ReplyRouter::new(2);
        let mut a = router.register(Bytes::from_static(b"a"));
        let mut b = router.register(Bytes::from_static(b"b"));
        assert!(!router.is_closed());
        router.shut_down();
        assert!(router.is_closed());
        assert!(matches!(a.recv().await, Some(Delivery::ShuttingDown)));
        assert!(matches!(b.recv().await, Some(Delivery::ShuttingDown)));
    }

    #[tokio::test]
    async fn replies_without_correlation_are_ignored() {
        let router = ReplyRouter::new(2);
        let _w = router.register(Bytes::from_static(b"a"));
        router.route(&Publish::new("r", QoS::AtLeastOnce, "x", None));
        assert_eq!(router.stats().unmatched.load(Ordering::Relaxed), 1);
    }
}
