//! User networks: `GET /networks`, `GET /networks/{id}`, `POST
//! /networks/create`, `DELETE /networks/{id}`, `POST
//! /networks/{id}/connect|disconnect` and `POST /networks/prune`, through
//! the engine's network functions (those of `hutch network`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::docker::{parse_filters, Failure, Reply};
use super::http::Request;
use crate::container::networks::{Network, NewNetwork};
use crate::container::Engine;

/// Whether `labels` has `filter`: `KEY` or `KEY=VALUE`, as Docker's
/// `label` filter reads.
pub fn has_label(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

/// Docker's network object.
fn network_json(n: &Network, containers: &[(String, String)]) -> Value {
    let config: Vec<Value> = n
        .subnets
        .iter()
        .map(|s| match &s.gateway {
            Some(g) => json!({ "Subnet": s.subnet, "Gateway": g }),
            None => json!({ "Subnet": s.subnet }),
        })
        .collect();
    let attached: serde_json::Map<String, Value> = containers
        .iter()
        .map(|(id, name)| {
            let v = json!({
                "Name": name,
                "EndpointID": "",
                "MacAddress": "",
                "IPv4Address": "",
                "IPv6Address": "",
            });
            (id.clone(), v)
        })
        .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": { "Driver": "default", "Options": {}, "Config": config },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": attached,
        "Options": n.options,
        "Labels": n.labels,
    })
}

/// Whether network `n` passes Docker's `filters`.
fn is_wanted(n: &Network, filters: &BTreeMap<String, Vec<String>>) -> Result<bool, Failure> {
    for (key, values) in filters {
        let ok = match key.as_str() {
            "name" => values.iter().any(|v| n.name.contains(v.as_str())),
            "id" => values.iter().any(|v| n.id.starts_with(v.as_str())),
            "driver" => values.contains(&n.driver),
            "label" => values.iter().all(|v| has_label(&n.labels, v)),
            "type" => values.iter().any(|v| v == "custom" || v == "builtin"),
            other => return Err(Failure::new(400, format!("invalid filter '{other}'"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn filters_of(req: &Request) -> Result<BTreeMap<String, Vec<String>>, Failure> {
    match req.param("filters") {
        Some(f) if !f.is_empty() => parse_filters(f),
        _ => Ok(BTreeMap::new()),
    }
}

/// `GET /networks?filters=`.
pub fn list(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let filters = filters_of(req)?;
    let mut out = Vec::new();
    for n in engine.networks()? {
        if is_wanted(&n, &filters)? {
            let users = engine.network_users(&n.name)?;
            out.push(network_json(&n, &users));
        }
    }
    Ok(Reply::Json(200, Value::Array(out)))
}

/// `GET /networks/{id}`.
pub fn inspect(engine: &Engine, name: &str) -> Result<Reply, Failure> {
    let n = engine.network(name)?;
    let users = engine.network_users(&n.name)?;
    Ok(Reply::Json(200, network_json(&n, &users)))
}

/// The create body's fields hutch reads.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    labels: Option<BTreeMap<String, String>>,
    options: Option<BTreeMap<String, String>>,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    config: Option<Vec<IpamConfig>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
}

/// `POST /networks/create`: a name that exists is 409 (hutch names
/// networks uniquely, so `CheckDuplicate` is always on).
pub fn create(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let body: CreateBody = super::exec::parse(&req.body)?;
    if body.name.is_empty() {
        return Err(Failure::new(400, "network name is required"));
    }
    if !matches!(body.driver.as_str(), "" | "bridge") {
        return Err(Failure::new(
            400,
            format!(
                "network driver {:?} is not supported: use bridge",
                body.driver
            ),
        ));
    }
    let configs = body.ipam.and_then(|i| i.config).unwrap_or_default();
    if configs.len() > 2 {
        return Err(Failure::new(
            400,
            "at most two IPAM configs (one IPv4 and one IPv6 subnet) are supported",
        ));
    }
    // Each config's gateway and range at its subnet's place; an empty one
    // means the default.
    let configs: Vec<IpamConfig> = configs
        .into_iter()
        .filter(|c| !c.subnet.is_empty())
        .collect();
    let new = NewNetwork {
        name: Some(body.name),
        driver: Some("bridge".into()),
        subnets: configs.iter().map(|c| c.subnet.clone()).collect(),
        gateways: configs.iter().map(|c| c.gateway.clone()).collect(),
        ip_ranges: configs.iter().map(|c| c.ip_range.clone()).collect(),
        internal: body.internal,
        ipv6: body.enable_ipv6,
        labels: body.labels.unwrap_or_default(),
        options: body.options.unwrap_or_default(),
        ..NewNetwork::default()
    };
    let n =
        engine
            .create_network(new)
            .map_err(|e| match e.to_string().contains("already exists") {
                true => Failure::new(409, e.to_string()),
                false => Failure::from(e),
            })?;
    Ok(Reply::Json(201, json!({ "Id": n.id, "Warning": "" })))
}

/// `DELETE /networks/{id}`.
pub fn remove(engine: &Engine, name: &str) -> Result<Reply, Failure> {
    engine.remove_network(name, false, None)?;
    Ok(Reply::Empty(204))
}

/// The connect and disconnect body.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<Endpoint>,
}

/// Docker's `EndpointSettings`, the part hutch reads.
#[derive(serde::Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
pub struct Endpoint {
    /// Names the container also answers to on the network.
    pub aliases: Option<Vec<String>>,
    /// Its static address.
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpam>,
}

/// `EndpointIPAMConfig`.
#[derive(serde::Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointIpam {
    /// `--ip`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `--ip6`.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// `POST /networks/{id}/connect` and `disconnect`.
pub fn connect(
    engine: &Engine,
    network: &str,
    req: &Request,
    is_on: bool,
) -> Result<Reply, Failure> {
    let body: ConnectBody = super::exec::parse(&req.body)?;
    if body.container.is_empty() {
        return Err(Failure::new(400, "Container is required"));
    }
    if is_on {
        let ep = body.endpoint_config.unwrap_or_default();
        let ipam = ep.ipam_config.unwrap_or_default();
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        let how = crate::container::netattach::Connect {
            aliases: ep.aliases.unwrap_or_default(),
            ip: some(ipam.ipv4_address),
            ip6: some(ipam.ipv6_address),
            mac_address: None,
        };
        engine.connect_network_with(network, &body.container, &how)?;
    } else {
        engine.disconnect_network(network, &body.container)?;
    }
    Ok(Reply::Empty(200))
}

/// `POST /networks/prune?filters=` (`label`, `label!`).
pub fn prune(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let filters = filters_of(req)?;
    for key in filters.keys() {
        if !matches!(key.as_str(), "label" | "label!") {
            return Err(Failure::new(400, format!("invalid filter '{key}'")));
        }
    }
    let keep = |n: &Network| {
        let with = filters
            .get("label")
            .is_none_or(|v| v.iter().all(|f| has_label(&n.labels, f)));
        let without = filters
            .get("label!")
            .is_none_or(|v| v.iter().all(|f| !has_label(&n.labels, f)));
        !(with && without)
    };
    let removed = engine.prune_networks(&keep)?;
    Ok(Reply::Json(200, json!({ "NetworksDeleted": removed })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_filters_take_keys_and_pairs() {
        let labels: BTreeMap<String, String> =
            [("com.docker.compose.project".to_string(), "p".to_string())].into();
        assert!(has_label(&labels, "com.docker.compose.project"));
        assert!(has_label(&labels, "com.docker.compose.project=p"));
        assert!(!has_label(&labels, "com.docker.compose.project=q"));
        assert!(!has_label(&labels, "other"));
    }

    #[test]
    fn create_bodies_read_ipam() {
        let b: CreateBody = serde_json::from_str(
            r#"{"Name":"n","Driver":"bridge","CheckDuplicate":true,"Internal":true,
                "IPAM":{"Driver":"default","Config":[{"Subnet":"10.99.0.0/24","Gateway":"10.99.0.1"}]},
                "Labels":{"a":"b"}}"#,
        )
        .unwrap();
        assert!(b.internal);
        let c = &b.ipam.unwrap().config.unwrap()[0];
        assert_eq!(
            (c.subnet.as_str(), c.gateway.as_str()),
            ("10.99.0.0/24", "10.99.0.1")
        );
    }
}
