//! Test harness: a real Mosquitto on an ephemeral loopback port, the gateway and
//! SDK agents in-process over real sockets, and small HTTP/SSE helpers.

#![allow(dead_code)] // each test binary uses a different subset

pub mod install;
pub mod interop;
pub mod node;
pub mod procs;
pub mod python;

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::{Agent, CardBuilder, Handler, RunningAgent, samples};
use a2a_mqtt_gateway::config::Config;
use a2a_mqtt_gateway::gateway::{AppState, Gateway};
use a2a_mqtt_gateway::mqtt::{
    Inbound, MqttSession, OutgoingMessage, Publish, PublishProperties, QoS, SessionHandle,
    SessionOptions,
};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Finds a Debian-packaged program, also in the sbin directories a non-root
/// PATH lacks (mosquitto and nginx live in /usr/sbin).
pub fn system_program(name: &str) -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin"])
    {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found: install it (apt-get install -y {name}); .ci/run does");
}

/// A Mosquitto broker owned by one test.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Listener settings beyond the defaults (TLS, authentication).
    security: String,
}

/// TLS material written for a secure broker: a CA, and a client certificate it signed.
pub struct TlsMaterial {
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Broker {
    /// Starts Mosquitto on a free loopback port, with TCP_NODELAY and persistence
    /// (so retained cards survive a restart, as in production).
    pub fn start() -> Broker {
        Self::start_with(|_| "allow_anonymous true\n".to_owned())
    }

    /// A broker with settings added to its mosquitto.conf: `extra` gets the
    /// broker's directory (for files the settings name) and returns the lines.
    /// Anonymous clients are allowed.
    pub fn start_with_config(extra: impl Fn(&Path) -> String) -> Broker {
        Self::start_with(move |dir| format!("allow_anonymous true\n{}", extra(dir)))
    }

    /// A broker that enforces `acl`, the text of a Mosquitto `acl_file` (its
    /// `topic` lines apply to anonymous clients, `pattern` lines to all; `%c`
    /// is the client id).
    pub fn start_with_acl(acl: &str) -> Broker {
        let acl = acl.to_owned();
        Self::start_with_config(move |dir| {
            let path = dir.join("acl");
            std::fs::write(&path, &acl).expect("write the ACL file");
            // Started as root, Mosquitto reads it as its own user.
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                    .expect("chmod");
            }
            format!("acl_file {}\n", path.display())
        })
    }

    fn start_with(security: impl Fn(&Path) -> String) -> Broker {
        for _ in 0..10 {
            let mut b = Broker {
                port: free_port(),
                dir: tempfile::tempdir().expect("tempdir"),
                child: None,
                security: String::new(),
            };
            b.security = security(b.dir.path());
            if b.spawn() {
                return b;
            }
        }
        panic!("could not start mosquitto on a free port");
    }

    /// A broker that speaks only TLS (server certificate for `localhost`, signed by
    /// a fresh CA) and requires `user`/`password`; with `require_client_cert`, also
    /// a client certificate signed by that CA.
    pub fn start_secure(
        user: &str,
        password: &str,
        require_client_cert: bool,
    ) -> (Broker, TlsMaterial) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        // Distinct subject names matter: OpenSSL takes a leaf whose subject equals
        // its issuer for self-signed and refuses it.
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "a2a-gateway test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca cert");
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(names.clone()).expect("params");
            params
                .distinguished_name
                .push(DnType::CommonName, names[0].clone());
            let cert = params.signed_by(&key, &ca).expect("signed");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
        let (client_cert, client_key) = leaf(vec!["test-client".into()]);
        let (ca_pem, user, password) = (ca.pem(), user.to_owned(), password.to_owned());
        let broker = Self::start_with(move |dir| {
            let write = |name: &str, text: &str| {
                let p = dir.join(name);
                std::fs::write(&p, text).expect("write TLS file");
                p.display().to_string()
            };
            let passwd = dir.join("passwd");
            let ok = Command::new("mosquitto_passwd")
                .args(["-b", "-c"])
                .arg(&passwd)
                .args([&user, &password])
                .status()
                .expect("mosquitto_passwd (ships with the mosquitto package)");
            assert!(ok.success(), "mosquitto_passwd failed");
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644))
                    .expect("chmod");
            }
            format!(
                "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_client_cert}\n\
                 allow_anonymous false\npassword_file {}\n",
                write("ca.pem", &ca_pem),
                write("server.pem", &server_cert),
                write("server.key", &server_key),
                passwd.display(),
            )
        });
        let dir = broker.dir.path();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write TLS file");
            p
        };
        let material = TlsMaterial {
            ca: dir.join("ca.pem"),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client.key", &client_key),
        };
        (broker, material)
    }

    fn spawn(&mut self) -> bool {
        let conf = self.dir.path().join("mosquitto.conf");
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        // Started as root, Mosquitto drops to its own user: let it write here.
        for d in [self.dir.path(), data.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        }
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{security}set_tcp_nodelay true\n\
                 persistence true\npersistence_location {data}/\nautosave_interval 1\n\
                 max_queued_messages 100000\nlog_dest file {log}\nlog_type error\nlog_type warning\n",
                port = self.port,
                security = self.security,
                data = data.display(),
                log = self.dir.path().join("mosquitto.log").display(),
            ),
        )
        .expect("write conf");
        let child = Command::new(system_program("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return false; // port taken meanwhile
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The URL of a secure broker (TLS, host name matching its certificate).
    pub fn tls_url(&self) -> String {
        format!("mqtts://localhost:{}", self.port)
    }

    /// Stops the broker with SIGTERM (it saves its retained messages).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mosquitto did not restart on port {}", self.port);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A gateway serving HTTP on an ephemeral port.
pub struct TestGateway {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

/// Test defaults: the profile's timeouts shortened so failures show quickly.
pub fn test_config(broker: &Broker) -> Config {
    let mut c = Config::default();
    c.mqtt.url = broker.url();
    c.discovery.sync_quiet_ms = 50;
    c.requests.reply_first_timeout_ms = 3000;
    c.requests.stream_idle_timeout_ms = 5000;
    c.requests.retry_backoff_ms = 100;
    c.http.shutdown_grace_secs = 2;
    c
}

impl TestGateway {
    pub async fn start(broker: &Broker) -> TestGateway {
        Self::start_with(test_config(broker)).await
    }

    pub async fn start_with(config: Config) -> TestGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gateway = Gateway::start(config).expect("gateway starts");
        let state = gateway.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let join = tokio::spawn(gateway.serve(listener, async move {
            let _ = rx.await;
        }));
        let gw = TestGateway {
            base: format!("http://{addr}"),
            addr,
            state,
            stop: Some(tx),
            join: Some(join),
        };
        gw.wait_ready(Duration::from_secs(10)).await;
        gw
    }

    pub async fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(r) = http().get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gateway not ready within {timeout:?}");
    }

    /// Stops the gateway gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(j) = self.join.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), j).await;
        }
    }

    /// The registry API's entry for `agent` (`GET /api/v1/agents/{agent}`).
    pub async fn registry_entry(&self, agent: &str) -> Value {
        http()
            .get(format!("{}/api/v1/agents/{agent}", self.base))
            .send()
            .await
            .expect("registry GET")
            .json()
            .await
            .expect("registry JSON")
    }

    pub fn agent_url(&self, agent: &str) -> String {
        format!("{}/agents/{agent}", self.base)
    }

    /// `GET /metrics`: the Prometheus text (asserting a 200 in text/plain).
    pub async fn metrics(&self) -> String {
        let r = http()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status(), 200);
        let content_type = content_type(&r);
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        r.text().await.expect("metrics text")
    }

    /// Waits until the index has `agent` with `status`.
    pub async fn wait_agent(&self, agent: &str, status: &str) {
        let addr = agent.parse().expect("agent addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(e) = self.state.index().get(&addr)
                && e.status.as_str() == status
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("agent {agent} never became {status}");
    }

    /// Waits until the index no longer has `agent`.
    pub async fn wait_agent_gone(&self, agent: &str) {
        let addr = agent.parse().expect("agent addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.state.index().get(&addr).is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("agent {agent} still indexed");
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts an SDK agent `{org}/{unit}/{name}` and waits until its card is out.
pub async fn start_agent(
    broker: &Broker,
    addr: &str,
    card: CardBuilder,
    handler: impl Handler,
) -> RunningAgent {
    let mut parts = addr.split('/');
    let (org, unit, name) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let agent = Agent::builder(org, unit, name)
        .expect("ids")
        .broker(&broker.url())
        .expect("url")
        .keep_alive(Duration::from_secs(5))
        .cancel_grace(Duration::from_millis(500))
        .card_from(card)
        .start(handler)
        .await
        .expect("agent starts");
    assert!(
        agent.wait_online(Duration::from_secs(10)).await,
        "agent {addr} online"
    );
    agent
}

/// Starts the sample echo agent `addr` on `broker`, and a gateway that has it
/// online.
pub async fn gateway_with_echo(broker: &Broker, addr: &str) -> (RunningAgent, TestGateway) {
    let agent = start_agent(broker, addr, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(broker).await;
    gw.wait_agent(addr, "online").await;
    (agent, gw)
}

pub fn http() -> reqwest::Client {
    a2a_mqtt_gateway::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A response's status, and its body as JSON (null when it is not JSON).
pub async fn status_and_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET url`: the status and the JSON body (null when it is not JSON).
pub async fn get_json(url: &str) -> (u16, Value) {
    status_and_json(http().get(url).send().await.expect("GET")).await
}

/// A response's Content-Type ("" when it has none).
pub fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// POSTs a JSON-RPC body and returns the parsed response.
pub async fn rpc(url: &str, body: &Value) -> Value {
    let r = http()
        .post(url)
        .header("A2A-Version", "1.0")
        .json(body)
        .send()
        .await
        .expect("request");
    r.json().await.expect("json")
}

/// A JSON-RPC request object.
pub fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// SendMessage params with one text part.
pub fn send_params(text: &str) -> Value {
    json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER", "parts": [{"text": text}]}})
}

/// A streaming JSON-RPC POST (A2A v1.0, asking for SSE), ready to send.
pub fn stream_request(url: &str, body: &Value) -> reqwest::RequestBuilder {
    http()
        .post(url)
        .header("A2A-Version", "1.0")
        .header("Accept", "text/event-stream")
        .json(body)
}

/// POSTs a streaming request and collects every SSE `data:` payload until the
/// server closes the stream. Also returns the content type.
pub async fn rpc_stream(url: &str, body: &Value) -> (String, Vec<Value>) {
    let r = stream_request(url, body).send().await.expect("request");
    let content_type = content_type(&r);
    let text = r.text().await.expect("body");
    if !content_type.starts_with("text/event-stream") {
        return (
            content_type,
            vec![serde_json::from_str(&text).expect("json body")],
        );
    }
    (content_type, parse_sse(&text))
}

/// The `data:` payloads of an SSE body.
pub fn parse_sse(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("data:")
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                })
                .collect();
            (!data.is_empty())
                .then(|| serde_json::from_str(&data.join("\n")).expect("SSE data is JSON"))
        })
        .collect()
}

/// Opens an SSE stream (A2A v1.0) and yields events as they arrive.
pub async fn open_stream(url: &str, body: &Value) -> mpsc::Receiver<Value> {
    open_stream_as(url, body, Some("1.0")).await
}

/// Opens an SSE stream sending `version` as A2A-Version (none: no header).
pub async fn open_stream_as(
    url: &str,
    body: &Value,
    version: Option<&str>,
) -> mpsc::Receiver<Value> {
    let mut req = http().post(url).json(body);
    if let Some(v) = version {
        req = req.header("A2A-Version", v);
    }
    sse_events(req.send().await.expect("request"))
}

/// The JSON events of an SSE response as a channel; it closes when the body
/// ends (cleanly or not).
pub fn sse_events(r: reqwest::Response) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut buf = String::new();
        let mut body = r.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                for v in parse_sse(&block) {
                    if tx.send(v).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The `state` of a Task or of a status update inside a StreamResponse.
pub fn state_of(item: &Value) -> Option<&str> {
    item.get("task")
        .or_else(|| item.get("statusUpdate"))
        .and_then(|x| x["status"]["state"].as_str())
}

/// A plain MQTT 5 client for tests: publishes, and hands over what it receives.
pub struct RawClient {
    pub session: MqttSession,
    pub handle: SessionHandle,
    pub rx: mpsc::Receiver<Publish>,
}

struct ToChannel(mpsc::Sender<Publish>);

impl Inbound for ToChannel {
    fn on_publish(&self, publish: &Publish) {
        let _ = self.0.try_send(publish.clone());
    }
}

impl RawClient {
    pub async fn connect(broker: &Broker, client_id: &str, subscriptions: &[&str]) -> RawClient {
        let mut o = SessionOptions::new(client_id, broker.url().parse().expect("url"));
        o.subscriptions = subscriptions
            .iter()
            .map(|s| ((*s).to_owned(), QoS::AtLeastOnce))
            .collect();
        let (tx, rx) = mpsc::channel(10_000);
        let session = MqttSession::start(o, Arc::new(ToChannel(tx))).expect("session");
        let handle = session.handle();
        assert!(
            handle.wait_up(Duration::from_secs(10)).await,
            "raw client connected"
        );
        RawClient {
            session,
            handle,
            rx,
        }
    }

    /// Publishes a retained message with user properties, QoS 1.
    pub async fn publish_retained(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        props: &[(&str, &str)],
    ) {
        let msg = OutgoingMessage {
            retain: true,
            properties: PublishProperties {
                user_properties: props
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                ..PublishProperties::default()
            },
            ..OutgoingMessage::new(topic, payload)
        };
        self.handle
            .publish(msg, Duration::from_secs(5))
            .await
            .expect("publish");
    }

    /// Replies to a request publish with `body` (echoing its correlation data).
    pub async fn reply(&self, request: &Publish, body: &Value) {
        self.reply_bytes(request, body.to_string()).await;
    }

    /// Replies to a request publish with raw `payload`.
    pub async fn reply_bytes(&self, request: &Publish, payload: impl Into<Bytes>) {
        let props = request.properties.as_ref().expect("request properties");
        let msg = OutgoingMessage {
            properties: PublishProperties {
                correlation_data: props.correlation_data.clone(),
                ..PublishProperties::default()
            },
            ..OutgoingMessage::new(
                props.response_topic.clone().expect("response topic"),
                payload,
            )
        };
        self.handle
            .publish(msg, Duration::from_secs(10))
            .await
            .expect("reply");
    }

    pub async fn next(&mut self, timeout: Duration) -> Option<Publish> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }
}

/// The JSON of a request publish.
pub fn payload_json(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload).expect("request JSON")
}

/// A valid v1.0 card named `name`.
pub fn card_json(name: &str, streaming: bool) -> Value {
    json!({
        "name": name, "description": format!("{name} agent"), "version": "1.0.0",
        "supportedInterfaces": [{"url": "mqtt://broker:1883", "protocolBinding": "MQTTv5+JSONRPCv2", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": streaming},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "s", "name": "S", "description": "skill", "tags": ["t"]}]
    })
}
