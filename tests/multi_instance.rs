//! Several gateway instances on one broker, behind nginx (the Debian package,
//! started by the test as the current user): both index the same agents, a stream
//! opened on one is re-attached with SubscribeToTask on the other, and killing
//! one leaves the other serving.
//!
//! The gateways are real `a2a-gateway serve` subprocesses and nginx runs
//! `deploy/nginx.conf` itself, with only its addresses substituted (see
//! [`Nginx::start`]), so these tests also prove the sample config works.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples;
use common::procs::*;
use common::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const ECHO: &str = "multi/line/echo";
const INSPECT: &str = "multi/line/inspect";
const LOCAL: &str = "multi/line/local";
const LEAVER: &str = "multi/line/leaver";
const MANUAL: &str = "multi/line/manual";

const FINAL_STATES: [&str; 4] = [
    "TASK_STATE_COMPLETED",
    "TASK_STATE_FAILED",
    "TASK_STATE_CANCELED",
    "TASK_STATE_REJECTED",
];

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// The test timeouts of [`test_config`], through the environment.
const GATEWAY_ENV: &[(&str, &str)] = &[
    ("A2A_GATEWAY__REQUESTS__REPLY_FIRST_TIMEOUT_MS", "3000"),
    ("A2A_GATEWAY__REQUESTS__STREAM_IDLE_TIMEOUT_MS", "5000"),
    ("A2A_GATEWAY__REQUESTS__RETRY_BACKOFF_MS", "100"),
    ("A2A_GATEWAY__HTTP__SHUTDOWN_GRACE_SECS", "2"),
];

/// `a2a-gateway sample-agent KIND AGENT` as its own process.
fn sample_agent(broker: &Broker, kind: &str, agent: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--keep-alive", "5"];
    args.extend_from_slice(extra);
    spawn_agent(broker, kind, agent, &args)
}

/// The sample `deploy/nginx.conf`.
const DEPLOY_CONF: &str = include_str!("../deploy/nginx.conf");

/// nginx in front of some gateways, run in the foreground with everything it
/// writes inside its own temporary directory. Stopped on drop.
struct Nginx {
    base: String,
    port: u16,
    dir: tempfile::TempDir,
    proc: Proc,
}

/// `text` with `from` replaced by `to`; `from` must occur exactly once, so a
/// change to `deploy/nginx.conf` that this test does not know about fails loudly.
fn substitute(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "deploy/nginx.conf should contain `{from}` once:\n{text}"
    );
    text.replacen(from, to, 1)
}

impl Nginx {
    /// Starts nginx on a free loopback port with `deploy/nginx.conf` (the file the
    /// container setup mounts into `conf.d`), its two upstream servers replaced by
    /// `upstreams` and `listen 80` by the test's port, wrapped into the `events`
    /// and `http` blocks `/etc/nginx/nginx.conf` would provide, with pid, logs
    /// and temp paths in a temporary directory.
    async fn start(upstreams: [&GatewayProc; 2]) -> Nginx {
        let bin = system_program("nginx");
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let d = dir.path();
            let tmp = d.join("tmp");
            std::fs::create_dir_all(&tmp).expect("tmp dir");
            // Started as root (CI containers), nginx runs its workers as `nobody`:
            // they must reach the temp directories.
            {
                use std::os::unix::fs::PermissionsExt;
                for p in [d, tmp.as_path()] {
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
                        .expect("chmod");
                }
            }
            let port = free_port();
            let hostport = |g: &GatewayProc| g.base.trim_start_matches("http://").to_owned();
            let site = substitute(
                DEPLOY_CONF,
                "server gateway-a:8080;",
                &format!("server {};", hostport(upstreams[0])),
            );
            let site = substitute(
                &site,
                "server gateway-b:8080;",
                &format!("server {};", hostport(upstreams[1])),
            );
            let site = substitute(&site, "listen 80;", &format!("listen 127.0.0.1:{port};"));
            let conf = format!(
                "daemon off;\n\
                 worker_processes 1;\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log info;\n\
                 events {{ worker_connections 512; }}\n\
                 http {{\n\
                 log_format upstreams '$request_method $request_uri $status upstream=$upstream_addr upstream_status=$upstream_status';\n\
                 access_log {d}/access.log upstreams;\n\
                 client_body_temp_path {t}/client_body;\n\
                 proxy_temp_path {t}/proxy;\n\
                 fastcgi_temp_path {t}/fastcgi;\n\
                 uwsgi_temp_path {t}/uwsgi;\n\
                 scgi_temp_path {t}/scgi;\n\
                 # ---- deploy/nginx.conf, addresses substituted ----\n\
                 {site}\n\
                 }}\n",
                d = d.display(),
                t = tmp.display(),
            );
            let conf_path = d.join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let mut cmd = Command::new(&bin);
            cmd.arg("-p")
                .arg(d)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(d.join("error.log"));
            let proc = Proc::spawn_command("nginx", cmd);
            let mut nginx = Nginx {
                base: format!("http://127.0.0.1:{port}"),
                port,
                dir,
                proc,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut listening = false;
            while Instant::now() < deadline {
                if nginx.proc.exited().is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    listening = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if listening {
                return nginx;
            }
            let errors = nginx.error_log();
            if nginx.proc.exited().is_some() && errors.contains("Address already in use") {
                continue;
            }
            panic!(
                "nginx did not listen on {port} within 10 s:\n{errors}\n{}",
                nginx.proc.log()
            );
        }
        panic!("nginx: no free port in 5 attempts");
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The access log: `METHOD URI STATUS upstream=ADDR[, ADDR] upstream_status=...`.
    fn access_log(&self) -> Vec<String> {
        File::open(self.dir.path().join("access.log"))
            .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
            .unwrap_or_default()
    }

    fn agent_url(&self, agent: &str) -> String {
        format!("{}/agents/{agent}", self.base)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (a SIGKILLed master would leave
        // them running, holding the port).
        self.proc.terminate(Duration::from_secs(5));
        if std::thread::panicking() {
            eprintln!("--- nginx error.log ---\n{}", self.error_log());
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

/// `fut`, or a panic naming `what` after `secs`.
async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {secs} s"))
}

/// [`common::get_json`], bounded: a gateway under test may stop answering.
async fn get_json(url: &str) -> (u16, Value) {
    within(10, url, common::get_json(url)).await
}

/// A JSON-RPC SendMessage; the HTTP status and body (or the transport error).
/// (A new client each time: a new connection, and some 30 ms to build it.)
async fn send_message(url: &str, text: &str) -> Result<(u16, Value), String> {
    send_message_with(&http(), url, text).await
}

/// [`send_message`] on an existing client (kept-alive connections).
async fn send_message_with(
    client: &reqwest::Client,
    url: &str,
    text: &str,
) -> Result<(u16, Value), String> {
    let body = request(json!(text), "SendMessage", send_params(text));
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        client
            .post(url)
            .header("A2A-Version", "1.0")
            .json(&body)
            .send(),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = within(10, "SendMessage body", r.text())
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(text.trim()).map_err(|e| format!("{e}: {text}"))?,
    ))
}

/// Whether a SendMessage answer is the echo agent's completed task for `text`.
fn echo_completed(answer: &Value, text: &str) -> bool {
    let task = &answer["result"]["task"];
    task["status"]["state"] == "TASK_STATE_COMPLETED"
        && task["artifacts"][0]["parts"][0]["text"] == text
}

/// An SSE response as a channel of events; the channel closes when the body ends
/// (cleanly or not).
async fn sse(req: reqwest::RequestBuilder) -> mpsc::Receiver<Value> {
    let r = within(10, "SSE request", req.send())
        .await
        .expect("SSE request");
    assert_eq!(r.status(), 200, "SSE status");
    let ct = content_type(&r);
    assert!(ct.starts_with("text/event-stream"), "content type {ct}");
    sse_events(r)
}

/// A JSON-RPC streaming call (A2A v1.0).
async fn rpc_sse(url: &str, id: &str, method: &str, params: Value) -> mpsc::Receiver<Value> {
    sse(stream_request(url, &request(json!(id), method, params))).await
}

/// The StreamResponse of an event: JSON-RPC's `result`, REST's body as is. A
/// JSON-RPC error event fails the test.
fn item(event: &Value) -> &Value {
    assert!(event.get("error").is_none(), "error event: {event}");
    event.get("result").unwrap_or(event)
}

async fn next_event(rx: &mut mpsc::Receiver<Value>, what: &str) -> Value {
    within(10, what, rx.recv())
        .await
        .unwrap_or_else(|| panic!("{what}: stream ended"))
}

/// Every remaining event, until the stream ends.
async fn rest_of(rx: &mut mpsc::Receiver<Value>, what: &str) -> Vec<Value> {
    let mut out = Vec::new();
    within(30, what, async {
        while let Some(v) = rx.recv().await {
            out.push(v);
        }
    })
    .await;
    out
}

/// The text of every part of the inspection report in a Task's artifacts.
fn task_report(task: &Value) -> String {
    task["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

/// The report text carried by artifact updates.
fn updates_report(items: &[&Value]) -> String {
    items
        .iter()
        .filter_map(|i| i.get("artifactUpdate"))
        .flat_map(|u| u["artifact"]["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

fn full_report(steps: u32) -> String {
    (1..=steps).map(|s| format!("station {s}: ok\n")).collect()
}

/// Checks a stream that starts with a Task: every later item is an update
/// about `task_id`, and the last one is a final status. Returns the final state.
fn check_stream(items: &[&Value], task_id: &str, what: &str) -> String {
    assert_eq!(
        items[0]["task"]["id"], task_id,
        "{what}: first item {}",
        items[0]
    );
    for i in &items[1..] {
        let update = i
            .get("statusUpdate")
            .or_else(|| i.get("artifactUpdate"))
            .unwrap_or_else(|| panic!("{what}: not an update: {i}"));
        assert_eq!(update["taskId"], task_id, "{what}: {i}");
    }
    let last = items.last().expect("items");
    let state = state_of(last).unwrap_or_default().to_owned();
    assert!(
        last.get("statusUpdate").is_some() && FINAL_STATES.contains(&state.as_str()),
        "{what}: does not end with a final status: {last}"
    );
    state
}

/// `GET /readyz` of a gateway: its `inFlight` (requests waiting for agent replies).
async fn in_flight(gw: &GatewayProc) -> u64 {
    let (s, v) = get_json(&format!("{}/readyz", gw.base)).await;
    assert_eq!(s, 200, "{} readyz: {v}", gw.name);
    v["inFlight"].as_u64().expect("inFlight")
}

/// The agents a gateway lists: address → the entry without what is per instance
/// (`firstSeen`/`lastSeen`: when this instance saw it; `url`: from the request).
async fn listing(base: &str) -> std::collections::BTreeMap<String, Value> {
    let (s, v) = get_json(&format!("{base}/api/v1/agents?limit=100")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["nextPageToken"], "", "one page: {v}");
    v["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| {
            let mut a = a.clone();
            let o = a.as_object_mut().expect("object");
            for k in ["firstSeen", "lastSeen", "url"] {
                o.remove(k);
            }
            (a["agent"].as_str().expect("agent").to_owned(), a)
        })
        .collect()
}

/// Waits until `base` lists exactly `expected` (address, status).
async fn wait_listing(base: &str, expected: &[(&str, &str)]) {
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got: Vec<(String, String)> = listing(base)
            .await
            .into_iter()
            .map(|(a, e)| (a, e["status"].as_str().unwrap_or_default().to_owned()))
            .collect();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} lists {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Mosquitto, two gateway subprocesses and a directory for logs.
async fn two_gateways() -> (Broker, GatewayProc, GatewayProc) {
    let broker = Broker::start();
    let a = start_gateway(&broker, "gateway-a", GATEWAY_ENV).await;
    let b = start_gateway(&broker, "gateway-b", GATEWAY_ENV).await;
    (broker, a, b)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Both instances index the same agents with the same statuses: sample agents
/// as subprocesses, an SDK agent in this process, one that left (offline) and
/// one registered through instance A's API (unknown); nginx lists the same, and
/// cards served through nginx name nginx's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_instances_index_the_same_agents() {
    let started = Instant::now();
    let (broker, a, b) = two_gateways().await;
    let _echo = sample_agent(&broker, "echo", ECHO, &[]);
    let _inspect = sample_agent(&broker, "inspection", INSPECT, &[]);
    let _local = start_agent(&broker, LOCAL, samples::echo_card(), samples::echo).await;
    let leaver = start_agent(&broker, LEAVER, samples::echo_card(), samples::echo).await;
    within(10, "agent shutdown", leaver.shutdown()).await;
    let r = within(
        10,
        "PUT card",
        http()
            .put(format!("{}/api/v1/agents/{MANUAL}", a.base))
            .json(&card_json("Manual", false))
            .send(),
    )
    .await
    .expect("PUT");
    assert_eq!(r.status(), 201);

    let expected = [
        (ECHO, "online"),
        (INSPECT, "online"),
        (LEAVER, "offline"),
        (LOCAL, "online"),
        (MANUAL, "unknown"),
    ];
    let t0 = Instant::now();
    wait_listing(&a.base, &expected).await;
    wait_listing(&b.base, &expected).await;
    eprintln!(
        "both instances list all {} agents {:?} after the last registration",
        expected.len(),
        t0.elapsed()
    );
    let (la, lb) = (listing(&a.base).await, listing(&b.base).await);
    assert_eq!(la, lb, "instances disagree");

    let nginx = Nginx::start([&a, &b]).await;
    // Through nginx, whichever instance answers: the same listing, twice.
    for _ in 0..2 {
        assert_eq!(listing(&nginx.base).await, la);
    }
    // Served cards name the address the client used (nginx, with its port),
    // taken from the forwarded headers deploy/nginx.conf sets.
    for _ in 0..2 {
        let (s, card) = get_json(&format!(
            "{}/.well-known/agent-card.json",
            nginx.agent_url(ECHO)
        ))
        .await;
        assert_eq!(s, 200, "{card}");
        assert_eq!(
            card["supportedInterfaces"][0]["url"],
            nginx.agent_url(ECHO),
            "{card}"
        );
    }
    // And both instances serve calls, directly and through nginx.
    for (name, url) in [
        (a.name.as_str(), a.agent_url(ECHO)),
        (b.name.as_str(), b.agent_url(ECHO)),
        ("nginx", nginx.agent_url(ECHO)),
    ] {
        let mut took = Vec::new();
        let client = http();
        for i in 0..10 {
            let text = format!("hello {i} via {name}");
            let t = Instant::now();
            let (s, v) = send_message_with(&client, &url, &text)
                .await
                .expect("SendMessage");
            took.push(t.elapsed());
            assert!(s == 200 && echo_completed(&v, &text), "{v}");
        }
        took.sort();
        eprintln!(
            "SendMessage via {name}: median {:?}, max {:?}",
            took[took.len() / 2],
            took[took.len() - 1]
        );
    }
    // nginx passes bodies up to the gateway's own limit (4 MiB): a 2 MiB
    // message is the gateway's to answer (here: too large for an MQTT packet),
    // not refused by nginx with an HTML 413.
    let big = request(json!(1), "SendMessage", send_params(&"x".repeat(2 << 20)));
    let r = within(
        30,
        "2 MiB SendMessage through nginx",
        http()
            .post(nginx.agent_url(ECHO))
            .header("A2A-Version", "1.0")
            .json(&big)
            .send(),
    )
    .await
    .expect("POST through nginx");
    let status = r.status();
    let content_type = content_type(&r);
    let body = r.text().await.unwrap_or_default();
    assert!(
        content_type.starts_with("application/json")
            && serde_json::from_str::<Value>(&body).is_ok_and(|v| v["jsonrpc"] == "2.0"),
        "the gateway did not answer a 2 MiB body through nginx: {status} {content_type}\n{}",
        body.chars().take(300).collect::<String>()
    );
    let served: Vec<String> = nginx.access_log();
    eprintln!("nginx access log:\n  {}", served.join("\n  "));
    eprintln!("test took {:?}", started.elapsed());
}

/// A stream opened on instance A is re-attached with SubscribeToTask on
/// instance B (JSON-RPC) and through nginx (REST `GET tasks/{id}:subscribe`):
/// each starts with the current Task, then delivers the remaining updates up to
/// the final state A sees, and nothing of the report is lost or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_reattaches_on_the_other_instance() {
    const STEPS: u32 = 8;
    let started = Instant::now();
    let (broker, a, b) = two_gateways().await;
    let _inspect = sample_agent(
        &broker,
        "inspection",
        INSPECT,
        &["--steps", &STEPS.to_string(), "--step-ms", "350"],
    );
    wait_listing(&a.base, &[(INSPECT, "online")]).await;
    wait_listing(&b.base, &[(INSPECT, "online")]).await;
    let nginx = Nginx::start([&a, &b]).await;

    let opened = Instant::now();
    let mut on_a = rpc_sse(
        &a.agent_url(INSPECT),
        "on-a",
        "SendStreamingMessage",
        send_params("line 7"),
    )
    .await;
    let first = next_event(&mut on_a, "A: first event").await;
    assert_eq!(first["id"], "on-a");
    let task_id = item(&first)["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("A starts with a Task: {first}"))
        .to_owned();
    let mut a_events = vec![first];
    // Let the task get going: two stations reported.
    while a_events
        .iter()
        .filter(|e| item(e).get("artifactUpdate").is_some())
        .count()
        < 2
    {
        a_events.push(next_event(&mut on_a, "A: updates").await);
    }
    eprintln!(
        "A: task {task_id}, {} events in {:?}",
        a_events.len(),
        opened.elapsed()
    );

    let t0 = Instant::now();
    let mut on_b = rpc_sse(
        &b.agent_url(INSPECT),
        "on-b",
        "SubscribeToTask",
        json!({"id": task_id}),
    )
    .await;
    let b_first = next_event(&mut on_b, "B: first event").await;
    let reattach = t0.elapsed();
    let t1 = Instant::now();
    let mut via_nginx = sse(http()
        .get(format!(
            "{}/tasks/{task_id}:subscribe",
            nginx.agent_url(INSPECT)
        ))
        .header("A2A-Version", "1.0"))
    .await;
    let n_first = next_event(&mut via_nginx, "nginx: first event").await;
    let reattach_nginx = t1.elapsed();
    eprintln!(
        "re-attach: first event from B (JSON-RPC) after {reattach:?}, \
         through nginx (REST GET) after {reattach_nginx:?}"
    );

    let (a_rest, b_rest, n_rest) = tokio::join!(
        async {
            let v = rest_of(&mut on_a, "A: rest").await;
            (v, Instant::now())
        },
        async {
            let v = rest_of(&mut on_b, "B: rest").await;
            (v, Instant::now())
        },
        async {
            let v = rest_of(&mut via_nginx, "nginx: rest").await;
            (v, Instant::now())
        },
    );
    let later = |x: Instant, y: Instant| {
        if x > y {
            format!("+{:?}", x - y)
        } else {
            format!("-{:?}", y - x)
        }
    };
    eprintln!(
        "final event: A after {:?}; B {} and nginx {} relative to A",
        opened.elapsed(),
        later(b_rest.1, a_rest.1),
        later(n_rest.1, a_rest.1)
    );

    a_events.extend(a_rest.0);
    let a_items: Vec<&Value> = a_events.iter().map(item).collect();
    let a_final = check_stream(&a_items, &task_id, "A");
    assert_eq!(a_final, "TASK_STATE_COMPLETED");
    assert_eq!(
        updates_report(&a_items),
        full_report(STEPS),
        "A: the whole report"
    );

    for (name, first, rest, jsonrpc_id) in [
        ("B", b_first, b_rest.0, Some("on-b")),
        ("nginx", n_first, n_rest.0, None),
    ] {
        if let Some(id) = jsonrpc_id {
            assert_eq!(first["id"], id, "{name}: {first}");
        } else {
            assert!(first.get("jsonrpc").is_none(), "REST: {first}");
        }
        let mut events = vec![first];
        events.extend(rest);
        let items: Vec<&Value> = events.iter().map(item).collect();
        let snapshot = &items[0]["task"];
        assert_eq!(
            snapshot["status"]["state"], "TASK_STATE_WORKING",
            "{name}: current Task first: {snapshot}"
        );
        let so_far = task_report(snapshot);
        let stations_so_far = so_far.lines().count();
        assert!(
            (2..STEPS as usize).contains(&stations_so_far),
            "{name}: attached mid-task, {stations_so_far} stations in the Task: {snapshot}"
        );
        let state = check_stream(&items, &task_id, name);
        assert_eq!(state, a_final, "{name}: same final state as A");
        // The Task's report plus the updates after it: every station exactly once.
        assert_eq!(
            format!("{so_far}{}", updates_report(&items[1..])),
            full_report(STEPS),
            "{name}: Task then updates, nothing lost or repeated"
        );
        eprintln!(
            "{name}: Task with {stations_so_far}/{STEPS} stations, then {} updates",
            items.len() - 1
        );
    }

    // The task is done for everyone: B reads it with GetTask too.
    let got = within(
        10,
        "GetTask on B",
        rpc(
            &b.agent_url(INSPECT),
            &request(json!(1), "GetTask", json!({"id": task_id})),
        ),
    )
    .await;
    assert_eq!(got["result"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(task_report(&got["result"]), full_report(STEPS));
    eprintln!("test took {:?}", started.elapsed());
}

/// SIGKILL the instance serving a stream opened through nginx, while SendMessage
/// traffic goes through nginx: the stream resumes with SubscribeToTask through
/// nginx (served by the survivor), the next 20 SendMessage calls all succeed,
/// and `/readyz` through nginx stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_leaves_the_other_serving() {
    const STEPS: u32 = 8;
    let started = Instant::now();
    let (broker, a, b) = two_gateways().await;
    let _echo = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let _inspect = sample_agent(
        &broker,
        "inspection",
        INSPECT,
        &["--steps", &STEPS.to_string(), "--step-ms", "300"],
    );
    let expected = [(ECHO, "online"), (INSPECT, "online")];
    wait_listing(&a.base, &expected).await;
    wait_listing(&b.base, &expected).await;
    let nginx = Nginx::start([&a, &b]).await;
    let mut gws = [a, b];

    // Both take traffic through nginx.
    for i in 0..6 {
        let text = format!("warm-up {i}");
        let (s, v) = send_message(&nginx.agent_url(ECHO), &text)
            .await
            .expect("SendMessage");
        assert!(s == 200 && echo_completed(&v, &text), "{s} {v}");
    }
    let log = nginx.access_log();
    for gw in &gws {
        let addr = gw.base.trim_start_matches("http://");
        assert!(
            log.iter().any(|l| l.contains(addr)),
            "nginx never used {}: {log:?}",
            gw.name
        );
    }

    // A stream through nginx; find the instance serving it.
    let mut stream = rpc_sse(
        &nginx.agent_url(INSPECT),
        "s",
        "SendStreamingMessage",
        send_params("line 3"),
    )
    .await;
    let first = next_event(&mut stream, "stream: first event").await;
    let task_id = item(&first)["task"]["id"]
        .as_str()
        .expect("Task first")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    let victim = loop {
        let busy = [in_flight(&gws[0]).await, in_flight(&gws[1]).await];
        match busy {
            [1, 0] => break 0,
            [0, 1] => break 1,
            _ => {}
        }
        assert!(Instant::now() < deadline, "in flight: {busy:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let survivor = 1 - victim;
    let next = next_event(&mut stream, "stream: second event").await;
    assert!(
        item(&next).get("statusUpdate").is_some() || item(&next).get("artifactUpdate").is_some()
    );

    // Traffic through nginx while the instance dies.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (stop, url) = (stop.clone(), nginx.agent_url(ECHO));
        tokio::spawn(async move {
            let client = http();
            let (mut ok, mut failed) = (0u32, Vec::new());
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let text = format!("during {i}");
                match send_message_with(&client, &url, &text).await {
                    Ok((200, v)) if echo_completed(&v, &text) => ok += 1,
                    Ok((status, v)) => failed.push(format!("HTTP {status}: {v}")),
                    // nginx's 502 page is not JSON.
                    Err(e) if e.contains("502 Bad Gateway") => failed.push("HTTP 502".into()),
                    Err(e) => failed.push(e),
                }
            }
            (ok, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed_at = Instant::now();
    gws[victim].proc.kill9();
    eprintln!(
        "SIGKILLed {} (serving the stream of task {task_id})",
        gws[victim].name
    );

    // The client's stream breaks without a final state...
    let tail = rest_of(&mut stream, "stream after the kill").await;
    assert!(
        tail.iter()
            .all(|e| !FINAL_STATES.contains(&state_of(item(e)).unwrap_or_default())),
        "the task cannot have finished yet: {tail:?}"
    );
    eprintln!("stream cut {:?} after the kill", killed_at.elapsed());
    // ...and resumes through nginx, on the survivor.
    let mut resumed = rpc_sse(
        &nginx.agent_url(INSPECT),
        "r",
        "SubscribeToTask",
        json!({"id": task_id}),
    )
    .await;
    let r_first = next_event(&mut resumed, "resumed: first event").await;
    eprintln!(
        "resumed through nginx {:?} after the kill",
        killed_at.elapsed()
    );
    let mut events = vec![r_first];
    events.extend(rest_of(&mut resumed, "resumed: rest").await);
    let items: Vec<&Value> = events.iter().map(item).collect();
    assert_eq!(
        check_stream(&items, &task_id, "resumed"),
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(
        format!(
            "{}{}",
            task_report(&items[0]["task"]),
            updates_report(&items[1..])
        ),
        full_report(STEPS)
    );

    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = within(15, "traffic task", traffic).await.expect("traffic");
    eprintln!(
        "SendMessage through nginx during the kill: {ok} ok, {} failed {failed:?}",
        failed.len()
    );
    assert!(ok > 0, "no traffic got through during the kill");
    // One client, one call at a time: only the call in flight on the victim when
    // it died may fail (502: nginx does not replay a POST it already sent, see
    // deploy/nginx.conf), plus at most one that nginx sent on a kept-alive
    // connection the victim had closed an instant before.
    assert!(
        failed.len() <= 2 && failed.iter().all(|f| f == "HTTP 502"),
        "failures during the kill: {failed:?}"
    );

    // After the kill: every call succeeds.
    let client = http();
    let t0 = Instant::now();
    for i in 0..20 {
        let text = format!("after {i}");
        let answer = send_message_with(&client, &nginx.agent_url(ECHO), &text).await;
        match &answer {
            Ok((200, v)) if echo_completed(v, &text) => {}
            _ => panic!("SendMessage {i} after the kill: {answer:?}"),
        }
    }
    eprintln!(
        "20 SendMessage through nginx after the kill in {:?}",
        t0.elapsed()
    );
    for _ in 0..4 {
        let (s, v) = get_json(&format!("{}/readyz", nginx.base)).await;
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(
        listing(&nginx.base).await.len(),
        2,
        "the survivor lists the agents"
    );
    assert_eq!(in_flight(&gws[survivor]).await, 0);

    let log = nginx.access_log();
    let retried = log.iter().filter(|l| l.contains(", ")).count();
    let victim_addr = gws[victim].base.trim_start_matches("http://").to_owned();
    eprintln!(
        "nginx: {} requests, {retried} passed on to the next upstream after a connect error; \
         {} errors about {victim_addr} in error.log",
        log.len(),
        nginx
            .error_log()
            .lines()
            .filter(|l| l.contains(&victim_addr) && l.contains("[error]"))
            .count()
    );
    eprintln!(
        "nginx on port {}; test took {:?}",
        nginx.port,
        started.elapsed()
    );
}
