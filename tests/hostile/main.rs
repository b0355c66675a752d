//! Hostile input: a fake registry on 127.0.0.1, written here, serves images
//! whose layers try to escape the store (`../`, absolute names, symlink
//! write-through, hard links out of the tree) or whose bytes lie about their
//! digest. Each pull must fail with exit 125 and one `Error:` line, leave
//! the victim directories beside the store byte-identical, keep nothing of
//! the bad layer under blobs/ or layers/, and leave a store that still lists.

mod archive;
#[path = "../common/mod.rs"]
mod common;
mod cp;
mod images;
mod issue13_cp;
mod issue15_build;
mod limits;
mod push;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use common::Env;

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

/// A tar built from raw 512-byte ustar headers, so that it can hold names
/// no well-behaved builder would write.
#[derive(Default)]
struct RawTar {
    bytes: Vec<u8>,
}

impl RawTar {
    fn entry(&mut self, name: &str, kind: u8, mode: u32, link: &str, data: &[u8]) -> &mut Self {
        self.entry_dev(name, kind, mode, link, data, (0, 0))
    }

    /// An entry with device numbers (for character and block devices).
    fn entry_dev(
        &mut self,
        name: &str,
        kind: u8,
        mode: u32,
        link: &str,
        data: &[u8],
        dev: (u32, u32),
    ) -> &mut Self {
        let mut h = [0u8; 512];
        let (prefix, base) = split_ustar_name(name);
        put(&mut h, 0, 100, base.as_bytes());
        put(&mut h, 100, 8, format!("{mode:07o}").as_bytes());
        put(&mut h, 108, 8, b"0000000");
        put(&mut h, 116, 8, b"0000000");
        put(&mut h, 124, 12, format!("{:011o}", data.len()).as_bytes());
        put(&mut h, 136, 12, b"14524770300");
        h[156] = kind;
        put(&mut h, 157, 100, link.as_bytes());
        put(&mut h, 257, 6, b"ustar\0");
        put(&mut h, 263, 2, b"00");
        put(&mut h, 329, 8, format!("{:07o}", dev.0).as_bytes());
        put(&mut h, 337, 8, format!("{:07o}", dev.1).as_bytes());
        put(&mut h, 345, 155, prefix.as_bytes());
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(&mut h, 148, 8, format!("{sum:06o}\0 ").as_bytes());
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name, b'5', 0o755, "", b"")
    }

    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, b'0', 0o644, "", data)
    }

    fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, b'2', 0o777, target, b"")
    }

    fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, b'1', 0o644, target, b"")
    }

    /// A character (`b'3'`) or block (`b'4'`) device node.
    fn device(&mut self, name: &str, kind: u8, major: u32, minor: u32) -> &mut Self {
        self.entry_dev(name, kind, 0o666, "", b"", (major, minor))
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut b = std::mem::take(&mut self.bytes);
        b.extend(std::iter::repeat_n(0u8, 1024));
        b
    }
}

fn put(h: &mut [u8; 512], at: usize, len: usize, v: &[u8]) {
    assert!(
        v.len() <= len,
        "tar field at {at} too long: {:?}",
        String::from_utf8_lossy(v)
    );
    h[at..at + v.len()].copy_from_slice(v);
}

/// Splits a long name into ustar's prefix and name fields at a `/`.
fn split_ustar_name(name: &str) -> (&str, &str) {
    if name.len() <= 100 {
        return ("", name);
    }
    let cut = name[..name.len().min(156)]
        .rfind('/')
        .expect("a long tar name needs a / to split at");
    (&name[..cut], &name[cut + 1..])
}

/// What the registry sends for a layer blob.
#[derive(Clone)]
enum Serve {
    /// The correct bytes.
    Honest,
    /// Other bytes than the digest says.
    Corrupt(Vec<u8>),
    /// The correct Content-Length, then only this many bytes and a close.
    Truncated(usize),
}

#[derive(Clone, Default)]
struct Response {
    status: u16,
    content_type: String,
    body: Vec<u8>,
    digest: Option<String>,
    send_only: Option<usize>,
    /// Extra headers.
    headers: Vec<(String, String)>,
    /// This many spaces after `body`, streamed (never held in memory).
    filler: u64,
    /// Leave out Content-Length: the body ends when the connection closes.
    is_unsized: bool,
}

impl Response {
    fn ok(content_type: &str, body: &[u8]) -> Response {
        Response {
            status: 200,
            content_type: content_type.into(),
            body: body.to_vec(),
            ..Response::default()
        }
    }
}

/// The layer and config of an image to publish, with what the manifest
/// declares about them.
struct Image {
    layer: Vec<u8>,
    media_type: String,
    diff_id: String,
    /// The layer size the manifest declares.
    layer_size: u64,
    /// The config size the manifest declares (its real size if `None`).
    config_size: Option<u64>,
    /// Spaces streamed after the config's JSON.
    config_filler: u64,
}

impl Image {
    /// A gzip layer made of `tar`, declared honestly.
    fn gzip(tar: &[u8]) -> Image {
        let layer = gzip(tar);
        Image {
            layer_size: layer.len() as u64,
            layer,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            diff_id: sha256(tar),
            config_size: None,
            config_filler: 0,
        }
    }
}

/// A single-image-per-repository registry speaking just enough of the
/// Distribution API v2: `/v2/`, manifests by tag or digest, blobs.
struct FakeRegistry {
    addr: String,
    routes: Arc<Mutex<HashMap<String, Response>>>,
    log: Arc<Mutex<Vec<String>>>,
}

/// The digests of an image served by the fake registry.
struct Served {
    layer_blob: String,
    diff_id: String,
}

impl FakeRegistry {
    fn start() -> FakeRegistry {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("binding the fake registry on 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr").to_string();
        let routes: Arc<Mutex<HashMap<String, Response>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, l) = (routes.clone(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (r, l) = (r.clone(), l.clone());
                std::thread::spawn(move || serve(conn, &r, &l));
            }
        });
        FakeRegistry { addr, routes, log }
    }

    /// Publishes `repo:latest` with one gzip layer made of `tar`.
    fn publish(&self, repo: &str, tar: &[u8], how: Serve) -> Served {
        self.publish_image(repo, Image::gzip(tar), how)
    }

    /// Publishes `repo:latest` as `img` describes.
    fn publish_image(&self, repo: &str, img: Image, how: Serve) -> Served {
        let layer_blob = sha256(&img.layer);
        let config = serde_json::json!({
            "architecture": match std::env::consts::ARCH { "aarch64" => "arm64", "x86_64" => "amd64", a => a },
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [img.diff_id]},
        })
        .to_string()
        .into_bytes();
        let config_digest = sha256(&config);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": img.config_size.unwrap_or(config.len() as u64)},
            "layers": [{"mediaType": img.media_type, "digest": layer_blob, "size": img.layer_size}],
        })
        .to_string()
        .into_bytes();
        let mdigest = sha256(&manifest);
        let resp = |ct: &str, body: &[u8], d: &str| Response {
            digest: Some(d.into()),
            ..Response::ok(ct, body)
        };
        let mt = "application/vnd.oci.image.manifest.v1+json";
        let mut routes = self.routes.lock().expect("routes");
        routes.insert(
            format!("/v2/{repo}/manifests/latest"),
            resp(mt, &manifest, &mdigest),
        );
        routes.insert(
            format!("/v2/{repo}/manifests/{mdigest}"),
            resp(mt, &manifest, &mdigest),
        );
        let mut config_resp = resp("application/octet-stream", &config, &config_digest);
        config_resp.filler = img.config_filler;
        routes.insert(format!("/v2/{repo}/blobs/{config_digest}"), config_resp);
        let mut layer_resp = resp("application/octet-stream", &img.layer, &layer_blob);
        match how {
            Serve::Honest => {}
            Serve::Corrupt(other) => layer_resp.body = other,
            Serve::Truncated(n) => layer_resp.send_only = Some(n),
        }
        routes.insert(format!("/v2/{repo}/blobs/{layer_blob}"), layer_resp);
        Served {
            layer_blob,
            diff_id: img.diff_id,
        }
    }

    /// Serves `resp` at `path`, replacing what was there (`/v2/` included).
    fn route(&self, path: &str, resp: Response) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), resp);
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

fn serve(mut conn: TcpStream, routes: &Mutex<HashMap<String, Response>>, log: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let mut first = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    log.lock().expect("log").push(format!("{method} {path}"));
    let routed = routes.lock().expect("routes").get(path).cloned();
    let found = match routed {
        Some(r) => Some(r),
        None if path == "/v2/" || path == "/v2" => Some(Response::ok("application/json", b"{}")),
        None => None,
    };
    let r = found.unwrap_or_else(|| Response {
        status: 404,
        ..Response::ok(
            "application/json",
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        )
    });
    let reason = match r.status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Other",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\n",
        r.status, r.content_type
    );
    if !r.is_unsized {
        head.push_str(&format!(
            "Content-Length: {}\r\n",
            r.body.len() as u64 + r.filler
        ));
    }
    if let Some(d) = &r.digest {
        head.push_str(&format!("Docker-Content-Digest: {d}\r\n"));
    }
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Docker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n");
    let mut out = head.into_bytes();
    if method != "HEAD" {
        let n = r.send_only.unwrap_or(r.body.len());
        out.extend_from_slice(&r.body[..n]);
    }
    if conn.write_all(&out).is_ok() && method != "HEAD" {
        // Streamed until done or until the client hangs up.
        let chunk = vec![b' '; 64 << 10];
        let mut left = r.filler;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if conn.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
    }
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// Every regular file under `dir` with its bytes (symlinks as `-> target`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                out.insert(p.clone(), b"<dir>".to_vec());
                stack.push(p);
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap_or_default();
                out.insert(p, format!("-> {}", t.display()).into_bytes());
            } else {
                out.insert(
                    p.clone(),
                    std::fs::read(&p).unwrap_or_else(|e| format!("<unreadable: {e}>").into_bytes()),
                );
            }
        }
    }
    out
}

/// Files under `dir` (not descending into `skip`) whose content is the
/// attack's payload.
fn find_payload(dir: &Path, skip: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .filter(|(p, b)| !p.starts_with(skip) && b.windows(PAYLOAD.len()).any(|w| w == PAYLOAD))
        .map(|(p, _)| p)
        .collect()
}

const PAYLOAD: &[u8] = b"pwned by a hostile layer\n";

/// The most a refused pull may hold resident: the bodies it refuses are
/// far bigger, so staying under this shows they were streamed.
const MAX_RSS_KIB: u64 = 200 << 10;

/// One attack: a fake registry serving `repo`, victims beside the store.
struct Attack {
    reg: FakeRegistry,
    env: Env,
    victims: Vec<PathBuf>,
}

impl Attack {
    fn new() -> Attack {
        let reg = FakeRegistry::start();
        let env = Env::with_insecure(std::slice::from_ref(&reg.addr));
        // Victims at every level an escape could reach: beside the store,
        // beside its subdirectories, and beside the data directory.
        let victims = vec![
            env.data_home.join("victim"),
            env.store().join("victim"),
            env.home.join("victim"),
            env.dir.join("victim"),
        ];
        for v in &victims {
            std::fs::create_dir_all(v).unwrap_or_else(|e| panic!("creating {}: {e}", v.display()));
            std::fs::write(v.join("canary"), b"canary\n").expect("writing canary");
            std::fs::write(v.join("f"), b"original f\n").expect("writing victim f");
        }
        Attack { reg, env, victims }
    }

    /// Pulls `repo` and checks every promise about a refused image.
    fn assert_refused(&self, repo: &str, served: &Served) {
        self.assert_refused_with(repo, served, &[]);
    }

    /// Like `assert_refused`, and the one `Error:` line also holds `parts`.
    fn assert_refused_with(&self, repo: &str, served: &Served, parts: &[&str]) {
        let before: Vec<_> = self.victims.iter().map(|v| snapshot(v)).collect();
        let img = format!("{}/{repo}", self.reg.addr);
        let r = self.pull_measured(&img);
        let requests = self.reg.requests();
        if !requests.iter().any(|q| q.ends_with(&served.layer_blob)) {
            r.fail(&format!(
                "hutch never asked the fake registry for the layer blob; requests: {requests:?}"
            ));
        }
        let mut want = vec![repo];
        want.extend_from_slice(parts);
        let r = r.tool_error(&want);
        for (v, b) in self.victims.iter().zip(before) {
            let after = snapshot(v);
            if after != b {
                r.fail(&format!(
                    "victim directory {} changed: before {:?}, after {:?}",
                    v.display(),
                    b.keys().collect::<Vec<_>>(),
                    after.keys().collect::<Vec<_>>()
                ));
            }
        }
        let stray = find_payload(&self.env.dir, &self.env.store());
        if !stray.is_empty() {
            r.fail(&format!(
                "the layer's payload was written outside the store: {stray:?}"
            ));
        }
        let store = self.env.store();
        let blob = store
            .join("blobs/sha256")
            .join(served.layer_blob.trim_start_matches("sha256:"));
        if blob.exists() {
            r.fail(&format!(
                "the refused layer blob stayed in the store at {}",
                blob.display()
            ));
        }
        let layers = common::list_dir(&store.join("layers"));
        if !layers.is_empty() {
            r.fail(&format!(
                "layers/ should be empty after the refused image, holds {layers:?} (diff_id {})",
                served.diff_id
            ));
        }
        self.assert_store_clean(repo, &r);
    }

    /// `hutch pull --tls-verify=false IMG` under `/usr/bin/time`, failing
    /// when its peak RSS (children included) passes `MAX_RSS_KIB`.
    fn pull_measured(&self, img: &str) -> common::Run {
        let time = common::require_tool("time");
        let out = self.env.dir.join("time.out");
        let args = ["pull", "--tls-verify=false", img];
        let mut c = std::process::Command::new(time);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&out)
            .arg(common::hutch_bin())
            .args(args)
            .env_clear()
            .envs(self.env.vars())
            .current_dir(&self.env.home)
            .stdin(std::process::Stdio::null());
        let r = common::run_command(c, self.env.describe(&args), common::TIMEOUT);
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let Some(kib) = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
        else {
            r.fail(&format!("no peak RSS from /usr/bin/time: {text:?}"));
        };
        if kib > MAX_RSS_KIB {
            r.fail(&format!(
                "hutch peaked at {kib} KiB resident, over {MAX_RSS_KIB} KiB"
            ));
        }
        r
    }

    /// The store holds no trace of `repo`: not listed, no temp files, and
    /// it still lists as JSON.
    fn assert_store_clean(&self, repo: &str, r: &common::Run) {
        let tmp = common::list_dir(&self.env.store().join("tmp"));
        if !tmp.is_empty() {
            r.fail(&format!("temp files left in the store: {tmp:?}"));
        }
        let imgs = self.env.hutch(&["images"]).success();
        if imgs.stdout.contains(repo) {
            imgs.fail("the refused image is listed");
        }
        self.env
            .hutch(&["images", "--format", "json"])
            .success()
            .json();
    }
}

#[test]
fn pull_refuses_layer_with_dotdot_path() {
    let a = Attack::new();
    let tar = RawTar::default()
        .dir("ok")
        .file("ok/fine", b"fine\n")
        .file("../../victim/x", PAYLOAD)
        .file("../../../victim/x", PAYLOAD)
        .finish();
    let s = a.reg.publish("dotdot", &tar, Serve::Honest);
    a.assert_refused("dotdot", &s);
}

#[test]
fn pull_refuses_layer_with_absolute_path() {
    let a = Attack::new();
    let target = a.env.data_home.join("victim/x");
    let tar = RawTar::default()
        .file("/abs/x", PAYLOAD)
        .file(&target.to_string_lossy(), PAYLOAD)
        .finish();
    let s = a.reg.publish("absolute", &tar, Serve::Honest);
    a.assert_refused("absolute", &s);
}

#[test]
fn pull_refuses_writing_through_a_symlink() {
    let a = Attack::new();
    let tar = RawTar::default()
        .symlink("evil", "../../../victim")
        .file("evil/x", PAYLOAD)
        .finish();
    let s = a.reg.publish("symlink", &tar, Serve::Honest);
    a.assert_refused("symlink", &s);
}

#[test]
fn pull_refuses_writing_through_an_absolute_symlink() {
    let a = Attack::new();
    let victim = a.env.data_home.join("victim");
    let tar = RawTar::default()
        .symlink("evil", &victim.to_string_lossy())
        .file("evil/x", PAYLOAD)
        .finish();
    let s = a.reg.publish("abssymlink", &tar, Serve::Honest);
    a.assert_refused("abssymlink", &s);
}

#[test]
fn pull_refuses_hard_link_out_of_the_tree() {
    let a = Attack::new();
    let tar = RawTar::default()
        .hardlink("f", "../../victim/f")
        .file("f", PAYLOAD)
        .finish();
    let s = a.reg.publish("hardlink", &tar, Serve::Honest);
    a.assert_refused("hardlink", &s);
}

#[test]
fn pull_refuses_layer_bytes_that_do_not_match_the_digest() {
    let a = Attack::new();
    let tar = RawTar::default().file("innocent", b"innocent\n").finish();
    let other = gzip(&RawTar::default().file("x", PAYLOAD).finish());
    let s = a.reg.publish("baddigest", &tar, Serve::Corrupt(other));
    a.assert_refused("baddigest", &s);
}

#[test]
fn pull_refuses_a_truncated_layer() {
    let a = Attack::new();
    let mut big = RawTar::default();
    // Incompressible-ish content so the gzip stream is long enough to cut.
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tar = big.file("noise", &noise).finish();
    let len = gzip(&tar).len();
    let s = a.reg.publish("truncated", &tar, Serve::Truncated(len / 2));
    a.assert_refused("truncated", &s);
}

#[test]
fn fake_registry_serves_an_honest_image() {
    // The control: the same machinery with a harmless layer must pull, so
    // the refusals above are about the attacks, not the fake registry.
    let a = Attack::new();
    let tar = RawTar::default()
        .dir("etc")
        .file("etc/hello", b"hello\n")
        .finish();
    let s = a.reg.publish("honest", &tar, Serve::Honest);
    let img = format!("{}/honest", a.reg.addr);
    a.env.hutch(&["pull", "--tls-verify=false", &img]).success();
    let layer = a
        .env
        .store()
        .join("layers")
        .join(s.diff_id.trim_start_matches("sha256:"));
    let got = std::fs::read_to_string(layer.join("etc/hello"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", layer.display()));
    assert_eq!(got, "hello\n");
    a.env.hutch(&["images"]).success().stdout_has("honest");
}

/// A debootstrap-style /dev: character and block nodes and a FIFO.
fn layer_with_devices() -> Vec<u8> {
    RawTar::default()
        .dir("dev")
        .device("dev/null", b'3', 1, 3)
        .device("dev/full", b'3', 1, 7)
        .device("dev/sda", b'4', 8, 0)
        .entry("dev/somefifo", b'6', 0o600, "", b"")
        .hardlink("dev/null2", "dev/null")
        .dir("etc")
        .file("etc/hello", b"hello\n")
        .finish()
}

/// Fails `r` unless `layer` holds the layer of `layer_with_devices` minus
/// its device nodes.
fn assert_devices_skipped(layer: &Path, r: &common::Run) {
    for node in ["dev/null", "dev/full", "dev/sda", "dev/null2"] {
        if std::fs::symlink_metadata(layer.join(node)).is_ok() {
            r.fail(&format!("{node} was created in {}", layer.display()));
        }
    }
    let fifo = std::fs::symlink_metadata(layer.join("dev/somefifo"))
        .unwrap_or_else(|e| r.fail(&format!("the FIFO is missing: {e}")));
    if !std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()) {
        r.fail("dev/somefifo is not a FIFO");
    }
    match std::fs::read(layer.join("etc/hello")) {
        Ok(b) if b == b"hello\n" => {}
        other => r.fail(&format!("etc/hello: {other:?}")),
    }
}

#[test]
fn issue20_pull_skips_device_nodes() {
    // issue #20 item 1: device nodes used to refuse the whole image; an
    // unprivileged user cannot make them, so they are skipped (as Podman
    // does rootless) and nothing else changes.
    let a = Attack::new();
    let s = a
        .reg
        .publish("devices", &layer_with_devices(), Serve::Honest);
    let before: Vec<_> = a.victims.iter().map(|v| snapshot(v)).collect();
    let img = format!("{}/devices", a.reg.addr);
    let r = a.env.hutch(&["pull", "--tls-verify=false", &img]).success();
    let layer = a
        .env
        .store()
        .join("layers")
        .join(s.diff_id.trim_start_matches("sha256:"));
    assert_devices_skipped(&layer, &r);
    for (v, b) in a.victims.iter().zip(before) {
        if snapshot(v) != b {
            r.fail(&format!("victim directory {} changed", v.display()));
        }
    }
    a.env
        .hutch(&["run", "--rm", "--tls-verify=false", &img, "true"])
        .code(127);
}

#[test]
fn issue20_device_nodes_that_climb_out_are_still_refused() {
    // issue #20 item 1: skipping device nodes does not relax the path rules.
    let a = Attack::new();
    let tar = RawTar::default()
        .device("dev/null", b'3', 1, 3)
        .device("../../victim/x", b'3', 1, 3)
        .file("../../victim/f", PAYLOAD)
        .finish();
    let s = a.reg.publish("devescape", &tar, Serve::Honest);
    a.assert_refused_with("devescape", &s, &["../../victim/x", "escapes"]);
}
