//! Knowing when the retained discovery burst is over.
//!
//! MQTT does not mark the end of retained messages. After the broker acknowledged
//! our subscriptions, we publish a marker to our own reply topic: a broker that
//! keeps per-client order (Mosquitto does) delivers it after every retained
//! message it queued for the subscription. Brokers that dispatch retained
//! messages asynchronously (clusters) get a quiet period on top: the burst is over
//! once no discovery message arrived for `quiet`. If the marker never comes back
//! (an ACL forbids it), the quiet period alone decides, after `marker_timeout`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::Index;
use crate::mqtt::{OutgoingMessage, PublishProperties, ReplyRouter, SessionHandle, SessionState};

/// Timing of the end-of-burst detection.
#[derive(Debug, Clone)]
pub struct SyncTiming {
    /// No discovery message for this long ends the burst (after the marker).
    pub quiet: Duration,
    /// How long to wait for the marker before relying on `quiet` alone.
    pub marker_timeout: Duration,
}

/// Runs until `stop`: after every new session, waits for the end of the retained
/// burst and tells the index.
pub async fn run(
    session: SessionHandle,
    router: Arc<ReplyRouter>,
    index: Arc<Index>,
    marker_topic: String,
    timing: SyncTiming,
    stop: CancellationToken,
) {
    let mut state = session.watch_state();
    let mut synced_generation = 0u64;
    loop {
        let generation = {
            let seen = state
                .wait_for(|s| {
                    matches!(s, SessionState::Stopped)
                        || matches!(s, SessionState::Up { generation } if *generation != synced_generation)
                })
                .await;
            match seen.as_deref() {
                Ok(SessionState::Up { generation }) => *generation,
                _ => return,
            }
        };
        let done = tokio::select! {
            _ = stop.cancelled() => return,
            done = sync_once(&session, &router, &index, &marker_topic, &timing, generation) => done,
        };
        if done {
            index.end_sync(generation);
            synced_generation = generation;
        }
    }
}

/// One end-of-burst detection. Returns false when the session changed meanwhile.
async fn sync_once(
    session: &SessionHandle,
    router: &Arc<ReplyRouter>,
    index: &Index,
    marker_topic: &str,
    timing: &SyncTiming,
    generation: u64,
) -> bool {
    let still_same =
        || matches!(session.state(), SessionState::Up { generation: g } if g == generation);
    let correlation = Bytes::from(format!("sync-{}", uuid::Uuid::new_v4().simple()));
    let mut waiter = router.register(correlation.clone());
    let marker = OutgoingMessage {
        properties: PublishProperties {
            correlation_data: Some(correlation),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(marker_topic, Bytes::from_static(b"{\"sync\":true}"))
    };
    match session.try_publish(marker) {
        Ok(()) => {
            if tokio::time::timeout(timing.marker_timeout, waiter.recv())
                .await
                .is_err()
            {
                tracing::warn!(
                    topic = marker_topic,
                    "discovery sync marker did not come back; relying on the quiet period"
                );
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "could not publish the discovery sync marker");
            if !still_same() {
                return false;
            }
            tokio::time::sleep(timing.marker_timeout.min(Duration::from_secs(1))).await;
        }
    }
    drop(waiter);
    let quiet_ms = timing.quiet.as_millis() as u64;
    loop {
        if !still_same() {
            return false;
        }
        let quiet_for = index.quiet_for_ms();
        if quiet_for >= quiet_ms {
            return true;
        }
        tokio::time::sleep(Duration::from_millis((quiet_ms - quiet_for).max(1))).await;
    }
}
