//! `cp` as Podman 4.3 has it (issue #13 item 1): `-` as source (a tar
//! stream, plain or compressed, extracted into a container directory) and
//! as destination (a tar stream of the container path), `--archive`
//! (default true: what lands in a container belongs to its user),
//! `--overwrite`, and copies between containers, through the containers'
//! volumes and bind mounts, running or stopped.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use super::common::{image, run_command, Env, Run};
use super::{setup, wait_for_status, Cleanup};

/// Runs hutch with `args` and the file `input` as its standard input.
fn hutch_in(env: &Env, args: &[&str], input: &Path) -> Run {
    let mut c = env.command(args);
    let f =
        std::fs::File::open(input).unwrap_or_else(|e| panic!("opening {}: {e}", input.display()));
    c.stdin(Stdio::from(f));
    run_command(c, env.describe(args), super::common::TIMEOUT)
}

/// A tar (ASCII only, so it survives `Run`'s text) of `entries`: a name
/// ending in `/` is a directory, else a file with the given contents,
/// owned by `owner`.
fn tar_of(entries: &[(&str, &str)], owner: (u64, u64)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        let is_dir = name.ends_with('/');
        h.set_entry_type(if is_dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_mode(if is_dir { 0o755 } else { 0o644 });
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// (name, uid, gid, contents) of each entry of the tar `r` printed.
fn entries(r: &Run) -> Vec<(String, u64, u64, String)> {
    let mut a = tar::Archive::new(r.stdout.as_bytes());
    let list = a
        .entries()
        .unwrap_or_else(|e| r.fail(&format!("not a tar: {e}")));
    list.map(|e| {
        let mut e = e.unwrap_or_else(|err| r.fail(&format!("bad tar entry: {err}")));
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let (uid, gid) = (e.header().uid().unwrap(), e.header().gid().unwrap());
        let mut data = String::new();
        std::io::Read::read_to_string(&mut e, &mut data).unwrap();
        (name, uid, gid, data)
    })
    .collect()
}

/// The names in the tar `r` printed.
fn names(r: &Run) -> Vec<String> {
    entries(r).into_iter().map(|e| e.0).collect()
}

fn write(env: &Env, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = env.dir.join(name);
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    p
}

/// Streams in and out of container `c` (its `/data` a volume), in a
/// directory named `tag`.
fn check_streams(env: &Env, tag: &str) {
    let d = format!("{tag}/");
    let f = format!("{tag}/f");
    let tar = write(env, "in.tar", &tar_of(&[(&d, ""), (&f, tag)], (0, 0)));
    hutch_in(env, &["cp", "-", "c:/data"], &tar).success();
    let out = env.hutch(&["cp", &format!("c:/data/{tag}"), "-"]).success();
    assert_eq!(names(&out), [d.as_str(), f.as_str()], "{out}");
    // SRC/. gives only what is inside, as Podman's stream does.
    let out = env
        .hutch(&["cp", &format!("c:/data/{tag}/."), "-"])
        .success();
    assert_eq!(entries(&out)[0].0, "f", "{out}");
    assert_eq!(entries(&out)[0].3, tag, "{out}");
    // A gzip-compressed stream too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_of(&[("z", tag)], (0, 0))).unwrap();
    let gz = write(env, "in.tar.gz", &gz.finish().unwrap());
    hutch_in(env, &["cp", "-", &format!("c:/data/{tag}")], &gz).success();
    let out = env
        .hutch(&["cp", &format!("c:/data/{tag}/z"), "-"])
        .success();
    assert_eq!(entries(&out)[0].3, tag, "{out}");
    // What is not a tar, or a destination that is not a directory, is
    // refused as Podman refuses it.
    let junk = write(env, "junk", b"notatar\n");
    hutch_in(env, &["cp", "-", "c:/data"], &junk)
        .code(125)
        .stderr_has("not a (compressed) tar archive");
    hutch_in(env, &["cp", "-", &format!("c:/data/{f}")], &tar)
        .code(125)
        .stderr_has("destination must be a directory when copying from stdin");
    hutch_in(env, &["cp", "-", "c:/nowhere"], &tar)
        .code(125)
        .stderr_has("destination must be a directory when copying from stdin");
    env.hutch(&["cp", "c:/nowhere", "-"]).code(125);
}

#[test]
fn issue13_cp_streams_tars_in_and_out_of_running_and_stopped_containers() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch_closing(&[
        "run",
        "-d",
        "--name",
        "c",
        "-v",
        "vol:/data",
        &img,
        "sleep",
        "1000",
    ])
    .success();
    check_streams(&env, "running");
    env.hutch(&["exec", "c", "cat", "/data/running/f"])
        .success()
        .stdout_is("running");
    env.hutch(&["stop", "-t", "0", "c"]).success();
    wait_for_status(&env, "c", "exited");
    check_streams(&env, "stopped");
    // The stream went into the volume, not the container's own tree.
    env.hutch(&["run", "--rm", "-v", "vol:/v", &img, "cat", "/v/stopped/f"])
        .success()
        .stdout_is("stopped");
}

#[test]
fn issue13_cp_copies_between_containers_and_within_one() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let bind = env.dir.join("bind");
    std::fs::create_dir_all(&bind).unwrap();
    let spec = format!("{}:/bind", bind.display());
    env.hutch_closing(&[
        "run",
        "-d",
        "--name",
        "a",
        "-v",
        "vol:/vol",
        &img,
        "sh",
        "-c",
        "mkdir /vol/d && echo from-a > /vol/d/f && sleep 1000",
    ])
    .success();
    env.hutch(&["create", "--name", "b", "-v", &spec, &img, "true"])
        .success();
    super::wait_for("a's file", super::SETTLE, || {
        let r = env.hutch(&["exec", "a", "cat", "/vol/d/f"]);
        match r.code {
            Some(0) => Ok(()),
            _ => Err(r.to_string()),
        }
    });
    // Running a's volume → created b's bind mount (its source on the host).
    env.hutch(&["cp", "a:/vol/d", "b:/bind/"]).success();
    assert_eq!(
        std::fs::read_to_string(bind.join("d/f")).unwrap(),
        "from-a\n"
    );
    // b → a, renamed on the way.
    env.hutch(&["cp", "b:/bind/d/f", "a:/vol/back"]).success();
    env.hutch(&["exec", "a", "cat", "/vol/back"])
        .success()
        .stdout_is("from-a");
    // Within one container, stopped and running.
    env.hutch(&["cp", "b:/bind/d", "b:/bind/d2"]).success();
    assert_eq!(
        std::fs::read_to_string(bind.join("d2/f")).unwrap(),
        "from-a\n"
    );
    env.hutch(&["cp", "a:/vol/d", "a:/tmp/copy"]).success();
    env.hutch(&["exec", "a", "cat", "/tmp/copy/f"])
        .success()
        .stdout_is("from-a");
    // A missing source names the source; a refused destination names it.
    env.hutch(&["cp", "a:/nowhere", "b:/bind/"])
        .code(125)
        .stderr_has("\"/nowhere\"");
    env.hutch(&["cp", "a:/vol/d", "b:/missing/dir/"])
        .code(125)
        .stderr_has("\"/missing/dir/\" does not exist");
}

#[test]
fn issue13_cp_archive_gives_copies_to_the_container_user() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["create", "--name", "u", "--user", "app", &img, "true"])
        .success();
    let host = env.dir.join("h");
    std::fs::write(&host, "x").unwrap();
    let h = host.to_str().unwrap();
    let tar = write(&env, "owned.tar", &tar_of(&[("t", "x")], (55, 66)));
    // Default --archive: the container's user (app is 1000:1000).
    env.hutch(&["cp", h, "u:/tmp/a"]).success();
    hutch_in(&env, &["cp", "-", "u:/tmp"], &tar).success();
    for path in ["u:/tmp/a", "u:/tmp/t"] {
        let out = env.hutch(&["cp", path, "-"]).success();
        assert_eq!(
            (entries(&out)[0].1, entries(&out)[0].2),
            (1000, 1000),
            "{out}"
        );
    }
    // --archive=false: the owners the copy carries (a host file: the
    // container's root; a stream: its headers').
    env.hutch(&["cp", "--archive=false", h, "u:/tmp/b"])
        .success();
    hutch_in(&env, &["cp", "-a=false", "-", "u:/tmp/"], &tar).success();
    let out = env.hutch(&["cp", "u:/tmp/b", "-"]).success();
    assert_eq!((entries(&out)[0].1, entries(&out)[0].2), (0, 0), "{out}");
    let out = env.hutch(&["cp", "u:/tmp/t", "-"]).success();
    assert_eq!((entries(&out)[0].1, entries(&out)[0].2), (55, 66), "{out}");
    // Copied out, files belong to the invoking user, whatever -a says.
    let back = env.dir.join("back");
    env.hutch(&["cp", "u:/tmp/t", back.to_str().unwrap()])
        .success();
    let me = nix::unistd::getuid().as_raw();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&back).unwrap()),
        me
    );
}

#[test]
fn issue13_cp_overwrite_lets_directories_and_files_replace_each_other() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["create", "--name", "c", &img, "true"])
        .success();
    let dir_tar = write(
        &env,
        "dir.tar",
        &tar_of(&[("x/", ""), ("x/f", "in-dir")], (0, 0)),
    );
    let file_tar = write(&env, "file.tar", &tar_of(&[("x", "a-file")], (0, 0)));
    hutch_in(&env, &["cp", "-", "c:/tmp"], &dir_tar).success();
    // A file does not replace a directory (and what it holds) unasked.
    hutch_in(&env, &["cp", "-", "c:/tmp"], &file_tar)
        .code(125)
        .stderr_has("would replace a directory with a non-directory");
    let out = env.hutch(&["cp", "c:/tmp/x/f", "-"]).success();
    assert_eq!(entries(&out)[0].3, "in-dir");
    hutch_in(&env, &["cp", "--overwrite", "-", "c:/tmp"], &file_tar).success();
    let out = env.hutch(&["cp", "c:/tmp/x", "-"]).success();
    assert_eq!(names(&out), ["x"]);
    assert_eq!(entries(&out)[0].3, "a-file");
    // Nor a directory a file.
    hutch_in(&env, &["cp", "-", "c:/tmp"], &dir_tar)
        .code(125)
        .stderr_has("would replace a non-directory with a directory");
    hutch_in(&env, &["cp", "--overwrite", "-", "c:/tmp"], &dir_tar).success();
    let out = env.hutch(&["cp", "c:/tmp/x", "-"]).success();
    assert_eq!(names(&out), ["x/", "x/f"]);
    // The same holds on the host.
    let host = env.dir.join("out");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("x"), "host file").unwrap();
    let h = format!("{}/", host.display());
    env.hutch(&["cp", "c:/tmp/x", &h]).code(125);
    assert_eq!(
        std::fs::read_to_string(host.join("x")).unwrap(),
        "host file"
    );
    env.hutch(&["cp", "--overwrite", "c:/tmp/x", &h]).success();
    assert_eq!(std::fs::read_to_string(host.join("x/f")).unwrap(), "in-dir");
}

#[test]
fn issue13_cp_volume_export_and_import_keep_the_owners_inside() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["volume", "create", "v"]).success();
    env.hutch(&[
        "run",
        "--rm",
        "-v",
        "v:/v",
        &img,
        "sh",
        "-c",
        "mkdir /v/d && echo data > /v/d/f && chown 1000:1000 /v/d/f && ln -s /etc/passwd /v/l",
    ])
    .success();
    // Podman's stream: names relative to the volume, the ids the
    // container gave.
    let out = env.hutch(&["volume", "export", "v"]).success();
    let got: Vec<(String, u64, u64)> = entries(&out)
        .into_iter()
        .map(|(n, u, g, _)| (n, u, g))
        .collect();
    assert_eq!(
        got,
        [
            ("d/".to_string(), 0, 0),
            ("d/f".to_string(), 1000, 1000),
            ("l".to_string(), 0, 0)
        ],
        "{out}"
    );
    let file = env.dir.join("v.tar");
    env.hutch(&["volume", "export", "--output", file.to_str().unwrap(), "v"])
        .success()
        .stdout_is("");
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout.as_bytes());
    // Into another volume, from the file and from standard input
    // (compressed too): owners and links as they were.
    env.hutch(&["volume", "create", "w"]).success();
    env.hutch(&["volume", "import", "w", file.to_str().unwrap()])
        .success();
    env.hutch(&[
        "run",
        "--rm",
        "-v",
        "w:/w",
        &img,
        "sh",
        "-c",
        "stat -c '%u:%g %n' /w/d/f; readlink /w/l; cat /w/d/f",
    ])
    .success()
    .stdout_is("1000:1000 /w/d/f\n/etc/passwd\ndata");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_of(&[("d/f", "again")], (7, 8))).unwrap();
    let gz = write(&env, "again.tar.gz", &gz.finish().unwrap());
    hutch_in(&env, &["volume", "import", "w", "-"], &gz).success();
    env.hutch(&[
        "run", "--rm", "-v", "w:/w", &img, "stat", "-c", "%u:%g", "/w/d/f",
    ])
    .success()
    .stdout_is("7:8");
    // Refusals: no such volume, not a tar, a tmpfs volume, a terminal.
    env.hutch(&["volume", "export", "nosuch"])
        .code(125)
        .stderr_has("no such volume");
    hutch_in(&env, &["volume", "import", "nosuch", "-"], &gz)
        .code(125)
        .stderr_has("no such volume");
    let junk = write(&env, "junk", b"junk\n");
    hutch_in(&env, &["volume", "import", "w", "-"], &junk)
        .code(125)
        .stderr_has("not a (compressed) tar archive");
    env.hutch(&["volume", "create", "--opt", "type=tmpfs", "t"])
        .success();
    env.hutch(&["volume", "import", "t", file.to_str().unwrap()])
        .code(125)
        .stderr_has("tmpfs volume");
    let pty = super::common::Pty::open(24, 80);
    let mut c = env.command(&["volume", "export", "v"]);
    c.stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::piped());
    let done = c.output().expect("running hutch volume export");
    assert_eq!(done.status.code(), Some(125), "{done:?}");
    assert!(
        String::from_utf8_lossy(&done.stderr).contains("refusing to write a tar to a terminal"),
        "{done:?}"
    );
}
