//! Issue #16 (Kubernetes YAML): `kube play` of the committed stack
//! (Deployment + ConfigMap + PVC + Service) runs and serves its hostPort
//! with the ConfigMap's variable and volume and the claim mounted; `kube
//! generate` of the result reads back without an unsupported field; after
//! `kube down`, `kube play` of the generated YAML gives the same
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

/// What a container of the pod is, as `inspect` shows it: its command,
/// the variables the YAML set and its mounts' destinations.
fn shape(env: &Env, name: &str) -> String {
    let fmt = "{{.Config.Cmd}} {{.Config.WorkingDir}} {{range .Mounts}}{{.Destination}} {{end}}";
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
    let before = [shape(&env, "web-pod-0-srv"), shape(&env, "web-pod-0-side")];
    // Generated YAML names nothing hutch's Kubernetes types lack: playing
    // it warns about nothing but the Service.
    let gen = env.dir.join("gen.yaml");
    let gen = gen.to_string_lossy();
    env.hutch(&["kube", "generate", "--service", "-f", &gen, "web-pod-0"])
        .success()
        .stdout_is("");
    let text = std::fs::read_to_string(&*gen).expect("reading the generated YAML");
    assert!(
        text.contains("kind: Service") && text.contains("kind: Pod"),
        "{text}"
    );
    // The old spelling writes the same.
    let old = env.hutch(&["generate", "kube", "web-pod-0"]).success();
    assert!(old.stdout.contains("kind: Pod") && !old.stdout.contains("kind: Service"));
    // Down removes the pod and keeps the claim's data.
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
        .stdout_has("web-data");
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
    let after = [shape(&env, "web-pod-0-srv"), shape(&env, "web-pod-0-side")];
    assert_eq!(before, after);
    env.hutch(&["kube", "down", &gen]).success();
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
