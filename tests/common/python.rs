//! Python virtualenvs under `target/` for the tests that drive Python tools (the
//! official A2A client, schemathesis): made once with `python3 -m venv` and pip,
//! then reused by every later run.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long a test waits for another test process to finish making a venv.
const VENV_LOCK_WAIT: Duration = Duration::from_secs(600);

/// The crate's root directory.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd`, failing the test with `what`, the command and its output unless
/// it exits 0.
pub fn run_or_fail(cmd: &mut Command, what: &str) -> Output {
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

/// The Python interpreter of the virtualenv `target/{name}` with exactly
/// `requirements` (pip requirement specifiers, pinned) installed, making the
/// venv if needed. `hint` is added to the failure message when python3, venv
/// or pip (or PyPI) is missing, e.g. how to point the test at an interpreter.
///
/// Blocking (run it with `spawn_blocking` from async tests). Idempotent and
/// safe across concurrent test processes: a marker file listing the installed
/// requirements is written only after a successful install, and the install
/// itself runs under an exclusive lock file (`create_new`); a lock older than
/// [`VENV_LOCK_WAIT`] is taken to be left by a killed run.
pub fn venv(name: &str, requirements: &[&str], hint: &str) -> PathBuf {
    let target = manifest_dir().join("target");
    let venv = target.join(name);
    let python = venv.join("bin").join("python");
    let marker = venv.join(".requirements-installed");
    let wanted = requirements.join("\n");
    let installed =
        || python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted);
    if installed() {
        return python;
    }

    std::fs::create_dir_all(&target).expect("create target/ for the venv");
    let lock = target.join(format!("{name}.lock"));
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
        "creating {} with {} (once)",
        venv.display(),
        requirements.join(" ")
    );
    run_or_fail(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        &format!(
            "python3 with the venv module is required \
             (Debian: apt-get install -y python3 python3-venv); {hint}"
        ),
    );
    run_or_fail(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(requirements)
            .env("PIP_NO_INPUT", "1"),
        &format!(
            "pip could not install {} into {} (is PyPI reachable?); {hint}",
            requirements.join(" "),
            venv.display()
        ),
    );
    std::fs::write(&marker, format!("{wanted}\n")).expect("write the venv marker");
    eprintln!("{} ready in {:.1?}", venv.display(), started.elapsed());
    python
}
