//! Running client programs against a test gateway (the official A2A clients of
//! the interop tests, schemathesis), and the interop tests' setup: a gateway
//! with three sample agents, and the per-check lines the client scripts print.

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::RunningAgent;
use a2a_mqtt_gateway::agent::samples::{Inspection, echo, echo_card, inspection_card};

use super::{Broker, TestGateway, start_agent};

/// What a client program printed and how it ended.
pub struct ClientRun {
    pub status: ExitStatus,
    pub stdout: String,
    /// The command, its exit status, how long it ran, its stdout and stderr:
    /// for failure messages.
    pub report: String,
}

/// Runs `cmd`, a client of a gateway on loopback, to its end; fails the test
/// when it cannot start or runs longer than `timeout`. `name` labels messages.
pub async fn run_client(mut cmd: Command, name: &str, timeout: Duration) -> ClientRun {
    // The gateway is on loopback: never route the client through a proxy.
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let run = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, run)
        .await
        .unwrap_or_else(|_| panic!("[{name}] {shown} hung for {timeout:?}"))
        .unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = format!(
        "[{name}] {shown} exited with {} after {:.1?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr),
    );
    ClientRun {
        status: out.status,
        stdout,
        report,
    }
}

/// The interop tests' agents: plain echo, a short streaming inspection, and a
/// long one that is still running when the client subscribes to or cancels it.
pub const ECHO: &str = "acme/plant1/echo";
pub const STREAMER: &str = "acme/plant1/inspect";
pub const LONG_RUNNER: &str = "acme/plant1/inspect-long";

/// One way an official client talks to the gateway: a client script's `--mode`.
pub struct Mode {
    /// The script's `--mode`.
    pub name: &'static str,
    /// Whether the SDK's transport for this mode implements ListTasks (the
    /// v0.3 ones throw, or raise NotImplementedError: v0.3 has no `tasks/list`).
    pub lists: bool,
    /// Whether the mode has JSON-RPC ids to check (not REST).
    pub ids: bool,
}

pub const JSONRPC_1_0: Mode = Mode {
    name: "jsonrpc-1.0",
    lists: true,
    ids: true,
};
pub const JSONRPC_0_3: Mode = Mode {
    name: "jsonrpc-0.3",
    lists: false,
    ids: true,
};
pub const REST_1_0: Mode = Mode {
    name: "rest-1.0",
    lists: true,
    ids: false,
};
pub const REST_0_3: Mode = Mode {
    name: "rest-0.3",
    lists: false,
    ids: false,
};

/// A gateway with the interop agents online, and what it needs kept running.
pub struct InteropGateway {
    pub gw: TestGateway,
    _agents: [RunningAgent; 3],
    _broker: Broker,
}

impl InteropGateway {
    /// Starts a broker, [`ECHO`], [`STREAMER`] and [`LONG_RUNNER`], and a
    /// gateway, and waits until the gateway has all three online.
    pub async fn start() -> InteropGateway {
        let broker = Broker::start();
        let inspection = |steps, step_ms| Inspection {
            steps,
            step_delay: Duration::from_millis(step_ms),
        };
        let agents = [
            start_agent(&broker, ECHO, echo_card(), echo).await,
            start_agent(&broker, STREAMER, inspection_card(), inspection(4, 100)).await,
            start_agent(&broker, LONG_RUNNER, inspection_card(), inspection(30, 200)).await,
        ];
        let gw = TestGateway::start(&broker).await;
        for agent in [ECHO, STREAMER, LONG_RUNNER] {
            gw.wait_agent(agent, "online").await;
        }
        InteropGateway {
            gw,
            _agents: agents,
            _broker: broker,
        }
    }

    /// Runs the client script `cmd` (its program and script) in `mode`
    /// against the gateway and its agents, prints its report, and fails the
    /// test unless it exits 0. `client` names it in the failure message.
    pub async fn run_script(
        &self,
        mut cmd: Command,
        client: &str,
        mode: &str,
        timeout: Duration,
    ) -> ClientRun {
        cmd.args(["--mode", mode])
            .args([self.gw.base.as_str(), ECHO, STREAMER, LONG_RUNNER]);
        let run = run_client(cmd, mode, timeout).await;
        println!("{}", run.report);
        assert!(
            run.status.success(),
            "[{mode}] {client} client failed:\n{}",
            run.report
        );
        run
    }

    /// Stops the gateway gracefully, then the agents and the broker.
    pub async fn shutdown(self) {
        self.gw.shutdown().await;
    }
}

impl ClientRun {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Whether the client printed a line that is `prefix` or starts with
    /// `prefix ` (a check's name may be followed by details).
    pub fn has(&self, prefix: &str) -> bool {
        self.stdout
            .lines()
            .any(|l| l == prefix || l.starts_with(&format!("{prefix} ")))
    }

    /// Asserts that an interop script in `mode` printed `ok {mode} {check}` for
    /// each of `passed`, `skip {mode} {check}` and no `ok` for each of
    /// `skipped`, and `all checks passed {mode} ...` last.
    pub fn assert_checks(&self, mode: &str, passed: &[&str], skipped: &[&str]) {
        let report = &self.report;
        for check in skipped {
            let skip = format!("skip {mode} {check}");
            assert!(self.has(&skip), "missing `{skip}`:\n{report}");
            assert!(
                !self.has(&format!("ok {mode} {check}")),
                "[{mode}] {check} is both skipped and passed:\n{report}"
            );
        }
        for check in passed {
            let ok = format!("ok {mode} {check}");
            assert!(self.has(&ok), "missing `{ok}`:\n{report}");
        }
        let done = format!("all checks passed {mode}");
        assert!(
            self.lines()
                .last()
                .is_some_and(|l| l.starts_with(&format!("{done} "))),
            "[{mode}] the last line is not `{done} ...`:\n{report}"
        );
    }
}
