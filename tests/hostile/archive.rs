//! Hostile image archives (issue #3): `load` of an archive whose layer
//! climbs out with `../`, of a truncated archive, and of one whose blob does
//! not match its digest must fail with exit 125 and one `Error:` line naming
//! the archive member, leave the victims beside the store untouched, and
//! leave the store as it was: no image, blob, layer or temp file.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::common::{self, Env};
use super::{assert_devices_skipped, gzip, layer_with_devices, sha256, snapshot, RawTar, PAYLOAD};

fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// An outer archive from `(member, bytes)` pairs, as `save` would lay it out.
fn outer(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..])
            .expect("building an archive in memory");
    }
    b.into_inner().expect("building an archive in memory")
}

fn config(diff_id: &str) -> Vec<u8> {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    })
    .to_string()
    .into_bytes()
}

/// A docker-archive holding one image with the plain tar `layer`.
fn docker_archive(name: &str, layer: &[u8]) -> Vec<u8> {
    let diff_id = sha256(layer);
    let cfg = config(&diff_id);
    let cfg_name = format!("{}.json", hex(&sha256(&cfg)));
    let layer_name = format!("{}/layer.tar", hex(&diff_id));
    let manifest = json!([{"Config": cfg_name, "RepoTags": [name], "Layers": [layer_name]}]);
    outer(&[
        (cfg_name, cfg),
        (layer_name, layer.to_vec()),
        ("manifest.json".into(), manifest.to_string().into_bytes()),
    ])
}

/// An oci-archive holding one image with `layer` gzipped; `corrupt_blob`
/// replaces the layer blob's bytes (keeping its name) with other ones.
fn oci_archive(name: &str, layer: &[u8], corrupt_blob: Option<&[u8]>) -> (Vec<u8>, String) {
    let diff_id = sha256(layer);
    let blob = gzip(layer);
    let blob_digest = sha256(&blob);
    let cfg = config(&diff_id);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob_digest, "size": blob.len()}],
    })
    .to_string()
    .into_bytes();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": name},
        }],
    });
    let member = |d: &str| format!("blobs/sha256/{}", hex(d));
    let layer_member = member(&blob_digest);
    let archive = outer(&[
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (member(&sha256(&cfg)), cfg.clone()),
        (
            layer_member.clone(),
            corrupt_blob.map_or(blob, <[u8]>::to_vec),
        ),
        (member(&sha256(&manifest)), manifest.clone()),
        ("index.json".into(), index.to_string().into_bytes()),
    ]);
    (archive, layer_member)
}

/// A harmless layer.
fn honest_layer() -> Vec<u8> {
    RawTar::default()
        .dir("etc")
        .file("etc/fine", b"fine\n")
        .file("hello", &[b'x'; 4000])
        .finish()
}

/// A fresh store with victims beside it.
struct Scene {
    env: Env,
    victims: Vec<PathBuf>,
}

impl Scene {
    fn new() -> Scene {
        let env = Env::new();
        let victims = vec![
            env.data_home.join("victim"),
            env.store().join("victim"),
            env.home.join("victim"),
            env.dir.join("victim"),
        ];
        for v in &victims {
            std::fs::create_dir_all(v).unwrap_or_else(|e| panic!("creating {}: {e}", v.display()));
            std::fs::write(v.join("x"), b"original\n").expect("writing victim x");
        }
        Scene { env, victims }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.env.dir.join("archives");
        std::fs::create_dir_all(&dir).expect("creating the archives directory");
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
        p
    }

    /// Loads `archive` and checks every promise about a refused archive.
    #[track_caller]
    fn assert_refused(&self, archive: &Path, parts: &[&str]) {
        let before: Vec<_> = self.victims.iter().map(|v| snapshot(v)).collect();
        let r = self
            .env
            .hutch(&["load", "-i", archive.to_str().unwrap()])
            .tool_error(parts);
        if !r.stdout.trim().is_empty() {
            r.fail("a refused archive must not report a loaded image");
        }
        for (v, b) in self.victims.iter().zip(before) {
            if snapshot(v) != b {
                r.fail(&format!("victim directory {} changed", v.display()));
            }
        }
        // The archives themselves hold the payload: look everywhere else.
        let stray = super::find_payload(&self.env.home, &self.env.store());
        if !stray.is_empty() {
            r.fail(&format!(
                "the payload was written outside the store: {stray:?}"
            ));
        }
        let store = self.env.store();
        for sub in ["blobs/sha256", "layers", "tmp"] {
            let left = common::list_dir(&store.join(sub));
            if !left.is_empty() {
                r.fail(&format!(
                    "{sub}/ should be empty after the refused archive, holds {left:?}"
                ));
            }
        }
        self.env.hutch(&["images", "-q"]).success().stdout_is("");
    }
}

#[test]
fn load_accepts_an_honest_handmade_archive_in_both_formats() {
    let s = Scene::new();
    let docker = s.write("d.tar", &docker_archive("honest/docker:1", &honest_layer()));
    s.env
        .hutch(&["load", "-i", docker.to_str().unwrap()])
        .success()
        .stdout_is("Loaded image: docker.io/honest/docker:1");
    let (oci, _) = oci_archive("localhost/honest/oci:1", &honest_layer(), None);
    let oci = s.write("o.tar", &oci);
    s.env
        .hutch(&["load", "-i", oci.to_str().unwrap()])
        .success()
        .stdout_is("Loaded image: localhost/honest/oci:1");
}

#[test]
fn load_refuses_a_layer_with_dotdot_paths() {
    let s = Scene::new();
    let layer = RawTar::default()
        .dir("ok")
        .file("ok/fine", b"fine\n")
        .file("../../victim/x", PAYLOAD)
        .file("../../../victim/x", PAYLOAD)
        .file("../../../../victim/x", PAYLOAD)
        .finish();
    let docker = s.write("d.tar", &docker_archive("evil/docker:1", &layer));
    s.assert_refused(&docker, &["layer.tar", "escapes"]);
    let (oci, _) = oci_archive("localhost/evil/oci:1", &layer, None);
    let oci = s.write("o.tar", &oci);
    s.assert_refused(&oci, &["blobs/sha256/", "escapes"]);
}

#[test]
fn load_refuses_a_truncated_archive_naming_the_member() {
    let s = Scene::new();
    let full = docker_archive("cut/docker:1", &honest_layer());
    // Cut inside the layer member's data.
    let at = full
        .windows(b"layer.tar".len())
        .position(|w| w == b"layer.tar")
        .expect("layer member header")
        + 512
        + 1000;
    let cut = s.write("cut.tar", &full[..at]);
    s.assert_refused(&cut, &["layer.tar", "truncated"]);
    // Cut so short that the manifest never comes.
    let cut = s.write("cut2.tar", &full[..1024]);
    s.assert_refused(&cut, &[]);
}

#[test]
fn load_refuses_a_blob_that_does_not_match_its_digest() {
    let s = Scene::new();
    let other = gzip(&RawTar::default().file("other", b"other\n").finish());
    let (archive, member) = oci_archive("localhost/lie/oci:1", &honest_layer(), Some(&other));
    let p = s.write("lie.tar", &archive);
    s.assert_refused(&p, &[&member, "does not match its digest"]);
}

#[test]
fn load_of_garbage_says_what_it_expected() {
    let s = Scene::new();
    let p = s.write("junk.tar", &outer(&[("hello.txt".into(), b"hi".to_vec())]));
    s.assert_refused(&p, &["not an image archive"]);
}

#[test]
fn issue20_load_skips_device_nodes_in_both_formats() {
    // issue #20 item 1: `load` skips device nodes as `pull` does.
    let s = Scene::new();
    let layer = layer_with_devices();
    let layer_dir = s.env.store().join("layers").join(hex(&sha256(&layer)));
    let docker = s.write("d.tar", &docker_archive("dev/docker:1", &layer));
    let r = s
        .env
        .hutch(&["load", "-i", docker.to_str().unwrap()])
        .success()
        .stdout_is("Loaded image: docker.io/dev/docker:1");
    assert_devices_skipped(&layer_dir, &r);
    s.env.hutch(&["rmi", "docker.io/dev/docker:1"]).success();
    let (oci, _) = oci_archive("localhost/dev/oci:1", &layer, None);
    let oci = s.write("o.tar", &oci);
    let r = s
        .env
        .hutch(&["load", "-i", oci.to_str().unwrap()])
        .success()
        .stdout_is("Loaded image: localhost/dev/oci:1");
    assert_devices_skipped(&layer_dir, &r);
    for v in &s.victims {
        assert_eq!(std::fs::read(v.join("x")).unwrap(), b"original\n");
    }
}

#[test]
fn issue20_load_refuses_device_nodes_that_climb_out() {
    let s = Scene::new();
    let layer = RawTar::default()
        .device("dev/null", b'3', 1, 3)
        .device("../../victim/x", b'4', 8, 0)
        .file("../../victim/x", PAYLOAD)
        .finish();
    let docker = s.write("d.tar", &docker_archive("evil/dev:1", &layer));
    s.assert_refused(&docker, &["layer.tar", "escapes"]);
}
