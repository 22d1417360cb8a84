//! Interoperability with the official Python A2A client (`a2a-sdk` from PyPI):
//! `tests/interop/python_client.py` resolves cards from the gateway and sends,
//! streams, gets, lists, subscribes and cancels through the SDK's client API,
//! in each of four modes, one test each: JSON-RPC and HTTP+JSON (REST), each in
//! A2A v1.0 and in v0.3 (the SDK's `a2a.compat.v0_3` transports). The script
//! also checks which transport the SDK chose and the dialect on the wire.
//!
//! The interpreter is `$A2A_INTEROP_PYTHON` when set (it must already have
//! `a2a-sdk==1.3.0`); otherwise a virtualenv is made once under
//! `target/interop-venv` with `python3 -m venv` and pip. Without python3, venv
//! or pip (or PyPI) the test fails with a message saying so.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples::{Inspection, echo, echo_card, inspection_card};
use common::install::manifest_dir;
use common::python;
use common::*;

/// The pinned client under test.
const SDK_REQUIREMENT: &str = "a2a-sdk==1.3.0";
const SDK_VERSION: &str = "1.3.0";

const ECHO: &str = "acme/plant1/echo";
const STREAMER: &str = "acme/plant1/inspect";
const LONG_RUNNER: &str = "acme/plant1/inspect-long";

/// How long the Python script may take before it counts as hung.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The Python interpreter that has the pinned SDK: `$A2A_INTEROP_PYTHON`, or
/// the venv `target/interop-venv`, made on first use.
fn interop_python() -> PathBuf {
    if let Some(python) = std::env::var_os("A2A_INTEROP_PYTHON") {
        return PathBuf::from(python);
    }
    // The client needs only the base package (httpx, protobuf, json-rpc, ...):
    // the `http-server` extra adds starlette for servers, `grpc` the gRPC
    // transport; neither is used here.
    python::venv(
        "interop-venv",
        &[SDK_REQUIREMENT],
        "or set A2A_INTEROP_PYTHON to an interpreter that has a2a-sdk==1.3.0",
    )
}

/// One way the official client talks to the gateway: `--mode` of the script.
struct Mode {
    /// The script's `--mode`.
    name: &'static str,
    /// Whether the SDK's transport for this mode implements ListTasks (the
    /// v0.3 ones raise NotImplementedError: v0.3 has no `tasks/list`).
    lists: bool,
}

const JSONRPC_1_0: Mode = Mode {
    name: "jsonrpc-1.0",
    lists: true,
};
const JSONRPC_0_3: Mode = Mode {
    name: "jsonrpc-0.3",
    lists: false,
};
const REST_1_0: Mode = Mode {
    name: "rest-1.0",
    lists: true,
};
const REST_0_3: Mode = Mode {
    name: "rest-0.3",
    lists: false,
};

/// Starts a broker, the three agents and a gateway, runs the script in `mode`
/// and asserts that it printed `ok {mode} {check}` for every check of that
/// mode (and `skip {mode} list` where the client has no ListTasks).
async fn run_mode(mode: Mode) {
    let python = tokio::task::spawn_blocking(interop_python)
        .await
        .expect("venv setup panicked");

    let broker = Broker::start();
    let _echo = start_agent(&broker, ECHO, echo_card(), echo).await;
    let _streamer = start_agent(
        &broker,
        STREAMER,
        inspection_card(),
        Inspection {
            steps: 4,
            step_delay: Duration::from_millis(100),
        },
    )
    .await;
    let _long_runner = start_agent(
        &broker,
        LONG_RUNNER,
        inspection_card(),
        Inspection {
            steps: 30,
            step_delay: Duration::from_millis(200),
        },
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    for agent in [ECHO, STREAMER, LONG_RUNNER] {
        gw.wait_agent(agent, "online").await;
    }

    let script = manifest_dir().join("tests/interop/python_client.py");
    let started = Instant::now();
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["--mode", mode.name])
        .args([gw.base.as_str(), ECHO, STREAMER, LONG_RUNNER])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // The gateway is on loopback: never route the client through a proxy.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "[{}] {} hung for {SCRIPT_TIMEOUT:?}",
                mode.name,
                script.display()
            )
        })
        .unwrap_or_else(|e| panic!("could not run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!(
        "[{}] {} {} --mode {} exited with {} after {:.1?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        mode.name,
        python.display(),
        script.display(),
        mode.name,
        out.status,
        started.elapsed()
    );
    println!("{report}");

    assert!(
        out.status.success(),
        "[{}] Python client failed:\n{report}",
        mode.name
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&format!("a2a-sdk {SDK_VERSION}").as_str()),
        "[{}] expected the pinned a2a-sdk {SDK_VERSION}:\n{report}",
        mode.name
    );
    let has = |prefix: &str| {
        lines
            .iter()
            .any(|l| *l == prefix || l.starts_with(&format!("{prefix} ")))
    };
    let mut checks = vec!["card", "send", "stream", "get", "cancel", "wire"];
    if mode.lists {
        checks.push("list");
    } else {
        let skip = format!("skip {} list", mode.name);
        assert!(has(&skip), "missing `{skip}`:\n{report}");
        assert!(
            !has(&format!("ok {} list", mode.name)),
            "[{}] list is both skipped and passed:\n{report}",
            mode.name
        );
    }
    for check in checks {
        let prefix = format!("ok {} {check}", mode.name);
        assert!(has(&prefix), "missing `{prefix}`:\n{report}");
    }
    let done = format!("all checks passed {}", mode.name);
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with(&format!("{done} "))),
        "[{}] the last line is not `{done} ...`:\n{report}",
        mode.name
    );

    gw.shutdown().await;
}

/// A2A v1.0 over JSON-RPC (`JsonRpcTransport`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_jsonrpc_v1_0() {
    run_mode(JSONRPC_1_0).await;
}

/// A2A v0.3 over JSON-RPC (`a2a.compat.v0_3` `CompatJsonRpcTransport`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_jsonrpc_v0_3() {
    run_mode(JSONRPC_0_3).await;
}

/// A2A v1.0 over HTTP+JSON (`RestTransport`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_rest_v1_0() {
    run_mode(REST_1_0).await;
}

/// A2A v0.3 over HTTP+JSON (`a2a.compat.v0_3` `CompatRestTransport`, `/v1/...`
/// paths, v0.3 proto JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_rest_v0_3() {
    run_mode(REST_0_3).await;
}
