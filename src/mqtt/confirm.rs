//! Publishes that return only once the broker acknowledged them (QoS 1 PUBACK),
//! for registering and unregistering cards: the caller learns that the retained
//! card is stored, or why not.
//!
//! rumqttc does not tie a PUBACK to the publish call that caused it. This
//! publisher runs its own session, publishes one message at a time, and takes
//! the packet id of the next PUBLISH written as its own; the PUBACK with that id
//! settles the call. Registrations are rare, so one at a time costs nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::session::{
    Inbound, MqttSession, OutgoingMessage, Publish, PublishError, SessionError, SessionHandle,
    SessionOptions,
};

/// Why a confirmed publish did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    #[error("{0}")]
    Publish(#[from] PublishError),
    #[error("the MQTT broker is unreachable")]
    Unreachable,
    #[error("the broker refused the publish ({0})")]
    Refused(String),
    #[error("the broker connection dropped before the publish was acknowledged")]
    ConnectionLost,
    #[error("no acknowledgement from the broker within {0:?}")]
    Timeout(Duration),
}

type Settle = oneshot::Sender<Result<(), String>>;

#[derive(Default)]
struct Acks {
    /// The publish in flight, until the owner task reports its packet id.
    next: Option<Settle>,
    by_pkid: HashMap<u16, Settle>,
}

/// Matches PUBACKs to the publish waiting for them.
#[derive(Default)]
struct AckTracker {
    acks: Mutex<Acks>,
}

impl AckTracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inbound for AckTracker {
    fn on_publish(&self, _publish: &Publish) {}

    fn on_publish_sent(&self, pkid: u16) {
        let mut acks = self.lock();
        if let Some(settle) = acks.next.take() {
            acks.by_pkid.insert(pkid, settle);
        }
    }

    fn on_puback(&self, pkid: u16, accepted: bool, reason: &str) {
        if let Some(settle) = self.lock().by_pkid.remove(&pkid) {
            let _ = settle.send(if accepted {
                Ok(())
            } else {
                Err(reason.to_owned())
            });
        }
    }

    fn on_connection_lost(&self) {
        // Dropping the senders tells the waiters.
        let mut acks = self.lock();
        acks.next = None;
        acks.by_pkid.clear();
    }
}

/// A session that publishes one acknowledged message at a time.
pub struct ConfirmedPublisher {
    session: MqttSession,
    handle: SessionHandle,
    tracker: Arc<AckTracker>,
    turn: tokio::sync::Mutex<()>,
    timeout: Duration,
}

impl ConfirmedPublisher {
    /// Starts the session (no subscriptions, no will). Each publish waits at most
    /// `timeout` for the connection and again for the acknowledgement.
    pub fn start(
        mut options: SessionOptions,
        timeout: Duration,
    ) -> Result<ConfirmedPublisher, SessionError> {
        options.subscriptions.clear();
        options.last_will = None;
        let tracker = Arc::new(AckTracker::default());
        let session = MqttSession::start(options, tracker.clone())?;
        let handle = session.handle();
        Ok(ConfirmedPublisher {
            session,
            handle,
            tracker,
            turn: tokio::sync::Mutex::new(()),
            timeout,
        })
    }

    /// Publishes `msg` (QoS 1 is forced) and returns once the broker acknowledged it.
    pub async fn publish(&self, mut msg: OutgoingMessage) -> Result<(), ConfirmError> {
        msg.qos = super::QoS::AtLeastOnce;
        let _turn = self.turn.lock().await;
        if !self.handle.wait_up(self.timeout).await {
            return Err(ConfirmError::Unreachable);
        }
        let (settle, settled) = oneshot::channel();
        self.tracker.lock().next = Some(settle);
        if let Err(e) = self.handle.try_publish(msg) {
            self.tracker.lock().next = None;
            return Err(e.into());
        }
        match tokio::time::timeout(self.timeout, settled).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(reason))) => Err(ConfirmError::Refused(reason)),
            Ok(Err(_)) => Err(ConfirmError::ConnectionLost),
            Err(_) => {
                let mut acks = self.tracker.lock();
                acks.next = None;
                acks.by_pkid.clear();
                Err(ConfirmError::Timeout(self.timeout))
            }
        }
    }

    /// Disconnects cleanly.
    pub async fn shutdown(self) {
        self.session.shutdown(Duration::from_secs(2)).await;
    }
}
