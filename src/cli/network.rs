//! The network flags of `run` and `create`.

use clap::Args;

use crate::error::Error;
use crate::net::{self, NetworkPlan, NetworkRequest};

/// How the container is connected: mode, published ports, DNS and hosts.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Network mode: pasta[:OPTIONS] (default when installed), slirp4netns[:OPTIONS], host or none
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Publish a container port on the host: [hostIP:][hostPort:]containerPort[-end][/tcp|/udp]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Publish every port the image exposes on a free host port
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// DNS server for the container's /etc/resolv.conf
    #[arg(long, value_name = "ADDRESS")]
    pub dns: Vec<String>,
    /// DNS search domain for the container's /etc/resolv.conf
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// DNS resolver option for the container's /etc/resolv.conf
    #[arg(long, value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Add a line to the container's /etc/hosts (NAME:ADDRESS)
    #[arg(long, value_name = "NAME:ADDRESS")]
    pub add_host: Vec<String>,
    /// Do not write /etc/hosts: the image's stays
    #[arg(long)]
    pub no_hosts: bool,
    /// MAC address of the container's interface (pasta and slirp4netns)
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
}

/// Checks the network flags and plans the network of a container whose
/// image config document is `config`.
pub fn plan_network(args: &NetworkArgs, config: &[u8]) -> Result<NetworkPlan, Error> {
    if args.no_hosts && !args.add_host.is_empty() {
        return Err(Error::Usage(
            "--no-hosts and --add-host conflict: --add-host writes /etc/hosts".into(),
        ));
    }
    let req = NetworkRequest {
        network: args.network.clone(),
        publish: args.publish.clone(),
        publish_all: args.publish_all,
        exposed: net::exposed_ports(config),
        dns: args.dns.clone(),
        dns_search: args.dns_search.clone(),
        dns_options: args.dns_option.clone(),
        add_hosts: args.add_host.clone(),
        no_hosts: args.no_hosts,
        mac_address: args.mac_address.clone(),
    };
    let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
    let proc = std::path::Path::new("/proc");
    let plan = net::plan_network(&req, &helpers, net::host_route(proc))
        .map_err(|e| Error::Usage(e.to_string()))?;
    // Fail before the container is recorded; start checks again.
    net::check_ports(&plan.ports, net::unprivileged_port_start(proc))
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(plan)
}
