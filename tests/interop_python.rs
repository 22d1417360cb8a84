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

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use a2a_mqtt_gateway::agent::samples::{Inspection, echo, echo_card, inspection_card};
use common::*;

/// The pinned client under test.
const SDK_REQUIREMENT: &str = "a2a-sdk==1.3.0";
const SDK_VERSION: &str = "1.3.0";

const ECHO: &str = "acme/plant1/echo";
const STREAMER: &str = "acme/plant1/inspect";
const LONG_RUNNER: &str = "acme/plant1/inspect-long";

/// How long the Python script may take before it counts as hung.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a test waits for another test process to finish making the venv.
const VENV_LOCK_WAIT: Duration = Duration::from_secs(600);

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd`, failing the test with `what`, the command and its output unless
/// it exits 0.
fn run_or_fail(cmd: &mut Command, what: &str) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {shown} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    out
}

/// Removes the lock file when the venv builder is done (or panics).
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The Python interpreter that has the pinned SDK, making the venv if needed.
///
/// Idempotent and safe across concurrent test processes: a marker file naming
/// the installed requirement is written only after a successful install, and
/// the install itself runs under an exclusive lock file (`create_new`); a lock
/// older than [`VENV_LOCK_WAIT`] is taken to be left by a killed run.
fn interop_python() -> PathBuf {
    if let Some(python) = std::env::var_os("A2A_INTEROP_PYTHON") {
        return PathBuf::from(python);
    }
    let target = manifest_dir().join("target");
    let venv = target.join("interop-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join(".a2a-interop-installed");
    let installed = || {
        python.is_file()
            && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == SDK_REQUIREMENT)
    };
    if installed() {
        return python;
    }

    std::fs::create_dir_all(&target).expect("create target/ for the interop venv");
    let lock = target.join("interop-venv.lock");
    let deadline = Instant::now() + VENV_LOCK_WAIT;
    let _guard = loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => break LockGuard(lock.clone()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if installed() {
                    return python;
                }
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|a| a > VENV_LOCK_WAIT) {
                    let _ = std::fs::remove_file(&lock); // stale: its owner died
                    continue;
                }
                assert!(
                    Instant::now() < deadline,
                    "another test process has held {} for over {VENV_LOCK_WAIT:?}; \
                     remove it if no test is running",
                    lock.display()
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("cannot create the venv lock {}: {e}", lock.display()),
        }
    };
    if installed() {
        return python; // made by the previous lock holder
    }

    let started = Instant::now();
    eprintln!(
        "interop: creating {} with {SDK_REQUIREMENT} (once)",
        venv.display()
    );
    run_or_fail(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 with the venv module is required for the Python interop test \
         (Debian: apt-get install -y python3 python3-venv), or set A2A_INTEROP_PYTHON \
         to an interpreter that has a2a-sdk==1.3.0",
    );
    // The client needs only the base package (httpx, protobuf, json-rpc, ...):
    // the `http-server` extra adds starlette for servers, `grpc` the gRPC
    // transport; neither is used here.
    run_or_fail(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                SDK_REQUIREMENT,
            ])
            .env("PIP_NO_INPUT", "1"),
        "pip could not install the Python A2A SDK into the interop venv \
         (is PyPI reachable?)",
    );
    std::fs::write(&marker, format!("{SDK_REQUIREMENT}\n")).expect("write the venv marker");
    eprintln!("interop: venv ready in {:.1?}", started.elapsed());
    python
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
