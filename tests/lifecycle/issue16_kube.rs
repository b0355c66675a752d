//! Issue #16 (Kubernetes YAML): `kube play` of the committed stack
//! (Deployment + ConfigMap + PVC + Service) runs and serves its hostPort
//! with the ConfigMap's variable and volume, the claim and an emptyDir
//! shared by both containers; `kube generate` of the result passes the
//! Kubernetes API's schema (k8s-openapi's types, no field left over);
//! after `kube down`, `kube play` of the generated YAML gives the same
//! containers; and the older spellings `play kube`/`generate kube` work.

use super::common::{image, wait_for, Env};
use super::network::{free_port, http_get};
use super::{setup, Cleanup, SETTLE};

const STACK: &str = include_str!("../fixtures/kube/stack.yaml");

/// The stack with the test image and a free host port.
fn stack(env: &Env, port: u16) -> std::path::PathBuf {
    let text = STACK
        .replace("IMAGE", &image("busybox"))
        .replace("HOSTPORT", &port.to_string());
    let path = env.dir.join("stack.yaml");
    std::fs::write(&path, text).expect("writing the stack");
    path
}

/// Fails unless this host is the cgroup v1 or hybrid kind of the host
/// tier, where limits are refused (pure v2 runs in the guest tier).
fn assert_not_unified() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    let unified = mounts
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert!(!unified, "this test expects a cgroup v1 or hybrid host");
}

/// The strict schema check of generated YAML: each document read into
/// k8s-openapi's type for its kind, every key the type does not know
/// collected by serde_ignored. Empty when the YAML is valid for the API.
fn k8s_unknown_fields(yaml: &str) -> Vec<String> {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
    use serde_json::Value;
    fn strict<T: serde::de::DeserializeOwned>(v: &Value, out: &mut Vec<String>) {
        let mut ignored = Vec::new();
        let r: Result<T, _> =
            serde_ignored::deserialize(v.clone(), |path| ignored.push(path.to_string()));
        if let Err(e) = r {
            out.push(format!("not a valid document: {e}"));
        }
        out.extend(ignored);
    }
    let mut out = Vec::new();
    let mut kinds = 0;
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let v: Value = serde::Deserialize::deserialize(doc).expect("generated YAML parses");
        kinds += 1;
        match v["kind"].as_str() {
            Some("Pod") => strict::<Pod>(&v, &mut out),
            Some("Deployment") => strict::<Deployment>(&v, &mut out),
            Some("Service") => strict::<Service>(&v, &mut out),
            Some("ConfigMap") => strict::<ConfigMap>(&v, &mut out),
            Some("Secret") => strict::<Secret>(&v, &mut out),
            Some("PersistentVolumeClaim") => strict::<PersistentVolumeClaim>(&v, &mut out),
            other => out.push(format!("unexpected kind {other:?}")),
        }
    }
    assert!(kinds > 0, "no documents in:\n{yaml}");
    out
}

/// What a container of the pod is, as `inspect` shows it: its image,
/// command, working directory, ports, mounts' destinations and the
/// variables the YAML set.
fn shape(env: &Env, name: &str) -> String {
    let fmt = "{{.ImageName}} {{.Config.Cmd}} {{.Config.WorkingDir}} {{range .Mounts}}{{.Destination}} {{end}}";
    let out = env.hutch(&["inspect", "--format", fmt, name]).success();
    let env_vars = env
        .hutch(&[
            "inspect",
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            name,
        ])
        .success();
    let mut vars: Vec<&str> = env_vars
        .stdout
        .lines()
        .filter(|l| l.starts_with("GREETING=") || l.starts_with("MODE="))
        .collect();
    vars.sort();
    format!("{} {}", out.stdout.trim(), vars.join(" "))
}

#[test]
fn issue16_kube_play_generate_down_round_trip() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let port = free_port();
    let yaml = stack(&env, port);
    let yaml = yaml.to_string_lossy();
    let played = env.hutch(&["kube", "play", &yaml]).success();
    assert!(
        played.stdout.starts_with("Volumes:\nweb-data\nPod:\n"),
        "{}",
        played.stdout
    );
    assert!(
        played.stdout.contains("\nContainers:\n"),
        "{}",
        played.stdout
    );
    // The Service is accepted with a note, never silently.
    played.stderr_has("Warning: Service web: not created");
    env.hutch(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"])
        .success()
        .stdout_is("web-pod-0 Running");
    // The ConfigMap's key is the variable the page serves, over the
    // hostPort, from the claim's volume.
    let body = wait_for("the pod's hostPort", SETTLE, || http_get(port));
    assert_eq!(body, "hello from kube\n");
    env.hutch(&["exec", "web-pod-0-srv", "cat", "/data/www/index.html"])
        .success()
        .stdout_is("hello from kube");
    env.hutch(&["exec", "web-pod-0-srv", "cat", "/etc/web/page.html"])
        .success()
        .stdout_is("served from a configMap volume");
    env.hutch(&["exec", "web-pod-0-side", "pwd"])
        .success()
        .stdout_is("/etc");
    // The emptyDir is one volume for the pod: what srv wrote, side reads.
    env.hutch(&["exec", "web-pod-0-side", "cat", "/shared/mode"])
        .success()
        .stdout_is("test");
    let before = [shape(&env, "web-pod-0-srv"), shape(&env, "web-pod-0-side")];
    // Generated YAML passes the Kubernetes API's schema, as a Pod and as
    // a Deployment.
    let gen = env.dir.join("gen.yaml");
    let gen = gen.to_string_lossy();
    env.hutch(&["kube", "generate", "--service", "-f", &gen, "web-pod-0"])
        .success()
        .stdout_is("");
    let text = std::fs::read_to_string(&*gen).expect("reading the generated YAML");
    for kind in [
        "kind: Service",
        "kind: Pod",
        "kind: ConfigMap",
        "emptyDir: {}",
    ] {
        assert!(text.contains(kind), "{kind} missing:\n{text}");
    }
    assert_eq!(k8s_unknown_fields(&text), Vec::<String>::new(), "{text}");
    let deployment = env
        .hutch(&["kube", "generate", "--type", "deployment", "web-pod-0"])
        .success();
    assert!(
        deployment.stdout.contains("kind: Deployment"),
        "{}",
        deployment.stdout
    );
    assert_eq!(
        k8s_unknown_fields(&deployment.stdout),
        Vec::<String>::new(),
        "{}",
        deployment.stdout
    );
    // The old spelling writes the same, without the Service.
    let old = env.hutch(&["generate", "kube", "web-pod-0"]).success();
    assert!(old.stdout.contains("kind: Pod") && !old.stdout.contains("kind: Service"));
    // Down removes the pod and the volumes made for it, and keeps the
    // claim's data.
    let down = env.hutch(&["kube", "down", &yaml]).success();
    assert!(
        down.stdout.starts_with("Pods stopped:\n"),
        "{}",
        down.stdout
    );
    assert!(down.stdout.contains("Pods removed:\n"), "{}", down.stdout);
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
    env.hutch(&["volume", "ls", "-q"])
        .success()
        .stdout_is("web-data");
    // The generated YAML plays as the same containers, warning about
    // nothing but the Service.
    let again = env.hutch(&["play", "kube", &gen]).success();
    let warnings: Vec<_> = again
        .stderr_lines("Warning:")
        .into_iter()
        .filter(|w| !w.contains("Service web-pod-0: not created"))
        .collect();
    assert!(
        warnings.is_empty(),
        "generated YAML has unsupported fields: {warnings:?}"
    );
    let body = wait_for("the replayed pod's hostPort", SETTLE, || http_get(port));
    assert_eq!(body, "hello from kube\n");
    env.hutch(&["exec", "web-pod-0-srv", "cat", "/etc/web/page.html"])
        .success()
        .stdout_is("served from a configMap volume");
    env.hutch(&["exec", "web-pod-0-side", "cat", "/shared/mode"])
        .success()
        .stdout_is("test");
    let after = [shape(&env, "web-pod-0-srv"), shape(&env, "web-pod-0-side")];
    assert_eq!(before, after);
    // `kube play --down` is `kube down`.
    env.hutch(&["kube", "play", "--down", &gen])
        .success()
        .stdout_has("Pods removed:");
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
}

#[test]
fn issue16_kube_play_refuses_replicas_and_names_unknown_fields() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let two = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: two}}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers: [{{name: a, image: {img}}}]\n"
    );
    let path = env.dir.join("two.yaml");
    std::fs::write(&path, two).unwrap();
    env.hutch(&["kube", "play", &path.to_string_lossy()])
        .code(125)
        .stderr_has("Deployment two: 2 replicas: hutch runs one pod per Deployment");
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: odd}}\nspec:\n  dnsPolicy: None\n  containers:\n  - name: a\n    image: {img}\n    command: [sleep, '60']\n    stdinOnce: true\n"
    );
    let path = env.dir.join("odd.yaml");
    std::fs::write(&path, pod).unwrap();
    let r = env
        .hutch(&["kube", "play", "--start=false", &path.to_string_lossy()])
        .success();
    r.stderr_has("Warning: Pod: field spec.dnsPolicy is not supported and is ignored")
        .stderr_has(
            "Warning: Pod: field spec.containers[0].stdinOnce is not supported and is ignored",
        );
    env.hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .success()
        .stdout_has("odd-a Created");
    // A second play of the same pod is refused without --replace.
    env.hutch(&["kube", "play", "--start=false", &path.to_string_lossy()])
        .code(125)
        .stderr_has("pod odd already exists");
    // --replace makes it anew; down removes it.
    env.hutch(&[
        "kube",
        "play",
        "--replace",
        "--start=false",
        &path.to_string_lossy(),
    ])
    .success();
    env.hutch(&["kube", "down", &path.to_string_lossy()])
        .success()
        .stdout_has("Pods removed:");
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
}

#[test]
fn issue16_kube_play_secret_as_env_and_volume_with_security_and_limits() {
    assert_not_unified();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    // TOKEN is "s3cret" in base64.
    let yaml = format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: creds}}
data: {{TOKEN: czNjcmV0}}
---
apiVersion: v1
kind: Pod
metadata: {{name: sec}}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: {img}
    command: [sleep, '60']
    env:
    - name: TOKEN
      valueFrom: {{secretKeyRef: {{name: creds, key: TOKEN}}}}
    resources: {{limits: {{memory: 64Mi}}}}
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
      readOnlyRootFilesystem: true
      capabilities: {{drop: [ALL]}}
    volumeMounts:
    - {{name: creds, mountPath: /creds, readOnly: true}}
  volumes:
  - name: creds
    secret: {{secretName: creds}}
"
    );
    // This host tier is cgroup v1 or hybrid (tests/lifecycle/cgroups.rs):
    // a limit is refused as `run --memory` refuses it, and the pod goes.
    let path = env.dir.join("sec.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let path = path.to_string_lossy();
    env.hutch(&["kube", "play", &path]).tool_error(&[
        "creating container sec-app",
        "resource limits need cgroup v2",
    ]);
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
    std::fs::write(
        &*path,
        yaml.replace("    resources: {limits: {memory: 64Mi}}\n", ""),
    )
    .unwrap();
    env.hutch(&["kube", "play", &path]).success().stderr_empty();
    env.hutch(&[
        "exec",
        "sec-app",
        "sh",
        "-c",
        "echo $TOKEN; cat /creds/TOKEN; echo; id -u; id -g",
    ])
    .success()
    .stdout_is("s3cret\ns3cret\n1000\n1000");
    env.hutch(&["exec", "sec-app", "touch", "/x"]).code(1);
    env.hutch(&[
        "inspect",
        "--format",
        "{{.Config.User}} [{{.HostConfig.RestartPolicy.Name}}] {{.HostConfig.ReadonlyRootfs}}",
        "sec-app",
    ])
    .success()
    .stdout_is("1000:1000 [] true");
    // The Secret comes back as a Secret, base64 again.
    let gen = env.hutch(&["kube", "generate", "sec"]).success();
    assert!(
        gen.stdout.contains("kind: Secret") && gen.stdout.contains("TOKEN: czNjcmV0"),
        "{}",
        gen.stdout
    );
    assert_eq!(
        k8s_unknown_fields(&gen.stdout),
        Vec::<String>::new(),
        "{}",
        gen.stdout
    );
    env.hutch(&["kube", "down", &path]).success();
    env.hutch(&["volume", "ls", "-q"]).success().stdout_is("");
}

#[test]
fn issue16_kube_play_service_container_is_the_units_main_process() {
    // Quadlet's .kube services run `kube play --service-container=true`:
    // hutch tells NOTIFY_SOCKET it is the main process and ready, stays
    // until the pod's containers exit, and passes their failure on with
    // --service-exit-code-propagation=any.
    let mut env = setup();
    let socket_path = env.dir.join("notify.sock");
    env.set_env("NOTIFY_SOCKET", &socket_path.to_string_lossy());
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: svc}}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: a\n    image: {img}\n    command: [sh, -c, 'sleep 2; exit 3']\n  - name: b\n    image: {img}\n    command: ['true']\n"
    );
    let path = env.dir.join("svc.yaml");
    std::fs::write(&path, pod).unwrap();
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let started = std::time::Instant::now();
    let pending = env.spawn(&[
        "kube",
        "play",
        "--service-container=true",
        "--service-exit-code-propagation=any",
        &path.to_string_lossy(),
    ]);
    let pid = pending.id();
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a readiness message");
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(message.contains("READY=1"), "{message}");
    assert!(message.contains(&format!("MAINPID={pid}")), "{message}");
    let r = pending.wait().code(3);
    r.stdout_has("Pod:");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "kube play returned before the pod's containers exited"
    );
    env.hutch(&["kube", "down", &path.to_string_lossy()])
        .success();
    // Without propagation the service ends cleanly whatever they exit with.
    env.hutch(&[
        "kube",
        "play",
        "--service-container=true",
        &path.to_string_lossy(),
    ])
    .success();
    env.hutch(&["kube", "down", &path.to_string_lossy()])
        .success();
}
