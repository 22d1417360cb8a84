//! The yardstick the benchmark issue names: a straightforward axum + rumqttc
//! composition that forwards a JSON-RPC body to an agent's request topic and
//! returns the correlated reply, and does nothing else (no registry, no
//! validation, no retries, no A2A semantics). It runs as its own process
//! (`a2a-bench --serve-reference ADDR --reference-broker URL`) on the same
//! broker and agent as the gateway, so "what the gateway's features cost" is a
//! ratio measured in the same run rather than a figure from another day.
//!
//! TCP_NODELAY is on and the packet limit raised, as any working composition
//! must do on this broker; everything else is rumqttc's and axum's defaults.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use a2a_mqtt_gateway::mqtt::BrokerUrl;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use dashmap::DashMap;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{Value, json};
use tokio::sync::oneshot;

type Waiters = Arc<DashMap<Bytes, oneshot::Sender<Bytes>>>;

#[derive(Clone)]
struct Reference {
    client: AsyncClient,
    waiters: Waiters,
    reply_topic: String,
}

/// Serves until killed.
pub async fn serve(listen: SocketAddr, broker: &str) -> Result<(), String> {
    let broker: BrokerUrl = broker.parse().map_err(|e| format!("{e}"))?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut options = MqttOptions::new(format!("bench:reference:{id}"), broker.host, broker.port);
    options.set_max_packet_size(Some(1 << 20));
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    options.set_network_options(network);
    let (client, mut eventloop) = AsyncClient::new(options, 4096);
    let reply_base = format!("$a2a/v1/reply/bench/reference/{id}");
    client
        .subscribe(format!("{reply_base}/#"), QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    let waiters: Waiters = Arc::new(DashMap::new());
    let (subscribed_tx, subscribed) = oneshot::channel();
    let routes = waiters.clone();
    tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let correlation = p.properties.and_then(|p| p.correlation_data);
                    if let Some((_, tx)) = correlation.and_then(|c| routes.remove(&c)) {
                        let _ = tx.send(p.payload);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed)
        .await
        .map_err(|_| "the reference gateway could not subscribe".to_owned())?
        .map_err(|e| e.to_string())?;
    let state = Reference {
        client,
        waiters,
        reply_topic: format!("{reply_base}/rpc"),
    };
    let app = Router::new()
        .route("/agents/{org}/{unit}/{agent}", post(forward))
        .route(
            "/readyz",
            get(|| async { axum::Json(json!({"agents": 1})) }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

async fn forward(
    State(r): State<Reference>,
    Path((org, unit, agent)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    match exchange(&r, &org, &unit, &agent, &body).await {
        Ok(reply) => json_response(StatusCode::OK, reply),
        Err(e) => json_response(StatusCode::BAD_GATEWAY, json!({"error": e}).to_string()),
    }
}

async fn exchange(
    r: &Reference,
    org: &str,
    unit: &str,
    agent: &str,
    body: &[u8],
) -> Result<String, String> {
    let mut request: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let client_id = request["id"].take();
    request["id"] = json!(uuid::Uuid::new_v4().simple().to_string());
    // The profile: the requester mints Task.id for a new task.
    request["params"]["message"]["taskId"] = json!(uuid::Uuid::new_v4().to_string());
    let correlation = Bytes::from(uuid::Uuid::new_v4().simple().to_string());
    let (tx, rx) = oneshot::channel();
    r.waiters.insert(correlation.clone(), tx);
    let properties = PublishProperties {
        response_topic: Some(r.reply_topic.clone()),
        correlation_data: Some(correlation.clone()),
        ..PublishProperties::default()
    };
    let published = r
        .client
        .publish_with_properties(
            format!("$a2a/v1/request/{org}/{unit}/{agent}"),
            QoS::AtLeastOnce,
            false,
            request.to_string(),
            properties,
        )
        .await;
    if let Err(e) = published {
        r.waiters.remove(&correlation);
        return Err(e.to_string());
    }
    let payload = match tokio::time::timeout(Duration::from_secs(15), rx).await {
        Ok(Ok(payload)) => payload,
        _ => {
            r.waiters.remove(&correlation);
            return Err("no reply".into());
        }
    };
    let mut reply: Value = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
    reply["id"] = client_id;
    Ok(reply.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
