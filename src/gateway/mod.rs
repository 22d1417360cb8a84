//! The HTTP side: routes, shared state, and the lifecycle of a gateway instance.
//!
//! | route | handler |
//! |---|---|
//! | `GET /agents/{org}/{unit}/{agent}/.well-known/agent-card.json` | [`cards`] |
//! | `GET /agents/{org}/{unit}/{agent}/.well-known/agent.json` | [`cards`] (v0.3 location) |
//! | `POST /agents/{org}/{unit}/{agent}` (and with `/`) | [`jsonrpc`] (v1.0 and v0.3) |
//! | `/agents/{org}/{unit}/{agent}/message:send`, `tasks/...` | [`rest`] (v1.0 and v0.3 paths) |
//! | `/api/v1/agents[/{org}/{unit}/{agent}]` | [`registry_api`] |
//! | `GET /healthz`, `GET /readyz` | [`health`] |

pub mod body;
pub mod call;
pub mod cards;
pub mod error;
pub mod exchange;
pub mod extract;
pub mod health;
pub mod inbound;
pub mod jsonrpc;
pub mod registry_api;
pub mod respond;
pub mod rest;
pub mod send;
pub mod server;
pub mod version;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::mqtt::confirm::ConfirmedPublisher;
use crate::mqtt::session::SessionError;
use crate::mqtt::topics::REPLY_PREFIX;
use crate::mqtt::{MqttSession, QoS, ReplyRouter, Requester, SessionHandle, SessionOptions};
use crate::registry::Index;
use crate::registry::sync::{self, SyncTiming};
use crate::telemetry::Metrics;

pub use error::{ErrorKind, GatewayError};

/// Which form of the profile's client id `{org}/{unit}/{id}` the gateway's
/// MQTT sessions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientIdForm {
    /// `{org}/{unit}/{id}`, as the profile requires; `{org}:{unit}:{id}` only
    /// after the broker refused it (with a warning: an operator should know).
    #[default]
    Profile,
    /// `{org}:{unit}:{id}` from the start, for a broker known to refuse `/` in
    /// client ids: the embedded `mqtt5` broker the demo and `serve
    /// --embedded-broker` run. The refusal there is ours, not news to warn about.
    Fallback,
}

impl ClientIdForm {
    /// Puts `options` in this form (the fallback id is built by
    /// [`SessionOptions::for_profile_id`]; options without one are left alone).
    pub fn apply(self, options: &mut SessionOptions) {
        if self == ClientIdForm::Fallback
            && let Some(fallback) = options.fallback_client_id.take()
        {
            options.client_id = fallback;
        }
    }
}

/// Shared, cheap-to-clone state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    config: Config,
    index: Arc<Index>,
    requester: Requester,
    session: SessionHandle,
    router: Arc<ReplyRouter>,
    shutdown: CancellationToken,
    instance: String,
    client_ids: ClientIdForm,
    metrics: Arc<Metrics>,
    /// The session that registers cards, started on first use.
    admin: tokio::sync::Mutex<Option<Arc<ConfirmedPublisher>>>,
}

impl AppState {
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn index(&self) -> &Arc<Index> {
        &self.inner.index
    }

    pub fn requester(&self) -> &Requester {
        &self.inner.requester
    }

    pub fn session(&self) -> &SessionHandle {
        &self.inner.session
    }

    /// The correlation table (for in-flight counts).
    pub fn reply_router(&self) -> &Arc<ReplyRouter> {
        &self.inner.router
    }

    /// The metrics served at `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Cancelled when the gateway starts shutting down; streams end on it.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// The publisher of registry changes (its own MQTT session, client id
    /// `{org}/{unit}/{instance}-admin`), started on first use.
    pub async fn admin_publisher(&self) -> Result<Arc<ConfirmedPublisher>, GatewayError> {
        let mut slot = self.inner.admin.lock().await;
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let instance = format!("{}-admin", self.inner.instance);
        let mut options = self
            .inner
            .config
            .session_options(&instance)
            .map_err(|e| GatewayError::new(ErrorKind::Internal, e.to_string()))?;
        self.inner.client_ids.apply(&mut options);
        // Registrations wait for the broker as long as requests wait for agents.
        let wait = Duration::from_millis(self.inner.config.requests.reply_first_timeout_ms);
        let publisher = ConfirmedPublisher::start(options, wait)
            .map_err(|e| GatewayError::new(ErrorKind::BrokerUnavailable, e.to_string()))?;
        let publisher = Arc::new(publisher);
        *slot = Some(publisher.clone());
        Ok(publisher)
    }

    /// Ready: broker connected with subscriptions, retained discovery consumed.
    pub fn is_ready(&self) -> bool {
        self.inner.session.is_up() && self.inner.index.is_synced()
    }
}

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// After the drain period, how long connections get to write the
/// GATEWAY_SHUTTING_DOWN answers of the calls that were still waiting, before
/// they are closed. (A call in a retry backoff at that moment, with no reply
/// waiter, is only answered if its backoff ends within this window.)
const ANSWER_WINDOW: Duration = Duration::from_secs(1);

/// One running gateway instance: its MQTT session, discovery sync and state.
pub struct Gateway {
    state: AppState,
    session: Option<MqttSession>,
    sync_task: JoinHandle<()>,
    instance: String,
}

impl Gateway {
    /// Connects (in the background) and starts indexing. Must run inside a Tokio
    /// runtime. The HTTP side starts with [`Gateway::serve`].
    pub fn start(config: Config) -> Result<Gateway, StartError> {
        Self::start_with_client_ids(config, ClientIdForm::Profile)
    }

    /// [`Gateway::start`], with the client id form of its MQTT sessions.
    pub fn start_with_client_ids(
        config: Config,
        client_ids: ClientIdForm,
    ) -> Result<Gateway, StartError> {
        config.validate()?;
        let id = &config.gateway;
        let instance = id
            .instance
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
        let client_id = format!("{}/{}/{}", id.org, id.unit, instance);
        let reply_base = format!("{REPLY_PREFIX}{client_id}");
        let reply_topic = format!("{reply_base}/rpc");
        let marker_topic = format!("{reply_base}/sync");

        let index = Arc::new(Index::new(config.discovery.max_card_bytes));
        let router = ReplyRouter::new(config.requests.stream_buffer);
        let inbound = Arc::new(inbound::GatewayInbound::new(
            router.clone(),
            index.clone(),
            format!("{reply_base}/"),
        ));

        let mut options = config.session_options(&instance)?;
        client_ids.apply(&mut options);
        // Reply topic first: nothing is published before it is in place.
        options.subscriptions = std::iter::once((format!("{reply_base}/#"), QoS::AtLeastOnce))
            .chain(
                config
                    .discovery
                    .filters
                    .iter()
                    .map(|f| (f.clone(), QoS::AtLeastOnce)),
            )
            .collect();
        let session = MqttSession::start(options, inbound)?;
        let handle = session.handle();
        let requester = Requester::new(
            handle.clone(),
            router.clone(),
            reply_topic,
            config.retry_policy(),
        );
        let shutdown = CancellationToken::new();
        let sync_task = tokio::spawn(sync::run(
            handle.clone(),
            router.clone(),
            index.clone(),
            marker_topic,
            SyncTiming {
                quiet: Duration::from_millis(config.discovery.sync_quiet_ms),
                marker_timeout: Duration::from_millis(config.discovery.sync_marker_timeout_ms),
            },
            shutdown.clone(),
        ));
        tracing::info!(instance = %instance, broker = %config.mqtt.url, "gateway starting");
        Ok(Gateway {
            state: AppState {
                inner: Arc::new(StateInner {
                    config,
                    index: index.clone(),
                    requester,
                    session: handle.clone(),
                    router: router.clone(),
                    shutdown,
                    instance: instance.clone(),
                    client_ids,
                    metrics: Arc::new(Metrics::new(index.clone(), router.clone(), handle.clone())),
                    admin: tokio::sync::Mutex::new(None),
                }),
            },
            session: Some(session),
            sync_task,
            instance,
        })
    }

    /// The handlers' state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// This process's instance id (part of its MQTT client id).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Serves HTTP on `listener` until `shutdown` resolves, then stops accepting,
    /// lets in-flight requests finish (at most `http.shutdown_grace_secs`; calls
    /// still waiting for an agent then are answered with GATEWAY_SHUTTING_DOWN),
    /// ends open streams, and disconnects from the broker.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let app = self.router();
        let token = self.state.inner.shutdown.clone();
        let grace = Duration::from_secs(self.state.config().http.shutdown_grace_secs);
        let signalled = token.clone();
        let options = server::ServerOptions {
            header_read_timeout: Duration::from_secs(
                self.state.config().http.header_read_timeout_secs,
            ),
            max_header_bytes: self.state.config().http.max_header_bytes,
        };
        let server = server::serve(listener, app, options, async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            signalled.cancel();
        });
        let mut server = std::pin::pin!(server);
        tokio::select! {
            () = &mut server => {}
            _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
                // Calls still waiting for an agent are answered, not cut: each
                // gets GATEWAY_SHUTTING_DOWN through its reply waiter (nothing
                // is added to a call's own path for this), and the connections
                // get a moment to write those answers before they are closed.
                let waiting = self.state.inner.router.in_flight();
                tracing::warn!(grace_secs = grace.as_secs(), waiting, "in-flight requests did not finish in time; answering them with GATEWAY_SHUTTING_DOWN");
                self.state.inner.router.shut_down();
                if tokio::time::timeout(ANSWER_WINDOW, &mut server).await.is_err() {
                    tracing::warn!(window_ms = ANSWER_WINDOW.as_millis() as u64, "connections still open after the answers; closing them");
                }
            }
        }
        self.stop().await;
    }

    /// Stops background work and disconnects from the broker.
    pub async fn stop(&mut self) {
        self.state.inner.shutdown.cancel();
        self.sync_task.abort();
        if let Some(session) = self.session.take() {
            session.shutdown(Duration::from_secs(2)).await;
        }
        let admin = self.state.inner.admin.lock().await.take();
        if let Some(admin) = admin.and_then(|a| Arc::try_unwrap(a).ok()) {
            admin.shutdown().await;
        }
        tracing::info!("gateway stopped");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.state.inner.shutdown.cancel();
        self.sync_task.abort();
    }
}

/// Every route the gateway serves, as (HTTP method, OpenAPI path template). The
/// OpenAPI document lists exactly these (a test checks both ways), and a test
/// probes each one on a live gateway. The REST routes below an agent are
/// dispatched by [`rest`] from one catch-all route.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/api/v1/agents"),
    ("GET", "/api/v1/agents/{org}/{unit}/{agent}"),
    ("PUT", "/api/v1/agents/{org}/{unit}/{agent}"),
    ("DELETE", "/api/v1/agents/{org}/{unit}/{agent}"),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/.well-known/agent-card.json",
    ),
    ("GET", "/agents/{org}/{unit}/{agent}/.well-known/agent.json"),
    ("POST", "/agents/{org}/{unit}/{agent}"),
    ("POST", "/agents/{org}/{unit}/{agent}/"),
    ("POST", "/agents/{org}/{unit}/{agent}/message:send"),
    ("POST", "/agents/{org}/{unit}/{agent}/message:stream"),
    ("GET", "/agents/{org}/{unit}/{agent}/tasks"),
    ("GET", "/agents/{org}/{unit}/{agent}/tasks/{id}"),
    ("POST", "/agents/{org}/{unit}/{agent}/tasks/{id}:cancel"),
    ("GET", "/agents/{org}/{unit}/{agent}/tasks/{id}:subscribe"),
    ("POST", "/agents/{org}/{unit}/{agent}/tasks/{id}:subscribe"),
    (
        "POST",
        "/agents/{org}/{unit}/{agent}/tasks/{id}/pushNotificationConfigs",
    ),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/tasks/{id}/pushNotificationConfigs",
    ),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/tasks/{id}/pushNotificationConfigs/{configId}",
    ),
    (
        "DELETE",
        "/agents/{org}/{unit}/{agent}/tasks/{id}/pushNotificationConfigs/{configId}",
    ),
    ("GET", "/agents/{org}/{unit}/{agent}/extendedAgentCard"),
    ("POST", "/agents/{org}/{unit}/{agent}/v1/message:send"),
    ("POST", "/agents/{org}/{unit}/{agent}/v1/message:stream"),
    ("GET", "/agents/{org}/{unit}/{agent}/v1/tasks"),
    ("GET", "/agents/{org}/{unit}/{agent}/v1/tasks/{id}"),
    ("POST", "/agents/{org}/{unit}/{agent}/v1/tasks/{id}:cancel"),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}:subscribe",
    ),
    (
        "POST",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}:subscribe",
    ),
    (
        "POST",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}/pushNotificationConfigs",
    ),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}/pushNotificationConfigs",
    ),
    (
        "GET",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}/pushNotificationConfigs/{configId}",
    ),
    (
        "DELETE",
        "/agents/{org}/{unit}/{agent}/v1/tasks/{id}/pushNotificationConfigs/{configId}",
    ),
    ("GET", "/agents/{org}/{unit}/{agent}/v1/card"),
];

/// The OpenAPI 3.1 document (`openapi/openapi.json`), served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi/openapi.json");

/// Builds the routes over `state`.
pub fn router(state: AppState) -> Router {
    use tower_http::catch_panic::CatchPanicLayer;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/v1/agents", get(registry_api::list))
        .route(
            "/api/v1/agents/{org}/{unit}/{agent}",
            get(registry_api::get)
                .put(registry_api::put)
                .delete(registry_api::delete),
        )
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(health::openapi))
        .route(
            "/agents/{org}/{unit}/{agent}/.well-known/agent-card.json",
            get(cards::agent_card),
        )
        .route(
            "/agents/{org}/{unit}/{agent}/.well-known/agent.json",
            get(cards::legacy_agent_card),
        )
        .route("/agents/{org}/{unit}/{agent}", post(jsonrpc::handle))
        .route("/agents/{org}/{unit}/{agent}/", post(jsonrpc::handle))
        // Every method: the REST handler answers unknown paths and methods in
        // the path's dialect (v1.0 or v0.3).
        .route("/agents/{org}/{unit}/{agent}/{*rest}", any(rest::handle))
        .fallback(respond::not_found)
        .method_not_allowed_fallback(respond::method_not_allowed)
        .layer(tower::util::MapRequestLayer::new(
            cards::host_from_authority::<axum::body::Body>,
        ))
        .layer(CatchPanicLayer::custom(respond::panic_response))
        .with_state(state)
}
