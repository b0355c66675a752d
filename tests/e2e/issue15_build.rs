//! Issue #15: `hutch build`, as the unprivileged user, against the
//! fixture images of the local registry: every instruction, the built
//! image's config, multi-stage builds with `--target`, build arguments,
//! `.containerignore`, the layer cache, squashing and the flags.

use std::path::{Path, PathBuf};

use crate::common::{registry, Env, Run};

/// A build context `name` under the test's directory holding `files`
/// (path, contents; `{REG}` becomes the registry).
pub fn context(env: &Env, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = env.dir.join(name);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("a file has a parent"))
            .unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        std::fs::write(&p, text.replace("{REG}", &registry()))
            .unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }
    std::fs::create_dir_all(&dir).expect("creating the context");
    dir
}

/// `hutch build ARGS... CONTEXT`.
pub fn build(env: &Env, ctx: &Path, args: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["build".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.push(ctx.to_string_lossy().into_owned());
    env.hutch(&all)
}

/// The `image inspect` object of `name`.
pub fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let r = env.hutch(&["image", "inspect", name]).success();
    r.json()[0].clone()
}

/// The step lines a build printed.
fn steps(r: &Run) -> Vec<&str> {
    r.stdout
        .lines()
        .filter(|l| l.contains("STEP ") || l.starts_with("--> Using cache"))
        .collect()
}

const EVERY: &str = r#"# syntax=docker/dockerfile:1
ARG BASE={REG}/busybox
FROM ${BASE}
LABEL org.example.title="every instruction" version=1
MAINTAINER someone@example.com
ARG GREETING=hello
ENV APP_HOME=/srv/app \
    MESSAGE="${GREETING} world"
WORKDIR $APP_HOME
COPY greet.sh ./
RUN chmod 755 greet.sh && echo "built with $GREETING" > built.txt
RUN ["sh", "-c", "echo exec-form >> built.txt"]
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "shell $0" >> built.txt
USER app
EXPOSE 8080 53/udp
VOLUME /data
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ./greet.sh
STOPSIGNAL SIGINT
ENTRYPOINT ["./greet.sh"]
CMD ["from-cmd"]
"#;

#[test]
fn issue15_every_instruction_builds_and_the_image_runs_with_its_config() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[
            ("Containerfile", EVERY),
            (
                "greet.sh",
                "#!/bin/sh\necho \"$MESSAGE $1 $(id -u):$(id -g) $(pwd)\"\n",
            ),
        ],
    );
    let r = build(&env, &ctx, &["-t", "every:1"]).success();
    let id = r.stdout.lines().last().unwrap_or_default().to_string();
    let want_steps: Vec<String> = [
        "FROM REG/busybox",
        "LABEL org.example.title=\"every instruction\" version=1",
        "MAINTAINER someone@example.com",
        "ARG GREETING=hello",
        "ENV APP_HOME=/srv/app     MESSAGE=\"${GREETING} world\"",
        "WORKDIR $APP_HOME",
        "COPY greet.sh ./",
        "RUN chmod 755 greet.sh && echo \"built with $GREETING\" > built.txt",
        "RUN [\"sh\", \"-c\", \"echo exec-form >> built.txt\"]",
        "SHELL [\"/bin/sh\", \"-e\", \"-c\"]",
        "RUN echo \"shell $0\" >> built.txt",
        "USER app",
        "EXPOSE 8080 53/udp",
        "VOLUME /data",
        "HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ./greet.sh",
        "STOPSIGNAL SIGINT",
        "ENTRYPOINT [\"./greet.sh\"]",
        "CMD [\"from-cmd\"]",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| format!("STEP {}/18: {}", i + 1, s.replace("REG", &registry())))
    .collect();
    assert_eq!(steps(&r), want_steps, "{r}");
    let tail: Vec<&str> = r.stdout.lines().rev().take(4).collect();
    assert_eq!(tail[3], "COMMIT every:1", "{r}");
    assert_eq!(tail[2], format!("--> {}", &id[..11]), "{r}");
    assert_eq!(tail[1], "Successfully tagged localhost/every:1", "{r}");
    assert_eq!(id.len(), 64, "the last line is the full id\n{r}");

    let v = inspect(&env, "every:1");
    assert_eq!(v["Id"], id);
    let c = &v["Config"];
    assert_eq!(c["User"], "app");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["Entrypoint"], serde_json::json!(["./greet.sh"]));
    assert_eq!(c["Cmd"], serde_json::json!(["from-cmd"]));
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(
        c["ExposedPorts"],
        serde_json::json!({"8080/tcp": {}, "53/udp": {}})
    );
    assert_eq!(c["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(c["Labels"]["org.example.title"], "every instruction");
    assert_eq!(c["Labels"]["version"], "1");
    assert_eq!(
        c["Healthcheck"],
        serde_json::json!({"Test": ["CMD-SHELL", "./greet.sh"], "Interval": 30_000_000_000u64,
            "Timeout": 5_000_000_000u64, "Retries": 3})
    );
    assert_eq!(c["Shell"], serde_json::json!(["/bin/sh", "-e", "-c"]));
    let env_list: Vec<String> = serde_json::from_value(c["Env"].clone()).unwrap();
    assert!(
        env_list.contains(&"MESSAGE=hello world".to_string())
            && env_list.contains(&"APP_HOME=/srv/app".to_string())
            && !env_list.iter().any(|e| e.starts_with("GREETING=")),
        "ENV is recorded expanded, ARG is not: {env_list:?}"
    );
    assert_eq!(v["Author"], "someone@example.com");
    // One layer per COPY and RUN, on the base's one.
    assert_eq!(v["RootFS"]["Layers"].as_array().map(Vec::len), Some(5));
    let history = v["History"].as_array().cloned().unwrap_or_default();
    let by: Vec<&str> = history
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(
        by.contains(&"|1 GREETING=hello /bin/sh -c chmod 755 greet.sh && echo \"built with $GREETING\" > built.txt")
            && by.contains(&"/bin/sh -c #(nop) USER app"),
        "history as Podman writes it: {by:?}"
    );

    // The image runs with its entrypoint, cmd, user, workdir and env.
    env.hutch(&["run", "--rm", "every:1"])
        .success()
        .stdout_is("hello world from-cmd 1000:1000 /srv/app");
    env.hutch(&["run", "--rm", "every:1", "arg"])
        .success()
        .stdout_is("hello world arg 1000:1000 /srv/app");
    env.hutch(&["run", "--rm", "--entrypoint", "cat", "every:1", "built.txt"])
        .success()
        .stdout_is("built with hello\nexec-form\nshell /bin/sh");
}

const STAGES: &str = r#"FROM {REG}/busybox AS base
RUN echo base > /base
FROM base AS build
RUN echo built > /artifact
FROM {REG}/busybox AS unused
RUN echo "the unused stage ran" && exit 9
FROM base AS final
COPY --from=build /artifact /artifact
COPY --from=1 /base /from-index
CMD ["cat", "/base", "/artifact", "/from-index"]
FROM final AS last
RUN echo last > /last
"#;

#[test]
fn issue15_multi_stage_builds_only_what_the_target_needs() {
    let env = Env::new();
    let ctx = context(&env, "ctx", &[("Containerfile", STAGES)]);
    let r = build(&env, &ctx, &["--target", "final", "-t", "staged"]).success();
    if r.stdout.contains("unused stage ran") || r.stdout.contains("[3/4]") {
        r.fail("the stage --target does not need was built");
    }
    for want in [
        "[1/4] STEP 1/2: FROM ",
        "[2/4] STEP 1/2: FROM ",
        "[4/4] STEP 2/4: COPY --from=build /artifact /artifact",
        "[4/4] COMMIT staged",
    ] {
        if !r.stdout.contains(want) {
            r.fail(&format!("expected a line with {want:?}"));
        }
    }
    env.hutch(&["run", "--rm", "staged"])
        .success()
        .stdout_is("base\nbuilt\nbase");
    env.hutch(&["run", "--rm", "staged", "ls", "/last"]).code(1);
    // Without --target the last stage is built, and still not `unused`.
    let r = build(&env, &ctx, &["-t", "laststage"]).success();
    if r.stdout.contains("unused stage ran") {
        r.fail("the unused stage was built");
    }
    env.hutch(&["run", "--rm", "laststage", "cat", "/last"])
        .success()
        .stdout_is("last");
    // --skip-unused-stages=false builds every stage up to the target.
    build(&env, &ctx, &["--skip-unused-stages=false"]).tool_error(&[
        "RUN echo \"the unused stage ran\" && exit 9",
        "line 6",
        "exit status 9",
    ]);
    build(&env, &ctx, &["--target", "nope"]).tool_error(&["nope", "not in the Containerfile"]);
}

const ARGS: &str = r#"ARG TAG=latest
ARG IMG={REG}/busybox
FROM ${IMG}:${TAG}
ARG FROMFLAG
ARG DEFAULTED=default-value
ARG FROMENV
ARG TARGETARCH
ARG TAG
ENV DEFAULTED_ENV=${DEFAULTED:-unset}
RUN echo "flag=$FROMFLAG defaulted=$DEFAULTED env=$FROMENV arch=$TARGETARCH tag=$TAG" > /args
RUN echo "${UNDECLARED:-not in scope}" >> /args
"#;

#[test]
fn issue15_build_args_defaults_environment_and_predefined_args() {
    let mut env = Env::new();
    env.set_env("FROMENV", "from-the-environment");
    let ctx = context(&env, "ctx", &[("Containerfile", ARGS)]);
    let r = build(
        &env,
        &ctx,
        &[
            "--build-arg",
            "FROMFLAG=given",
            "--build-arg",
            "FROMENV",
            "--build-arg",
            "UNUSED=x",
            "-t",
            "args",
        ],
    )
    .success();
    if r.stderr_lines("Warning:")
        .iter()
        .all(|l| !l.contains("not consumed: [UNUSED]"))
    {
        r.fail("expected a warning that UNUSED was not consumed");
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    env.hutch(&["run", "--rm", "args", "cat", "/args"])
        .success()
        .stdout_is(&format!(
            "flag=given defaulted=default-value env=from-the-environment arch={arch} tag=latest\nnot in scope"
        ));
    let v = inspect(&env, "args");
    let env_list: Vec<String> = serde_json::from_value(v["Config"]["Env"].clone()).unwrap();
    assert!(env_list.contains(&"DEFAULTED_ENV=default-value".to_string()));
    // A build argument that changes the base image.
    build(&env, &ctx, &["--build-arg", "TAG=nosuchtag"]).tool_error(&["busybox:nosuchtag"]);
}

#[test]
fn issue15_containerignore_and_dockerignore_leave_files_out() {
    let env = Env::new();
    let files = [
        (
            "Containerfile",
            "FROM {REG}/busybox\nCOPY . /ctx/\nRUN cd /ctx && find . -type f | sort\n",
        ),
        ("keep.txt", "k"),
        ("top.log", "l"),
        ("logs/deep/a.log", "l"),
        ("logs/deep/important.log", "i"),
        ("secrets/key", "s"),
        ("src/main.c", "c"),
    ];
    let ctx = context(&env, "ctx", &files);
    std::fs::write(
        ctx.join(".containerignore"),
        "# comment\n**/*.log\n!logs/deep/important.log\nsecrets\n",
    )
    .unwrap();
    std::fs::write(ctx.join(".dockerignore"), "src\n").unwrap();
    let r = build(&env, &ctx, &["-q"]).success();
    let id = r.stdout.trim().to_string();
    env.hutch(&["run", "--rm", &id, "sh", "-c", "cd /ctx && find . -type f | sort"])
        .success()
        .stdout_is("./.containerignore\n./.dockerignore\n./Containerfile\n./keep.txt\n./logs/deep/important.log\n./src/main.c");
    // Without a .containerignore, .dockerignore counts.
    std::fs::remove_file(ctx.join(".containerignore")).unwrap();
    let id = build(&env, &ctx, &["-q"])
        .success()
        .stdout
        .trim()
        .to_string();
    env.hutch(&["run", "--rm", &id, "sh", "-c", "cd /ctx && find . -type f | sort"])
        .success()
        .stdout_is("./.dockerignore\n./Containerfile\n./keep.txt\n./logs/deep/a.log\n./logs/deep/important.log\n./secrets/key\n./top.log");
    // A source the ignore file leaves out is not there to copy.
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM {REG}/busybox\nCOPY src/main.c /\n".replace("{REG}", &registry()),
    )
    .unwrap();
    build(&env, &ctx, &[]).tool_error(&["COPY src/main.c /", "src/main.c", "build context"]);
}

#[test]
fn issue15_a_failing_run_exits_125_naming_step_line_and_status() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\n\n# a comment\nRUN echo before && \\\n    exit 3\nRUN echo never\n",
        )],
    );
    let r = build(&env, &ctx, &[]).tool_error(&[
        "building at STEP \"RUN echo before &&     exit 3\"",
        "Containerfile line 4",
        "exit status 3",
    ]);
    if !r.stdout.contains("before") || r.stdout.contains("never") {
        r.fail("the RUN output should show, and no later step run");
    }
    let left = env.store_entries("containers");
    assert!(left.is_empty(), "a failed build left containers: {left:?}");
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn issue15_an_unchanged_rebuild_is_cached_and_a_changed_file_is_not() {
    let env = Env::new();
    let marks = env.dir.join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let ctx = context(
        &env,
        "ctx",
        &[
            (
                "Containerfile",
                "FROM {REG}/busybox\nRUN echo first >> /marks/runs\nCOPY data.txt /data.txt\nRUN echo second >> /marks/runs && cat /data.txt\n",
            ),
            ("data.txt", "one"),
        ],
    );
    let vol = format!("{}:/marks", marks.display());
    let runs = || std::fs::read_to_string(marks.join("runs")).unwrap_or_default();
    let first = build(&env, &ctx, &["-v", &vol, "-t", "cached"]).success();
    assert_eq!(runs(), "first\nsecond\n", "{first}");
    // Unchanged: every step from the cache, no RUN executed.
    let again = build(&env, &ctx, &["-v", &vol, "-t", "cached"]).success();
    assert_eq!(
        runs(),
        "first\nsecond\n",
        "a cached build ran a RUN\n{again}"
    );
    assert_eq!(
        again.stdout.matches("--> Using cache ").count(),
        3,
        "{again}"
    );
    assert_eq!(
        first.stdout.lines().last(),
        again.stdout.lines().last(),
        "the same image"
    );
    // One copied file changes: the steps from its COPY on run again.
    std::fs::write(ctx.join("data.txt"), "two").unwrap();
    let changed = build(&env, &ctx, &["-v", &vol, "-t", "cached"]).success();
    assert_eq!(runs(), "first\nsecond\nsecond\n", "{changed}");
    assert_eq!(changed.stdout.matches("--> Using cache ").count(), 1);
    if !changed.stdout.contains("two") {
        changed.fail("the changed file's RUN output is missing");
    }
    // --no-cache runs everything; --layers=false neither uses nor fills it.
    build(&env, &ctx, &["-v", &vol, "--no-cache"]).success();
    assert_eq!(runs(), "first\nsecond\nsecond\nfirst\nsecond\n");
    build(&env, &ctx, &["-v", &vol, "--layers=false"]).success();
    assert_eq!(runs().lines().count(), 7);
    // image prune removes the unnamed step images; the cache then misses
    // (the tagged image is a step's image too: it goes first).
    env.hutch(&["rmi", "cached"]).success();
    env.hutch(&["image", "prune", "-f"]).success();
    let after = build(&env, &ctx, &["-v", &vol]).success();
    assert_eq!(
        after.stdout.matches("--> Using cache ").count(),
        0,
        "{after}"
    );
    assert_eq!(runs().lines().count(), 9);
}

#[test]
fn issue15_intermediate_images_are_hidden_from_images_and_pruned() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nENV A=1\nRUN touch /x\nLABEL l=1\n",
        )],
    );
    build(&env, &ctx, &["-t", "tagged"]).success();
    let listed = env
        .hutch(&["images", "--format", "{{.Repository}}"])
        .success();
    let names: Vec<&str> = listed.stdout.lines().collect();
    assert!(
        !names.contains(&"<none>"),
        "images lists intermediate images without --all\n{listed}"
    );
    let all = env.hutch(&["images", "-a", "-q"]).success();
    assert_eq!(all.stdout.lines().count(), 4, "the base and 3 steps\n{all}");
    env.hutch(&["image", "prune", "-f"]).success();
    let left = env.hutch(&["images", "-a", "-q"]).success();
    assert_eq!(left.stdout.lines().count(), 2, "{left}");
    env.hutch(&["run", "--rm", "tagged", "ls", "/x"])
        .success()
        .stdout_is("/x");
}

#[test]
fn issue15_squash_and_squash_all_merge_layers() {
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nRUN echo a > /a && echo gone > /gone\nRUN rm /gone /bin/ls && echo b > /b\nRUN mkdir /d && echo c > /d/c\n",
        )],
    );
    build(&env, &ctx, &["-t", "layered"]).success();
    build(&env, &ctx, &["--squash", "-t", "squashed"]).success();
    build(&env, &ctx, &["--squash-all", "-t", "flat"]).success();
    let layers = |name: &str| {
        inspect(&env, name)["RootFS"]["Layers"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(layers("layered"), 4);
    assert_eq!(layers("squashed"), 2);
    assert_eq!(layers("flat"), 1);
    for img in ["layered", "squashed", "flat"] {
        env.hutch(&[
            "run",
            "--rm",
            img,
            "sh",
            "-c",
            "cat /a /b /d/c; test -e /gone || echo no-gone; test -e /bin/ls || echo no-ls",
        ])
        .success()
        .stdout_is("a\nb\nc\nno-gone\nno-ls");
    }
}

#[test]
fn issue15_onbuild_triggers_run_in_child_images() {
    let env = Env::new();
    let base = context(
        &env,
        "base",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nONBUILD RUN echo triggered > /onbuild\nONBUILD COPY marker /marker\n",
        )],
    );
    build(&env, &base, &["--format", "docker", "-t", "onbuild-base"]).success();
    let v = inspect(&env, "onbuild-base");
    assert_eq!(
        v["Config"]["OnBuild"],
        serde_json::json!(["RUN echo triggered > /onbuild", "COPY marker /marker"])
    );
    let child = context(
        &env,
        "child",
        &[
            (
                "Containerfile",
                "FROM onbuild-base\nRUN cat /onbuild /marker\n",
            ),
            ("marker", "from the child's context"),
        ],
    );
    let r = build(&env, &child, &["-t", "onbuild-child"]).success();
    if !r.stdout.contains("triggered\nfrom the child's context") {
        r.fail("the triggers did not run before the child's steps");
    }
    let v = inspect(&env, "onbuild-child");
    assert!(
        v["Config"]["OnBuild"].is_null(),
        "triggers are not inherited further: {v:#}"
    );
}
