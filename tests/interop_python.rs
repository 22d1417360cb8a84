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
use std::process::Command;
use std::time::Duration;

use common::install::manifest_dir;
use common::interop::{InteropGateway, JSONRPC_0_3, JSONRPC_1_0, Mode, REST_0_3, REST_1_0};
use common::python;

/// The pinned client under test.
const SDK_REQUIREMENT: &str = "a2a-sdk==1.3.0";
const SDK_VERSION: &str = "1.3.0";

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

/// Starts a broker, the three agents and a gateway, runs the script in `mode`
/// and asserts that it printed `ok {mode} {check}` for every check of that
/// mode (and `skip {mode} list` where the client has no ListTasks).
async fn run_mode(mode: Mode) {
    let python = tokio::task::spawn_blocking(interop_python)
        .await
        .expect("venv setup panicked");

    let interop = InteropGateway::start().await;
    let mut cmd = Command::new(&python);
    cmd.arg(manifest_dir().join("tests/interop/python_client.py"))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = interop
        .run_script(cmd, "Python", mode.name, SCRIPT_TIMEOUT)
        .await;
    assert!(
        run.lines()
            .contains(&format!("a2a-sdk {SDK_VERSION}").as_str()),
        "[{}] expected the pinned a2a-sdk {SDK_VERSION}:\n{}",
        mode.name,
        run.report
    );
    let mut checks = vec!["card", "send", "stream", "get", "cancel", "wire"];
    let mut skipped = vec![];
    if mode.lists {
        checks.push("list");
    } else {
        skipped.push("list");
    }
    run.assert_checks(mode.name, &checks, &skipped);

    interop.shutdown().await;
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
