//! Issue #15: the same Containerfile built by Podman and by hutch gives
//! images whose config fields and file trees match. What hutch does
//! differently on purpose (docs/compat.md, "Building images") is left
//! out: the `io.buildah.version` label, history timestamps, file times.

use serde_json::Value;

use super::{podman, setup, Cleanup};
use crate::common::{Env, Run};

const FILE: &str = r#"FROM {IMG} AS tools
RUN mkdir -p /out/bin && echo tool > /out/bin/tool && chmod 750 /out/bin/tool && chown -R 1000:1000 /out
FROM {IMG}
ARG VERSION=1.0
ENV APP=/srv/app PATH=/srv/app/bin:$PATH
LABEL org.example.version=$VERSION maintainer=team
WORKDIR $APP
COPY src/ ./src/
COPY --chown=app:app conf/app.conf /etc/app.conf
COPY --chmod=0640 conf/*.ini conf/
COPY --from=tools /out /opt/tools
ADD bundle.tar.gz /srv/bundle/
RUN mkdir -p data && echo "$VERSION" > data/version && rm -f /etc/app.conf.bak
USER app
EXPOSE 8080 9090/udp
VOLUME ["/srv/app/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat data/version"]
"#;

/// The tree of the image's interesting paths: name, type, mode, owner,
/// size.
const TREE: &str = "find /srv /etc/app.conf /opt/tools | sort | while read f; do stat -c '%n|%F|%a|%u:%g|%s' \"$f\"; done";

fn context(env: &Env, img: &str) -> std::path::PathBuf {
    let dir = env.dir.join("ctx");
    for (path, text) in [
        ("Containerfile", FILE.replace("{IMG}", img)),
        ("src/main.c", "int main(){}\n".into()),
        ("src/lib/util.c", "void u(){}\n".into()),
        ("conf/app.conf", "k=v\n".into()),
        ("conf/a.ini", "[a]\n".into()),
        ("conf/b.ini", "[b]\n".into()),
    ] {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    std::os::unix::fs::symlink("main.c", dir.join("src/link.c")).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("bundle/readme", "r\n"), ("bundle/bin/run", "#!/bin/sh\n")] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
    std::fs::write(dir.join("bundle.tar.gz"), gz.finish().unwrap()).unwrap();
    dir
}

/// The config fields compared, with Podman's own label taken out.
fn config_of(r: &Run) -> Value {
    let v = r.json();
    let mut c = v[0]["Config"].clone();
    if let Some(labels) = c["Labels"].as_object_mut() {
        labels.remove("io.buildah.version");
    }
    let keep = [
        "Env",
        "Cmd",
        "Entrypoint",
        "User",
        "WorkingDir",
        "ExposedPorts",
        "Volumes",
        "Labels",
        "StopSignal",
    ];
    let mut out = serde_json::Map::new();
    for k in keep {
        out.insert(k.into(), c.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

#[test]
fn issue15_build_matches_podman_build_in_config_and_files() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let ctx = context(&env, &img);
    let ctx_arg = ctx.to_string_lossy().into_owned();
    let args = ["build", "-q", "-t", "same:1", ctx_arg.as_str()];
    let theirs = podman(&env, &args).success();
    let ours = env.hutch(&args).success();
    let pc = config_of(&podman(&env, &["image", "inspect", "same:1"]).success());
    let hc = config_of(&env.hutch(&["image", "inspect", "same:1"]).success());
    assert_eq!(
        hc, pc,
        "the image configs differ\nhutch's build:\n{ours}\npodman's build:\n{theirs}"
    );
    let run = [
        "run",
        "--rm",
        "--user",
        "0",
        "--entrypoint",
        "sh",
        "same:1",
        "-c",
        TREE,
    ];
    let pt = podman(&env, &run).success();
    let ht = env.hutch(&run).success();
    assert_eq!(
        ht.stdout, pt.stdout,
        "the file trees differ\nhutch:\n{ht}\npodman:\n{pt}"
    );
    // And the image runs alike.
    let pr = podman(&env, &["run", "--rm", "same:1"]).success();
    env.hutch(&["run", "--rm", "same:1"])
        .success()
        .stdout_is(&pr.stdout);
}
