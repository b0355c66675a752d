//! Resource bombs (issue #6): decompression bombs, and registries that send
//! absurd sizes (huge manifests, configs, token responses and error bodies,
//! blobs longer or shorter than declared). Each pull fails with exit 125
//! and one `Error:` line naming the limit, peaks under `MAX_RSS_KIB`, and
//! leaves nothing of the image in the store; a good image pulls afterwards.

use super::{gzip, sha256, Attack, Image, RawTar, Response, Serve};

/// The expansion threshold the bomb tests set, far below the default.
const SMALL_EXPANSION: &str = "4194304";

/// A layer tar holding `mib` MiB of zeros, which compresses over 1000:1.
fn zeros_tar(mib: usize) -> Vec<u8> {
    RawTar::default()
        .file("zeros", &vec![0u8; mib << 20])
        .finish()
}

impl Attack {
    /// Pulls `repo`, which must fail before any layer is fetched, and
    /// checks the message, memory and store.
    fn assert_refused_early(&self, repo: &str, parts: &[&str]) {
        let img = format!("{}/{repo}", self.reg.addr);
        let mut want = vec![repo];
        want.extend_from_slice(parts);
        let r = self.pull_measured(&img).tool_error(&want);
        let blobs = super::snapshot(&self.env.store().join("blobs"));
        if blobs.keys().any(|p| !p.is_dir()) {
            r.fail(&format!(
                "blobs were stored for a refused image: {:?}",
                blobs.keys().collect::<Vec<_>>()
            ));
        }
        self.assert_store_clean(repo, &r);
    }

    /// Afterwards a harmless image still pulls into the same store.
    fn assert_honest_pull_works(&self) {
        let tar = RawTar::default().file("hello", b"hello\n").finish();
        self.reg.publish("afterwards", &tar, Serve::Honest);
        let img = format!("{}/afterwards", self.reg.addr);
        self.env
            .hutch(&["pull", "--tls-verify=false", &img])
            .success();
        self.env
            .hutch(&["images"])
            .success()
            .stdout_has("afterwards");
    }
}

#[test]
fn pull_refuses_a_gzip_decompression_bomb() {
    let mut a = Attack::new();
    a.env.set_env("HUTCH_LAYER_MAX_EXPANSION", SMALL_EXPANSION);
    let s = a
        .reg
        .publish_image("gzbomb", Image::gzip(&zeros_tar(64)), Serve::Honest);
    a.assert_refused_with(
        "gzbomb",
        &s,
        &[
            &format!("layer {}: expands to more than ", s.diff_id),
            ":1)",
        ],
    );
    a.assert_honest_pull_works();
}

#[test]
fn pull_refuses_a_zstd_decompression_bomb() {
    let mut a = Attack::new();
    a.env.set_env("HUTCH_LAYER_MAX_EXPANSION", SMALL_EXPANSION);
    let tar = zeros_tar(64);
    let layer = zstd::encode_all(&tar[..], 19).expect("zstd in memory");
    let img = Image {
        layer_size: layer.len() as u64,
        layer,
        media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
        diff_id: sha256(&tar),
        config_size: None,
        config_filler: 0,
    };
    let s = a.reg.publish_image("zstdbomb", img, Serve::Honest);
    a.assert_refused_with(
        "zstdbomb",
        &s,
        &[&format!("layer {}: expands to more than ", s.diff_id)],
    );
    a.assert_honest_pull_works();
}

#[test]
fn the_default_expansion_threshold_lets_ordinary_layers_through() {
    // The same 64 MiB of zeros is a bomb only under the small threshold.
    let a = Attack::new();
    let s = a
        .reg
        .publish_image("zeros", Image::gzip(&zeros_tar(64)), Serve::Honest);
    let img = format!("{}/zeros", a.reg.addr);
    a.pull_measured(&img).success();
    let layer = a
        .env
        .store()
        .join("layers")
        .join(s.diff_id.trim_start_matches("sha256:"))
        .join("zeros");
    let len = std::fs::metadata(&layer)
        .unwrap_or_else(|e| panic!("{}: {e}", layer.display()))
        .len();
    assert_eq!(len, 64 << 20);
}

/// A manifest route sending `{` and then `filler` spaces.
fn huge(filler: u64, is_unsized: bool) -> Response {
    Response {
        filler,
        is_unsized,
        ..Response::ok("application/vnd.oci.image.manifest.v1+json", b"{")
    }
}

#[test]
fn pull_refuses_a_manifest_over_4_mib_while_streaming() {
    let a = Attack::new();
    // No Content-Length: the limit must hold while reading.
    a.reg
        .route("/v2/bigmanifest/manifests/latest", huge(1 << 30, true));
    a.assert_refused_early("bigmanifest", &["manifest larger than 4194304 bytes"]);
    a.assert_honest_pull_works();
}

#[test]
fn pull_refuses_a_manifest_whose_length_says_over_4_mib() {
    let a = Attack::new();
    a.reg
        .route("/v2/bigmanifest/manifests/latest", huge(1 << 30, false));
    a.assert_refused_early("bigmanifest", &["manifest larger than 4194304 bytes"]);
}

#[test]
fn pull_refuses_a_config_declared_over_8_mib() {
    let a = Attack::new();
    let tar = RawTar::default().file("f", b"f\n").finish();
    let img = Image {
        config_size: Some(9 << 20),
        ..Image::gzip(&tar)
    };
    a.reg.publish_image("bigconfig", img, Serve::Honest);
    a.assert_refused_early(
        "bigconfig",
        &["config sha256:", "declared size larger than 8388608 bytes"],
    );
}

#[test]
fn pull_refuses_a_config_longer_than_declared() {
    let a = Attack::new();
    let tar = RawTar::default().file("f", b"f\n").finish();
    let img = Image {
        config_filler: 1 << 30,
        ..Image::gzip(&tar)
    };
    a.reg.publish_image("longconfig", img, Serve::Honest);
    a.assert_refused_early(
        "longconfig",
        &["config sha256:", "body longer than the expected"],
    );
}

#[test]
fn pull_refuses_a_layer_longer_than_declared() {
    let a = Attack::new();
    let noise: Vec<u8> = (0..32 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tar = RawTar::default().file("noise", &noise).finish();
    let mut img = Image::gzip(&tar);
    img.layer_size -= 100;
    let s = a.reg.publish_image("longlayer", img, Serve::Honest);
    a.assert_refused_with("longlayer", &s, &["body longer than the expected"]);
}

#[test]
fn pull_refuses_a_layer_shorter_than_declared() {
    let a = Attack::new();
    let tar = RawTar::default().file("f", b"short\n").finish();
    let mut img = Image::gzip(&tar);
    img.layer_size += 100;
    let s = a.reg.publish_image("shortlayer", img, Serve::Honest);
    a.assert_refused_with("shortlayer", &s, &["body truncated at"]);
}

/// Makes the fake registry demand a bearer token from its `/token`, which
/// answers with `resp`.
fn demand_token(a: &Attack, resp: Response) {
    let realm = format!("http://{}/token", a.reg.addr);
    a.reg.route(
        "/v2/",
        Response {
            status: 401,
            headers: vec![(
                "WWW-Authenticate".into(),
                format!("Bearer realm=\"{realm}\",service=\"fake\""),
            )],
            ..Response::ok("application/json", b"{}")
        },
    );
    a.reg.route("/token", resp);
}

#[test]
fn pull_refuses_a_huge_token_response_while_streaming() {
    let a = Attack::new();
    let tar = RawTar::default().file("f", b"f\n").finish();
    a.reg.publish("tokenbomb", &tar, Serve::Honest);
    demand_token(
        &a,
        Response {
            filler: 1 << 30,
            is_unsized: true,
            ..Response::ok("application/json", br#"{"token":"t""#)
        },
    );
    a.assert_refused_early("tokenbomb", &["token response larger than 65536 bytes"]);
}

#[test]
fn pull_refuses_a_token_response_whose_length_is_huge() {
    let a = Attack::new();
    let tar = RawTar::default().file("f", b"f\n").finish();
    a.reg.publish("tokenbomb", &tar, Serve::Honest);
    demand_token(
        &a,
        Response {
            filler: 1 << 30,
            ..Response::ok("application/json", br#"{"token":"t""#)
        },
    );
    a.assert_refused_early("tokenbomb", &["token response larger than 65536 bytes"]);
}

#[test]
fn a_huge_error_body_is_read_only_in_part() {
    let a = Attack::new();
    a.reg.route(
        "/v2/errbomb/manifests/latest",
        Response {
            status: 404,
            filler: 1 << 30,
            is_unsized: true,
            ..Response::ok(
                "application/json",
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            )
        },
    );
    a.assert_refused_early("errbomb", &[]);
}

#[test]
fn a_gzip_layer_of_honest_noise_is_not_a_bomb() {
    // Control for the threshold: incompressible data over the small
    // threshold has a ratio near 1:1 and must pass.
    let mut a = Attack::new();
    a.env.set_env("HUTCH_LAYER_MAX_EXPANSION", "65536");
    let noise: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tar = RawTar::default().file("noise", &noise).finish();
    assert!(
        gzip(&tar).len() * 100 > tar.len(),
        "the noise compresses too well"
    );
    a.reg.publish("noise", &tar, Serve::Honest);
    let img = format!("{}/noise", a.reg.addr);
    a.env.hutch(&["pull", "--tls-verify=false", &img]).success();
}
