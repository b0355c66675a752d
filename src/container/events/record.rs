//! The calls operations make to record their events: one per operation,
//! each building Podman's event from what the operation has at hand (a
//! plan, a container record, an image id, a name) and handing it to
//! `emit`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{emit, Event, Kind, Status};
use crate::container::Plan;
use crate::storage::{ContainerInfo, ContainerStatus, Store};

/// The event `status` of container `id` named `name`, with what its plan
/// says (image, pod, labels) when there is one.
fn container_event(plan: Option<&Plan>, id: &str, name: &str, status: Status) -> Event {
    let mut e = Event::new(Kind::Container, status);
    e.id = id.to_string();
    e.name = name.to_string();
    match plan {
        Some(p) => {
            e.image = crate::container::inspect_more::tagged(&p.origin.image);
            e.pod_id = p.pod.clone().unwrap_or_default();
            e.attributes = Some(p.labels.clone());
        }
        None => e.attributes = Some(BTreeMap::new()),
    }
    e
}

/// The event `status` of the recorded container `info`, under its
/// recorded name.
fn info_event(info: &ContainerInfo, status: Status) -> Event {
    let plan = crate::container::load_spec(info).ok();
    let (id, name) = (&info.record.id, &info.record.name);
    let mut e = container_event(plan.as_ref(), id, name, status);
    if plan.is_none() {
        e.image = crate::container::inspect_more::tagged(&info.record.image_name);
    }
    e
}

/// Records `status` of the container planned as `plan`.
pub fn on_plan(plan: &Plan, status: Status) {
    emit(&container_event(
        Some(plan),
        &plan.id,
        &plan.origin.name,
        status,
    ));
}

/// Records `status` of the recorded container `info`.
pub fn on_info(info: &ContainerInfo, status: Status) {
    emit(&info_event(info, status));
}

/// Records `status` of container `name` (name, id or id prefix), when it
/// is recorded.
pub fn on_container(store: &Store, name: &str, status: Status) {
    if let Ok(Some(info)) = store.find_container(name) {
        on_info(&info, status);
    }
}

/// Records `status` of container `name` when it runs (`exec` and
/// `attach` as they begin).
pub fn on_running(store: &Store, name: &str, status: Status) {
    if let Ok(Some(info)) = store.find_container(name) {
        if info.state.status == ContainerStatus::Running {
            on_info(&info, status);
        }
    }
}

/// Records `status` of container `name`, with the exit `code` of what
/// ended (`exec_died`).
pub fn on_container_exit(store: &Store, name: &str, status: Status, code: i32) {
    if let Ok(Some(info)) = store.find_container(name) {
        let mut e = info_event(&info, status);
        e.exit_code = Some(code);
        emit(&e);
    }
}

/// Records that the process of container `plan` (`died`) or an exec
/// session in it (`exec_died`) ended with `code`.
pub fn on_exit(plan: &Plan, status: Status, code: i32) {
    let mut e = container_event(Some(plan), &plan.id, &plan.origin.name, status);
    e.exit_code = Some(code);
    emit(&e);
}

/// Records that container `plan` was started by this process (or its
/// monitor): `init`, then `start`.
pub fn on_started(plan: &Plan) {
    on_plan(plan, Status::Init);
    on_plan(plan, Status::Start);
}

/// Records that the process of container `plan` ended with `code` and
/// what it left was cleaned up: `died`, then `cleanup`; under the name
/// `store` records now (it may have been renamed while it ran).
pub fn on_ended(store: &Store, plan: &Plan, code: i32) {
    let mut plan = std::borrow::Cow::Borrowed(plan);
    if let Ok(Some(info)) = store.find_container(&plan.id) {
        if info.record.name != plan.origin.name {
            plan.to_mut().origin.name = info.record.name;
        }
    }
    on_exit(&plan, Status::Died, code);
    on_plan(&plan, Status::Cleanup);
}

/// Runs container `plan` in the foreground with `run`, recording its
/// start (`init`, `start`, `attach`) before and its end (`died`,
/// `cleanup`) after.
pub fn on_foreground(
    plan: &Plan,
    run: impl FnOnce() -> Result<i32, crate::container::Error>,
) -> Result<i32, crate::container::Error> {
    on_started(plan);
    on_plan(plan, Status::Attach);
    let ran = run();
    if let Ok(code) = ran {
        on_exit(plan, Status::Died, code);
        on_plan(plan, Status::Cleanup);
    }
    ran
}

/// The `remove` event of container `id`, made while it is still recorded
/// and recorded by `Removal::done` once it is gone.
pub fn removal(store: &Store, id: &str) -> Removal {
    match store.find_container(id) {
        Ok(Some(info)) => Removal(Some(info_event(&info, Status::Remove))),
        _ => Removal(None),
    }
}

/// A container's `remove` event, waiting for the removal to succeed.
pub struct Removal(Option<Event>);

impl Removal {
    /// Records the event: the container is gone.
    pub fn done(self) {
        if let Some(e) = &self.0 {
            emit(e);
        }
    }
}

/// Records `status` of image `id` (full hex id; empty when there is none,
/// as for `loadfromarchive`), named `name`.
pub fn on_image(status: Status, id: &str, name: &str) {
    let mut e = Event::new(Kind::Image, status);
    e.id = id.trim_start_matches("sha256:").to_string();
    e.name = name.to_string();
    emit(&e);
}

/// The id (hex) of every stored image by each of its names, taken before
/// a removal so that its `untag` events can name the image.
pub fn image_ids(store: &Store) -> HashMap<String, String> {
    let images = store.list_images().unwrap_or_default();
    images
        .into_iter()
        .flat_map(|img| {
            let id = img.id.hex().to_string();
            img.names.into_iter().map(move |n| (n, id.clone()))
        })
        .collect()
}

/// Records what a removal did to an image: `untag` for a name (its image
/// found in `ids`, taken before), `remove` for the image.
pub fn on_image_removed(ids: &HashMap<String, String>, removed: &crate::storage::Removed) {
    match removed {
        crate::storage::Removed::Untagged(name) => on_image(
            Status::Untag,
            ids.get(name).map_or("", String::as_str),
            name,
        ),
        crate::storage::Removed::Deleted(id) => {
            let hex = id.hex();
            let name = ids
                .iter()
                .find(|(_, v)| v.as_str() == hex)
                .map(|(n, _)| n.as_str());
            on_image(Status::Remove, hex, name.unwrap_or(hex));
        }
    }
}

/// Records the `save` of each of `items`, to the OCI directory `dir` if
/// there is one, else under the name it was asked for.
pub fn on_saved(items: &[crate::image::archive::SaveItem], dir: Option<&Path>) {
    for item in items {
        let id = item.image.id.hex();
        let name = match dir {
            Some(d) => d.display().to_string(),
            None => item
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        };
        on_image(Status::Save, id, &name);
    }
}

/// What an image was loaded or imported from: the file, or `-` for a
/// stream.
pub fn input_name(input: &crate::container::images::Input<'_>) -> String {
    match input {
        crate::container::images::Input::File(path) => path.display().to_string(),
        crate::container::images::Input::Reader(_) => "-".to_string(),
    }
}

/// Records `status` of volume `name`.
pub fn on_volume(status: Status, name: &str) {
    let mut e = Event::new(Kind::Volume, status);
    e.name = name.to_string();
    emit(&e);
}

/// Records that volume `name` was removed by a prune: `remove`, then
/// `prune`, as Podman records it.
pub fn on_volume_pruned(name: &str) {
    on_volume(Status::Remove, name);
    on_volume(Status::Prune, name);
}

/// Records `status` of pod `id` named `name`.
pub fn on_pod(status: Status, id: &str, name: &str) {
    let mut e = Event::new(Kind::Pod, status);
    e.id = id.to_string();
    e.name = name.to_string();
    emit(&e);
}

/// Records a health check's result `health` (`healthy`, `unhealthy`,
/// `starting`) for the container of `plan`, as Podman's `health_status`.
pub fn on_health(plan: &Plan, health: &str) {
    let mut e = container_event(Some(plan), &plan.id, &plan.origin.name, Status::Health);
    e.health_status = health.to_string();
    emit(&e);
}

/// Records `status` (`connect`, `disconnect`) of container `id` named
/// `name` on network `network`.
pub fn on_network(status: Status, id: &str, name: &str, network: &str) {
    let mut e = Event::new(Kind::Network, status);
    e.id = id.to_string();
    e.name = name.to_string();
    e.network = network.to_string();
    emit(&e);
}
