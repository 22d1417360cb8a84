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
use std::time::Duration;

use common::install::manifest_dir;
use common::interop::{InteropGateway, JSONRPC_0_3, JSONRPC_1_0, Mode, REST_0_3, REST_1_0};
use common::node;

/// The pinned client under test (as in tests/interop/package.json).
const SDK_VERSION: &str = "1.3.0";
/// The oldest Node the script runs on. The pinned SDK declares `node >= 20`
/// (npm only warns), but all four modes pass on Debian 12's Node 18.20 too,
/// which is what `apt-get install nodejs` gives there; 18.19 is the first
/// with `import.meta.resolve` unflagged.
const NODE_MIN_MAJOR: u32 = 18;

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

/// Starts a broker, the three agents and a gateway, runs the script in `mode`
/// and asserts that it printed `ok {mode} {check}` for every check of that
/// mode (and `skip {mode} {check}` for the ones the mode does not have).
async fn run_mode(mode: Mode) {
    let packages = tokio::task::spawn_blocking(interop_packages)
        .await
        .expect("npm install panicked");

    let interop = InteropGateway::start().await;
    let script = manifest_dir().join("tests/interop/js_client.mjs");
    let cmd = node::script_command(&packages, &script);
    let run = interop
        .run_script(cmd, "JavaScript", mode.name, SCRIPT_TIMEOUT)
        .await;
    assert!(
        run.lines()
            .first()
            .is_some_and(|l| l.starts_with(&format!("@a2a-js/sdk {SDK_VERSION} "))),
        "[{}] expected the pinned @a2a-js/sdk {SDK_VERSION}:\n{}",
        mode.name,
        run.report
    );
    let mut checks = vec!["card", "send", "stream", "get", "errors", "cancel", "wire"];
    let mut skipped = vec![];
    for (check, done) in [("list", mode.lists), ("ids", mode.ids)] {
        if done {
            checks.push(check);
        } else {
            skipped.push(check);
        }
    }
    run.assert_checks(mode.name, &checks, &skipped);

    interop.shutdown().await;
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
