//! `cdi generate`: a CDI spec for the host's NVIDIA driver, found without
//! root and without nvidia-ctk: the device nodes the user can open, the
//! driver's libraries (from `ldconfig -p` and the usual directories,
//! `/usr/local/nvidia/lib64` included), its utilities and firmware.
//!
//! Everything is looked up below a driver root (`/` by default), as
//! nvidia-ctk's `--driver-root` does, for drivers unpacked under a prefix
//! and for tests with stand-in files. Libraries are bound into the
//! multiarch directory (`/usr/lib/ARCH-linux-gnu`), which the dynamic
//! linker of Debian- and Ubuntu-based images searches even when its
//! cache does not name them, so no ldconfig hook is needed.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::spec::{Device, DeviceNode, Edits, Mount, Spec};

/// The kind of the generated spec.
pub const NVIDIA_KIND: &str = "nvidia.com/gpu";

/// The CDI version written.
const CDI_VERSION: &str = "0.5.0";

/// Control nodes every GPU needs, below `dev/`.
const CONTROL_NODES: [&str; 4] = [
    "nvidiactl",
    "nvidia-uvm",
    "nvidia-uvm-tools",
    "nvidia-modeset",
];

/// Library name prefixes of the driver's user-space part.
const LIB_PREFIXES: [&str; 6] = [
    "libcuda.so",
    "libcudadebugger.so",
    "libnvidia-",
    "libnvcuvid.so",
    "libnvoptix.so",
    "libnvidia.so",
];

/// Directories searched for libraries, below the driver root.
const LIB_DIRS: [&str; 7] = [
    "usr/local/nvidia/lib64",
    "usr/local/nvidia/lib",
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "lib/x86_64-linux-gnu",
    "usr/lib",
];

/// The driver's utilities.
const UTILITIES: [&str; 5] = [
    "nvidia-smi",
    "nvidia-debugdump",
    "nvidia-persistenced",
    "nvidia-cuda-mps-control",
    "nvidia-cuda-mps-server",
];

/// Directories searched for utilities, below the driver root.
const BIN_DIRS: [&str; 4] = ["usr/local/nvidia/bin", "usr/bin", "usr/local/bin", "bin"];

/// Why no spec could be generated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `/dev/nvidiaN` the user can open.
    #[error("no NVIDIA GPU device node under {dir} that this user can open")]
    NoGpus { dir: PathBuf },
    /// Serializing the spec.
    #[error("writing the spec as YAML")]
    Yaml(#[source] serde_norway::Error),
    /// Serializing the spec.
    #[error("writing the spec as JSON")]
    Json(#[source] serde_json::Error),
    /// Writing the output file.
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A generated spec and what was left out of it.
#[derive(Debug)]
pub struct Generated {
    /// The spec.
    pub spec: Spec,
    /// Nodes found but not openable by the user, left out.
    pub skipped: Vec<PathBuf>,
}

/// Discovers the driver below `root` and builds the spec.
pub fn generate(root: &Path) -> Result<Generated, Error> {
    let dev = root.join("dev");
    let mut skipped = Vec::new();
    let mut gpus: Vec<(u32, PathBuf)> = read_names(&dev)
        .into_iter()
        .filter_map(|n| Some((n.strip_prefix("nvidia")?.parse().ok()?, dev.join(&n))))
        .collect();
    gpus.sort();
    gpus.retain(|(_, p)| keep_node(p, &mut skipped));
    if gpus.is_empty() {
        return Err(Error::NoGpus { dir: dev });
    }
    let mut control: Vec<PathBuf> = CONTROL_NODES.iter().map(|n| dev.join(n)).collect();
    let caps = dev.join("nvidia-caps");
    control.extend(read_names(&caps).into_iter().map(|n| caps.join(n)));
    control.retain(|p| p.exists() && keep_node(p, &mut skipped));
    let mut common = Edits {
        device_nodes: control.iter().map(|p| node(root, p)).collect(),
        ..Edits::default()
    };
    let lib_dir = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    for (name, host) in find_libraries(root) {
        common
            .mounts
            .push(bind(&host, &format!("{lib_dir}/{name}")));
    }
    let mut smi = None;
    for (name, host) in find_in(root, &BIN_DIRS, |n| UTILITIES.contains(&n)) {
        if name == "nvidia-smi" {
            smi = Some(host.clone());
        }
        common.mounts.push(bind(&host, &format!("/usr/bin/{name}")));
    }
    let firmware = root.join("lib/firmware/nvidia");
    if firmware.is_dir() {
        common.mounts.push(bind(&firmware, "/lib/firmware/nvidia"));
    }
    let uuids = smi.as_deref().map(gpu_uuids).unwrap_or_default();
    let mut devices = Vec::new();
    for (index, path) in &gpus {
        let edits = Edits {
            device_nodes: vec![node(root, path)],
            ..Edits::default()
        };
        devices.push(named(&index.to_string(), &edits));
        if let Some(uuid) = uuids.get(index) {
            devices.push(named(uuid, &edits));
        }
    }
    let all = Edits {
        device_nodes: gpus.iter().map(|(_, p)| node(root, p)).collect(),
        ..Edits::default()
    };
    devices.push(named("all", &all));
    Ok(Generated {
        spec: Spec {
            cdi_version: CDI_VERSION.into(),
            kind: NVIDIA_KIND.into(),
            annotations: BTreeMap::new(),
            devices,
            container_edits: common,
        },
        skipped,
    })
}

/// The spec as text: `yaml` or `json`.
pub fn render(spec: &Spec, is_json: bool) -> Result<String, Error> {
    if is_json {
        serde_json::to_string_pretty(spec)
            .map(|s| s + "\n")
            .map_err(Error::Json)
    } else {
        serde_norway::to_string(spec).map_err(Error::Yaml)
    }
}

/// Writes `text` to `path`, making its directory (the user's
/// `~/.config/cdi` is often missing).
pub fn write(path: &Path, text: &str) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

/// A named device.
fn named(name: &str, edits: &Edits) -> Device {
    Device {
        name: name.to_string(),
        annotations: BTreeMap::new(),
        container_edits: edits.clone(),
    }
}

/// The names in `dir`, sorted; none when it cannot be read.
fn read_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether `path` is a character device (a link to one counts) the user
/// can open; otherwise it is noted in `skipped`.
fn keep_node(path: &Path, skipped: &mut Vec<PathBuf>) -> bool {
    let is_char = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device());
    let opens = is_char
        && std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .is_ok();
    if !opens {
        skipped.push(path.to_path_buf());
    }
    opens
}

/// The spec's node for host `path`: at the same place below `/`.
fn node(root: &Path, path: &Path) -> DeviceNode {
    let inside = Path::new("/").join(path.strip_prefix(root).unwrap_or(path));
    DeviceNode {
        path: inside.display().to_string(),
        host_path: (inside != path).then(|| path.display().to_string()),
        ..DeviceNode::default()
    }
}

/// A read-only bind mount.
fn bind(host: &Path, inside: &str) -> Mount {
    Mount {
        host_path: host.display().to_string(),
        container_path: inside.to_string(),
        options: vec!["ro".into(), "nosuid".into(), "nodev".into(), "bind".into()],
        kind: None,
    }
}

/// The driver's libraries by file name: `ldconfig -p` first (for the
/// host's root only), then the directories in order.
fn find_libraries(root: &Path) -> BTreeMap<String, PathBuf> {
    let is_lib = |n: &str| LIB_PREFIXES.iter().any(|p| n.starts_with(p)) && n.contains(".so");
    let mut out = BTreeMap::new();
    if root == Path::new("/") {
        if let Ok(o) = std::process::Command::new("ldconfig").arg("-p").output() {
            for (name, path) in parse_ldconfig(&String::from_utf8_lossy(&o.stdout)) {
                if is_lib(&name) && path.exists() {
                    out.entry(name).or_insert(path);
                }
            }
        }
    }
    for (name, path) in find_in(root, &LIB_DIRS, is_lib) {
        out.entry(name).or_insert(path);
    }
    out
}

/// The files of `dirs` (below `root`) whose names pass `wanted`, the
/// first directory winning.
fn find_in(root: &Path, dirs: &[&str], wanted: impl Fn(&str) -> bool) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        let dir = root.join(dir);
        for name in read_names(&dir) {
            let path = dir.join(&name);
            if wanted(&name) && path.is_file() {
                out.entry(name).or_insert(path);
            }
        }
    }
    out
}

/// `(name, path)` pairs of `ldconfig -p` output for this architecture.
fn parse_ldconfig(text: &str) -> Vec<(String, PathBuf)> {
    let bits = if cfg!(target_pointer_width = "64") {
        "64"
    } else {
        ""
    };
    text.lines()
        .filter_map(|l| {
            let (left, path) = l.trim().split_once(" => ")?;
            let (name, tags) = left.split_once(' ')?;
            let is_ours = bits.is_empty() || tags.contains(bits);
            is_ours.then(|| (name.to_string(), PathBuf::from(path.trim())))
        })
        .collect()
}

/// GPU UUIDs by index, as `nvidia-smi` (at `smi`) reports them.
fn gpu_uuids(smi: &Path) -> BTreeMap<u32, String> {
    let Ok(out) = std::process::Command::new(smi)
        .args(["--query-gpu=index,uuid", "--format=csv,noheader"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return BTreeMap::new();
    };
    if !out.status.success() {
        return BTreeMap::new();
    }
    parse_uuids(&String::from_utf8_lossy(&out.stdout))
}

/// `index, uuid` lines.
fn parse_uuids(text: &str) -> BTreeMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let (i, u) = l.split_once(',')?;
            let u = u.trim();
            let ok = !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            Some((i.trim().parse().ok()?, u.to_string())).filter(|_| ok)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldconfig_and_uuids() {
        let text = "1 libs found in cache `/etc/ld.so.cache'\n\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1\n\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1\n";
        let got = parse_ldconfig(text);
        assert_eq!(
            got,
            vec![(
                "libcuda.so.1".to_string(),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/libcuda.so.1")
            )]
        );
        let u = parse_uuids("0, GPU-1234-abcd\n1, GPU-99\nbad\n2, has space x\n");
        assert_eq!(u.len(), 2);
        assert_eq!(u[&1], "GPU-99");
    }

    #[test]
    fn generates_from_a_stand_in_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::os::unix::fs::symlink("/dev/null", root.join("dev/nvidia0")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("dev/nvidiactl")).unwrap();
        std::fs::write(root.join("dev/nvidia1"), "").unwrap();
        let lib = root.join("usr/local/nvidia/lib64");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("libcuda.so.1"), "x").unwrap();
        std::fs::write(lib.join("libc.so.6"), "x").unwrap();
        let g = generate(root).unwrap();
        assert_eq!(g.skipped, vec![root.join("dev/nvidia1")]);
        let names: Vec<&str> = g.spec.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["0", "all"]);
        let edits = &g.spec.container_edits;
        assert_eq!(edits.device_nodes[0].path, "/dev/nvidiactl");
        assert_eq!(edits.mounts.len(), 1);
        assert!(edits.mounts[0]
            .container_path
            .ends_with("-linux-gnu/libcuda.so.1"));
        let back: Spec = serde_norway::from_str(&render(&g.spec, false).unwrap()).unwrap();
        assert_eq!(back, g.spec);
    }
}
