//! Issue #15: `COPY` and `ADD` with Docker's rules, `RUN`'s forms and
//! mounts, `FROM scratch`, and the flags of `hutch build`.

use std::io::Write;
use std::process::Stdio;

use crate::common::{image, registry, run_command, Env};
use crate::issue15_build::{build, context, inspect};

/// A tar archive of `files` (name, contents, uid).
fn tar_of(files: &[(&str, &str, u64)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data, uid) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(*uid);
        h.set_gid(*uid);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

const COPIES: &str = r#"FROM {REG}/busybox AS other
RUN mkdir -p /out/sub && echo deep > /out/sub/f && chown -R 1234:5678 /out && chmod 700 /out/sub
FROM {REG}/busybox
RUN mkdir /existing
COPY dir /contents
COPY dir/a.txt /renamed.txt
COPY dir/a.txt /existing
COPY dir/*.txt /globbed/
COPY ["dir/a.txt", "dir/b.txt", "/multi/"]
COPY --chown=app:app dir/a.txt /owned-by-name
COPY --chown=42:43 dir /owned-by-id/
COPY --chmod=0600 dir/a.txt /private
COPY --from=other /out /from-stage
COPY --from={REG}/config /etc/passwd /from-image-passwd
ADD plain.tar /added/
ADD packed.tar.gz /added-gz
ADD dir/a.txt /added-file
ARG WHO=world
COPY <<one <<'two' /docs/
first $WHO
one
second $WHO
two
WORKDIR /work
COPY dir/b.txt relative/
RUN cd / && for f in /contents/a.txt /contents/nested/c.txt /renamed.txt /existing/a.txt \
    /globbed/a.txt /globbed/b.txt /multi/b.txt /owned-by-name /owned-by-id/a.txt /private \
    /from-stage/sub/f /added/in-tar.txt /added-gz/in-gz.txt /added-file /docs/one /docs/two \
    /work/relative/b.txt /contents/link; do stat -c "%n %a %u:%g %F" $f; done; \
    readlink /contents/link; cat /docs/one /docs/two; head -1 /from-image-passwd
"#;

#[test]
fn issue15_copy_and_add_follow_dockers_rules() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[
            ("Containerfile", COPIES),
            ("dir/a.txt", "a"),
            ("dir/b.txt", "b"),
            ("dir/nested/c.txt", "c"),
        ],
    );
    std::os::unix::fs::symlink("a.txt", ctx.join("dir/link")).unwrap();
    std::fs::write(ctx.join("plain.tar"), tar_of(&[("in-tar.txt", "t", 77)])).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_of(&[("in-gz.txt", "g", 0)])).unwrap();
    std::fs::write(ctx.join("packed.tar.gz"), gz.finish().unwrap()).unwrap();
    let r = build(&env, &ctx, &[]).success();
    let want = "\
/contents/a.txt 644 0:0 regular file
/contents/nested/c.txt 644 0:0 regular file
/renamed.txt 644 0:0 regular file
/existing/a.txt 644 0:0 regular file
/globbed/a.txt 644 0:0 regular file
/globbed/b.txt 644 0:0 regular file
/multi/b.txt 644 0:0 regular file
/owned-by-name 644 1000:1000 regular file
/owned-by-id/a.txt 644 42:43 regular file
/private 600 0:0 regular file
/from-stage/sub/f 644 1234:5678 regular file
/added/in-tar.txt 644 77:77 regular file
/added-gz/in-gz.txt 644 0:0 regular file
/added-file 644 0:0 regular file
/docs/one 644 0:0 regular file
/docs/two 644 0:0 regular file
/work/relative/b.txt 644 0:0 regular file
/contents/link 777 0:0 symbolic link
a.txt
first world
second $WHO
root:x:0:0:root:/root:/bin/sh";
    if !r.stdout.contains(want) {
        r.fail(&format!("expected the RUN to print\n{want}"));
    }
}

#[test]
fn issue15_add_of_a_url_and_unknown_flags_are_refused() {
    let env = Env::new();
    for (file, parts) in [
        (
            "FROM {REG}/busybox\nADD https://example.com/x.tar /x\n",
            &["ADD https://example.com/x.tar", "does not download"][..],
        ),
        (
            "FROM {REG}/busybox\nCOPY --parents a /x\n",
            &["COPY --parents", "does not support"][..],
        ),
        (
            "FROM {REG}/busybox\nRUN --security=insecure true\n",
            &["RUN --security", "does not support"][..],
        ),
        (
            "FROM {REG}/busybox\nBOGUS x\n",
            &["line 2", "unknown instruction BOGUS"][..],
        ),
        ("RUN true\n", &["RUN before the first FROM"][..]),
        (
            "FROM scratch\nRUN true\n",
            &["FROM scratch with nothing added"][..],
        ),
    ] {
        let ctx = context(&env, "ctx", &[("Containerfile", file)]);
        build(&env, &ctx, &[]).tool_error(parts);
    }
}

#[test]
fn issue15_run_forms_mounts_and_secrets() {
    let env = Env::new();
    let secret = env.dir.join("token");
    std::fs::write(&secret, "s3cret").unwrap();
    let ctx = context(
        &env,
        "ctx",
        &[
            (
                "Containerfile",
                "FROM {REG}/busybox\n\
                 RUN <<EOF\nset -e\necho from-heredoc > /heredoc\necho \"$((1+2))\" >> /heredoc\nEOF\n\
                 RUN cat > /with-stdin <<END\nline\nEND\n\
                 RUN --mount=type=secret,id=token cat /run/secrets/token > /seen-secret\n\
                 RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && mount | grep -c ' /scratch ' > /tmpfs\n\
                 RUN --mount=type=bind,source=ctxfile,target=/mnt/in cat /mnt/in > /bound\n\
                 RUN --network=none cat /heredoc /with-stdin /seen-secret /tmpfs /bound; ls /run/secrets /mnt/in 2>&1 | head -2\n",
            ),
            ("ctxfile", "bound-from-context"),
        ],
    );
    let src = format!("id=token,src={}", secret.display());
    let r = build(&env, &ctx, &["--secret", &src, "-t", "mounts"]).success();
    for want in ["from-heredoc\n3\nline\ns3cret1\nbound-from-context"] {
        if !r.stdout.contains(want) {
            r.fail(&format!("expected {want:?}"));
        }
    }
    // The mount points are not in the image.
    env.hutch(&[
        "run",
        "--rm",
        "mounts",
        "sh",
        "-c",
        "ls -d /run/secrets /scratch /mnt/in 2>/dev/null | wc -l",
    ])
    .success()
    .stdout_is("0");
    // A required secret that was not given fails the step.
    let ctx = context(
        &env,
        "ctx2",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nRUN --mount=type=secret,id=nope,required cat /run/secrets/nope\n",
        )],
    );
    build(&env, &ctx, &[]).tool_error(&["no --secret id=nope"]);
}

#[test]
fn issue15_from_scratch_builds_a_filesystem_from_nothing() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[
            (
                "Containerfile",
                "FROM scratch\nCOPY --from={REG}/busybox /bin/busybox /bin/busybox\nCOPY hello.txt /etc/\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir /made && /bin/busybox cat /etc/hello.txt\"]\nCMD [\"/bin/busybox\", \"cat\", \"/etc/hello.txt\"]\n",
            ),
            ("hello.txt", "hello from scratch"),
        ],
    );
    let r = build(&env, &ctx, &["-t", "fromscratch"]).success();
    if !r.stdout.contains("hello from scratch") {
        r.fail("the RUN on the scratch image did not run");
    }
    assert_eq!(
        inspect(&env, "fromscratch")["RootFS"]["Layers"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    env.hutch(&["run", "--rm", "fromscratch"])
        .success()
        .stdout_is("hello from scratch");
}

#[test]
fn issue15_build_flags_shape_the_output_and_the_image() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nRUN echo output-of-run\n",
        )],
    );
    // -q prints the id only; --iidfile gets it too.
    let iid = env.dir.join("iid");
    let iid_arg = iid.to_string_lossy().into_owned();
    let r = build(
        &env,
        &ctx,
        &[
            "-q",
            "--iidfile",
            &iid_arg,
            "--label",
            "team=build",
            "--annotation",
            "org.example.note=annotated",
            "--env",
            "FROMFLAG=1",
            "--format",
            "docker",
            "-t",
            "flags:1",
            "-t",
            "flags:2",
        ],
    )
    .success();
    let id = r.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{r}");
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    let v = inspect(&env, "flags:2");
    assert_eq!(v["Id"], id);
    assert_eq!(v["Config"]["Labels"]["team"], "build");
    assert_eq!(v["Annotations"]["org.example.note"], "annotated");
    let env_list: Vec<String> = serde_json::from_value(v["Config"]["Env"].clone()).unwrap();
    assert!(env_list.contains(&"FROMFLAG=1".to_string()));
    let tags: Vec<String> = serde_json::from_value(v["RepoTags"].clone()).unwrap();
    assert_eq!(tags.len(), 2, "{tags:?}");

    // -f - reads the Containerfile from standard input; image build is
    // the same command.
    let file = env.dir.join("stdin.Containerfile");
    std::fs::write(
        &file,
        format!("FROM {}\nLABEL from=stdin\n", image("busybox")),
    )
    .unwrap();
    let args = [
        "image",
        "build",
        "-t",
        "fromstdin",
        "-f",
        "-",
        &ctx.to_string_lossy(),
    ];
    let mut c = env.command(&args);
    c.stdin(Stdio::from(std::fs::File::open(&file).unwrap()));
    run_command(c, env.describe(&args), crate::common::TIMEOUT).success();
    assert_eq!(
        inspect(&env, "fromstdin")["Config"]["Labels"]["from"],
        "stdin"
    );

    // Refusals with a reason.
    let other = if std::env::consts::ARCH == "aarch64" {
        "linux/amd64"
    } else {
        "linux/arm64"
    };
    for (args, parts) in [
        (
            vec!["--platform", other],
            vec!["--platform", other, "only for this host's platform"],
        ),
        (
            vec!["--pull=never", "-f", "/nonexistent/Containerfile"],
            vec!["/nonexistent/Containerfile"],
        ),
        (
            vec!["--squash", "--squash-all"],
            vec!["--squash", "--squash-all"],
        ),
        (vec!["--format", "v1"], vec!["v1"]),
        (vec!["--ssh", "default"], vec!["--ssh"]),
        (
            vec!["--output", "type=nosuch,dest=x"],
            vec!["--output", "use local or tar"],
        ),
    ] {
        build(&env, &ctx, &args).tool_error(&parts);
    }
    // A context that is not a directory (issue15_remote has the rest).
    env.hutch(&["build", "/nonexistent/ctx"])
        .tool_error(&["/nonexistent/ctx"]);
    // --pull=never with an image that is not local.
    let ctx2 = context(&env, "ctx2", &[("Containerfile", "FROM {REG}/config\n")]);
    build(&env, &ctx2, &["--pull=never"]).tool_error(&["config", "--pull=never"]);
    let _ = registry();
}
