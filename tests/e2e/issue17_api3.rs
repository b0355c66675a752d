//! Issue #17, third increment: tag, history, diff, export, prunes and
//! `system df` through the service, driven by Debian's docker client.

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
