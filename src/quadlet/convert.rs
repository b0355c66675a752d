//! `.container` files: `[Container]` keys turned into a `hutch run`
//! command line and the service around it, as Podman 4.4–5.x's quadlet
//! writes it (`Type=notify` with `--sdnotify=conmon`, `--cidfile`,
//! `--replace --rm`, removal on stop).

use std::collections::BTreeMap;

use super::unit::{command_line, UnitFile};
use super::{Context, Error, Info, Kind, Source};

/// The container id file, in the user manager's runtime directory.
const CIDFILE: &str = "--cidfile=%t/%N.cid";

/// The container's name: `ContainerName`, else `systemd-%N` (`%p_%i` for
/// template instances).
pub fn container_name(source: &Source) -> String {
    match source.unit.get("Container", "ContainerName") {
        Some(n) => n,
        None if source.name.contains('@') => "systemd-%p_%i".into(),
        None => "systemd-%N".into(),
    }
}

/// The `[Container]` keys that take one value, and their flags, in the
/// order they are written.
const ONE_VALUE: &[(&str, &str)] = &[
    ("Timezone", "--tz"),
    ("PidsLimit", "--pids-limit"),
    ("ShmSize", "--shm-size"),
    ("Entrypoint", "--entrypoint"),
    ("WorkingDir", "--workdir"),
    ("IP", "--ip"),
    ("IP6", "--ip6"),
    ("HostName", "--hostname"),
    ("StopSignal", "--stop-signal"),
    ("StopTimeout", "--stop-timeout"),
    ("Pull", "--pull"),
    ("Memory", "--memory"),
];

/// The keys whose every value becomes one flag.
const EVERY_VALUE: &[(&str, &str)] = &[
    ("NetworkAlias", "--network-alias"),
    ("Ulimit", "--ulimit"),
    ("DNS", "--dns"),
    ("DNSOption", "--dns-option"),
    ("DNSSearch", "--dns-search"),
    ("GroupAdd", "--group-add"),
    ("AddHost", "--add-host"),
    ("Tmpfs", "--tmpfs"),
];

/// Boolean keys written as `--flag` or `--flag=false`.
const BOOLEANS: &[(&str, &str)] = &[
    ("RunInit", "--init"),
    ("EnvironmentHost", "--env-host"),
    ("ReadOnlyTmpfs", "--read-only-tmpfs"),
];

/// The health check keys and their `--health-` flags.
const HEALTH: &[(&str, &str)] = &[
    ("HealthCmd", "--health-cmd"),
    ("HealthInterval", "--health-interval"),
    ("HealthOnFailure", "--health-on-failure"),
    ("HealthRetries", "--health-retries"),
    ("HealthStartPeriod", "--health-start-period"),
    ("HealthTimeout", "--health-timeout"),
];

/// Translates a `.container` file; a `Pod=` adds the service to the pod's
/// members in `infos`.
pub(super) fn container(
    ctx: &Context<'_>,
    infos: &mut BTreeMap<String, Info>,
) -> Result<UnitFile, Error> {
    let src = ctx.source;
    let mut service = ctx.service(infos)?;
    let image = match (ctx.get("Image"), ctx.get("Rootfs")) {
        (Some(i), None) => image_source(ctx, infos, &mut service, &i)?,
        (None, None) => return Err(src.invalid("no Image key specified")),
        (_, Some(_)) => return Err(src.invalid("Rootfs is not supported")),
    };
    let name = container_name(src);
    service.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
    match service.last("Service", "KillMode").as_deref() {
        None => service.set("Service", "KillMode", "mixed"),
        Some("mixed" | "control-group") => {}
        Some(other) => return Err(src.invalid(format!("invalid KillMode {other:?}"))),
    }
    let mut stop = ctx.base()?;
    stop.extend(["rm", "-v", "-f", "-i", CIDFILE].map(String::from));
    service.add("Service", "ExecStop", &command_line(&stop));
    // When the monitor is killed systemd skips ExecStop; this still runs.
    stop[0] = format!("-{}", stop[0]);
    service.add("Service", "ExecStopPost", &command_line(&stop));
    exec_reload(ctx, &mut service, &name)?;

    let mut run = ctx.base()?;
    run.extend(["run", "--name", &name, CIDFILE, "--replace", "--rm"].map(String::from));
    if let Some(d) = ctx.get("LogDriver") {
        run.extend(["--log-driver".into(), d]);
    }
    for o in ctx.words("LogOpt")? {
        run.extend(["--log-opt".into(), o]);
    }
    service.add("Service", "Delegate", "yes");
    match ctx.get("CgroupsMode") {
        Some(m) => run.extend(["--cgroups".into(), m]),
        None => run.push("--cgroups=split".into()),
    }
    for (key, flag) in ONE_VALUE {
        if let Some(v) = ctx.get(key) {
            run.extend([flag.to_string(), v]);
        }
    }
    for (key, flag) in EVERY_VALUE {
        for v in ctx.all(key) {
            run.extend([flag.to_string(), v]);
        }
    }
    for (key, flag) in BOOLEANS {
        if let Some(b) = ctx.boolean(key)? {
            run.push(bool_flag(flag, b));
        }
    }
    networks(ctx, infos, &mut service, &mut run)?;
    notify(ctx, &mut service, &mut run)?;
    if !src.unit.has("Service", "SyslogIdentifier") {
        service.set("Service", "SyslogIdentifier", "%N");
    }
    security(ctx, &mut run)?;
    identity(ctx, &mut run)?;
    volumes(ctx, infos, &mut service, &mut run)?;
    environment(ctx, &mut run)?;
    mounts(ctx, infos, &mut service, &mut run)?;
    for (key, flag) in HEALTH {
        if let Some(v) = ctx.get(key) {
            run.extend([flag.to_string(), v]);
        }
    }
    if let Some(pod) = ctx.get("Pod") {
        join_pod(ctx, infos, &mut service, &mut run, &pod)?;
    }
    run.extend(ctx.words("PodmanArgs")?);
    run.push(image);
    if let Some(exec) = ctx.get("Exec") {
        let words =
            super::unit::split_words(&exec).map_err(|what| src.invalid(format!("Exec: {what}")))?;
        run.extend(words);
    }
    service.add("Service", "ExecStart", &command_line(&run));
    Ok(service)
}

/// `--flag` for true, `--flag=false` for false.
fn bool_flag(flag: &str, value: bool) -> String {
    match value {
        true => flag.to_string(),
        false => format!("{flag}=false"),
    }
}

/// An `Image=`: a `.image` file's image, with the dependency on its
/// service, or the name as written.
pub(super) fn image_source(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
    service: &mut UnitFile,
    image: &str,
) -> Result<String, Error> {
    if Kind::of(image) != Some(Kind::Image) {
        return Ok(image.to_string());
    }
    let info = ctx.lookup(infos, image)?;
    service.add("Unit", "Requires", &info.service);
    service.add("Unit", "After", &info.service);
    Ok(info.resource.clone())
}

/// `ReloadCmd` (an exec) or `ReloadSignal` (a kill) as `ExecReload`.
fn exec_reload(ctx: &Context<'_>, service: &mut UnitFile, name: &str) -> Result<(), Error> {
    let cmd = ctx.get("ReloadCmd");
    let signal = ctx.get("ReloadSignal");
    let mut reload = ctx.base()?;
    match (cmd, signal) {
        (None, None) => return Ok(()),
        (Some(_), Some(_)) => {
            return Err(ctx
                .source
                .invalid("ReloadCmd and ReloadSignal are mutually exclusive but both are set"))
        }
        (Some(c), None) => {
            reload.extend(["exec".to_string(), name.to_string()]);
            reload.extend(
                super::unit::split_words(&c)
                    .map_err(|what| ctx.source.invalid(format!("ReloadCmd: {what}")))?,
            );
        }
        (None, Some(s)) => {
            reload.extend(["kill", "--signal", &s, name].map(String::from));
        }
    }
    service.add("Service", "ExecReload", &command_line(&reload));
    Ok(())
}

/// `Network=`: a `.network` file's network (or a `.container`'s
/// namespace), with the dependency on its service, or the mode as written.
pub(super) fn networks(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
    service: &mut UnitFile,
    args: &mut Vec<String>,
) -> Result<(), Error> {
    for network in ctx.all("Network") {
        let (name, options) = match network.split_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (network.as_str(), None),
        };
        let value = match Kind::of(name) {
            Some(kind @ (Kind::Network | Kind::Container)) => {
                let info = ctx.lookup(infos, name)?;
                service.add("Unit", "Requires", &info.service);
                service.add("Unit", "After", &info.service);
                match (kind, options) {
                    (Kind::Container, Some(_)) => return Err(ctx.source.invalid(
                        "extra options are not supported when joining another container's network",
                    )),
                    (Kind::Container, None) => format!("container:{}", info.resource),
                    (_, Some(o)) => format!("{}:{o}", info.resource),
                    (_, None) => info.resource.clone(),
                }
            }
            _ => network.clone(),
        };
        args.extend(["--network".into(), value]);
    }
    Ok(())
}

/// `Type=notify` with `--sdnotify=conmon` (or `container` for
/// `Notify=yes`) and `-d`, unless the service is a oneshot.
fn notify(ctx: &Context<'_>, service: &mut UnitFile, run: &mut Vec<String>) -> Result<(), Error> {
    let kind = service.last("Service", "Type");
    match kind.as_deref() {
        None | Some("notify") => {}
        Some("oneshot") => return Ok(()),
        Some(other) => {
            return Err(ctx
                .source
                .invalid(format!("invalid service Type {other:?}")))
        }
    }
    match ctx.get("Notify") {
        Some(v) if v.eq_ignore_ascii_case("healthy") => return Err(ctx.source.invalid(
            "Notify=healthy is not supported by hutch: hutch run --sdnotify has no healthy mode",
        )),
        _ => match ctx.boolean("Notify")? {
            Some(true) => run.push("--sdnotify=container".into()),
            _ => run.push("--sdnotify=conmon".into()),
        },
    }
    service.set("Service", "Type", "notify");
    service.set("Service", "NotifyAccess", "all");
    run.push("-d".into());
    Ok(())
}

/// Privileges, capabilities, devices, seccomp, sysctls, read-only roots
/// and masks.
fn security(ctx: &Context<'_>, run: &mut Vec<String>) -> Result<(), Error> {
    if ctx.boolean("NoNewPrivileges")? == Some(true) {
        run.push("--security-opt=no-new-privileges".into());
    }
    for device in ctx.words("AddDevice")? {
        match device.strip_prefix('-') {
            // A leading `-`: only when the device exists.
            Some(d) => {
                let path = d.split(':').next().unwrap_or(d);
                if std::path::Path::new(path).exists() {
                    run.extend(["--device".into(), d.to_string()]);
                }
            }
            None => run.extend(["--device".into(), device]),
        }
    }
    if let Some(p) = ctx.get("SeccompProfile") {
        run.extend(["--security-opt".into(), format!("seccomp={p}")]);
    }
    for cap in ctx.words("DropCapability")? {
        run.extend(["--cap-drop".into(), cap.to_lowercase()]);
    }
    for cap in ctx.words("AddCapability")? {
        run.extend(["--cap-add".into(), cap.to_lowercase()]);
    }
    for s in ctx.words("Sysctl")? {
        run.extend(["--sysctl".into(), s]);
    }
    let read_only = ctx.boolean("ReadOnly")?;
    if let Some(r) = read_only {
        run.push(bool_flag("--read-only", r));
    }
    if ctx.boolean("VolatileTmp")? == Some(true) && read_only != Some(true) {
        run.extend(["--tmpfs".into(), "/tmp:rw,size=512M,mode=1777".into()]);
    }
    Ok(())
}

/// `User`/`Group` and the user namespace keys.
fn identity(ctx: &Context<'_>, run: &mut Vec<String>) -> Result<(), Error> {
    match (ctx.get("User"), ctx.get("Group")) {
        (Some(u), Some(g)) => run.extend(["--user".into(), format!("{u}:{g}")]),
        (Some(u), None) => run.extend(["--user".into(), u]),
        (None, Some(_)) => return Err(ctx.source.invalid("invalid Group set without User")),
        (None, None) => {}
    }
    user_mappings(ctx, run, true)
}

/// `UserNS`, `UIDMap`, `GIDMap`, `SubUIDMap`, `SubGIDMap` and the
/// deprecated `Remap*` keys, as Podman writes them.
pub(super) fn user_mappings(
    ctx: &Context<'_>,
    args: &mut Vec<String>,
    allow_manual: bool,
) -> Result<(), Error> {
    let mut defined = false;
    if let Some(u) = ctx.get("UserNS") {
        args.extend(["--userns".into(), u]);
        defined = true;
    }
    for (key, flag) in [("UIDMap", "--uidmap"), ("GIDMap", "--gidmap")] {
        for m in ctx.words(key)? {
            args.extend([flag.into(), m]);
            defined = true;
        }
    }
    for (key, flag) in [("SubUIDMap", "--subuidname"), ("SubGIDMap", "--subgidname")] {
        if let Some(v) = ctx.get(key) {
            args.extend([flag.into(), v]);
            defined = true;
        }
    }
    let uids = ctx.words("RemapUid")?;
    let gids = ctx.words("RemapGid")?;
    let remap = ctx
        .source
        .unit
        .last(ctx.source.kind.section(), "RemapUsers");
    if defined {
        if !uids.is_empty() || !gids.is_empty() || remap.is_some() {
            return Err(ctx
                .source
                .invalid("deprecated Remap keys are set along with explicit mapping keys"));
        }
        return Ok(());
    }
    match remap.as_deref().unwrap_or("") {
        "" if !uids.is_empty() => Err(ctx.source.invalid("UidMap set without RemapUsers")),
        "" if !gids.is_empty() => Err(ctx.source.invalid("GidMap set without RemapUsers")),
        "" => Ok(()),
        "manual" if allow_manual => {
            for u in uids {
                args.extend(["--uidmap".into(), u]);
            }
            for g in gids {
                args.extend(["--gidmap".into(), g]);
            }
            Ok(())
        }
        "auto" => {
            let mut opts: Vec<String> = uids.iter().map(|u| format!("uidmapping={u}")).collect();
            opts.extend(gids.iter().map(|g| format!("gidmapping={g}")));
            if let Some(size) = ctx.get("RemapUidSize").filter(|s| s != "0") {
                opts.push(format!("size={size}"));
            }
            args.extend(["--userns".into(), userns("auto", &opts)]);
            Ok(())
        }
        "keep-id" => {
            if uids.len() > 1 || gids.len() > 1 {
                return Err(ctx.source.invalid(
                    "RemapUsers=keep-id supports only a single value for UID and GID mapping",
                ));
            }
            let mut opts: Vec<String> = uids.iter().map(|u| format!("uid={u}")).collect();
            opts.extend(gids.iter().map(|g| format!("gid={g}")));
            args.extend(["--userns".into(), userns("keep-id", &opts)]);
            Ok(())
        }
        other => Err(ctx
            .source
            .invalid(format!("unsupported RemapUsers option {other:?}"))),
    }
}

fn userns(mode: &str, opts: &[String]) -> String {
    match opts.is_empty() {
        true => mode.to_string(),
        false => format!("{mode}:{}", opts.join(",")),
    }
}

/// A volume or bind source: a `.volume` file's volume (with the
/// dependency), a path relative to the Quadlet file made absolute, an
/// absolute path (`RequiresMountsFor`), or a volume name as written.
pub(super) fn storage_source(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
    service: &mut UnitFile,
    source: &str,
    allow_image: bool,
) -> Result<String, Error> {
    let mut source = source.to_string();
    if source.starts_with('.') {
        let dir = ctx
            .source
            .path
            .parent()
            .unwrap_or(std::path::Path::new("/"));
        source = dir.join(&source).to_string_lossy().into_owned();
    }
    if source.starts_with('/') {
        service.add("Unit", "RequiresMountsFor", &source);
        return Ok(source);
    }
    match Kind::of(&source) {
        Some(Kind::Volume) => {}
        Some(Kind::Image) if allow_image => {}
        _ => return Ok(source),
    }
    let info = ctx.lookup(infos, &source)?;
    service.add("Unit", "Requires", &info.service);
    service.add("Unit", "After", &info.service);
    Ok(info.resource.clone())
}

/// `Volume=SOURCE:DEST[:OPTIONS]` (or an anonymous `DEST`) as `-v`.
pub(super) fn volumes(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
    service: &mut UnitFile,
    args: &mut Vec<String>,
) -> Result<(), Error> {
    for volume in ctx.all("Volume") {
        let parts: Vec<&str> = volume.splitn(3, ':').collect();
        let value = match parts.as_slice() {
            [dest] => dest.to_string(),
            [src, dest, rest @ ..] => {
                let src = storage_source(ctx, infos, service, src, false)?;
                match rest.first() {
                    Some(opts) => format!("{src}:{dest}:{opts}"),
                    None => format!("{src}:{dest}"),
                }
            }
            [] => continue,
        };
        args.extend(["-v".into(), value]);
    }
    Ok(())
}

/// `Environment`, `Label`, `Annotation` (`KEY=VALUE` words),
/// `AutoUpdate`, ports, masks, env files and secrets.
fn environment(ctx: &Context<'_>, run: &mut Vec<String>) -> Result<(), Error> {
    if let Some(u) = ctx.get("AutoUpdate") {
        run.extend(["--label".into(), format!("io.containers.autoupdate={u}")]);
    }
    for port in ctx.all("ExposeHostPort") {
        let port = port.trim();
        if !is_port_range(port) {
            return Err(ctx.source.invalid(format!("invalid port format {port:?}")));
        }
        run.extend(["--expose".into(), port.to_string()]);
    }
    for p in ctx.all("PublishPort") {
        run.extend(["--publish".into(), p]);
    }
    key_values(
        ctx,
        run,
        &[
            ("Environment", "--env"),
            ("Label", "--label"),
            ("Annotation", "--annotation"),
        ],
    )?;
    for m in ctx.words("Mask")? {
        run.extend(["--security-opt".into(), format!("mask={m}")]);
    }
    for m in ctx.words("Unmask")? {
        run.extend(["--security-opt".into(), format!("unmask={m}")]);
    }
    for file in ctx.words("EnvironmentFile")? {
        run.extend(["--env-file".into(), absolute(ctx.source, &file)]);
    }
    for s in ctx.words("Secret")? {
        run.extend(["--secret".into(), s]);
    }
    Ok(())
}

/// `KEY=VALUE` words of each key as `--flag KEY=VALUE`; a word without
/// `=` is an error.
pub(super) fn key_values(
    ctx: &Context<'_>,
    args: &mut Vec<String>,
    keys: &[(&str, &str)],
) -> Result<(), Error> {
    for (key, flag) in keys {
        for word in ctx.words(key)? {
            if !word.contains('=') {
                return Err(ctx
                    .source
                    .invalid(format!("{key}: {word:?} is not KEY=VALUE")));
            }
            args.extend([flag.to_string(), word]);
        }
    }
    Ok(())
}

/// A path relative to the Quadlet file's directory, made absolute (one
/// starting with a systemd specifier is left as it is).
pub(super) fn absolute(source: &Source, path: &str) -> String {
    if path.starts_with('/') || (path.starts_with('%') && !path.starts_with("%%")) {
        return path.to_string();
    }
    let dir = source.path.parent().unwrap_or(std::path::Path::new("/"));
    dir.join(path).to_string_lossy().into_owned()
}

/// Podman's check of `ExposeHostPort`: `PORT[-PORT][/tcp|/udp]`.
fn is_port_range(port: &str) -> bool {
    let port = port
        .strip_suffix("/tcp")
        .or_else(|| port.strip_suffix("/udp"))
        .unwrap_or(port);
    let mut parts = port.splitn(2, '-');
    parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `Mount=`: the source of volume, bind and image mounts resolved like
/// `Volume=`'s.
fn mounts(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
    service: &mut UnitFile,
    run: &mut Vec<String>,
) -> Result<(), Error> {
    for mount in ctx.all("Mount") {
        let fields: Vec<&str> = mount.split(',').collect();
        let kind = fields
            .iter()
            .find_map(|f| f.strip_prefix("type="))
            .unwrap_or("volume");
        if !matches!(kind, "volume" | "bind" | "glob" | "image") {
            run.extend(["--mount".into(), mount.clone()]);
            continue;
        }
        let mut out = vec![format!("type={kind}")];
        for f in fields.iter().filter(|f| !f.starts_with("type=")) {
            match f.split_once('=') {
                Some(("source" | "src", v)) => {
                    let v = storage_source(ctx, infos, service, v, true)?;
                    out.push(format!("source={v}"));
                }
                _ => out.push(f.to_string()),
            }
        }
        run.extend(["--mount".into(), out.join(",")]);
    }
    Ok(())
}

/// `Pod=NAME.pod`: the container joins the pod, is bound to the pod's
/// service and (unless `StartWithPod=false`) starts with it.
fn join_pod(
    ctx: &Context<'_>,
    infos: &mut BTreeMap<String, Info>,
    service: &mut UnitFile,
    run: &mut Vec<String>,
    pod: &str,
) -> Result<(), Error> {
    if Kind::of(pod) != Some(Kind::Pod) {
        return Err(ctx
            .source
            .invalid(format!("pod {pod} is not Quadlet based")));
    }
    let start_with_pod = ctx.boolean("StartWithPod")?.unwrap_or(true);
    let own = ctx.source.service_name();
    let info = infos.get_mut(pod).ok_or_else(|| {
        ctx.source
            .invalid(format!("quadlet pod unit {pod} does not exist"))
    })?;
    run.extend(["--pod".into(), info.resource.clone()]);
    service.add("Unit", "BindsTo", &info.service);
    service.add("Unit", "After", &info.service);
    if start_with_pod {
        info.members.push(own);
    }
    Ok(())
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
