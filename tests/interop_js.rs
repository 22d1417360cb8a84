//! Interoperability with the official JavaScript A2A client (`@a2a-js/sdk` from
//! npm, which implements A2A v1.0 and v0.3 through its `legacyCompat` layer):
//! `tests/interop/js_client.mjs` resolves cards from the gateway and sends,
//! streams, gets, lists, subscribes and cancels through the SDK's client API,
//! checks that A2A errors arrive as the SDK's typed errors and how JSON-RPC
//! ids are echoed, in each of four modes, one test each: JSON-RPC and
//! HTTP+JSON (REST), each in A2A v1.0 and in v0.3. The script also checks which
//! binding and version the SDK chose and the dialect on the wire.
//!
//! The SDK is pinned by `tests/interop/package.json` and `package-lock.json`
//! and installed once with `npm ci` into `target/interop-node`. Node is `node`
//! on PATH, or `$A2A_INTEROP_NODE`. Without Node, npm (or the npm registry)
//! the test fails with a message saying so.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples::{Inspection, echo, echo_card, inspection_card};
use common::install::manifest_dir;
use common::node;
use common::*;

/// The pinned client under test (as in tests/interop/package.json).
const SDK_VERSION: &str = "1.3.0";
/// The oldest Node the script runs on. The pinned SDK declares `node >= 20`
/// (npm only warns), but all four modes pass on Debian 12's Node 18.20 too,
/// which is what `apt-get install nodejs` gives there; 18.19 is the first
/// with `import.meta.resolve` unflagged.
const NODE_MIN_MAJOR: u32 = 18;

const ECHO: &str = "acme/plant1/echo";
const STREAMER: &str = "acme/plant1/inspect";
const LONG_RUNNER: &str = "acme/plant1/inspect-long";

/// How long the script may take before it counts as hung.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// `target/interop-node` with the pinned SDK, installed on first use.
fn interop_packages() -> PathBuf {
    let major = node::node_major();
    assert!(
        major >= NODE_MIN_MAJOR,
        "the @a2a-js/sdk {SDK_VERSION} interop test needs Node >= {NODE_MIN_MAJOR}; {} is {major} \
         (set A2A_INTEROP_NODE to a newer node)",
        node::node().display()
    );
    node::packages("interop-node", &manifest_dir().join("tests/interop"))
}

/// One way the official client talks to the gateway: `--mode` of the script.
struct Mode {
    /// The script's `--mode`.
    name: &'static str,
    /// Whether the SDK's transport for this mode implements ListTasks (its
    /// v0.3 ones throw: v0.3 has no `tasks/list`).
    lists: bool,
    /// Whether the mode has JSON-RPC ids to check (not REST).
    ids: bool,
}

const JSONRPC_1_0: Mode = Mode {
    name: "jsonrpc-1.0",
    lists: true,
    ids: true,
};
const JSONRPC_0_3: Mode = Mode {
    name: "jsonrpc-0.3",
    lists: false,
    ids: true,
};
const REST_1_0: Mode = Mode {
    name: "rest-1.0",
    lists: true,
    ids: false,
};
const REST_0_3: Mode = Mode {
    name: "rest-0.3",
    lists: false,
    ids: false,
};

/// Starts a broker, the three agents and a gateway, runs the script in `mode`
/// and asserts that it printed `ok {mode} {check}` for every check of that
/// mode (and `skip {mode} {check}` for the ones the mode does not have).
async fn run_mode(mode: Mode) {
    let packages = tokio::task::spawn_blocking(interop_packages)
        .await
        .expect("npm install panicked");

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

    let script = manifest_dir().join("tests/interop/js_client.mjs");
    let mut cmd = node::script_command(&packages, &script);
    cmd.args(["--mode", mode.name])
        .args([gw.base.as_str(), ECHO, STREAMER, LONG_RUNNER])
        // The gateway is on loopback: never route the client through a proxy.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let run = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("[{}] {shown} hung for {SCRIPT_TIMEOUT:?}", mode.name))
        .unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!(
        "[{}] {shown} exited with {} after {:.1?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        mode.name,
        out.status,
        started.elapsed()
    );
    println!("{report}");

    assert!(
        out.status.success(),
        "[{}] JavaScript client failed:\n{report}",
        mode.name
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with(&format!("@a2a-js/sdk {SDK_VERSION} "))),
        "[{}] expected the pinned @a2a-js/sdk {SDK_VERSION}:\n{report}",
        mode.name
    );
    let has = |prefix: &str| {
        lines
            .iter()
            .any(|l| *l == prefix || l.starts_with(&format!("{prefix} ")))
    };
    let mut checks = vec!["card", "send", "stream", "get", "errors", "cancel", "wire"];
    let mut skipped = vec![];
    for (check, done) in [("list", mode.lists), ("ids", mode.ids)] {
        if done {
            checks.push(check);
        } else {
            skipped.push(check);
        }
    }
    for check in skipped {
        let skip = format!("skip {} {check}", mode.name);
        assert!(has(&skip), "missing `{skip}`:\n{report}");
        assert!(
            !has(&format!("ok {} {check}", mode.name)),
            "[{}] {check} is both skipped and passed:\n{report}",
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
async fn official_js_client_jsonrpc_v1_0() {
    run_mode(JSONRPC_1_0).await;
}

/// A2A v0.3 over JSON-RPC (`legacyCompat`: `LegacyJsonRpcTransport`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_jsonrpc_v0_3() {
    run_mode(JSONRPC_0_3).await;
}

/// A2A v1.0 over HTTP+JSON (`RestTransport`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_rest_v1_0() {
    run_mode(REST_1_0).await;
}

/// A2A v0.3 over HTTP+JSON (`legacyCompat`: `LegacyRestTransport`, `/v1/...`
/// paths, v0.3 proto JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_rest_v0_3() {
    run_mode(REST_0_3).await;
}
