//! The keys Podman 4.4–5.x documents for each Quadlet section
//! (podman-systemd.unit(5)), each handled or refused with its reason.
//! docs/compat.md lists the `[Container]` table; a unit test holds the two
//! together.

/// Why the `containers.conf` module keys are refused.
const MODULE: &str = "hutch reads no containers.conf modules (it has no --module)";
/// Why the SELinux label keys are refused.
const LABEL: &str =
    "hutch does not label containers for SELinux (--security-opt label=… is refused)";
/// Why the Podman 5 health-check log keys are refused.
const HEALTH_LOG: &str = "hutch keeps a health check's log in the container's record, without Podman 5.3's destination or size limits";
/// Why the startup health-check keys are refused.
const HEALTH_STARTUP: &str = "hutch has no startup health checks (--health-startup-*)";
/// Why `Retry` is refused outside `.image`.
const RETRY: &str =
    "hutch run and pull have no --retry (Podman 5's); pull the image first or use a .image unit";

/// A key and, when refused, why: `None` means handled.
pub type Key = (&'static str, Option<&'static str>);

/// `[Container]` of `.container` files.
pub const CONTAINER: &[Key] = &[
    ("AddCapability", None),
    ("AddDevice", None),
    ("AddHost", None),
    ("Annotation", None),
    ("AutoUpdate", None),
    ("CgroupsMode", None),
    ("ContainerName", None),
    ("ContainersConfModule", Some(MODULE)),
    ("DNS", None),
    ("DNSOption", None),
    ("DNSSearch", None),
    ("DropCapability", None),
    ("Entrypoint", None),
    ("Environment", None),
    ("EnvironmentFile", None),
    ("EnvironmentHost", None),
    ("Exec", None),
    ("ExposeHostPort", None),
    ("GIDMap", None),
    ("GlobalArgs", None),
    ("Group", None),
    ("GroupAdd", None),
    ("HealthCmd", None),
    ("HealthInterval", None),
    ("HealthLogDestination", Some(HEALTH_LOG)),
    ("HealthMaxLogCount", Some(HEALTH_LOG)),
    ("HealthMaxLogSize", Some(HEALTH_LOG)),
    ("HealthOnFailure", None),
    ("HealthRetries", None),
    ("HealthStartPeriod", None),
    ("HealthStartupCmd", Some(HEALTH_STARTUP)),
    ("HealthStartupInterval", Some(HEALTH_STARTUP)),
    ("HealthStartupRetries", Some(HEALTH_STARTUP)),
    ("HealthStartupSuccess", Some(HEALTH_STARTUP)),
    ("HealthStartupTimeout", Some(HEALTH_STARTUP)),
    ("HealthTimeout", None),
    ("HostName", None),
    ("IP", None),
    ("IP6", None),
    ("Image", None),
    ("Label", None),
    ("LogDriver", None),
    ("LogOpt", None),
    ("Mask", None),
    ("Memory", None),
    ("Mount", None),
    ("Network", None),
    ("NetworkAlias", None),
    ("NoNewPrivileges", None),
    ("Notify", None),
    ("PidsLimit", None),
    ("Pod", None),
    ("PodmanArgs", None),
    ("PublishPort", None),
    ("Pull", None),
    ("ReadOnly", None),
    ("ReadOnlyTmpfs", None),
    ("ReloadCmd", None),
    ("ReloadSignal", None),
    ("RemapGid", None),
    ("RemapUid", None),
    ("RemapUidSize", None),
    ("RemapUsers", None),
    ("Retry", Some(RETRY)),
    ("RetryDelay", Some(RETRY)),
    (
        "Rootfs",
        Some("hutch run has no --rootfs yet: use an image (Image=)"),
    ),
    ("RunInit", None),
    ("SeccompProfile", None),
    ("Secret", None),
    ("SecurityLabelDisable", Some(LABEL)),
    ("SecurityLabelFileType", Some(LABEL)),
    ("SecurityLabelLevel", Some(LABEL)),
    ("SecurityLabelNested", Some(LABEL)),
    ("SecurityLabelType", Some(LABEL)),
    ("ServiceName", None),
    ("ShmSize", None),
    ("StartWithPod", None),
    ("StopSignal", None),
    ("StopTimeout", None),
    ("SubGIDMap", None),
    ("SubUIDMap", None),
    ("Sysctl", None),
    ("Timezone", None),
    ("Tmpfs", None),
    ("UIDMap", None),
    ("Ulimit", None),
    ("Unmask", None),
    ("User", None),
    ("UserNS", None),
    ("VolatileTmp", None),
    ("Volume", None),
    ("WorkingDir", None),
];

/// `[Volume]` of `.volume` files.
pub const VOLUME: &[Key] = &[
    ("ContainersConfModule", Some(MODULE)),
    ("Copy", None),
    ("Device", None),
    ("Driver", None),
    ("GlobalArgs", None),
    ("Group", None),
    ("Image", None),
    ("Label", None),
    ("Options", None),
    ("PodmanArgs", None),
    ("ServiceName", None),
    ("Type", None),
    ("User", None),
    ("VolumeName", None),
];

/// `[Network]` of `.network` files.
pub const NETWORK: &[Key] = &[
    ("ContainersConfModule", Some(MODULE)),
    (
        "DNS",
        Some("hutch network create has no --dns: containers use the network's aardvark-dns"),
    ),
    ("DisableDNS", None),
    ("Driver", None),
    ("Gateway", None),
    ("GlobalArgs", None),
    ("IPAMDriver", None),
    ("IPRange", None),
    ("IPv6", None),
    ("InterfaceName", None),
    ("Internal", None),
    ("Label", None),
    ("NetworkDeleteOnStop", None),
    ("NetworkName", None),
    ("Options", None),
    ("PodmanArgs", None),
    ("ServiceName", None),
    ("Subnet", None),
];

/// `[Pod]` of `.pod` files.
pub const POD: &[Key] = &[
    ("AddHost", None),
    ("ContainersConfModule", Some(MODULE)),
    ("DNS", None),
    ("DNSOption", None),
    ("DNSSearch", None),
    ("ExitPolicy", None),
    ("GIDMap", None),
    ("GlobalArgs", None),
    ("HostName", None),
    ("IP", None),
    ("IP6", None),
    ("Label", None),
    ("Network", None),
    ("NetworkAlias", None),
    ("PodName", None),
    ("PodmanArgs", None),
    ("PublishPort", None),
    ("RemapGid", None),
    ("RemapUid", None),
    ("RemapUidSize", None),
    ("RemapUsers", None),
    ("ServiceName", None),
    ("ShmSize", None),
    ("SubGIDMap", None),
    ("SubUIDMap", None),
    ("UIDMap", None),
    ("UserNS", None),
    ("Volume", None),
];

/// `[Kube]` of `.kube` files.
pub const KUBE: &[Key] = &[
    ("AutoUpdate", None),
    ("ConfigMap", None),
    ("ContainersConfModule", Some(MODULE)),
    ("ExitCodePropagation", None),
    ("GlobalArgs", None),
    ("KubeDownForce", None),
    ("LogDriver", None),
    ("LogOpt", None),
    ("Network", None),
    ("PodmanArgs", None),
    ("PublishPort", None),
    ("RemapGid", None),
    ("RemapUid", None),
    ("RemapUidSize", None),
    ("RemapUsers", None),
    ("ServiceName", None),
    ("SetWorkingDirectory", None),
    ("UserNS", None),
    ("Yaml", None),
];

/// `[Image]` of `.image` files.
pub const IMAGE: &[Key] = &[
    ("AllTags", None),
    ("Arch", None),
    ("AuthFile", None),
    ("CertDir", None),
    ("ContainersConfModule", Some(MODULE)),
    ("Creds", None),
    (
        "DecryptionKey",
        Some("hutch pulls no encrypted images (it has no --decryption-key)"),
    ),
    ("GlobalArgs", None),
    ("Image", None),
    ("ImageTag", None),
    ("OS", None),
    ("PodmanArgs", None),
    ("Retry", Some(RETRY)),
    ("RetryDelay", Some(RETRY)),
    ("ServiceName", None),
    ("TLSVerify", None),
    ("Variant", None),
];

/// `[Quadlet]`, the section every kind may have (Podman 5).
pub const QUADLET: &[Key] = &[("DefaultDependencies", None)];

/// What `key` is in `table`: `None` when unknown, else its entry.
pub fn lookup(table: &[Key], key: &str) -> Option<Option<&'static str>> {
    table.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_duplicates() {
        for table in [CONTAINER, VOLUME, NETWORK, POD, KUBE, IMAGE] {
            let mut names: Vec<&str> = table.iter().map(|k| k.0).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count);
        }
    }

    #[test]
    fn compat_md_lists_every_container_key_with_its_handling() {
        let doc = include_str!("../../docs/compat.md");
        for (key, reason) in CONTAINER {
            let row = match reason {
                None => format!("| `{key}` | handled |"),
                Some(r) => format!("| `{key}` | rejected: {r} |"),
            };
            assert!(doc.contains(&row), "docs/compat.md lacks the row {row}");
        }
    }
}
