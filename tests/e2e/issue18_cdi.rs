//! Issue #18 (GPUs through CDI): Container Device Interface specs, JSON
//! and YAML, applied by `--device vendor.com/class=NAME` and `--gpus`, and
//! `cdi generate` over a driver root of stand-in files. CI has no GPU, so
//! the "GPUs" are /dev/null, /dev/zero and /dev/full, which the
//! unprivileged user can open.

use std::path::{Path, PathBuf};

use crate::common::{image, set_mode, Env};

const YAML: &str = "\
cdiVersion: 0.5.0
kind: vendor.com/class
containerEdits:
  env:
  - VENDOR_COMMON=common
  mounts:
  - hostPath: HOSTFILE
    containerPath: /opt/vendor/lib.txt
    options: [ro, nosuid, nodev, bind]
devices:
- name: dev0
  containerEdits:
    env: [WHICH=dev0]
    deviceNodes:
    - path: /dev/gpu0
      hostPath: /dev/null
      type: c
- name: dev1
  containerEdits:
    env: [WHICH=dev1]
    deviceNodes:
    - path: /dev/gpu1
      hostPath: /dev/zero
";

/// A spec of kind vendor.com/class with device `dev0` setting WHICH=`which`.
fn json_spec(which: &str) -> String {
    format!(
        r#"{{"cdiVersion": "0.6.0", "kind": "vendor.com/class",
  "devices": [{{"name": "dev0", "containerEdits": {{"env": ["WHICH={which}"],
    "deviceNodes": [{{"path": "/dev/gpu0", "hostPath": "/dev/full", "permissions": "rw"}}]}}}}]}}"#
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `env` with the YAML spec in its `~/.config/cdi` and the file it mounts.
fn env_with_yaml() -> Env {
    let env = Env::new();
    let host_file = env.dir.join("vendor-lib.txt");
    write(&host_file, "vendor library\n");
    let spec = YAML.replace("HOSTFILE", &host_file.display().to_string());
    write(&env.config_home.join("cdi/vendor.yaml"), &spec);
    env
}

#[test]
fn issue18_cdi_device_binds_nodes_and_sets_env_and_mounts() {
    // issue #18 (GPUs through CDI): a qualified --device used to be taken
    // for a host path and refused; now the spec's node, env and mount
    // are applied, and the other device's node is not.
    let env = env_with_yaml();
    let script = "ls -l /dev/gpu0; echo \"$VENDOR_COMMON $WHICH\"; cat /opt/vendor/lib.txt; \
                  test -e /dev/gpu1 || echo no-gpu1; echo x > /opt/vendor/lib.txt 2>/dev/null || echo ro";
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--device",
            "vendor.com/class=dev0",
            &image("busybox"),
            "sh",
            "-c",
            script,
        ])
        .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    let ls = lines.first().copied().unwrap_or_default();
    if !(ls.starts_with('c') && ls.contains("1,") && ls.ends_with("/dev/gpu0")) {
        r.fail("expected /dev/gpu0 as the character device 1,3 (/dev/null)");
    }
    if lines[1..] != ["common dev0", "vendor library", "no-gpu1", "ro"] {
        r.fail("expected the spec's env, its read-only mount and no /dev/gpu1");
    }
}

#[test]
fn issue18_cdi_all_and_create_take_every_device() {
    // issue #18: `=all` names every device of the kind (the spec has no
    // device called all); create records it for start.
    let env = env_with_yaml();
    let img = image("busybox");
    let script = "test -c /dev/gpu0 && test -c /dev/gpu1 && head -c 3 /dev/gpu1 | od -An -tx1";
    env.hutch(&[
        "create",
        "--name",
        "c",
        "--device",
        "vendor.com/class=all",
        &img,
        "sh",
        "-c",
        script,
    ])
    .success();
    env.hutch(&["start", "-a", "c"])
        .success()
        .stdout_is(" 00 00 00");
}

#[test]
fn issue18_cdi_unknown_device_names_kind_and_dirs() {
    // issue #18: an unknown CDI device is one clear error, exit 125,
    // naming the device, its kind and every directory searched.
    let env = env_with_yaml();
    let user_dir = env.config_home.join("cdi").display().to_string();
    env.hutch(&[
        "run",
        "--rm",
        "--device",
        "vendor.com/class=dev7",
        &image("busybox"),
        "true",
    ])
    .tool_error(&[
        "vendor.com/class=dev7",
        "/etc/cdi",
        "/var/run/cdi",
        &user_dir,
    ]);
    env.hutch(&["run", "--rm", "--gpus", "all", &image("busybox"), "true"])
        .tool_error(&["nvidia.com/gpu=all", "nvidia.com/gpu", &user_dir])
        .stderr_has("hutch cdi generate");
    env.hutch(&["run", "--rm", "--gpus", "some", &image("busybox"), "true"])
        .tool_error(&["--gpus", "some"]);
}

#[test]
fn issue18_cdi_later_dirs_win_and_json_specs_work() {
    // issue #18: JSON specs, and for one device the later directory of the
    // list wins (HUTCH_CDI_SPEC_DIRS replaces the default list).
    let mut env = Env::new();
    let (a, b) = (env.dir.join("cdi-a"), env.dir.join("cdi-b"));
    write(&a.join("v.json"), &json_spec("a"));
    write(&b.join("v.json"), &json_spec("b"));
    let img = image("busybox");
    let args = [
        "run",
        "--rm",
        "--device",
        "vendor.com/class=dev0",
        &img,
        "sh",
        "-c",
        "test -c /dev/gpu0 && echo $WHICH",
    ];
    env.set_env(
        "HUTCH_CDI_SPEC_DIRS",
        &format!("{}:{}", a.display(), b.display()),
    );
    env.hutch(&args).success().stdout_is("b");
    let mut env2 = Env::new();
    env2.set_env(
        "HUTCH_CDI_SPEC_DIRS",
        &format!("{}:{}", b.display(), a.display()),
    );
    env2.hutch(&args).success().stdout_is("a");
}

#[test]
fn issue18_cdi_hooks_are_refused_by_name() {
    // issue #18: hutch runs no OCI hooks; a device asking for one is
    // refused with the hook's name and path, not run without it.
    let env = Env::new();
    let spec = json_spec("x").replace(
        r#""env": ["WHICH=x"]"#,
        r#""env": ["WHICH=x"], "hooks": [{"hookName": "createContainer", "path": "/usr/bin/nvidia-cdi-hook", "args": ["nvidia-cdi-hook", "update-ldcache"]}]"#,
    );
    write(&env.config_home.join("cdi/v.json"), &spec);
    env.hutch(&[
        "run",
        "--rm",
        "--device",
        "vendor.com/class=dev0",
        &image("busybox"),
        "true",
    ])
    .tool_error(&["createContainer hook /usr/bin/nvidia-cdi-hook"]);
}

/// A driver root of stand-ins: nodes as links to /dev/null, /dev/zero
/// and /dev/full, a library, an `nvidia-smi` script that knows one GPU.
fn fake_driver(dir: &Path) -> PathBuf {
    let root = dir.join("driver");
    let dev = root.join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    for (name, target) in [
        ("nvidia0", "/dev/null"),
        ("nvidiactl", "/dev/zero"),
        ("nvidia-uvm", "/dev/full"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(name)).unwrap();
    }
    write(
        &root.join("usr/local/nvidia/lib64/libcuda.so.1"),
        "stand-in cuda\n",
    );
    write(
        &root.join("usr/local/nvidia/lib64/libnvidia-ml.so.1"),
        "stand-in nvml\n",
    );
    let smi = root.join("usr/bin/nvidia-smi");
    write(
        &smi,
        "#!/bin/sh\ncase \"$1\" in\n-L) echo 'GPU 0: Stand-in (UUID: GPU-0000-standin)' ;;\n*) echo '0, GPU-0000-standin' ;;\nesac\n",
    );
    set_mode(&smi, 0o755);
    root
}

#[test]
fn issue18_cdi_generate_then_run_with_the_gpus() {
    // issue #18: `cdi generate` over a driver root finds the nodes, the
    // libraries, nvidia-smi and the GPU's UUID, writes a spec in
    // ~/.config/cdi, and --device nvidia.com/gpu=all, --gpus all and
    // --gpus device=UUID then apply it.
    let env = Env::new();
    let root = fake_driver(&env.dir);
    let root_s = root.display().to_string();
    let out = env.config_home.join("cdi/nvidia.yaml");
    let out_s = out.display().to_string();
    env.hutch(&[
        "cdi",
        "generate",
        "--driver-root",
        &root_s,
        "--output",
        &out_s,
    ])
    .success()
    .stderr_empty();
    let text = std::fs::read_to_string(&out).unwrap();
    for want in [
        "kind: nvidia.com/gpu",
        "name: GPU-0000-standin",
        "name: all",
        "/dev/nvidiactl",
    ] {
        assert!(text.contains(want), "the spec lacks {want:?}:\n{text}");
    }
    let json = env
        .hutch(&[
            "cdi",
            "generate",
            "--driver-root",
            &root_s,
            "--format",
            "json",
        ])
        .success();
    assert_eq!(json.json()["kind"], "nvidia.com/gpu");
    let lib = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    let script = format!(
        "test -c /dev/nvidia0 && test -c /dev/nvidiactl && test -c /dev/nvidia-uvm && cat {lib}/libcuda.so.1 && nvidia-smi -L"
    );
    let want = "stand-in cuda\nGPU 0: Stand-in (UUID: GPU-0000-standin)";
    let img = image("busybox");
    for gpu in [
        vec!["--device", "nvidia.com/gpu=all"],
        vec!["--gpus", "all"],
        vec!["--gpus", "device=GPU-0000-standin"],
        vec!["--device", "nvidia.com/gpu=0"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(gpu);
        args.extend([img.as_str(), "sh", "-c", &script]);
        env.hutch(&args).success().stdout_is(want);
    }
}

#[test]
fn issue18_cdi_generate_without_gpus_fails_clearly() {
    // issue #18: no /dev/nvidiaN below the driver root is one error
    // naming where it looked.
    let env = Env::new();
    let root = env.dir.join("empty");
    std::fs::create_dir_all(root.join("dev")).unwrap();
    env.hutch(&[
        "cdi",
        "generate",
        "--driver-root",
        &root.display().to_string(),
    ])
    .tool_error(&[
        "no NVIDIA GPU device node",
        &root.join("dev").display().to_string(),
    ]);
}
