use super::*;

const JSON: &str = r#"{
  "cdiVersion": "0.6.0",
  "kind": "vendor.com/class",
  "containerEdits": {"env": ["COMMON=1"], "mounts": [{"hostPath": "/etc/hostname", "containerPath": "/etc/host-name", "options": ["ro", "bind"]}]},
  "devices": [
    {"name": "dev0", "containerEdits": {"env": ["WHICH=0"], "deviceNodes": [{"path": "/dev/gpu0", "hostPath": "/dev/null", "type": "c"}]}},
    {"name": "dev1", "containerEdits": {"env": ["WHICH=1"], "deviceNodes": [{"path": "/dev/gpu1", "hostPath": "/dev/zero"}]}}
  ]
}"#;

const YAML: &str = "cdiVersion: 0.5.0\nkind: vendor.com/class\ndevices:\n- name: dev1\n  containerEdits:\n    env: [WHICH=yaml]\n    deviceNodes:\n    - path: /dev/gpu1\n      hostPath: /dev/full\n";

fn specs(files: &[(&str, &str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for (dir, name, text) in files {
        let d = tmp.path().join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), text).unwrap();
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    (tmp, dirs)
}

#[test]
fn names_are_qualified() {
    assert_eq!(
        parse_name("nvidia.com/gpu=all"),
        Some(("nvidia.com/gpu", "all"))
    );
    assert_eq!(
        parse_name("nvidia.com/gpu=GPU-1a2b"),
        Some(("nvidia.com/gpu", "GPU-1a2b"))
    );
    for host in [
        "/dev/null",
        "/dev/null:/dev/x:rw",
        "gpu=0",
        "a/b=",
        "/a/b=c",
    ] {
        assert!(!is_cdi_name(host), "{host}");
    }
}

#[test]
fn resolves_a_device_with_the_specs_common_edits() {
    let (_tmp, dirs) = specs(&[("a", "v.json", JSON)]);
    let loaded = load(&dirs).unwrap();
    let got = resolve(
        &loaded,
        &["vendor.com/class=dev0".into(), "/dev/null".into()],
        &dirs,
    )
    .unwrap();
    assert_eq!(got.env, ["COMMON=1", "WHICH=0"]);
    assert_eq!(got.devices.len(), 1);
    assert_eq!(got.devices[0].host, PathBuf::from("/dev/null"));
    assert_eq!(got.devices[0].container, "/dev/gpu0");
    assert_eq!(got.mounts.len(), 1);
    assert!(got.mounts[0].read_only);
}

#[test]
fn all_takes_every_device_and_later_dirs_win() {
    let (_tmp, dirs) = specs(&[("a", "v.json", JSON), ("b", "v.yaml", YAML)]);
    let loaded = load(&dirs).unwrap();
    let got = resolve(&loaded, &["vendor.com/class=all".into()], &dirs).unwrap();
    let hosts: Vec<_> = got.devices.iter().map(|d| d.host.clone()).collect();
    assert_eq!(
        hosts,
        [PathBuf::from("/dev/null"), PathBuf::from("/dev/full")]
    );
    assert!(got.env.contains(&"WHICH=yaml".to_string()));
}

#[test]
fn unknown_devices_and_hooks_are_refused() {
    let (_tmp, dirs) = specs(&[("a", "v.json", JSON)]);
    let loaded = load(&dirs).unwrap();
    let err = resolve(&loaded, &["vendor.com/class=dev9".into()], &dirs).unwrap_err();
    assert!(err.to_string().contains("dev9"), "{err}");
    assert!(
        err.to_string().contains(&dirs[0].display().to_string()),
        "{err}"
    );
    let hooked = JSON.replace(
        r#""env": ["WHICH=0"]"#,
        r#""env": ["WHICH=0"], "hooks": [{"hookName": "createContainer", "path": "/usr/bin/nvidia-cdi-hook"}]"#,
    );
    let (_tmp2, dirs2) = specs(&[("a", "v.json", &hooked)]);
    let loaded = load(&dirs2).unwrap();
    let err = resolve(&loaded, &["vendor.com/class=dev0".into()], &dirs2).unwrap_err();
    assert!(
        err.to_string()
            .contains("createContainer hook /usr/bin/nvidia-cdi-hook"),
        "{err}"
    );
}

#[test]
fn bad_specs_name_their_file() {
    let (_tmp, dirs) = specs(&[("a", "v.yaml", "cdiVersion: 0.5.0\nkind: nokind\n")]);
    let err = load(&dirs).unwrap_err();
    assert!(matches!(err, Error::InvalidSpec { .. }), "{err}");
    let (_tmp, dirs) = specs(&[("a", "v.json", "{")]);
    assert!(matches!(load(&dirs).unwrap_err(), Error::ParseJson { .. }));
}

#[test]
fn env_merge_replaces_by_name() {
    let mut env = vec!["PATH=/bin".to_string(), "A=1".to_string()];
    merge_env(&mut env, &["A=2".to_string()]);
    assert_eq!(env, ["PATH=/bin", "A=2"]);
}

#[test]
fn gpus_reads_dockers_forms() {
    let g = |v: &str| gpu_names(v).unwrap();
    assert_eq!(g("all"), ["nvidia.com/gpu=all"]);
    assert_eq!(g("2"), ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]);
    assert_eq!(
        g("\"device=1,GPU-ab12\""),
        ["nvidia.com/gpu=1", "nvidia.com/gpu=GPU-ab12"]
    );
    for bad in ["", "some", "device=", "device=a b", "count=x"] {
        assert!(gpu_names(bad).is_err(), "{bad}");
    }
}
