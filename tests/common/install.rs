//! Tool installs under `target/` shared by test processes (the Python venvs,
//! the Node packages of the interop tests): made once, then reused by every
//! later run; `cargo test` runs test binaries concurrently, so making one is
//! guarded by a lock file.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long a test waits for another test process to finish an install.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// The marker in an install's directory listing what was installed; written
/// only after a successful install.
const MARKER: &str = ".requirements-installed";

/// The crate's root directory.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `target/{name}`: where the install `name` lives.
pub fn target_dir(name: &str) -> PathBuf {
    manifest_dir().join("target").join(name)
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

/// Removes the lock file when the installer is done (or panics).
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Makes sure `dir` holds the install described by `wanted`, running
/// `install(dir)` unless it already does: `dir` is ready when `present()` and
/// its marker file says `wanted` (e.g. the pinned requirements).
///
/// Blocking (run it with `spawn_blocking` from async tests). Idempotent and
/// safe across concurrent test processes: `install` runs under an exclusive
/// lock file `{dir}.lock` (`create_new`), and the marker is written only after
/// it returns, so an interrupted install is redone. A lock older than
/// [`LOCK_WAIT`] is taken to be left by a killed run. `install` fails the test
/// by panicking (see [`run_or_fail`]).
pub fn once(dir: &Path, wanted: &str, present: impl Fn() -> bool, install: impl FnOnce(&Path)) {
    let marker = dir.join(MARKER);
    let installed =
        || present() && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted.trim());
    if installed() {
        return;
    }

    let parent = dir.parent().expect("an install directory has a parent");
    std::fs::create_dir_all(parent)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    let name = dir
        .file_name()
        .expect("an install directory has a name")
        .to_string_lossy();
    let lock = parent.join(format!("{name}.lock"));
    let deadline = Instant::now() + LOCK_WAIT;
    let _guard = loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => break LockGuard(lock.clone()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if installed() {
                    return;
                }
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|a| a > LOCK_WAIT) {
                    let _ = std::fs::remove_file(&lock); // stale: its owner died
                    continue;
                }
                assert!(
                    Instant::now() < deadline,
                    "another test process has held {} for over {LOCK_WAIT:?}; \
                     remove it if no test is running",
                    lock.display()
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("cannot create the install lock {}: {e}", lock.display()),
        }
    };
    if installed() {
        return; // made by the previous lock holder
    }

    let started = Instant::now();
    eprintln!("installing into {} (once)", dir.display());
    install(dir);
    assert!(
        present(),
        "the install into {} finished without what it was for",
        dir.display()
    );
    std::fs::write(&marker, format!("{}\n", wanted.trim()))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
    eprintln!("{} ready in {:.1?}", dir.display(), started.elapsed());
}
