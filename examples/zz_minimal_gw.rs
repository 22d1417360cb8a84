// EXPERIMENT ONLY (not committed): a straightforward axum + rumqttc gateway.
use a2a_mqtt_gateway::mqtt::*;
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    routing::{get, post},
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

struct ToRouter(Arc<ReplyRouter>);
impl Inbound for ToRouter {
    fn on_publish(&self, p: &Publish) {
        self.0.route(p);
    }
}

#[derive(Clone)]
struct St {
    req: Requester,
}

async fn rpc(
    State(st): State<St>,
    Path((o, u, a)): Path<(String, String, String)>,
    body: Bytes,
) -> axum::response::Response {
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    let id = v["id"].take();
    v["id"] = json!("x");
    v["params"]["message"]["taskId"] = json!(uuid::Uuid::new_v4().to_string());
    let r = OutboundRequest::new(
        format!("$a2a/v1/request/{o}/{u}/{a}"),
        Bytes::from(v.to_string()),
    );
    let mut ex = st.req.start(&r, &|_| false).await.unwrap();
    let reply = ex.next().await.unwrap();
    let mut out: Value = serde_json::from_slice(&reply.payload).unwrap();
    out["id"] = id;
    axum::response::Response::builder()
        .header("content-type", "application/json")
        .body(axum::body::Body::from(out.to_string()))
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen = args[args.iter().position(|a| a == "--listen").unwrap() + 1].clone();
    let broker = args[args.iter().position(|a| a == "--broker").unwrap() + 1].clone();
    let router = ReplyRouter::new(64);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let reply = format!("$a2a/v1/reply/min/gw/{id}");
    let mut o = SessionOptions::for_profile_id("min", "gw", &id, broker.parse().unwrap());
    o.subscriptions = vec![(format!("{reply}/#"), QoS::AtLeastOnce)];
    let s = MqttSession::start(o, Arc::new(ToRouter(router.clone()))).unwrap();
    s.handle().wait_up(Duration::from_secs(10)).await;
    let req = Requester::new(
        s.handle(),
        router,
        format!("{reply}/rpc"),
        RetryPolicy {
            max_attempts: 1,
            max_in_flight: 1_000_000,
            ..RetryPolicy::default()
        },
    );
    let app = Router::new()
        .route("/agents/{o}/{u}/{a}", post(rpc))
        .route(
            "/readyz",
            get(|| async { axum::Json(json!({"agents": 1})) }),
        )
        .with_state(St { req });
    let l = tokio::net::TcpListener::bind(&listen).await.unwrap();
    use axum::serve::ListenerExt;
    axum::serve(
        l.tap_io(|t| {
            let _ = t.set_nodelay(true);
        }),
        app,
    )
    .await
    .unwrap();
}
