//! Issue #17, third increment: tag, history, diff, export, top, prunes,
//! `system df` and events through the service, driven by Debian's docker client.

use crate::common::{image, Env};
use crate::issue17_api::{socket_in, Service};

#[test]
fn issue17_docker_tag_history_diff_export_prune_and_df() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img);
    // tag: a name hutch sees; history: the image's steps.
    svc.docker(&env, &["tag", &img, "localhost/mine:v1"])
        .success();
    env.hutch(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .success()
        .stdout_has("localhost/mine:v1");
    let history = svc
        .docker(
            &env,
            &[
                "history",
                "--no-trunc",
                "--format",
                "{{.ID}} {{.Size}}",
                "localhost/mine:v1",
            ],
        )
        .success();
    assert!(history.stdout.contains("sha256:"), "{history}");
    svc.docker(&env, &["history", "localhost/nosuch:v1"])
        .code(1)
        .stderr_has("No such image");
    // diff and export of a container that wrote a file.
    svc.docker(
        &env,
        &[
            "run",
            "--name",
            "w",
            &img,
            "sh",
            "-c",
            "echo x > /new-file; rm /bin/true",
        ],
    )
    .success();
    let diff = svc.docker(&env, &["diff", "w"]).success();
    assert!(diff.stdout.lines().any(|l| l == "A /new-file"), "{diff}");
    assert!(diff.stdout.lines().any(|l| l == "D /bin/true"), "{diff}");
    let tar = env.dir.join("w.tar");
    svc.docker(&env, &["export", "-o", &tar.to_string_lossy(), "w"])
        .success();
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .expect("running tar");
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(
        names
            .lines()
            .any(|l| l.trim_start_matches("./") == "new-file"),
        "{names}"
    );
    assert!(
        !names
            .lines()
            .any(|l| l.trim_start_matches("./") == "bin/true"),
        "{names}"
    );
    // df counts what is there.
    svc.docker(&env, &["system", "df"])
        .success()
        .stdout_has("Images")
        .stdout_has("Containers");
    // container prune removes the stopped one, not a running one.
    svc.docker(&env, &["run", "-d", "--name", "up", &img, "sleep", "600"])
        .success();
    // top: the running container's processes, in Podman's columns.
    let top = svc.docker(&env, &["top", "up"]).success();
    assert!(top.stdout.starts_with("USER"), "{top}");
    assert!(
        top.stdout
            .lines()
            .any(|l| l.ends_with("sleep 600") && l.split_whitespace().nth(1) == Some("1")),
        "{top}"
    );
    svc.docker(&env, &["top", "w"])
        .code(1)
        .stderr_has("not running");
    svc.docker(&env, &["container", "prune", "-f"])
        .success()
        .stdout_has("Total reclaimed space");
    env.hutch(&["ps", "-a", "--format", "{{.Names}}"])
        .success()
        .stdout_is("up");
    // image prune -a: the running container's image stays.
    svc.docker(&env, &["rm", "-f", "up"]).success();
    svc.docker(&env, &["image", "prune", "-a", "-f"])
        .success()
        .stdout_has("deleted: sha256:");
    env.hutch(&["images", "-q"]).success().stdout_is("");
}

/// Unix seconds now.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn issue17_docker_events_come_from_the_event_log() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img);
    let since = now_secs().to_string();
    svc.docker(
        &env,
        &["run", "--name", "ev", "--label", "team=a", &img, "true"],
    )
    .success();
    svc.docker(&env, &["run", "--name", "other", &img, "true"])
        .success();
    let until = (now_secs() + 1).to_string();
    let listed = svc
        .docker(
            &env,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "type=container",
                "--filter",
                "label=team=a",
                "--format",
                "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.team}}",
            ],
        )
        .success();
    let lines: Vec<&str> = listed.stdout.lines().collect();
    for want in [
        "container create ev a",
        "container start ev a",
        "container die ev a",
    ] {
        assert!(lines.contains(&want), "{want:?} missing\n{listed}");
    }
    assert!(!listed.stdout.contains("other"), "{listed}");
    // A stream without `until` sends what happens next, as it happens.
    let mut stream = std::os::unix::net::UnixStream::connect(&svc.socket).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /v1.41/events?filters=%7B%22event%22%3A%5B%22start%22%5D%7D HTTP/1.1\r\nHost: d\r\n\r\n",
    )
    .unwrap();
    svc.docker(&env, &["run", "--name", "later", &img, "true"])
        .success();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"later\"") {
        let n = std::io::Read::read(&mut stream, &mut buf).expect("reading the event stream");
        assert!(n > 0, "the stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("Transfer-Encoding: chunked"), "{text}");
    assert!(text.contains("\"Action\":\"start\""), "{text}");
    assert!(!text.contains("\"Action\":\"create\""), "{text}");
}
