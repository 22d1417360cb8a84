//! The Dockerfile, checked without a Docker engine: its build stage must copy
//! every file compiling the binary reads (the manifest's targets, and whatever
//! `src/` pulls in with `include_str!`/`include_bytes!`), build only
//! `a2a-gateway` with `--locked`, and the runtime image must stay multi-stage,
//! non-root, configured by `gateway.yaml` and health-checked by the binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One Dockerfile instruction: keyword (upper case) and its argument text.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

/// A build stage: its name (`AS name`) and instructions.
#[derive(Debug, Default)]
struct Stage {
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &str> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }

    /// The working directory at the end of the stage (`/` by default).
    fn workdir(&self) -> String {
        self.all("WORKDIR").last().unwrap_or("/").to_owned()
    }
}

/// Splits a Dockerfile into stages, joining `\` continuations and dropping
/// comments.
fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                name,
                instructions: vec![instruction],
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        }
    }
    stages
}

/// A COPY's `--flags`, sources and destination (shell or JSON form).
fn parse_copy(args: &str) -> (Vec<String>, Vec<String>, String) {
    let words: Vec<String> = if args.starts_with('[') {
        serde_json::from_str(args).expect("COPY in JSON form")
    } else {
        args.split_whitespace().map(str::to_owned).collect()
    };
    let (flags, mut paths): (Vec<String>, Vec<String>) =
        words.into_iter().partition(|w| w.starts_with("--"));
    let dest = paths.pop().expect("COPY has a destination");
    (flags, paths, dest)
}

/// `p` without `./` prefixes and trailing `/` (`.` for the directory itself).
fn normalise(p: &str) -> String {
    let mut p = p.trim_end_matches('/');
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    if p.is_empty() || p == "." {
        ".".into()
    } else {
        p.to_owned()
    }
}

/// Whether `required` (relative to the build context) ends up at the same
/// relative path below the build stage's working directory, given the stage's
/// COPY instructions (those from the context, not `--from` another stage).
fn copied(stage: &Stage, context: &Path, required: &str) -> bool {
    let workdir = stage.workdir();
    stage.all("COPY").any(|args| {
        let (flags, sources, dest) = parse_copy(args);
        if flags.iter().any(|f| f.starts_with("--from")) {
            return false;
        }
        // Where the destination is, relative to the working directory.
        let dest_rel = match dest.strip_prefix('/') {
            Some(_) => match dest.strip_prefix(&workdir) {
                Some(rest) => normalise(rest.trim_start_matches('/')),
                None => return false,
            },
            None => normalise(&dest),
        };
        let into_dir = dest.ends_with('/') || sources.len() > 1 || dest_rel == ".";
        sources.iter().any(|source| {
            let source = normalise(source);
            if context.join(&source).is_dir() {
                // A directory's contents land in the destination.
                let below = if source == "." {
                    Some(required)
                } else {
                    required
                        .strip_prefix(&source)
                        .and_then(|r| r.strip_prefix('/'))
                };
                below.is_some_and(|below| {
                    let landed = if dest_rel == "." {
                        below.to_owned()
                    } else {
                        format!("{dest_rel}/{below}")
                    };
                    landed == required
                })
            } else {
                let name = Path::new(&source)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let landed = if !into_dir {
                    dest_rel.clone()
                } else if dest_rel == "." {
                    name
                } else {
                    format!("{dest_rel}/{name}")
                };
                source == required && landed == required
            }
        })
    })
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files `src/` pulls in at compile time, relative to the repository root.
fn compile_time_includes(root: &Path) -> BTreeSet<String> {
    let root = root.canonicalize().expect("root");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        for mac in ["include_str!", "include_bytes!"] {
            for (at, _) in text.match_indices(mac) {
                let rest = text[at + mac.len()..].trim_start();
                let Some(literal) = rest
                    .strip_prefix('(')
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix('"'))
                    .and_then(|r| r.split_once('"'))
                    .map(|(lit, _)| lit)
                else {
                    panic!(
                        "{}: {mac} without a plain string literal; teach this test to resolve it",
                        file.display()
                    );
                };
                let target = file
                    .parent()
                    .expect("parent")
                    .join(literal)
                    .canonicalize()
                    .unwrap_or_else(|e| panic!("{}: {literal}: {e}", file.display()));
                let rel = target.strip_prefix(&root).unwrap_or_else(|_| {
                    panic!("{}: {literal} is outside the repository", file.display())
                });
                found.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// What cargo reads to build: the manifest, the lock file, the source tree and
/// any target or build script the manifest names.
fn manifest_inputs(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = text.parse().expect("Cargo.toml parses");
    let mut inputs: BTreeSet<String> = ["Cargo.toml", "Cargo.lock", "src/lib.rs", "src/main.rs"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut add_path = |v: Option<&toml::Value>| {
        if let Some(p) = v.and_then(toml::Value::as_str) {
            inputs.insert(normalise(p));
        }
    };
    if let Some(package) = manifest.get("package").and_then(toml::Value::as_table) {
        add_path(package.get("build"));
    }
    if let Some(lib) = manifest.get("lib").and_then(toml::Value::as_table) {
        add_path(lib.get("path"));
    }
    for kind in ["bin", "example", "test", "bench"] {
        for target in manifest
            .get(kind)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            add_path(target.get("path"));
        }
    }
    assert!(
        manifest.get("workspace").is_none(),
        "a workspace needs its members copied too; teach this test about them"
    );
    inputs
}

/// Everything the build stage must copy: each path relative to the context.
fn required_inputs(root: &Path) -> BTreeSet<String> {
    let mut all = manifest_inputs(root);
    all.extend(compile_time_includes(root));
    all
}

/// The build stage's problems with `dockerfile`: required inputs not copied.
fn missing_inputs(dockerfile: &str, root: &Path) -> Vec<String> {
    let stages = parse_dockerfile(dockerfile);
    let build = stages
        .iter()
        .find(|s| s.all("RUN").any(|r| r.contains("cargo build")))
        .expect("a stage runs cargo build");
    required_inputs(root)
        .into_iter()
        .filter(|p| !copied(build, root, p))
        .collect()
}

fn dockerfile() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).expect("Dockerfile")
}

#[test]
fn the_build_stage_copies_every_compile_time_input() {
    let root = Path::new(ROOT);
    let required = required_inputs(root);
    // The inputs this test knows of today (it finds new ones by itself).
    for known in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "openapi/openapi.json",
    ] {
        assert!(required.contains(known), "{known} in {required:?}");
    }
    let missing = missing_inputs(&dockerfile(), root);
    assert!(
        missing.is_empty(),
        "the Dockerfile's build stage does not copy {missing:?} to where the build reads it"
    );
}

#[test]
fn the_check_catches_what_a_broken_dockerfile_leaves_out() {
    let root = Path::new(ROOT);
    // The image as it was: no openapi/ (and so no OpenAPI document to embed).
    let without = "FROM rust AS build\nWORKDIR /src\nCOPY Cargo.toml Cargo.lock ./\n\
                   COPY src ./src\nRUN cargo build --release --locked --bin a2a-gateway\n";
    let missing = missing_inputs(without, root);
    assert!(
        missing.contains(&"openapi/openapi.json".to_owned()),
        "{missing:?}"
    );
    // A directory copied to the wrong place: its contents land in /src itself.
    let flattened = format!("{without}COPY openapi ./\nCOPY tests/schemas ./tests/schemas\n");
    let missing = missing_inputs(&flattened, root);
    assert!(
        missing.contains(&"openapi/openapi.json".to_owned()),
        "{missing:?}"
    );
    // Copied into another stage's filesystem does not count.
    let elsewhere = format!(
        "{without}COPY --from=other /openapi ./openapi\nCOPY tests/schemas ./tests/schemas\n"
    );
    assert!(!missing_inputs(&elsewhere, root).is_empty());
    // Absolute destinations under the working directory are fine.
    let absolute = format!("{without}COPY openapi /src/openapi/\nCOPY tests /src/tests\n");
    assert_eq!(missing_inputs(&absolute, root), Vec::<String>::new());
}

#[test]
fn dockerignore_keeps_the_build_inputs() {
    let root = Path::new(ROOT);
    let Ok(ignore) = std::fs::read_to_string(root.join(".dockerignore")) else {
        return;
    };
    for pattern in ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            !pattern.contains(['*', '?', '[', '!']),
            "{pattern}: glob patterns are not understood by this test; extend it"
        );
        let pattern = normalise(pattern);
        for input in required_inputs(root) {
            assert!(
                input != pattern && !input.starts_with(&format!("{pattern}/")),
                ".dockerignore's {pattern} excludes the build input {input}"
            );
        }
    }
}

#[test]
fn the_image_is_multi_stage_non_root_configured_and_health_checked() {
    let stages = parse_dockerfile(&dockerfile());
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let build = stages
        .iter()
        .find(|s| s.all("RUN").any(|r| r.contains("cargo build")))
        .expect("a build stage");
    let cargo = build
        .all("RUN")
        .find(|r| r.contains("cargo build"))
        .unwrap_or_default();
    for flag in ["--release", "--locked", "--bin a2a-gateway"] {
        assert!(cargo.contains(flag), "cargo build {flag}: {cargo}");
    }
    let build_name = build.name.as_deref().expect("the build stage is named");

    let runtime = stages.last().expect("a final stage");
    assert!(
        !runtime.all("RUN").any(|r| r.contains("cargo")),
        "the runtime image does not build"
    );
    assert!(
        runtime
            .all("COPY")
            .any(|c| c.contains(&format!("--from={build_name}"))
                && c.contains("/usr/local/bin/a2a-gateway")),
        "the binary comes from the build stage"
    );
    let user = runtime.all("USER").last().expect("a USER");
    assert!(
        !matches!(user.split(':').next(), Some("root" | "0")),
        "non-root: {user}"
    );
    assert!(
        runtime.all("COPY").any(|c| {
            let (_, sources, dest) = parse_copy(c);
            sources == ["gateway.yaml"] && dest == "/etc/a2a-gateway/gateway.yaml"
        }),
        "gateway.yaml is in the image"
    );
    assert!(
        runtime
            .all("ENV")
            .any(|e| e.contains("A2A_GATEWAY_CONFIG=/etc/a2a-gateway/gateway.yaml")),
        "gateway.yaml is the default config"
    );
    let health = runtime.all("HEALTHCHECK").last().expect("a HEALTHCHECK");
    assert!(
        health.contains(r#"CMD ["a2a-gateway", "healthcheck"]"#),
        "{health}"
    );
    assert_eq!(runtime.all("ENTRYPOINT").last(), Some(r#"["a2a-gateway"]"#));
    assert_eq!(runtime.all("CMD").last(), Some(r#"["serve"]"#));
}

/// `client_max_body_size` of `deploy/nginx.conf`, in bytes (`k`/`m` suffixes).
fn nginx_body_limit(conf: &str) -> Option<usize> {
    let value = conf
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("client_max_body_size"))?
        .trim()
        .trim_end_matches(';')
        .to_ascii_lowercase();
    let (digits, unit) = match value.strip_suffix('m') {
        Some(d) => (d, 1024 * 1024),
        None => match value.strip_suffix('k') {
            Some(d) => (d, 1024),
            None => (value.as_str(), 1),
        },
    };
    digits.parse::<usize>().ok().map(|n| n * unit)
}

#[test]
fn nginx_passes_every_body_the_gateway_accepts() {
    let conf = std::fs::read_to_string(Path::new(ROOT).join("deploy/nginx.conf"))
        .expect("read deploy/nginx.conf");
    let gateway = a2a_mqtt_gateway::config::Config::default()
        .http
        .max_body_bytes;
    // Without the directive nginx refuses bodies over 1 MB with its own HTML 413.
    assert_eq!(
        nginx_body_limit(&conf),
        Some(gateway),
        "deploy/nginx.conf's client_max_body_size must equal http.max_body_bytes ({gateway} bytes)"
    );
    assert_eq!(
        nginx_body_limit("  client_max_body_size 4m;"),
        Some(4 << 20)
    );
    assert_eq!(
        nginx_body_limit("client_max_body_size 512k;"),
        Some(512 << 10)
    );
    assert_eq!(nginx_body_limit("listen 80;"), None);
}

#[test]
fn the_kubernetes_sample_runs_the_image_locked_down() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let snippet = readme
        .split("```yaml\n")
        .map(|block| block.split("\n```").next().unwrap_or_default())
        .find(|block| block.contains("kind: Deployment"))
        .expect("README has a Kubernetes Deployment");
    let user = parse_dockerfile(&dockerfile())
        .last()
        .and_then(|s| s.all("USER").last().map(str::to_owned))
        .expect("the image's USER");
    for expected in [
        // A locally built `a2a-gateway:latest` is not pulled (Always is the
        // default for :latest, and fails without a registry that has it).
        "imagePullPolicy: IfNotPresent".to_owned(),
        "runAsNonRoot: true".to_owned(),
        // Kubernetes checks runAsNonRoot against a numeric user only.
        format!("runAsUser: {user}"),
        "readOnlyRootFilesystem: true".to_owned(),
        "allowPrivilegeEscalation: false".to_owned(),
    ] {
        assert!(
            snippet.contains(&expected),
            "the README's Deployment lacks `{expected}`:\n{snippet}"
        );
    }
}
