//! Python virtualenvs under `target/` for the tests that drive Python tools (the
//! official A2A client, schemathesis): made once with `python3 -m venv` and pip,
//! then reused by every later run.

use std::path::PathBuf;
use std::process::Command;

use super::install::{self, run_or_fail};

/// The Python interpreter of the virtualenv `target/{name}` with exactly
/// `requirements` (pip requirement specifiers, pinned) installed, making the
/// venv if needed. `hint` is added to the failure message when python3, venv
/// or pip (or PyPI) is missing, e.g. how to point the test at an interpreter.
///
/// Blocking (run it with `spawn_blocking` from async tests); made once across
/// concurrent test processes (see [`install::once`]).
pub fn venv(name: &str, requirements: &[&str], hint: &str) -> PathBuf {
    let venv = install::target_dir(name);
    let python = venv.join("bin").join("python");
    install::once(
        &venv,
        &requirements.join("\n"),
        || python.is_file(),
        |venv| {
            eprintln!(
                "python3 -m venv, then pip install {}",
                requirements.join(" ")
            );
            run_or_fail(
                Command::new("python3")
                    .args(["-m", "venv", "--clear"])
                    .arg(venv),
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
        },
    );
    python
}
