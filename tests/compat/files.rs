//! `cp` next to Podman (issue #20 item 9): copies through a created
//! container's bind mount, and relative container paths.

use super::common::Env;
use super::{podman, setup, Cleanup};

/// What `tool` left in a bind mount after `create -v DIR:/data -w /data`
/// and copies to an absolute and a relative path, then the file copied
/// back out through the relative path.
fn copy_through_mount(env: &Env, tool: &str) -> (Vec<String>, String) {
    let img = super::common::image("busybox");
    let dir = env.dir.join(format!("bind-{tool}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = env.dir.join("f");
    std::fs::write(&file, "payload\n").unwrap();
    let name = format!("cp-{tool}");
    let spec = format!("{}:/data", dir.display());
    let file_s = file.to_str().unwrap();
    let dst_abs = format!("{name}:/data/abs");
    let dst_rel = format!("{name}:rel");
    let out = env.dir.join(format!("out-{tool}"));
    let steps: Vec<Vec<&str>> = vec![
        vec![
            "create", "--name", &name, "-v", &spec, "-w", "/data", &img, "true",
        ],
        vec!["cp", file_s, &dst_abs],
        vec!["cp", file_s, &dst_rel],
        vec!["cp", &dst_rel, out.to_str().unwrap()],
    ];
    for args in steps {
        let r = match tool {
            "podman" => podman(env, &args),
            _ => env.hutch(&args),
        };
        r.success();
    }
    let listed = super::common::list_dir(&dir);
    (listed, std::fs::read_to_string(&out).unwrap_or_default())
}

#[test]
fn compat_cp_goes_through_a_created_containers_bind_mount() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    let theirs = copy_through_mount(&env, "podman");
    let ours = copy_through_mount(&env, "hutch");
    assert_eq!(
        theirs,
        (
            vec!["abs".to_string(), "rel".to_string()],
            "payload\n".to_string()
        ),
        "podman's own result changed; the oracle no longer says what this test assumes"
    );
    assert_eq!(
        ours, theirs,
        "hutch's bind mount and copy differ from podman's"
    );
}
