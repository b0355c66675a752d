//! The rows of `system df --verbose`: each image (with the space it
//! shares with its parent or children, as Podman's layer tree counts it),
//! each container's writable layer, each volume.

use std::collections::HashMap;

use super::{load_spec, Error};
use crate::storage::{ContainerInfo, ContainerStatus, ImageRecord, Store, VolumeInfo};
use crate::userns::IdMaps;

/// One image's space (`system df --verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpace {
    /// Its id (hex).
    pub id: String,
    /// Its names; one row each, or one `<none>` row without.
    pub names: Vec<String>,
    /// `created` from its config (RFC 3339), if any.
    pub created: Option<String>,
    /// Shared plus unique.
    pub size: u64,
    /// What it shares with its parent image, or all of it when it has
    /// children.
    pub shared: u64,
    /// The rest.
    pub unique: u64,
    /// How many containers use it.
    pub containers: usize,
}

/// One container's space (`system df --verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpace {
    /// Its id.
    pub id: String,
    /// Its image's id (hex).
    pub image_id: String,
    /// Its command line.
    pub command: Vec<String>,
    /// How many volumes it uses.
    pub volumes: usize,
    /// The bytes in its writable layer.
    pub size: u64,
    /// Its creation time, RFC 3339.
    pub created: String,
    /// Its state now.
    pub status: ContainerStatus,
    /// Its name.
    pub name: String,
}

/// One volume's space (`system df --verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpace {
    /// Its name.
    pub name: String,
    /// How many containers use it.
    pub links: usize,
    /// The bytes of its files.
    pub size: u64,
}

/// The image rows, in the store's order.
pub(super) fn images(images: &[ImageRecord], containers: &[ContainerInfo]) -> Vec<ImageSpace> {
    let mut users: HashMap<&str, usize> = HashMap::new();
    for c in containers {
        *users.entry(c.record.image_id.hex()).or_default() += 1;
    }
    let layers: Vec<Vec<&str>> = images
        .iter()
        .map(|i| i.layers.iter().map(|l| l.diff_id.hex()).collect())
        .collect();
    let sizes: Vec<u64> = images.iter().map(|i| i.size).collect();
    images
        .iter()
        .zip(shared_and_unique(&layers, &sizes))
        .map(|(img, (shared, unique))| ImageSpace {
            id: img.id.hex().to_string(),
            names: img.names.clone(),
            created: img.created.clone(),
            size: shared + unique,
            shared,
            unique,
            containers: users.get(img.id.hex()).copied().unwrap_or(0),
        })
        .collect()
}

/// Each image's (shared, unique) bytes as Podman's layer tree counts
/// them: an image with children (images that are it plus one layer)
/// shares all of itself; one with a parent (its layers but the top one
/// are an image) shares the parent's size; others share nothing.
fn shared_and_unique(layers: &[Vec<&str>], sizes: &[u64]) -> Vec<(u64, u64)> {
    let is_parent_of = |p: usize, c: usize| {
        p != c && !layers[p].is_empty() && layers[c].len() == layers[p].len() + 1 && {
            layers[c][..layers[p].len()] == layers[p][..]
        }
    };
    (0..layers.len())
        .map(|i| {
            let has_children = (0..layers.len()).any(|c| is_parent_of(i, c));
            match (0..layers.len()).find(|&p| is_parent_of(p, i)) {
                _ if has_children => (sizes[i], 0),
                Some(p) => (sizes[p], sizes[i].saturating_sub(sizes[p])),
                None => (0, sizes[i]),
            }
        })
        .collect()
}

/// The container rows, by id (Podman lists them so); measuring a
/// writable layer forks when a subordinate id made it unreadable.
pub(super) fn containers(
    store: &Store,
    containers: &[ContainerInfo],
    volumes: &[VolumeInfo],
    maps: &IdMaps,
) -> Result<Vec<ContainerSpace>, Error> {
    let mut rows: Vec<ContainerSpace> = containers
        .iter()
        .map(|c| ContainerSpace {
            id: c.record.id.clone(),
            image_id: c.record.image_id.hex().to_string(),
            command: load_spec(c).map(|p| p.args).unwrap_or_default(),
            volumes: volumes
                .iter()
                .filter(|v| v.users.contains(&c.record.name))
                .count(),
            size: store.container_upper_size(&c.record.id, maps).unwrap_or(0),
            created: c.record.created.clone(),
            status: c.state.status,
            name: c.record.name.clone(),
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// The volume rows, by name.
pub(super) fn volumes(store: &Store, volumes: &[VolumeInfo], maps: &IdMaps) -> Vec<VolumeSpace> {
    let names: Vec<String> = volumes.iter().map(|v| v.record.name.clone()).collect();
    let sizes = store.volume_sizes(&names, maps);
    volumes
        .iter()
        .zip(sizes)
        .map(|(v, size)| VolumeSpace {
            name: v.record.name.clone(),
            links: v.users.len(),
            size,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_share_with_their_children() {
        let layers = vec![
            vec!["a"],
            vec!["a", "b"],
            vec!["a", "b", "c", "d"],
            vec!["x"],
            vec![],
        ];
        let sizes = [10, 25, 40, 7, 1];
        assert_eq!(
            shared_and_unique(&layers, &sizes),
            [(10, 0), (10, 15), (0, 40), (0, 7), (0, 1)]
        );
        let chain = vec![vec!["a"], vec!["a", "b"], vec!["a", "b", "c"]];
        assert_eq!(
            shared_and_unique(&chain, &[10, 25, 40]),
            [(10, 0), (25, 0), (25, 15)]
        );
    }
}
