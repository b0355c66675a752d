//! `.volume`, `.network`, `.image`, `.pod` and `.kube` files: oneshot
//! services that create `systemd-NAME` volumes and networks or pull an
//! image, a forking service for a pod, and `kube play`/`kube down`.

use std::collections::BTreeMap;

use super::convert::{absolute, image_source, key_values, networks, user_mappings, volumes};
use super::unit::{command_line, UnitFile};
use super::{Context, Error, Info};

/// The oneshot defaults of resource services: `SyslogIdentifier=%N`,
/// `Type=oneshot`, and `RemainAfterExit=yes`, so dependants see it active.
fn oneshot(service: &mut UnitFile) {
    if !service.has("Service", "SyslogIdentifier") {
        service.set("Service", "SyslogIdentifier", "%N");
    }
    if !service.has("Service", "Type") {
        service.set("Service", "Type", "oneshot");
    }
    if !service.has("Service", "RemainAfterExit") {
        service.set("Service", "RemainAfterExit", "yes");
    }
}

/// Translates a `.volume` file: `hutch volume create --ignore`.
pub(super) fn volume(ctx: &Context<'_>, infos: &BTreeMap<String, Info>) -> Result<UnitFile, Error> {
    let src = ctx.source;
    let mut service = ctx.service(infos)?;
    let name = ctx.lookup(infos, &src.name)?.resource.clone();
    let mut cmd = ctx.base()?;
    cmd.extend(["volume", "create", "--ignore"].map(String::from));
    let driver = ctx.get("Driver");
    if let Some(d) = &driver {
        cmd.extend(["--driver".into(), d.clone()]);
    }
    let mut o: Vec<String> = Vec::new();
    if driver.as_deref() == Some("image") {
        let image = ctx
            .get("Image")
            .ok_or_else(|| src.invalid("the key Image is mandatory when using the image driver"))?;
        let image = image_source(ctx, infos, &mut service, &image)?;
        cmd.extend(["--opt".into(), format!("image={image}")]);
    } else {
        for (key, opt) in [("User", "uid"), ("Group", "gid")] {
            if let Some(v) = ctx.get(key) {
                let id: u32 = v
                    .parse()
                    .map_err(|_| src.invalid(format!("{key}={v} is not a number")))?;
                o.push(format!("{opt}={id}"));
            }
        }
        if let Some(copy) = ctx.boolean("Copy")? {
            cmd.extend(["--opt".into(), if copy { "copy" } else { "nocopy" }.into()]);
        }
        let device = ctx.get("Device");
        if let Some(dev) = &device {
            cmd.extend(["--opt".into(), format!("device={dev}")]);
        }
        if let Some(t) = ctx.get("Type") {
            let Some(dev) = &device else {
                return Err(src.invalid("key Type can't be used without Device"));
            };
            cmd.extend(["--opt".into(), format!("type={t}")]);
            if t == "bind" {
                service.add("Unit", "RequiresMountsFor", dev);
            }
        }
        if let Some(opts) = ctx.get("Options") {
            if device.is_none() {
                return Err(src.invalid("key Options can't be used without Device"));
            }
            o.push(opts);
        }
        if !o.is_empty() {
            cmd.extend(["--opt".into(), format!("o={}", o.join(","))]);
        }
    }
    key_values(ctx, &mut cmd, &[("Label", "--label")])?;
    cmd.extend(ctx.words("PodmanArgs")?);
    cmd.push(name);
    service.add("Service", "ExecStart", &command_line(&cmd));
    oneshot(&mut service);
    Ok(service)
}

/// Translates a `.network` file: `hutch network create --ignore`.
pub(super) fn network(
    ctx: &Context<'_>,
    infos: &BTreeMap<String, Info>,
) -> Result<UnitFile, Error> {
    let src = ctx.source;
    let mut service = ctx.service(infos)?;
    let name = ctx.lookup(infos, &src.name)?.resource.clone();
    if ctx.boolean("NetworkDeleteOnStop")? == Some(true) {
        let mut rm = ctx.base()?;
        rm.extend(["network".into(), "rm".into(), name.clone()]);
        service.add("Service", "ExecStopPost", &command_line(&rm));
    }
    let mut cmd = ctx.base()?;
    cmd.extend(["network", "create", "--ignore"].map(String::from));
    for (key, flag) in [
        ("DisableDNS", "--disable-dns"),
        ("Internal", "--internal"),
        ("IPv6", "--ipv6"),
    ] {
        if let Some(b) = ctx.boolean(key)? {
            cmd.push(if b {
                flag.to_string()
            } else {
                format!("{flag}=false")
            });
        }
    }
    for (key, flag) in [
        ("Driver", "--driver"),
        ("IPAMDriver", "--ipam-driver"),
        ("InterfaceName", "--interface-name"),
    ] {
        if let Some(v) = ctx.get(key) {
            cmd.extend([flag.into(), v]);
        }
    }
    let subnets = ctx.all("Subnet");
    let gateways = ctx.all("Gateway");
    let ranges = ctx.all("IPRange");
    if subnets.is_empty() && (!gateways.is_empty() || !ranges.is_empty()) {
        return Err(src.invalid("cannot set gateway or range without subnet"));
    }
    if gateways.len() > subnets.len() || ranges.len() > subnets.len() {
        return Err(src.invalid("cannot set more gateways or ranges than subnets"));
    }
    for (i, s) in subnets.iter().enumerate() {
        cmd.extend(["--subnet".into(), s.clone()]);
        if let Some(g) = gateways.get(i) {
            cmd.extend(["--gateway".into(), g.clone()]);
        }
        if let Some(r) = ranges.get(i) {
            cmd.extend(["--ip-range".into(), r.clone()]);
        }
    }
    key_values(ctx, &mut cmd, &[("Options", "--opt"), ("Label", "--label")])?;
    cmd.extend(ctx.words("PodmanArgs")?);
    cmd.push(name);
    service.add("Service", "ExecStart", &command_line(&cmd));
    oneshot(&mut service);
    Ok(service)
}

/// Translates an `.image` file: `hutch image pull`.
pub(super) fn image(ctx: &Context<'_>, infos: &BTreeMap<String, Info>) -> Result<UnitFile, Error> {
    let mut service = ctx.service(infos)?;
    let image = ctx
        .get("Image")
        .ok_or_else(|| ctx.source.invalid("no Image key specified"))?;
    let mut cmd = ctx.base()?;
    cmd.extend(["image".into(), "pull".into()]);
    for (key, flag) in [
        ("Arch", "--arch"),
        ("AuthFile", "--authfile"),
        ("CertDir", "--cert-dir"),
        ("Creds", "--creds"),
        ("OS", "--os"),
        ("Variant", "--variant"),
    ] {
        if let Some(v) = ctx.get(key) {
            cmd.extend([flag.into(), v]);
        }
    }
    for (key, flag) in [("AllTags", "--all-tags"), ("TLSVerify", "--tls-verify")] {
        if let Some(b) = ctx.boolean(key)? {
            cmd.push(if b {
                flag.to_string()
            } else {
                format!("{flag}=false")
            });
        }
    }
    cmd.extend(ctx.words("PodmanArgs")?);
    cmd.push(image);
    service.add("Service", "ExecStart", &command_line(&cmd));
    oneshot(&mut service);
    Ok(service)
}

/// Translates a `.pod` file: the pod created before start (its infra's
/// monitor writing `%t/%N.pid`, the service's main process), started,
/// stopped and removed; the member containers are wanted by it.
pub(super) fn pod(ctx: &Context<'_>, infos: &BTreeMap<String, Info>) -> Result<UnitFile, Error> {
    let src = ctx.source;
    let mut service = ctx.service(infos)?;
    let info = ctx.lookup(infos, &src.name)?;
    let name = info.resource.clone();
    for member in &info.members {
        service.add("Unit", "Wants", member);
        service.add("Unit", "Before", member);
    }
    if !src.unit.has("Service", "SyslogIdentifier") {
        service.set("Service", "SyslogIdentifier", "%N");
    }
    let mut start = ctx.base()?;
    start.extend(["pod".into(), "start".into(), name.clone()]);
    service.add("Service", "ExecStart", &command_line(&start));
    let mut stop = ctx.base()?;
    stop.extend(["pod", "stop", "--ignore", "--time=10", &name].map(String::from));
    service.add("Service", "ExecStop", &command_line(&stop));
    let mut rm = ctx.base()?;
    rm.extend(["pod", "rm", "--ignore", "--force", &name].map(String::from));
    service.add("Service", "ExecStopPost", &command_line(&rm));

    let mut create = ctx.base()?;
    create.extend(
        [
            "pod",
            "create",
            "--infra-conmon-pidfile=%t/%N.pid",
            "--replace",
        ]
        .map(String::from),
    );
    create.extend([
        "--exit-policy".into(),
        ctx.get("ExitPolicy").unwrap_or_else(|| "stop".into()),
    ]);
    user_mappings(ctx, &mut create, true)?;
    for p in ctx.all("PublishPort") {
        create.extend(["--publish".into(), p]);
    }
    key_values(ctx, &mut create, &[("Label", "--label")])?;
    networks(ctx, infos, &mut service, &mut create)?;
    for (key, flag) in [("IP", "--ip"), ("IP6", "--ip6"), ("ShmSize", "--shm-size")] {
        if let Some(v) = ctx.get(key) {
            create.extend([flag.into(), v]);
        }
    }
    for (key, flag) in [
        ("NetworkAlias", "--network-alias"),
        ("DNS", "--dns"),
        ("DNSOption", "--dns-option"),
        ("DNSSearch", "--dns-search"),
        ("AddHost", "--add-host"),
        ("HostName", "--hostname"),
    ] {
        for v in ctx.all(key) {
            create.extend([flag.into(), v]);
        }
    }
    volumes(ctx, infos, &mut service, &mut create)?;
    create.extend(["--name".into(), name]);
    create.extend(ctx.words("PodmanArgs")?);
    service.add("Service", "ExecStartPre", &command_line(&create));
    service.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
    service.set("Service", "Type", "forking");
    service.set("Service", "Restart", "on-failure");
    service.set("Service", "PIDFile", "%t/%N.pid");
    Ok(service)
}

/// Translates a `.kube` file: `hutch kube play` and `kube down` of its YAML.
pub(super) fn kube(ctx: &Context<'_>, infos: &BTreeMap<String, Info>) -> Result<UnitFile, Error> {
    let src = ctx.source;
    let mut service = ctx.service(infos)?;
    let yaml = ctx
        .get("Yaml")
        .ok_or_else(|| src.invalid("no Yaml key specified"))?;
    let yaml = absolute(src, &yaml);
    match service.last("Service", "KillMode").as_deref() {
        None => service.set("Service", "KillMode", "mixed"),
        Some("mixed" | "control-group") => {}
        Some(other) => return Err(src.invalid(format!("invalid KillMode {other:?}"))),
    }
    service.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
    match service.last("Service", "Type").as_deref() {
        None | Some("notify") => {
            service.set("Service", "Type", "notify");
            service.set("Service", "NotifyAccess", "all");
        }
        Some("oneshot") => {}
        Some(other) => return Err(src.invalid(format!("invalid service Type {other:?}"))),
    }
    if !src.unit.has("Service", "SyslogIdentifier") {
        service.set("Service", "SyslogIdentifier", "%N");
    }
    let mut play = ctx.base()?;
    play.extend(["kube", "play", "--replace", "--service-container=true"].map(String::from));
    if let Some(e) = ctx.get("ExitCodePropagation") {
        play.push(format!("--service-exit-code-propagation={e}"));
    }
    if let Some(d) = ctx.get("LogDriver") {
        play.extend(["--log-driver".into(), d]);
    }
    for o in ctx.words("LogOpt")? {
        play.extend(["--log-opt".into(), o]);
    }
    user_mappings(ctx, &mut play, false)?;
    networks(ctx, infos, &mut service, &mut play)?;
    for update in ctx.words("AutoUpdate")? {
        play.push(match update.split_once('/') {
            Some((container, kind)) => {
                format!("--annotation=io.containers.autoupdate/{container}={kind}")
            }
            None => format!("--annotation=io.containers.autoupdate={update}"),
        });
    }
    for c in ctx.words("ConfigMap")? {
        play.extend(["--configmap".into(), absolute(src, &c)]);
    }
    for p in ctx.all("PublishPort") {
        play.extend(["--publish".into(), p]);
    }
    play.extend(ctx.words("PodmanArgs")?);
    play.push(yaml.clone());
    service.add("Service", "ExecStart", &command_line(&play));
    let mut down = ctx.base()?;
    down.extend(["kube".into(), "down".into()]);
    if let Some(force) = ctx.boolean("KubeDownForce")? {
        down.push(if force {
            "--force".into()
        } else {
            "--force=false".into()
        });
    }
    down.push(yaml.clone());
    service.add("Service", "ExecStopPost", &command_line(&down));
    let file = match ctx
        .get("SetWorkingDirectory")
        .map(|s| s.to_ascii_lowercase())
    {
        None => None,
        Some(w) if w == "yaml" => Some(yaml),
        Some(w) if w == "unit" => Some(src.path.to_string_lossy().into_owned()),
        Some(w) => {
            return Err(src.invalid(format!("unsupported value for SetWorkingDirectory: {w}")))
        }
    };
    // A WorkingDirectory= of the file's own is kept.
    if let Some(file) = file.filter(|_| !src.unit.has("Service", "WorkingDirectory")) {
        let dir = std::path::Path::new(&file)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        service.add("Service", "WorkingDirectory", &dir);
    }
    Ok(service)
}
