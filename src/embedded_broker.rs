//! An MQTT 5 broker inside the process, for the demo and single-machine use
//! (`serve --embedded-broker`). It is the `mqtt5` crate's broker with in-memory
//! storage: it routes `$a2a/...` topics, keeps retained messages with their user
//! properties, publishes wills and serves shared subscriptions. It adds an
//! `x-mqtt-client-id` user property to what it forwards; nothing here depends on
//! exact property lists.

use std::net::SocketAddr;

use mqtt5::broker::config::{StorageBackend, StorageConfig};
use mqtt5::broker::{BrokerConfig, BrokerShutdownHandle, MqttBroker};
use tokio::task::JoinHandle;

/// Why the embedded broker did not start.
#[derive(Debug, thiserror::Error)]
#[error("embedded MQTT broker: {0}")]
pub struct EmbeddedBrokerError(String);

/// A running in-process broker.
pub struct EmbeddedBroker {
    addr: SocketAddr,
    shutdown: BrokerShutdownHandle,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Listens on `bind` (port 0 picks a free port).
    pub async fn start(bind: SocketAddr) -> Result<EmbeddedBroker, EmbeddedBrokerError> {
        let storage = StorageConfig {
            backend: StorageBackend::Memory,
            enable_persistence: false,
            ..StorageConfig::default()
        };
        let config = BrokerConfig::default()
            .with_bind_address(bind)
            .with_storage(storage)
            .with_sys_topics_enabled(false);
        let mut broker = MqttBroker::with_config(config)
            .await
            .map_err(|e| EmbeddedBrokerError(e.to_string()))?;
        let addr = broker
            .local_addr()
            .ok_or_else(|| EmbeddedBrokerError("no listening address".into()))?;
        let shutdown = broker.shutdown_handle();
        let task = tokio::spawn(async move {
            if let Err(e) = broker.run().await {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        });
        tracing::info!(%addr, "embedded MQTT broker listening");
        Ok(EmbeddedBroker {
            addr,
            shutdown,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `mqtt://host:port` of the broker.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }

    /// Stops it and waits (bounded) for its task.
    pub async fn stop(self) {
        self.shutdown.shutdown();
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(3), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
