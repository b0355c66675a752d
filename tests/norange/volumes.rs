//! Bind mounts and volumes under a single-id map (issue #7): container
//! root is the user, so everything it writes is the user's on the host.

use std::os::unix::fs::MetadataExt;

use super::assert_no_range;
use super::common::{image, set_mode, Env};

#[test]
fn binds_and_volumes_work_without_a_range() {
    let uid = assert_no_range();
    let env = Env::new();
    let img = image("busybox");
    let work = env.dir.join("work");
    std::fs::create_dir(&work).expect("mkdir work");
    set_mode(&work, 0o755);
    std::fs::write(work.join("hello"), "hi\n").expect("write hello");
    let spec = format!("{}:/work", work.display());
    env.hutch(&[
        "run",
        "--rm",
        "-v",
        &spec,
        &img,
        "sh",
        "-c",
        "cat /work/hello; echo x > /work/new",
    ])
    .success()
    .stdout_is("hi");
    let m = std::fs::metadata(work.join("new")).expect("the file made inside");
    assert_eq!(m.uid(), uid, "container root's file belongs to the user");

    env.hutch(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        &img,
        "sh",
        "-c",
        "echo kept > /data/f",
    ])
    .success();
    env.hutch(&["run", "--rm", "-v", "data:/data", &img, "cat", "/data/f"])
        .success()
        .stdout_is("kept");
    env.hutch(&["volume", "rm", "data"])
        .success()
        .stdout_is("data");
    env.hutch(&["volume", "ls", "-q"]).success().stdout_is("");
}
