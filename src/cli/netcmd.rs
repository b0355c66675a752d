//! `hutch network create|ls|inspect|rm|exists|prune` (user-defined
//! networks) and the hidden `network-holder` that owns their namespaces.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::template::Template;
use super::volume::{has_label, pairs, parse_filters};
use crate::container::networks::{Network, NewNetwork};
use crate::container::prune::PruneFilters;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show networks' details as JSON
    Inspect(InspectArgs),
    /// Remove networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Exit 0 when a network exists, 1 when it does not
    Exists(ExistsArgs),
    /// Remove every network no container uses
    Prune(PruneArgs),
    /// Attach a container to a network
    Connect(ConnectArgs),
    /// Detach a container from a network
    Disconnect(DisconnectArgs),
    /// Re-apply the network setup of containers (a no-op check: see the man page)
    Reload(ReloadArgs),
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Network name or id
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Container name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Another name for the container on this network
    #[arg(long, value_name = "NAME")]
    pub alias: Vec<String>,
    /// The container's IPv4 address on this network
    #[arg(long, value_name = "ADDRESS")]
    pub ip: Option<String>,
    /// The container's IPv6 address on this network (one with an IPv6 subnet)
    #[arg(long, value_name = "ADDRESS")]
    pub ip6: Option<String>,
    /// The MAC address of the container's interface on this network
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Network name or id
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Container name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Accepted for Podman's scripts: disconnecting never waits
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Containers to reload
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "latest"])]
    pub containers: Vec<String>,
    /// Every running container
    #[arg(short, long)]
    pub all: bool,
    /// The container created last
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Network name (default: podmanN)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Driver: bridge (the only one rootless)
    #[arg(short, long, value_name = "DRIVER")]
    pub driver: Option<String>,
    /// Subnet, IPv4 A.B.C.D/N or IPv6 ADDR/N; repeat for one of each (default: the next free 10.89.N.0/24)
    #[arg(long, value_name = "SUBNET")]
    pub subnet: Vec<String>,
    /// The bridge's address on the subnet given at the same place (default: the subnet's first)
    #[arg(long, value_name = "ADDRESS")]
    pub gateway: Vec<String>,
    /// Give containers addresses from this part of the IPv4 subnet at the same place only (A.B.C.D/N)
    #[arg(long, value_name = "RANGE")]
    pub ip_range: Vec<String>,
    /// No route out: containers reach only each other
    #[arg(long)]
    pub internal: bool,
    /// No DNS server on the network: containers do not find each other by name
    #[arg(long)]
    pub disable_dns: bool,
    /// Dual stack: an IPv6 subnet too (a random unique local /64 unless --subnet gives one)
    #[arg(long)]
    pub ipv6: bool,
    /// Set a label (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Driver option (KEY=VALUE), recorded with the network
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// IP address manager: host-local
    #[arg(long, value_name = "DRIVER")]
    pub ipam_driver: Option<String>,
    /// Succeed without change when a network of that name exists (as Podman 4.4's, which Quadlet's .network units use)
    #[arg(long)]
    pub ignore: bool,
    /// Name of the bridge interface on the host side (default: podmanN)
    #[arg(long, value_name = "NAME")]
    pub interface_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show only networks matching: name=…, id=…, driver=…, label=KEY[=VALUE]
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Go template for each network, such as '{{.Name}}', or json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show full network ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Print no header row
    #[arg(long)]
    pub noheading: bool,
    /// Print only the names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Networks to inspect (names or ids)
    #[arg(value_name = "NETWORK", required = true)]
    pub names: Vec<String>,
    /// Go template for each network
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Networks to remove (names or ids)
    #[arg(value_name = "NETWORK", required = true)]
    pub names: Vec<String>,
    /// Remove the containers using them first
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for those containers to stop before killing them
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// Network name or id
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (hutch never asks)
    #[arg(short, long)]
    pub force: bool,
    /// Prune only networks matching: label=KEY[=VALUE], label!=…, until=TIME
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

pub fn run(engine: &Engine, cmd: NetworkCommand) -> Result<i32, Error> {
    match cmd {
        NetworkCommand::Create(a) => create(engine, a),
        NetworkCommand::Ls(a) => ls(engine, a),
        NetworkCommand::Inspect(a) => inspect(engine, a),
        NetworkCommand::Rm(a) => rm(engine, a),
        NetworkCommand::Exists(a) => Ok(match engine.network(&a.name) {
            Ok(_) => 0,
            Err(e) if e.is_missing() => 1,
            Err(e) => return Err(e.into()),
        }),
        NetworkCommand::Prune(a) => prune(engine, a),
        NetworkCommand::Connect(a) => {
            let how = crate::container::netattach::Connect {
                aliases: a.alias,
                ip: a.ip,
                ip6: a.ip6,
                mac_address: a.mac_address,
            };
            engine.connect_network_with(&a.network, &a.container, &how)?;
            Ok(0)
        }
        NetworkCommand::Disconnect(a) => {
            let _ = a.force;
            engine.disconnect_network(&a.network, &a.container)?;
            Ok(0)
        }
        NetworkCommand::Reload(a) => reload(engine, a),
    }
}

fn create(engine: &Engine, a: CreateArgs) -> Result<i32, Error> {
    let req = NewNetwork {
        name: a.name,
        driver: a.driver,
        subnets: a.subnet,
        gateways: a.gateway,
        ip_ranges: a.ip_range,
        internal: a.internal,
        disable_dns: a.disable_dns,
        ipv6: a.ipv6,
        labels: pairs("--label", &a.label)?,
        options: pairs("--opt", &a.opt)?,
        interface_name: a.interface_name,
        ipam_driver: a.ipam_driver,
        is_existing_ok: a.ignore,
    };
    println!("{}", engine.create_network(req)?.name);
    Ok(0)
}

/// A network as templates see it (Podman's Go field names).
fn template_value(n: &Network) -> Value {
    let subnets: Vec<Value> = n
        .subnets
        .iter()
        .map(|s| {
            json!({
                "Subnet": s.subnet,
                "Gateway": s.gateway.clone().unwrap_or_default(),
                "LeaseRange": s.lease_range.as_ref().map(|r| json!({
                    "StartIP": r.start_ip, "EndIP": r.end_ip
                })),
            })
        })
        .collect();
    json!({
        "Name": n.name,
        "ID": n.id,
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": n.created,
        "Subnets": subnets,
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": n.labels,
        "Options": n.options,
        "IPAMOptions": n.ipam_options,
    })
}

fn matches(n: &Network, filters: &[(String, String)]) -> Result<bool, Error> {
    for (k, v) in filters {
        let ok = match k.as_str() {
            "name" => n.name.contains(v.as_str()),
            "id" => n.id.starts_with(v.as_str()),
            "driver" => n.driver == *v,
            "label" => has_label(&n.labels, v),
            other => {
                return Err(Error::Usage(format!(
                    "invalid --filter {other}: use name, id, driver or label"
                )))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(engine: &Engine, a: LsArgs) -> Result<i32, Error> {
    let filters = parse_filters(&a.filter)?;
    let mut shown = Vec::new();
    for n in engine.networks()? {
        if matches(&n, &filters)? {
            shown.push(n);
        }
    }
    if a.quiet {
        for n in &shown {
            println!("{}", n.name);
        }
        return Ok(0);
    }
    if a.format.as_deref() == Some("json") {
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
        return Ok(0);
    }
    let values: Vec<Value> = shown
        .iter()
        .map(|n| {
            let mut v = template_value(n);
            if !a.no_trunc {
                v["ID"] = json!(n.id.chars().take(12).collect::<String>());
            }
            v
        })
        .collect();
    let default = "table {{.ID}}\t{{.Name}}\t{{.Driver}}";
    let titles = [("ID", "NETWORK ID")];
    super::output::print_rows(&values, a.format, default, &titles, a.noheading)?;
    Ok(0)
}

fn inspect(engine: &Engine, a: InspectArgs) -> Result<i32, Error> {
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for name in &a.names {
        match engine.network(name) {
            Ok(n) => found.push(n),
            Err(e) if e.is_missing() => missing.push(format!("network {name}: {e}")),
            Err(e) => return Err(e.into()),
        }
    }
    match a.format.as_deref() {
        None | Some("json") => {
            println!(
                "{}",
                serde_json::to_string_pretty(&found).unwrap_or_default()
            );
        }
        Some(t) => {
            let template = Template::parse_as("inspect", t)?;
            let values: Vec<Value> = found.iter().map(template_value).collect();
            print!("{}", template.render_inspect(&values)?);
        }
    }
    super::inspect::finish(missing)
}

fn rm(engine: &Engine, a: RmArgs) -> Result<i32, Error> {
    let mut code = 0;
    let grace = a.time.map(std::time::Duration::from_secs);
    for name in &a.names {
        match engine.remove_network(name, a.force, grace) {
            Ok(n) => println!("{n}"),
            Err(e) => super::report_removal(e, &mut code),
        }
    }
    Ok(code)
}

fn prune(engine: &Engine, a: PruneArgs) -> Result<i32, Error> {
    let _ = a.force;
    let filters = PruneFilters::parse_volumes(&a.filter, super::ps::now_nanos())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let keep = |n: &Network| {
        let created = crate::container::prune::created_nanos(&n.created);
        !filters.matches_volume(&n.labels, created)
    };
    for name in engine.prune_networks(&keep)? {
        println!("{name}");
    }
    Ok(0)
}

/// `network reload`: the rules netavark made live in the network holder's
/// namespace, which no host firewall reload flushes, so there is nothing
/// to redo; prints the id of each running container asked for, as Podman.
fn reload(engine: &Engine, a: ReloadArgs) -> Result<i32, Error> {
    let names = if a.all {
        let req = crate::container::query::ListRequest {
            is_all: false,
            limit: None,
            filters: Default::default(),
            with_ports: false,
            with_sizes: false,
        };
        let listed = engine.list_containers(&req)?;
        listed.into_iter().map(|l| l.info.record.id).collect()
    } else if a.latest {
        vec![engine.latest_container()?]
    } else {
        a.containers
    };
    // As Podman: a container that is not there ends it with 125.
    for name in &names {
        println!("{}", engine.container(name)?.record.id);
    }
    Ok(0)
}

/// The hidden `network-holder`: starts the owner of the user networks'
/// namespaces, reports on stdout, then stays while containers use them.
pub fn holder(engine: &Engine) -> Result<i32, Error> {
    let maps = engine.user_maps()?.clone();
    let root = engine.paths().root.clone();
    Ok(crate::container::netholder::run_holder(
        &root,
        &maps,
        &mut |line| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        },
    ))
}
