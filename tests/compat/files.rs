//! `cp` next to Podman (issue #20 item 9): copies through a created
//! container's bind mount, and relative container paths; tar streams on
//! either side and `--overwrite` (issue #13 item 1).

use super::common::{run_command, Env, Run, TIMEOUT};
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

/// Runs `tool` (podman or hutch) with `args` and the file `input` as
/// standard input.
fn with_stdin(env: &Env, tool: &str, args: &[&str], input: &std::path::Path) -> Run {
    let bin = match tool {
        "podman" => super::common::require_tool("podman"),
        _ => super::common::hutch_bin(),
    };
    let mut c = std::process::Command::new(&bin);
    c.args(args)
        .env_clear()
        .envs(env.vars())
        .current_dir(&env.home)
        .stdin(std::fs::File::open(input).unwrap());
    run_command(c, format!("command: {tool} {}", args.join(" ")), TIMEOUT)
}

/// A tar of `entries` (a name ending in `/` is a directory, else a file
/// holding its name).
fn tar_of(entries: &[&str]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for name in entries {
        let mut h = tar::Header::new_ustar();
        let is_dir = name.ends_with('/');
        h.set_entry_type(if is_dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_mode(if is_dir { 0o755 } else { 0o644 });
        let data = if is_dir { &b""[..] } else { name.as_bytes() };
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// The entry names (without a trailing `/`) and file contents of the tar
/// `r` printed.
fn streamed(r: &Run) -> Vec<(String, String)> {
    let mut a = tar::Archive::new(r.stdout.as_bytes());
    let Ok(entries) = a.entries() else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|mut e| {
            let name = String::from_utf8_lossy(&e.path_bytes())
                .trim_end_matches('/')
                .to_string();
            let mut data = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut data);
            (name, data)
        })
        .collect()
}

/// What `tool` does with `cp -` in both directions and `--overwrite`: the
/// exit code of each step and what each stream out held.
fn stream_steps(env: &Env, tool: &str) -> Vec<String> {
    let img = super::common::image("busybox");
    let name = format!("s-{tool}");
    let run = |args: &[&str]| match tool {
        "podman" => podman(env, args),
        _ => env.hutch(args),
    };
    run(&["create", "--name", &name, &img, "true"]).success();
    let dir_tar = env.dir.join("dir.tar");
    std::fs::write(&dir_tar, tar_of(&["d/", "d/f", "d/g"])).unwrap();
    let file_tar = env.dir.join("file.tar");
    std::fs::write(&file_tar, tar_of(&["d"])).unwrap();
    let junk = env.dir.join("junk");
    std::fs::write(&junk, "not a tar\n").unwrap();
    let ctr = |path: &str| format!("{name}:{path}");
    let mut seen = Vec::new();
    let mut note = |what: &str, r: &Run| {
        seen.push(format!("{what}: exit {:?} {:?}", r.code, streamed(r)));
    };
    note(
        "in",
        &with_stdin(env, tool, &["cp", "-", &ctr("/tmp")], &dir_tar),
    );
    note("out", &run(&["cp", &ctr("/tmp/d"), "-"]));
    note("out contents", &run(&["cp", &ctr("/tmp/d/."), "-"]));
    note("out file", &run(&["cp", &ctr("/tmp/d/f"), "-"]));
    note(
        "file over dir",
        &with_stdin(env, tool, &["cp", "-", &ctr("/tmp")], &file_tar),
    );
    let over = ["cp", "--overwrite", "-", &ctr("/tmp")];
    note(
        "file over dir, overwrite",
        &with_stdin(env, tool, &over, &file_tar),
    );
    note("after", &run(&["cp", &ctr("/tmp/d"), "-"]));
    note(
        "dir over file",
        &with_stdin(env, tool, &["cp", "-", &ctr("/tmp")], &dir_tar),
    );
    note(
        "not a dir",
        &with_stdin(env, tool, &["cp", "-", &ctr("/nowhere")], &dir_tar),
    );
    note(
        "not a tar",
        &with_stdin(env, tool, &["cp", "-", &ctr("/tmp")], &junk),
    );
    note("missing", &run(&["cp", &ctr("/nowhere"), "-"]));
    seen
}

#[test]
fn issue13_cp_streams_and_overwrite_match_podman() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    let theirs = stream_steps(&env, "podman");
    let ours = stream_steps(&env, "hutch");
    assert_eq!(
        ours, theirs,
        "hutch's cp - and --overwrite differ from podman's"
    );
}
