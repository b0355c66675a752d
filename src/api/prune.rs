//! Clearing and counting: `containers/prune`, `images/prune` and
//! `system/df`, from the engine's prune and disk-usage functions (the
//! ones `hutch container prune`, `image prune` and `system df` call).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::docker::{parse_filters, Failure, Reply};
use super::http::Request;
use super::objects;
use crate::container::images::ImageFilter;
use crate::container::prune::PruneFilters;
use crate::container::Engine;

/// The request's `filters`, as `{key: [values]}`.
fn filters_of(req: &Request) -> Result<BTreeMap<String, Vec<String>>, Failure> {
    match req.param("filters") {
        Some(f) if !f.is_empty() => parse_filters(f),
        _ => Ok(BTreeMap::new()),
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `POST /containers/prune?filters=`: removes the stopped containers
/// (`label`, `label!`, `until`), as `hutch container prune`.
pub fn containers(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let raw: Vec<String> = filters_of(req)?
        .into_iter()
        .flat_map(|(k, vs)| vs.into_iter().map(move |v| format!("{k}={v}")))
        .collect();
    let filters = PruneFilters::parse(&raw, now_nanos())
        .map_err(|e| Failure::new(400, crate::error::render_chain(&e)))?;
    let mut failed = Vec::new();
    let pruned = engine.prune_containers_sized(&filters, &mut |e| {
        failed.push(crate::error::render_chain(&e));
    })?;
    if let Some(first) = failed.first() {
        return Err(Failure::new(500, first.clone()));
    }
    Ok(Reply::Json(
        200,
        json!({ "ContainersDeleted": pruned.ids, "SpaceReclaimed": pruned.bytes }),
    ))
}

/// `POST /images/prune?filters=`: removes dangling images, or with
/// `dangling=false` every image no container uses (`label`, `label!`,
/// as `hutch image prune`).
pub fn images(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let mut all = false;
    let mut filters = Vec::new();
    for (key, values) in filters_of(req)? {
        for v in values {
            let pair = |v: &str| match v.split_once('=') {
                Some((k, val)) => (k.to_string(), Some(val.to_string())),
                None => (v.to_string(), None),
            };
            match key.as_str() {
                "dangling" => match v.as_str() {
                    "true" | "1" => all = false,
                    "false" | "0" => all = true,
                    _ => return Err(Failure::new(400, format!("invalid filter 'dangling={v}'"))),
                },
                "label" => {
                    let (k, val) = pair(&v);
                    filters.push(ImageFilter::Label(k, val));
                }
                "label!" => {
                    let (k, val) = pair(&v);
                    filters.push(ImageFilter::NotLabel(k, val));
                }
                other => return Err(Failure::new(400, format!("invalid filter '{other}'"))),
            }
        }
    }
    if !all {
        filters.push(ImageFilter::Dangling(true));
    }
    let mut failed = Vec::new();
    let removed = engine.prune_images(all, &filters, &mut |e| {
        failed.push(crate::error::render_chain(&e));
    })?;
    if let Some(first) = failed.first() {
        return Err(Failure::new(500, first.clone()));
    }
    let deleted: Vec<Value> = removed
        .iter()
        .map(|(id, _)| json!({ "Deleted": format!("sha256:{}", id.hex()) }))
        .collect();
    let bytes: u64 = removed.iter().map(|(_, n)| n).sum();
    Ok(Reply::Json(
        200,
        json!({ "ImagesDeleted": deleted, "SpaceReclaimed": bytes }),
    ))
}

/// `GET /system/df`: the images, containers and volumes with their sizes,
/// from the engine's disk usage (`hutch system df -v`).
pub fn df(engine: &Engine) -> Result<Reply, Failure> {
    let du = engine.disk_usage()?;
    let images: Vec<Value> = du
        .image_rows
        .iter()
        .map(|i| {
            json!({
                "Id": format!("sha256:{}", i.id),
                "ParentId": "",
                "RepoTags": i.names,
                "RepoDigests": [],
                "Created": objects::unix_secs(i.created.as_deref()),
                "Size": i.size,
                "SharedSize": i.shared,
                "VirtualSize": i.size,
                "Labels": {},
                "Containers": i.containers,
            })
        })
        .collect();
    let containers: Vec<Value> = du
        .container_rows
        .iter()
        .map(|c| {
            json!({
                "Id": c.id,
                "ImageID": format!("sha256:{}", c.image_id),
                "Command": c.command.join(" "),
                "Created": objects::unix_secs(Some(&c.created)),
                "State": crate::container::state_name(c.status),
                "SizeRw": c.size,
                "SizeRootFs": c.size,
                "Mounts": [],
            })
        })
        .collect();
    let sizes: BTreeMap<&str, &crate::container::system::VolumeSpace> = du
        .volume_rows
        .iter()
        .map(|v| (v.name.as_str(), v))
        .collect();
    let volumes: Vec<Value> = engine
        .volumes()?
        .iter()
        .map(|v| {
            let mut out = objects::volume(v);
            if let Some(s) = sizes.get(v.record.name.as_str()) {
                out["UsageData"] = json!({ "Size": s.size, "RefCount": s.links });
            }
            out
        })
        .collect();
    Ok(Reply::Json(
        200,
        json!({
            "LayersSize": du.images.size,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }),
    ))
}
