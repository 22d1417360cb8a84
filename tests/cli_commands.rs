//! The CLI as users run it: a subprocess against a gateway and a broker, checked
//! by output and exit code (0 ok, 1 remote failure, 2 usage, 3 not found).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples::{self, Inspection};
use common::*;
use serde_json::Value;

/// The sample agents [`setup`] starts.
const ECHO: &str = "demo/factory/echo";
const INSPECT: &str = "demo/factory/inspect";

/// The repository's configuration file.
const GATEWAY_YAML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.yaml");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary with `args`, none of the environment variables it reads set.
fn command(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_a2a-gateway"));
    cmd.args(args)
        .env_remove("A2A_GATEWAY_URL")
        .env_remove("A2A_GATEWAY_CONFIG")
        .env_remove("A2A_GATEWAY__HTTP__LISTEN")
        .kill_on_drop(true);
    cmd
}

async fn run(mut cmd: tokio::process::Command) -> Run {
    let out = cmd.output().await.expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn cli(args: &[&str]) -> Run {
    run(command(args)).await
}

/// The binary with `args` and `env` set.
async fn cli_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(args);
    cmd.envs(env.iter().copied());
    run(cmd).await
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

async fn setup() -> (
    Broker,
    TestGateway,
    Vec<a2a_mqtt_gateway::agent::RunningAgent>,
) {
    let broker = Broker::start();
    let echo = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let inspect = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        Inspection {
            steps: 3,
            step_delay: Duration::from_millis(150),
        },
    )
    .await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    gw.wait_agent(INSPECT, "online").await;
    (broker, gw, vec![echo, inspect])
}

#[tokio::test]
async fn agents_list_and_get() {
    let (_b, gw, _a) = setup().await;
    let g = gw.base.as_str();
    let r = cli(&["agents", "list", "--gateway", g]).await;
    ok(&r);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("AGENT"), "{}", r.stdout);
    assert!(
        lines[1].starts_with(ECHO) && lines[1].contains("online"),
        "{}",
        r.stdout
    );
    assert!(lines[2].starts_with(INSPECT));

    let r = cli(&[
        "agents",
        "list",
        "--gateway",
        g,
        "--skill",
        "quality",
        "--output",
        "json",
    ])
    .await;
    ok(&r);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let agents: Vec<&str> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, [INSPECT]);

    let r = cli(&["agents", "get", ECHO, "--gateway", g]).await;
    ok(&r);
    assert!(r.stdout.contains("name         Echo"), "{}", r.stdout);
    assert!(r.stdout.contains("validation   valid"));
    let r = cli(&["agents", "get", "demo/factory/ghost", "--gateway", g]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("ghost"));
    let r = cli(&["agents", "get", "not-an-address", "--gateway", g]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);

    // A 404 that is not the gateway saying "no such agent or task" (here: a
    // wrong base URL) is a remote failure with a hint, not "not found".
    let wrong = format!("{g}/nope");
    for args in [
        vec!["agents", "get", ECHO],
        vec!["agents", "list"],
        vec!["agents", "unregister", ECHO],
        vec!["send", ECHO, "hi"],
        vec!["send", ECHO, "hi", "--stream"],
        vec!["tasks", "get", ECHO, "t-1"],
    ] {
        let mut args = args;
        args.extend(["--gateway", wrong.as_str()]);
        let r = cli(&args).await;
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("hint:") && r.stderr.contains(&wrong),
            "{args:?}: {}",
            r.stderr
        );
    }
    gw.wait_agent(ECHO, "online").await;
}

#[tokio::test]
async fn register_and_unregister_via_gateway_and_broker() {
    let (broker, gw, _a) = setup().await;
    let g = gw.base.as_str();
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.json");
    std::fs::write(&card, card_json("Press", false).to_string()).unwrap();
    let card = card.to_str().unwrap();

    let r = cli(&[
        "agents",
        "register",
        "--card",
        card,
        "acme/line/press",
        "--gateway",
        g,
    ])
    .await;
    ok(&r);
    assert!(r.stdout.contains("registered acme/line/press"));
    gw.wait_agent("acme/line/press", "unknown").await;
    let r = cli(&["agents", "unregister", "acme/line/press", "--gateway", g]).await;
    ok(&r);
    gw.wait_agent_gone("acme/line/press").await;
    // Nothing registered there (any more): not found, through the gateway.
    for gone in ["acme/line/press", "acme/line/ghost"] {
        let r = cli(&["agents", "unregister", gone, "--gateway", g]).await;
        assert_eq!(r.code, 3, "{gone}: {}", r.stderr);
        assert!(r.stderr.contains(gone), "{}", r.stderr);
    }

    // Straight to the broker, no gateway involved.
    let url = broker.url();
    let r = cli(&[
        "agents",
        "register",
        "--card",
        card,
        "acme/line/drill",
        "--broker",
        &url,
    ])
    .await;
    ok(&r);
    gw.wait_agent("acme/line/drill", "unknown").await;
    let r = cli(&["agents", "unregister", "acme/line/drill", "--broker", &url]).await;
    ok(&r);
    gw.wait_agent_gone("acme/line/drill").await;
    // The broker cannot tell whether a card was there: idempotent.
    let r = cli(&["agents", "unregister", "acme/line/drill", "--broker", &url]).await;
    ok(&r);

    // Usage errors: missing file, invalid card, bad address.
    let r = cli(&[
        "agents",
        "register",
        "--card",
        "/nonexistent.json",
        "acme/line/x",
        "--gateway",
        g,
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"name\": \"no other fields\"}").unwrap();
    let r = cli(&[
        "agents",
        "register",
        "--card",
        bad.to_str().unwrap(),
        "acme/line/x",
        "--gateway",
        g,
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is missing"), "{}", r.stderr);
    let r = cli(&[
        "agents",
        "register",
        "--card",
        card,
        "acme/li+ne/x",
        "--gateway",
        g,
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A broker that is not there: remote failure.
    let r = cli(&[
        "agents",
        "unregister",
        "acme/line/x",
        "--broker",
        "mqtt://127.0.0.1:1",
    ])
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
}

#[tokio::test]
async fn send_plain_and_streamed() {
    let (_b, gw, _a) = setup().await;
    let g = gw.base.as_str();
    let r = cli(&["send", ECHO, "hello from the cli", "--gateway", g]).await;
    ok(&r);
    assert_eq!(r.stdout.trim(), "hello from the cli");
    assert!(r.stderr.contains("completed"), "{}", r.stderr);

    let r = cli(&["send", INSPECT, "line 9", "--stream", "--gateway", g]).await;
    ok(&r);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("[task "), "{}", r.stdout);
    let stations: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("[artifact"))
        .collect();
    assert_eq!(stations.len(), 3, "{}", r.stdout);
    assert!(stations[0].contains("station 1") && stations[2].contains("station 3"));
    assert_eq!(lines.last().unwrap().trim(), "[completed]", "{}", r.stdout);

    let r = cli(&[
        "send",
        ECHO,
        "json please",
        "--output",
        "json",
        "--gateway",
        g,
    ])
    .await;
    ok(&r);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["task"]["status"]["state"], "TASK_STATE_COMPLETED");

    // Multi-turn: the agent asks, the CLI says how to answer.
    let r = cli(&["send", ECHO, "/ask", "--gateway", g]).await;
    ok(&r);
    assert!(r.stdout.contains("What should I echo?"));
    assert!(r.stderr.contains("--task-id"), "{}", r.stderr);

    let r = cli(&["send", "demo/factory/nobody", "x", "--gateway", g]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = cli(&["send", ECHO, "x", "--gateway", "http://127.0.0.1:1"]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot reach the gateway"),
        "{}",
        r.stderr
    );
}

/// `send INSPECT {text} --no-wait --output json`: the id of the task it started.
async fn start_inspection(gateway: &str, text: &str) -> String {
    let r = cli(&[
        "send",
        INSPECT,
        text,
        "--no-wait",
        "--output",
        "json",
        "--gateway",
        gateway,
    ])
    .await;
    ok(&r);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["task"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tasks_get_cancel_subscribe() {
    let (_b, gw, _a) = setup().await;
    let g = gw.base.as_str();
    let id = start_inspection(g, "line 1").await;

    let r = cli(&["tasks", "subscribe", INSPECT, &id, "--gateway", g]).await;
    ok(&r);
    assert!(
        r.stdout.lines().next().unwrap().starts_with("[task "),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        "[completed]",
        "{}",
        r.stdout
    );

    let r = cli(&["tasks", "get", INSPECT, &id, "--gateway", g]).await;
    ok(&r);
    assert!(
        r.stdout.starts_with(&format!("task {id} completed")),
        "{}",
        r.stdout
    );

    // A long task, cancelled.
    let id = start_inspection(g, "line 2").await;
    let r = cli(&["tasks", "cancel", INSPECT, &id, "--gateway", g]).await;
    ok(&r);
    assert!(r.stdout.contains("canceled"), "{}", r.stdout);
    let r = cli(&["tasks", "cancel", INSPECT, &id, "--gateway", g]).await;
    assert_eq!(r.code, 1, "not cancelable any more: {}", r.stderr);
    let r = cli(&["tasks", "get", INSPECT, "no-such-task", "--gateway", g]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// `a2a-gateway {path} --help`, which must succeed.
fn help_of(path: &[String]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_a2a-gateway"))
        .args(path)
        .arg("--help")
        .env_remove("A2A_GATEWAY_URL")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{path:?} --help: {}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of `section` ("Commands:", "Options:", ...) of a help text.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// Subcommands listed under "Commands:" (clap's own `help` left out).
fn subcommands(help: &str) -> Vec<String> {
    section(help, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Whether a help line starts an argument or option (`  <AGENT>`, `  -q, ...`,
/// `      --org <ORG>`): descriptions below it are indented further.
fn is_entry(line: &str) -> bool {
    let indent = line.len() - line.trim_start().len();
    (2..=6).contains(&indent) && line.trim_start().starts_with(['-', '<', '['])
}

/// Arguments and options of a help text that have no description: an entry
/// with no text after its names on its line, and none on the lines below it
/// other than clap's `[default: ..]`/`[env: ..]` notes.
fn undescribed(help: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for title in ["Arguments:", "Options:"] {
        let lines = section(help, title);
        for (i, entry) in lines.iter().enumerate() {
            if !is_entry(entry) {
                continue;
            }
            let same_line = entry.trim().split_once("  ").is_some();
            let below = lines[i + 1..]
                .iter()
                .take_while(|l| !is_entry(l))
                .map(|l| l.trim())
                .find(|l| !l.is_empty())
                .is_some_and(|l| !l.starts_with('[') && l != "Possible values:");
            if !same_line && !below {
                missing.push(entry.trim().to_owned());
            }
        }
    }
    missing
}

#[test]
fn every_command_and_group_has_examples_and_described_arguments() {
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    while let Some(path) = pending.pop() {
        let help = help_of(&path);
        let name = format!("a2a-gateway {}", path.join(" "));
        if !help.lines().any(|l| l.trim() == "Examples:") {
            problems.push(format!("{name}: no Examples section"));
        }
        for entry in undescribed(&help) {
            problems.push(format!("{name}: `{entry}` has no help"));
        }
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            pending.push(p);
        }
        checked.push(name);
    }
    // The walk reached every group and command (a broken parser finds none).
    for expected in [
        "a2a-gateway ",
        "a2a-gateway agents",
        "a2a-gateway agents list",
        "a2a-gateway tasks",
        "a2a-gateway tasks subscribe",
        "a2a-gateway send",
        "a2a-gateway check-config",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not reached: {checked:?}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The checker itself: it sees a missing description and a present one.
    let sample = "Options:\n      --org <ORG>\n\n      --unit <UNIT>\n          Only this unit\n\n  -q, --query <TEXT>  Text\n      --limit <N>\n          [default: 5]\n";
    assert_eq!(undescribed(sample), ["--org <ORG>", "--limit <N>"]);
    // The free-text option reads as such.
    let list = help_of(&["agents".into(), "list".into()]);
    assert!(list.contains("-q, --query <TEXT>"), "{list}");
}

#[tokio::test]
async fn help_usage_and_check_config() {
    let r = cli(&["send", ECHO]).await;
    assert_eq!(r.code, 2, "missing argument is a usage error");
    let r = cli(&["frobnicate"]).await;
    assert_eq!(r.code, 2);
    // rumqttc panics on keep-alives under 5 s: refused before it gets there.
    let r = cli(&[
        "sample-agent",
        "echo",
        "acme/plant1/echo",
        "--broker",
        "mqtt://127.0.0.1:1",
        "--keep-alive",
        "2",
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--keep-alive") && !r.stderr.contains("panicked"),
        "{}",
        r.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "mqtt:\n  url: mqtt://broker:1883\n  username: gw\n  password: s3cret\n",
    )
    .unwrap();
    let r = cli(&["check-config", good.to_str().unwrap()]).await;
    ok(&r);
    assert!(r.stdout.contains("mqtt://broker:1883"));
    assert!(!r.stdout.contains("s3cret"), "secrets are redacted");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "requests:\n  max_attempts: 0\n").unwrap();
    let r = cli(&["check-config", bad.to_str().unwrap()]).await;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("requests.max_attempts"), "{}", r.stderr);
    let r = cli(&["check-config", GATEWAY_YAML]).await;
    ok(&r);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_with_the_embedded_broker_and_healthcheck() {
    let (http_port, mqtt_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{http_port}");
    let broker_addr = format!("127.0.0.1:{mqtt_port}");
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_a2a-gateway"))
        .args([
            "serve",
            "--listen",
            &listen,
            "--embedded-broker",
            &broker_addr,
        ])
        .env_remove("A2A_GATEWAY_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://{listen}");
    let mut healthy = false;
    for _ in 0..100 {
        if cli(&["healthcheck", "--url", &url]).await.code == 0 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "serve --embedded-broker came up");
    // The embedded broker takes cards like any broker.
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.json");
    std::fs::write(&card, card_json("Embedded", false).to_string()).unwrap();
    let r = cli(&[
        "agents",
        "register",
        "--card",
        card.to_str().unwrap(),
        "home/lab/thing",
        "--broker",
        &format!("mqtt://{broker_addr}"),
    ])
    .await;
    ok(&r);
    let mut listed = String::new();
    for _ in 0..50 {
        listed = cli(&["agents", "list", "--gateway", &url]).await.stdout;
        if listed.contains("home/lab/thing") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listed.contains("home/lab/thing"), "{listed}");

    let pid = serve.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(15), serve.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let r = cli(&["healthcheck", "--url", &url]).await;
    assert_eq!(r.code, 1, "nothing listens any more");
}

/// Worker threads of a running process, by the name tokio gives them.
fn runtime_workers(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "tokio-rt-worker")
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn serve_runs_the_configured_number_of_worker_threads() {
    let broker = Broker::start();
    let one = procs::start_gateway(
        &broker,
        "threads1",
        &[("A2A_GATEWAY__RUNTIME__WORKER_THREADS", "1")],
    )
    .await;
    let three = procs::start_gateway(
        &broker,
        "threads3",
        &[("A2A_GATEWAY__RUNTIME__WORKER_THREADS", "3")],
    )
    .await;
    let auto = procs::start_gateway(&broker, "threadsauto", &[]).await;
    assert_eq!(runtime_workers(one.proc.pid()), 1);
    assert_eq!(runtime_workers(three.proc.pid()), 3);
    // Unset: one per CPU, but one on one or two CPUs.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let expected = if cpus <= 2 { 1 } else { cpus };
    assert_eq!(runtime_workers(auto.proc.pid()), expected, "{cpus} CPUs");
    // And the check names the key when the value is out of range.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.yaml");
    std::fs::write(&file, "runtime:\n  worker_threads: 5000\n").unwrap();
    let r = cli(&["check-config", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("runtime.worker_threads"), "{}", r.stderr);
}

/// `check-config` of the repository's gateway.yaml with `env` set on top of a
/// clean environment.
async fn check_config_with_env(env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_a2a-gateway"));
    cmd.args(["check-config", GATEWAY_YAML]);
    for (k, _) in std::env::vars() {
        if k.starts_with("A2A_GATEWAY") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    run(cmd).await
}

#[tokio::test]
async fn check_config_takes_numeric_looking_text_from_the_environment() {
    let r = check_config_with_env(&[
        ("A2A_GATEWAY__MQTT__USERNAME", "4711"),
        ("A2A_GATEWAY__MQTT__PASSWORD", "987654321"),
        ("A2A_GATEWAY__GATEWAY__ORG", "2024"),
    ])
    .await;
    ok(&r);
    let shown: Value = serde_json::from_str(r.stdout.split_once('\n').unwrap().1).unwrap();
    assert_eq!(shown["mqtt"]["username"], "4711", "{}", r.stdout);
    assert_eq!(shown["gateway"]["org"], "2024");
    assert_eq!(shown["mqtt"]["password"], "<redacted>");
    assert!(!r.stdout.contains("987654321"), "secrets are redacted");
}

#[tokio::test]
async fn check_config_refuses_broken_tls_settings_naming_the_key() {
    let r = check_config_with_env(&[
        ("A2A_GATEWAY__MQTT__URL", "mqtts://broker:8883"),
        ("A2A_GATEWAY__MQTT__TLS__CA_FILE", "/nonexistent.pem"),
    ])
    .await;
    assert_eq!(r.code, 2, "a configuration error: {}", r.stderr);
    assert!(
        r.stderr
            .contains("mqtt.tls.ca_file: cannot read TLS file /nonexistent.pem"),
        "{}",
        r.stderr
    );

    // TLS files with a plain mqtt:// URL would be silently unused.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let r = check_config_with_env(&[
        ("A2A_GATEWAY__MQTT__URL", "mqtt://broker:1883"),
        ("A2A_GATEWAY__MQTT__TLS__CA_FILE", ca.to_str().unwrap()),
    ])
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("mqtt.tls.ca_file") && r.stderr.contains("mqtts://"),
        "{}",
        r.stderr
    );
}

/// Runs the binary with stdout a pipe whose reader has already gone, as in
/// `a2a-gateway ... | head -1` once head has exited.
async fn cli_into_closed_pipe(args: &[&str]) -> Run {
    let (writer, reader) = tokio::net::unix::pipe::pipe().expect("pipe");
    drop(reader);
    let fd = writer.into_blocking_fd().expect("pipe fd");
    // Not `output()`: it would replace the pipe with its own.
    let child = command(args)
        .stdout(Stdio::from(fd))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let out = child.wait_with_output().await.expect("it ends");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn a_closed_stdout_ends_commands_quietly() {
    let (_b, gw, _a) = setup().await;
    let g = gw.base.as_str();
    for args in [
        vec!["check-config", GATEWAY_YAML],
        vec!["agents", "get", ECHO, "-o", "json", "--gateway", g],
        vec!["agents", "list", "--gateway", g],
        vec!["send", INSPECT, "line 1", "--stream", "--gateway", g],
        vec!["healthcheck", "--url", g],
    ] {
        let r = cli_into_closed_pipe(&args).await;
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("Broken pipe"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[tokio::test]
async fn the_gateway_comes_from_the_environment_or_the_default() {
    let (_b, gw, _a) = setup().await;
    // A2A_GATEWAY_URL instead of --gateway.
    let r = cli_env(&["agents", "get", ECHO], &[("A2A_GATEWAY_URL", &gw.base)]).await;
    ok(&r);
    assert!(r.stdout.contains("name         Echo"), "{}", r.stdout);
    // --gateway wins over the variable.
    let r = cli_env(
        &["agents", "get", ECHO, "--gateway", &gw.base],
        &[("A2A_GATEWAY_URL", "http://127.0.0.1:1")],
    )
    .await;
    ok(&r);

    // Neither: http://127.0.0.1:8080. A stand-in answers there, if the port is
    // free on this machine.
    let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:8080").await else {
        eprintln!("127.0.0.1:8080 is taken on this machine; only the help's default is checked");
        let r = cli(&["agents", "list", "--help"]).await;
        assert!(
            r.stdout.contains("[default: http://127.0.0.1:8080]"),
            "{}",
            r.stdout
        );
        return;
    };
    let served = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"agents":[],"nextPageToken":""}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(answer.as_bytes()).await.expect("write");
        String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let r = cli(&["agents", "list"]).await;
    ok(&r);
    let request = tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("the CLI called 127.0.0.1:8080")
        .expect("stand-in");
    assert!(request.starts_with("GET /api/v1/agents?"), "{request}");
}

#[tokio::test]
async fn healthcheck_without_url_probes_the_configured_listen_port() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let port = gw.addr.port().to_string();
    // What the container's HEALTHCHECK runs: the image's gateway.yaml and a
    // wildcard listen address from the environment.
    let wildcard = format!("0.0.0.0:{port}");
    let r = cli_env(
        &["healthcheck"],
        &[
            ("A2A_GATEWAY_CONFIG", GATEWAY_YAML),
            ("A2A_GATEWAY__HTTP__LISTEN", &wildcard),
        ],
    )
    .await;
    ok(&r);
    assert_eq!(
        r.stdout.trim(),
        format!("ok http://127.0.0.1:{port}/healthz"),
        "a wildcard address is probed on loopback"
    );
    // No file: the defaults, the port from the environment.
    let listen = format!("127.0.0.1:{port}");
    let r = cli_env(&["healthcheck"], &[("A2A_GATEWAY__HTTP__LISTEN", &listen)]).await;
    ok(&r);
    // Nothing listening there: unhealthy. A bad configuration: a usage error.
    gw.shutdown().await;
    let r = cli_env(&["healthcheck"], &[("A2A_GATEWAY__HTTP__LISTEN", &listen)]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = cli_env(
        &["healthcheck"],
        &[("A2A_GATEWAY__HTTP__LISTEN", "nowhere")],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("http.listen"), "{}", r.stderr);
}

#[tokio::test]
async fn send_no_wait_prints_the_task_id_and_list_refuses_limit_zero() {
    let (_b, gw, _a) = setup().await;
    let g = gw.base.as_str();
    let r = cli(&["send", INSPECT, "line 1", "--no-wait", "--gateway", g]).await;
    ok(&r);
    let id = r.stdout.trim();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "stdout is the task id: {:?}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains(&format!("tasks subscribe demo/factory/inspect {id}")),
        "{}",
        r.stderr
    );
    let r = cli(&["tasks", "get", INSPECT, id, "--gateway", g]).await;
    ok(&r);

    let r = cli(&["agents", "list", "--limit", "0", "--gateway", g]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("at least 1"), "{}", r.stderr);
}

/// An inspection slow enough to tell streamed output from output at the end.
const SLOW: &str = "demo/factory/slow";
const SLOW_STEP: Duration = Duration::from_millis(400);

async fn slow_agent(broker: &Broker) -> a2a_mqtt_gateway::agent::RunningAgent {
    start_agent(
        broker,
        SLOW,
        samples::inspection_card(),
        Inspection {
            steps: 3,
            step_delay: SLOW_STEP,
        },
    )
    .await
}

#[tokio::test]
async fn streamed_events_are_printed_as_they_arrive() {
    let (broker, gw, _a) = setup().await;
    let _slow = slow_agent(&broker).await;
    gw.wait_agent(SLOW, "online").await;
    let mut cmd = command(&["send", SLOW, "line 1", "--stream", "--gateway", &gw.base]);
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut artifacts = Vec::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the stream went silent")
    {
        if line.starts_with("[artifact") {
            artifacts.push(Instant::now());
        }
    }
    assert!(child.wait().await.expect("exit").success());
    assert_eq!(artifacts.len(), 3);
    // The agent spaces its reports SLOW_STEP apart; printed at the end they
    // would all arrive at once.
    let spread = artifacts[2] - artifacts[0];
    assert!(
        spread >= SLOW_STEP,
        "artifact lines arrived within {spread:?} of each other"
    );
}

#[tokio::test]
async fn the_spinner_keeps_showing_the_task_state_after_artifacts() {
    let (broker, gw, _a) = setup().await;
    let _slow = slow_agent(&broker).await;
    gw.wait_agent(SLOW, "online").await;
    // `script` gives the CLI a terminal, so it draws its spinner on stderr.
    let cli = format!(
        "{} send {SLOW} 'line 1' --stream --gateway {}",
        env!("CARGO_BIN_EXE_a2a-gateway"),
        gw.base
    );
    let out = tokio::process::Command::new("script")
        .args(["-qec", &cli, "/dev/null"])
        .env_remove("A2A_GATEWAY_URL")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{screen}", out.status);
    // Everything drawn after the first artifact line: spinner frames between
    // the agent's reports show the task's state, never "waiting".
    let after = screen
        .split_once("[artifact")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no artifact line:\n{screen:?}"));
    let frames: Vec<&str> = after
        .split(['\r', '\n'])
        .filter(|f| f.trim_end().ends_with('s') && f.starts_with(['|', '/', '-', '\\']))
        .collect();
    assert!(
        !frames.is_empty(),
        "no spinner frames after an artifact:\n{screen:?}"
    );
    assert!(
        frames.iter().all(|f| f.contains("working")),
        "the spinner forgot the task's state: {frames:?}"
    );
}
