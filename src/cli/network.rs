//! The network flags of `run` and `create`.

use clap::Args;

use crate::container::NetworkRequest;

/// How the container is connected: mode, published ports, DNS and hosts.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Network mode: pasta[:OPTIONS] (default when installed), slirp4netns[:OPTIONS], host, none, or user-defined networks (`hutch network create`; repeat for several, `bridge` for the default one)
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    pub network: Vec<String>,
    /// Another name for the container on its user-defined networks (their DNS answers it)
    #[arg(long, value_name = "NAME")]
    pub network_alias: Vec<String>,
    /// The container's IPv4 address on its user-defined network
    #[arg(long, value_name = "ADDRESS")]
    pub ip: Option<String>,
    /// The container's IPv6 address on its user-defined network (one with an IPv6 subnet)
    #[arg(long, value_name = "ADDRESS")]
    pub ip6: Option<String>,
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
    /// MAC address of the container's interface (pasta, slirp4netns, or its one user-defined network)
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
    /// Expose a port or a range of ports: PORT[-END][/tcp|/udp] (published by -P)
    #[arg(long, value_name = "PORT", value_delimiter = ',')]
    pub expose: Vec<String>,
}

impl NetworkArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> NetworkRequest {
        NetworkRequest {
            // Several `--network` values name several networks.
            network: (!self.network.is_empty()).then(|| self.network.join(",")),
            aliases: self.network_alias.clone(),
            ip: self.ip.clone(),
            ip6: self.ip6.clone(),
            networks: Vec::new(),
            publish: self.publish.clone(),
            publish_all: self.publish_all,
            exposed: self.expose.clone(),
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            add_hosts: self.add_host.clone(),
            no_hosts: self.no_hosts,
            mac_address: self.mac_address.clone(),
        }
    }
}
