//! `hutch port`: the published ports of a running container; also the
//! ports `ps` and `inspect` show.

use std::io::Write;

use clap::Args;
use serde_json::{json, Value};

use crate::container::access;
use crate::container::query::{format_port, PublishedPort};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["latest", "all"])]
    pub container: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Every running container's ports, each line after its short id
    #[arg(short, long, conflicts_with = "latest")]
    pub all: bool,
    /// Show only this container port (PORT[/PROTO])
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub private: Option<String>,
}

/// The hidden forwarder's arguments (see `net::run_forwarder`).
#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// The container's init, whose namespaces the forwarder enters
    pub pid: i32,
    /// HOSTADDR:HOSTPORT=CONTAINERPORT
    pub forwards: Vec<String>,
}

/// Runs the hidden forwarder; its one report line goes to stdout, which
/// is the spawner's pipe.
pub fn forward(args: ForwardArgs) -> Result<i32, Error> {
    let mut report = |line: &str| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    Ok(access::run_port_forwarder(
        args.pid,
        &args.forwards,
        &mut report,
    ))
}

/// Prints `80/tcp -> 127.0.0.1:8080` for each published port, or with a
/// private port only `127.0.0.1:8080`.
pub fn run(engine: &Engine, args: PortArgs) -> Result<i32, Error> {
    if args.all {
        return all(engine, args);
    }
    let mut rest: Vec<String> = args.private.into_iter().collect();
    let name = super::pick::one(engine, args.container, args.latest.latest, Some(&mut rest))?;
    if rest.len() > 1 {
        return Err(Error::Usage("port takes one private port".into()));
    }
    let private = rest.pop();
    let info = engine.container(&name)?;
    let ports = engine.published_ports(&info)?;
    let Some(private) = &private else {
        for p in &ports {
            println!("{}", format_port(p));
        }
        return Ok(0);
    };
    let (port, proto) = private.split_once('/').unwrap_or((private, "tcp"));
    let port: u16 = port
        .parse()
        .map_err(|_| Error::Usage(format!("invalid port {private:?}: use PORT[/tcp|/udp]")))?;
    let matching: Vec<&PublishedPort> = ports
        .iter()
        .filter(|p| p.container_port == port && p.proto.name() == proto)
        .collect();
    if matching.is_empty() {
        return Err(Error::Usage(format!(
            "no public port {port}/{proto} published for {name}"
        )));
    }
    for p in matching {
        let line = format_port(p);
        println!(
            "{}",
            line.split_once(" -> ").map_or(line.as_str(), |(_, a)| a)
        );
    }
    Ok(0)
}

/// `127.0.0.1:8080->80/tcp, …` for the PORTS column.
pub(super) fn ports_text(ports: &[PublishedPort]) -> String {
    ports
        .iter()
        .map(|p| {
            let line = format_port(p);
            match line.split_once(" -> ") {
                Some((private, public)) => format!("{public}->{private}"),
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Podman's `ps --format json` port objects.
pub(super) fn ports_json(ports: &[PublishedPort]) -> Value {
    Value::Array(
        ports
            .iter()
            .map(|p| {
                json!({
                    "host_ip": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                    "container_port": p.container_port,
                    "host_port": p.host_port,
                    "range": 1,
                    "protocol": p.proto.name(),
                })
            })
            .collect(),
    )
}

/// `port --all`: every running container's ports, after its short id.
fn all(engine: &Engine, args: PortArgs) -> Result<i32, Error> {
    if args.container.is_some() || args.private.is_some() {
        return Err(Error::Usage("no arguments are needed with --all".into()));
    }
    let req = crate::container::query::ListRequest {
        with_ports: true,
        ..Default::default()
    };
    let mut out = String::new();
    for l in engine.list_containers(&req)? {
        let short = l.info.record.id.get(..12).unwrap_or(&l.info.record.id);
        for p in &l.ports {
            out.push_str(&format!("{short}\t{}\n", format_port(p)));
        }
    }
    print!("{out}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::query::Protocol;

    #[test]
    fn ports_render_like_podman() {
        let ports = vec![
            PublishedPort {
                host_ip: Some("127.0.0.1".parse().unwrap()),
                host_port: 8080,
                container_port: 80,
                proto: Protocol::Tcp,
            },
            PublishedPort {
                host_ip: None,
                host_port: 5353,
                container_port: 53,
                proto: Protocol::Udp,
            },
        ];
        assert_eq!(
            ports_text(&ports),
            "127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp"
        );
        assert_eq!(ports_json(&ports)[1]["protocol"], json!("udp"));
    }
}
