//! Node packages under `target/` for the tests that drive JavaScript tools (the
//! official A2A client `@a2a-js/sdk`): installed once with `npm ci` from a
//! committed `package.json` and `package-lock.json`, then reused by every later
//! run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use super::install::{self, run_or_fail};

/// What to install Node and npm with, for failure messages.
const INSTALL_HINT: &str = "Debian: apt-get install -y nodejs npm; .ci/run does";

/// The Node executable: `$A2A_INTEROP_NODE` when set, else `node` on PATH.
pub fn node() -> PathBuf {
    std::env::var_os("A2A_INTEROP_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// `target/{name}` with the packages of `{project}/package.json`, at the
/// versions of `{project}/package-lock.json`, in its `node_modules`; installed
/// with `npm ci` when missing or when either file changed.
///
/// Blocking (run it with `spawn_blocking` from async tests); made once across
/// concurrent test processes (see [`install::once`]). Without npm or the npm
/// registry the test fails with a message saying so.
pub fn packages(name: &str, project: &Path) -> PathBuf {
    let read = |file: &str| {
        let path = project.join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let (manifest, lock) = (read("package.json"), read("package-lock.json"));
    let dir = install::target_dir(name);
    // npm writes node_modules/.package-lock.json once it has installed the tree.
    let installed_tree = dir.join("node_modules").join(".package-lock.json");
    install::once(
        &dir,
        &format!(
            "package.json:\n{}\npackage-lock.json:\n{}",
            manifest.trim(),
            lock.trim()
        ),
        || installed_tree.is_file(),
        |dir| {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            for (file, text) in [("package.json", &manifest), ("package-lock.json", &lock)] {
                std::fs::write(dir.join(file), text)
                    .unwrap_or_else(|e| panic!("cannot write {file} into {}: {e}", dir.display()));
            }
            eprintln!("npm ci of {}", project.join("package-lock.json").display());
            // `npm ci`: exactly the committed lock (it fails if the lock and
            // package.json disagree); no lifecycle scripts, no audit, no ads.
            run_or_fail(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
                    .current_dir(dir),
                &format!(
                    "npm could not install {} into {}: is npm installed ({INSTALL_HINT}) \
                     and the npm registry reachable?",
                    project.join("package.json").display(),
                    dir.display()
                ),
            );
        },
    );
    dir
}

/// A command that runs the ES module `script` with [`node`], its bare imports
/// (`import ... from '@a2a-js/sdk'`) resolved from `packages`' `node_modules`.
///
/// Node resolves a module's imports from the directory the module is in, and
/// `NODE_PATH` does not apply to ES modules. So the script is linked into
/// `packages` and run through that link with `--preserve-symlinks-main`: the
/// source stays where it is (edits apply at once) and `tests/` gets no
/// `node_modules`.
pub fn script_command(packages: &Path, script: &Path) -> Command {
    let name = script.file_name().expect("a script file name");
    let link = packages.join(name);
    if std::fs::read_link(&link).ok().as_deref() != Some(script) {
        // Atomically, since concurrent tests may do the same.
        static LINKS: AtomicU64 = AtomicU64::new(0);
        let tmp = packages.join(format!(
            ".{}.{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            LINKS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(script, &tmp)
            .and_then(|()| std::fs::rename(&tmp, &link))
            .unwrap_or_else(|e| {
                panic!(
                    "cannot link {} as {}: {e}",
                    script.display(),
                    link.display()
                )
            });
    }
    let mut cmd = Command::new(node());
    cmd.arg("--preserve-symlinks-main").arg(link);
    cmd
}

/// The major version of [`node`], failing the test when Node is missing.
pub fn node_major() -> u32 {
    let out = run_or_fail(
        Command::new(node()).arg("--version"),
        &format!("Node.js is required ({INSTALL_HINT}; or set A2A_INTEROP_NODE)"),
    );
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the Node version {version:?}"))
}
