//! Real processes for the fault tests: the `a2a-gateway` binary run as a gateway
//! or as a sample agent (killed on drop), signals, memory readings, a broker that
//! can be killed and whose log shows connects and disconnects, and an SSE reader
//! that tells a clean end of stream from a broken one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Broker, content_type, free_port, http, parse_sse, stream_request};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_a2a-gateway");

/// A child process, SIGKILLed on drop; its stdout and stderr go to a log file.
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proc {
    /// Runs `a2a-gateway <args>` with `env` on top of a clean environment (no
    /// inherited `A2A_GATEWAY*` settings).
    pub fn spawn(name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("RUST_LOG", "info,rumqttc=warn,mqtt5=warn");
        for (k, _) in std::env::vars() {
            if k.starts_with("A2A_GATEWAY") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Proc::spawn_command(name, cmd)
    }

    /// Runs any program, its stdout and stderr into the log file.
    pub fn spawn_command(name: &str, mut cmd: Command) -> Proc {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `KILL`, `STOP`...) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(
            ok.success(),
            "kill -{sig} {} ({}) failed",
            self.pid(),
            self.name
        );
    }

    /// SIGKILL, and reap it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn terminate(&mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill9();
    }

    /// The exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Resident set size in KiB (VmRSS from /proc).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// What it wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's last `n` lines (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of {} ({}) ---\n{}",
                self.name,
                self.log.display(),
                self.log_tail(40)
            );
        }
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A broker whose log (see [`broker_log`]) records every connect and disconnect.
pub fn broker_with_connection_log() -> Broker {
    Broker::start_with(|_| "allow_anonymous true\nlog_type notice\n".to_owned())
}

/// Mosquitto's log file so far.
pub fn broker_log(broker: &Broker) -> String {
    std::fs::read_to_string(broker.dir.path().join("mosquitto.log")).unwrap_or_default()
}

/// Whether Mosquitto's persistence file (autosaved every second) holds `needle`,
/// e.g. a retained message's topic: what survives a SIGKILL.
pub fn broker_persisted(broker: &Broker, needle: &str) -> bool {
    std::fs::read(broker.dir.path().join("data").join("mosquitto.db"))
        .is_ok_and(|db| db.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// Kills the broker with SIGKILL (no goodbye to anyone); `broker.restart()`
/// brings it back on the same port, with what it had persisted.
pub fn kill_broker(broker: &mut Broker) {
    if let Some(mut child) = broker.child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `a2a-gateway sample-agent <kind> <agent> --broker URL <extra>`.
pub fn spawn_agent(broker: &Broker, kind: &str, agent: &str, extra: &[&str]) -> Proc {
    let url = broker.url();
    let mut args = vec!["sample-agent", kind, agent, "--broker", url.as_str()];
    args.extend_from_slice(extra);
    Proc::spawn(&format!("agent-{}", agent.replace('/', "-")), &args, &[])
}

/// `a2a-gateway serve` as a child process on a free port.
pub struct GatewayProc {
    /// The instance id, for messages.
    pub name: String,
    pub proc: Proc,
    pub base: String,
    pub addr: SocketAddr,
    /// Its MQTT client id (`a2a-gateway/default/{instance}`).
    pub client_id: String,
}

/// Starts `a2a-gateway serve --listen 127.0.0.1:PORT --broker URL` with instance
/// id `instance` and the `A2A_GATEWAY__*` settings in `env`, and waits until
/// `/readyz` says 200.
pub async fn start_gateway(broker: &Broker, instance: &str, env: &[(&str, &str)]) -> GatewayProc {
    let mut last_log = String::new();
    for _ in 0..3 {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec![
            ("A2A_GATEWAY__DISCOVERY__SYNC_QUIET_MS", "50"),
            ("A2A_GATEWAY__GATEWAY__INSTANCE", instance),
        ];
        all.extend_from_slice(env);
        let proc = Proc::spawn(
            &format!("gateway-{instance}"),
            &["serve", "--listen", &listen, "--broker", &broker.url()],
            &all,
        );
        let mut gw = GatewayProc {
            name: instance.to_owned(),
            proc,
            base: format!("http://{listen}"),
            addr: listen.parse().expect("addr"),
            client_id: format!("a2a-gateway/default/{instance}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if gw.readyz().await.0 == 200 {
                return gw;
            }
            if gw.proc.exited().is_some() {
                break; // port taken meanwhile: try another
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        last_log = gw.proc.log_tail(30);
    }
    panic!("the gateway did not become ready; its log:\n{last_log}");
}

impl GatewayProc {
    pub fn agent_url(&self, agent: &str) -> String {
        format!("{}/agents/{agent}", self.base)
    }

    /// `GET /readyz`: status and body (0 and null when it does not answer within 2 s).
    pub async fn readyz(&self) -> (u16, Value) {
        let call = async {
            let r = http()
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            Some((status, r.json().await.unwrap_or(Value::Null)))
        };
        tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .ok()
            .flatten()
            .unwrap_or((0, Value::Null))
    }

    /// Requests waiting for agent replies (from `/readyz`).
    pub async fn in_flight(&self) -> u64 {
        self.readyz().await.1["inFlight"].as_u64().unwrap_or(0)
    }

    /// Polls `/readyz` until 200; returns how long that took.
    pub async fn wait_ready(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.readyz().await.0 == 200 {
                return start.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "gateway not ready within {timeout:?}; its log:\n{}",
            self.proc.log_tail(30)
        );
    }

    /// The registry's view of `agent`: (status, statusSource).
    pub async fn agent_status(&self, agent: &str) -> Option<(String, Option<String>)> {
        let call = async {
            let r = http()
                .get(format!("{}/api/v1/agents/{agent}", self.base))
                .send()
                .await
                .ok()?;
            let v: Value = r.json().await.ok()?;
            Some((
                v["status"].as_str()?.to_owned(),
                v["statusSource"].as_str().map(str::to_owned),
            ))
        };
        tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .ok()
            .flatten()
    }

    /// Polls the registry until `agent` has `status`; returns how long that took.
    pub async fn wait_agent(&self, agent: &str, status: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self
                .agent_status(agent)
                .await
                .is_some_and(|(s, _)| s == status)
            {
                return start.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "agent {agent} not {status} within {timeout:?}; registry says {:?}",
            self.agent_status(agent).await
        );
    }
}

/// What an SSE reader sees.
#[derive(Debug)]
pub enum SseItem {
    /// One `data:` payload.
    Event(Value),
    /// The server ended the body properly (last chunk received).
    Closed,
    /// The body broke off (connection reset, truncated chunk...) or was not SSE.
    Failed(String),
}

/// Opens an SSE stream (A2A v1.0) and reports its events, then how it ended.
pub async fn open_sse(url: &str, body: &Value) -> mpsc::UnboundedReceiver<SseItem> {
    let r = stream_request(url, body)
        .send()
        .await
        .expect("stream request");
    let (tx, rx) = mpsc::unbounded_channel();
    let sse = content_type(&r).starts_with("text/event-stream");
    if !sse {
        let text = r.text().await.unwrap_or_default();
        let _ = tx.send(SseItem::Failed(format!("not an SSE response: {text}")));
        return rx;
    }
    tokio::spawn(async move {
        let mut buf = String::new();
        let mut body = r.bytes_stream();
        loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    buf.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buf.find("\n\n") {
                        let block: String = buf.drain(..end + 2).collect();
                        for v in parse_sse(&block) {
                            let _ = tx.send(SseItem::Event(v));
                        }
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(SseItem::Failed(format!("{e:?}")));
                    return;
                }
                None => {
                    let _ = tx.send(if buf.trim().is_empty() {
                        SseItem::Closed
                    } else {
                        SseItem::Failed(format!("stream ended inside an event: {buf:?}"))
                    });
                    return;
                }
            }
        }
    });
    rx
}

/// The next item, or `None` after `timeout`.
pub async fn next_sse(
    rx: &mut mpsc::UnboundedReceiver<SseItem>,
    timeout: Duration,
) -> Option<SseItem> {
    tokio::time::timeout(timeout, rx.recv())
        .await
        .ok()
        .flatten()
}
