//! The two example agents in `examples/` as users run them: real processes on
//! the test broker, called through a gateway, stopped with Ctrl-C (SIGINT).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::procs::Proc;
use common::*;
use serde_json::{Value, json};

/// The example binary `name`. `cargo test` builds the examples (as it builds
/// every target), and that build is used when it is newer than every source;
/// otherwise (`cargo test --test examples` after an edit) it is built here.
/// Not always: `cargo build` fingerprints the library differently from `cargo
/// test` and would recompile it on every run.
fn example(name: &str) -> PathBuf {
    // This test runs from target/<profile>/deps; examples sit beside it.
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = dir.join("examples").join(name);
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    if built.is_none_or(|built| built < newest_source()) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --example {name}");
    }
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// When the crate's sources (library, examples, manifest) last changed.
fn newest_source() -> SystemTime {
    fn newest(path: &Path) -> SystemTime {
        let own = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match std::fs::read_dir(path) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| newest(&e.path()))
                .fold(own, SystemTime::max),
            Err(_) => own,
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["src", "examples", "Cargo.toml", "Cargo.lock"]
        .iter()
        .map(|p| newest(&root.join(p)))
        .fold(SystemTime::UNIX_EPOCH, SystemTime::max)
}

fn spawn_example(name: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new(example(name));
    cmd.args(args).env("RUST_LOG", "info");
    Proc::spawn_command(name, cmd)
}

/// Ctrl-C: the agent republishes its card offline, then exits cleanly.
async fn interrupt_and_expect_offline(mut agent: Proc, gw: &TestGateway, addr: &str) {
    agent.signal("INT");
    gw.wait_agent(addr, "offline").await;
    let entry = gw.registry_entry(addr).await;
    assert_eq!(
        entry["statusSource"], "agent",
        "republished by the agent on shutdown, not its Last Will: {entry:#}"
    );
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("the example exits after Ctrl-C");
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn the_echo_example_answers_through_the_gateway_and_stops_on_ctrl_c() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let url = broker.url();
    let agent = spawn_example("echo_agent", &[&url, "acme/plant1/echo"]);
    gw.wait_agent("acme/plant1/echo", "online").await;

    let r = rpc(
        &gw.agent_url("acme/plant1/echo"),
        &request(json!(1), "SendMessage", send_params("hello example")),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "hello example");

    interrupt_and_expect_offline(agent, &gw, "acme/plant1/echo").await;
}

#[tokio::test]
async fn the_inspection_example_streams_honours_cancel_and_stops_on_ctrl_c() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let url = broker.url();
    // 50 steps of 0.2 s: far longer than the test.
    let agent = spawn_example(
        "inspection_agent",
        &[&url, "acme/plant1/inspect", "50", "0.2"],
    );
    gw.wait_agent("acme/plant1/inspect", "online").await;
    let endpoint = gw.agent_url("acme/plant1/inspect");

    let mut params = send_params("line 4");
    params["configuration"] = json!({"returnImmediately": true});
    let r = rpc(&endpoint, &request(json!(1), "SendMessage", params)).await;
    let id = r["result"]["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {r}"))
        .to_owned();

    // It works through the stations, streaming progress to a subscriber.
    let mut events = open_stream(
        &endpoint,
        &request(json!(2), "SubscribeToTask", json!({"id": id})),
    )
    .await;
    let first = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the subscription starts")
        .expect("an event");
    assert_eq!(first["result"]["task"]["id"], id.as_str(), "{first}");
    let progress = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.recv().await {
            if state_of(&e["result"]) == Some("TASK_STATE_WORKING") {
                return e;
            }
        }
        Value::Null
    })
    .await
    .expect("progress within a few steps");
    assert_eq!(state_of(&progress["result"]), Some("TASK_STATE_WORKING"));

    // Cancelled mid-way: it stops at once.
    let r = rpc(
        &endpoint,
        &request(json!(3), "CancelTask", json!({"id": id})),
    )
    .await;
    assert_eq!(r["result"]["status"]["state"], "TASK_STATE_CANCELED", "{r}");
    let r = rpc(&endpoint, &request(json!(4), "GetTask", json!({"id": id}))).await;
    assert_eq!(r["result"]["status"]["state"], "TASK_STATE_CANCELED", "{r}");
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut last = Value::Null;
        while let Some(e) = events.recv().await {
            last = e;
        }
        last
    })
    .await
    .expect("the subscription ends after the cancel");
    assert_eq!(
        state_of(&ended["result"]),
        Some("TASK_STATE_CANCELED"),
        "{ended}"
    );

    interrupt_and_expect_offline(agent, &gw, "acme/plant1/inspect").await;
}
