//! The processes a benchmark runs against: Mosquitto, the gateway, an agent.
//! Each is a real process, so its CPU and memory are its own.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A child process killed on drop.
pub struct Proc {
    child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// SIGTERM, then wait up to `timeout` (SIGKILL after).
    pub fn stop(mut self, timeout: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) a process has used, from /proc (`0` for this process).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let path = if pid == 0 {
        "/proc/self/stat".to_owned()
    } else {
        format!("/proc/{pid}/stat")
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux whatever the kernel's tick rate.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time used by named processes during a load window.
#[derive(Debug, Clone, Default)]
pub struct CpuProbe {
    pids: Vec<(&'static str, u32)>,
}

impl CpuProbe {
    pub fn new(pids: &[(&'static str, u32)]) -> CpuProbe {
        CpuProbe {
            pids: pids.to_vec(),
        }
    }

    fn sample(&self) -> Vec<Option<Duration>> {
        self.pids.iter().map(|(_, pid)| cpu_time(*pid)).collect()
    }

    /// Samples at the window's start and end (the caller runs the load).
    pub async fn measure(self, from: std::time::Instant, until: std::time::Instant) -> CpuUse {
        tokio::time::sleep_until(from.into()).await;
        let before = self.sample();
        tokio::time::sleep_until(until.into()).await;
        let after = self.sample();
        CpuUse {
            per_process: self
                .pids
                .iter()
                .zip(before.iter().zip(after))
                .map(|((name, _), (b, a))| match (b, a) {
                    (Some(b), Some(a)) => (*name, a.saturating_sub(*b)),
                    _ => (*name, Duration::ZERO),
                })
                .collect(),
        }
    }
}

/// CPU used per process in a window.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    pub per_process: Vec<(&'static str, Duration)>,
}

impl CpuUse {
    /// `name 123 µs` per call for each process, for `calls` calls.
    pub fn per_call(&self, calls: usize) -> String {
        self.per_process
            .iter()
            .map(|(name, d)| {
                format!(
                    "{name} {:.0}",
                    d.as_secs_f64() * 1e6 / (calls.max(1) as f64)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn find_mosquitto() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join("mosquitto"))
        .find(|p| p.is_file())
}

/// Mosquitto with `set_tcp_nodelay true` on a free loopback port, sized for
/// large retained bursts.
pub fn mosquitto(dir: &Path) -> Result<(Proc, u16), String> {
    let bin = find_mosquitto().ok_or("mosquitto not found (apt-get install -y mosquitto)")?;
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n\
             max_queued_messages 1000000\nlog_type error\n"
        ),
    )
    .map_err(|e| format!("writing {}: {e}", conf.display()))?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting mosquitto: {e}"))?;
    let proc = Proc { child };
    if !wait_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    ) {
        return Err("mosquitto did not start".into());
    }
    Ok((proc, port))
}

/// The `a2a-gateway` binary next to this one.
pub fn gateway_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = me.with_file_name("a2a-gateway");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release --bins)",
            bin.display()
        ))
    }
}

/// `a2a-gateway <args>` with `env`, output discarded.
pub fn spawn_gateway_binary(
    name: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<Proc, String> {
    spawn(name, &gateway_binary()?, args, env)
}

fn spawn(
    name: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<Proc, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().map_err(|e| format!("starting {name}: {e}"))?;
    Ok(Proc { child })
}

static GATEWAY_WRAPPER: OnceLock<Vec<String>> = OnceLock::new();
static GATEWAY_ENV: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();

/// Gives every later [`gateway`] these `A2A_GATEWAY__*` settings too.
pub fn gateway_settings(env: Vec<(&'static str, String)>) {
    let _ = GATEWAY_ENV.set(env);
}

/// Runs every later [`gateway`] under `wrapper` (a profiler command line).
pub fn wrap_gateway(wrapper: Vec<String>) {
    let _ = GATEWAY_WRAPPER.set(wrapper);
}

/// The reference composition ([`crate::reference`]), this same program in
/// another process, on a free port; returns it and its base URL once listening.
pub fn reference_gateway(broker_url: &str) -> Result<(Proc, String), String> {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let args = [
        "--serve-reference",
        &listen,
        "--reference-broker",
        broker_url,
    ];
    let proc = spawn("reference", &me, &args, &[])?;
    if !wait_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(10),
    ) {
        return Err("the reference gateway did not start listening".into());
    }
    Ok((proc, format!("http://{listen}")))
}

/// A gateway serving on a free port; returns it and its base URL once ready.
pub fn gateway(broker_url: &str, extra_env: &[(&str, String)]) -> Result<(Proc, String), String> {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env = vec![
        ("A2A_GATEWAY__DISCOVERY__SYNC_QUIET_MS", "50".to_owned()),
        ("A2A_GATEWAY__REQUESTS__MAX_IN_FLIGHT", "100000".to_owned()),
    ];
    env.extend(GATEWAY_ENV.get().into_iter().flatten().cloned());
    env.extend(extra_env.iter().cloned());
    let binary = gateway_binary()?;
    let binary = binary.to_string_lossy();
    let serve = ["serve", "--listen", &listen, "--broker", broker_url];
    let proc = match GATEWAY_WRAPPER.get().and_then(|w| w.split_first()) {
        Some((program, wrapper_args)) => {
            let mut args: Vec<&str> = wrapper_args.iter().map(String::as_str).collect();
            args.push(&binary);
            args.extend(serve);
            spawn("gateway", Path::new(program), &args, &env)?
        }
        None => spawn("gateway", Path::new(&*binary), &serve, &env)?,
    };
    if !wait_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(10),
    ) {
        return Err("the gateway did not start listening".into());
    }
    Ok((proc, format!("http://{listen}")))
}
