//! `image tree`: an image's layers as containers/storage's layer tree
//! shows them. A layer there is the chain of layers up to it, so images
//! built on one image share its nodes: each node is marked with the images
//! whose top layer it is, and `--whatrequires` walks down from the image's
//! top layer to every layer built on it, branching where Podman branches.

use std::collections::HashMap;

use super::{Engine, Error};
use crate::storage::{Digest, ImageRecord};

/// One layer of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLayer {
    /// Its diff id.
    pub diff_id: Digest,
    /// Its uncompressed size.
    pub size: u64,
    /// The names of the images whose top layer it is.
    pub top_of: Vec<String>,
}

/// An entry of the printed tree, with the entries nested under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeItem {
    /// The layer.
    pub layer: TreeLayer,
    /// The entries drawn below it, one level deeper.
    pub items: Vec<TreeItem>,
}

impl Engine {
    /// The tree of image `img`'s layers, bottom first (or with
    /// `whatrequires` of the layers built on its top one), from every
    /// stored image.
    pub fn image_tree(
        &self,
        img: &ImageRecord,
        whatrequires: bool,
    ) -> Result<Vec<TreeItem>, Error> {
        let store = self.store()?;
        let mut images = store.list_images().map_err(Error::Store)?;
        // Oldest first: a layer's children in the order they came.
        images.reverse();
        let mut sized = Vec::with_capacity(images.len());
        for i in images {
            let sizes = store.layer_sizes(&i.layers).map_err(Error::Store)?;
            sized.push((i, sizes));
        }
        let graph = Graph::of(&sized);
        let top: Vec<Digest> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
        Ok(match whatrequires {
            true => graph.required_by(&top),
            false => graph.chain(&top),
        })
    }
}

/// The layer nodes of every image, by chain (the diff ids up to the node).
struct Graph {
    nodes: HashMap<Vec<Digest>, Node>,
}

struct Node {
    layer: TreeLayer,
    /// The chains one layer longer, in the order they came.
    children: Vec<Vec<Digest>>,
}

impl Graph {
    /// The graph of `images` (oldest first), each with its layers' sizes.
    fn of(images: &[(ImageRecord, Vec<u64>)]) -> Graph {
        let mut nodes: HashMap<Vec<Digest>, Node> = HashMap::new();
        for (img, sizes) in images {
            let mut chain: Vec<Digest> = Vec::new();
            for (k, l) in img.layers.iter().enumerate() {
                chain.push(l.diff_id.clone());
                if nodes.contains_key(&chain) {
                    continue;
                }
                let layer = TreeLayer {
                    diff_id: l.diff_id.clone(),
                    size: sizes.get(k).copied().unwrap_or(l.size),
                    top_of: Vec::new(),
                };
                nodes.insert(
                    chain.clone(),
                    Node {
                        layer,
                        children: Vec::new(),
                    },
                );
                if let Some(parent) = nodes.get_mut(&chain[..k]) {
                    parent.children.push(chain.clone());
                }
            }
            if let Some(top) = nodes.get_mut(&chain) {
                top.layer.top_of.extend(img.names.iter().cloned());
            }
        }
        Graph { nodes }
    }

    /// The layers of the image whose chain is `top`, bottom first, each
    /// an entry of its own.
    fn chain(&self, top: &[Digest]) -> Vec<TreeItem> {
        (1..=top.len())
            .filter_map(|k| self.nodes.get(&top[..k]))
            .map(|n| TreeItem {
                layer: n.layer.clone(),
                items: Vec::new(),
            })
            .collect()
    }

    /// The image's top layer and everything built on it, as
    /// containers/storage's `imageTreeTraverseChildren` lays them out.
    fn required_by(&self, top: &[Digest]) -> Vec<TreeItem> {
        match self.nodes.contains_key(top) {
            true => self.traverse(top),
            false => Vec::new(),
        }
    }

    /// The entries for node `chain`: a node without siblings stays on its
    /// parent's level with its children after it; one with siblings
    /// becomes a branch holding its children.
    fn traverse(&self, chain: &[Digest]) -> Vec<TreeItem> {
        let Some(node) = self.nodes.get(chain) else {
            return Vec::new();
        };
        let below: Vec<TreeItem> = node
            .children
            .iter()
            .flat_map(|c| self.traverse(c))
            .collect();
        let siblings = match chain.split_last() {
            Some((_, parent)) if !parent.is_empty() => {
                self.nodes.get(parent).map_or(0, |p| p.children.len())
            }
            _ => 0,
        };
        let layer = node.layer.clone();
        if siblings <= 1 {
            let mut out = vec![TreeItem {
                layer,
                items: Vec::new(),
            }];
            out.extend(below);
            out
        } else {
            vec![TreeItem {
                layer,
                items: below,
            }]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Compression, LayerRef};

    fn d(s: &str) -> Digest {
        Digest::of(s.as_bytes())
    }

    fn img(name: &str, layers: &[&str]) -> (ImageRecord, Vec<u64>) {
        let mut rec = crate::container::images::tests::image(serde_json::json!([]), 0);
        rec.names = vec![name.to_string()];
        rec.layers = layers
            .iter()
            .map(|l| LayerRef {
                diff_id: d(l),
                blob: d(l),
                compression: Compression::Gzip,
                size: 1,
            })
            .collect();
        let sizes = layers.iter().map(|l| l.len() as u64).collect();
        (rec, sizes)
    }

    /// The tree as `diff id letter [tops]` lines, indented by depth.
    fn lines(items: &[TreeItem], names: &HashMap<Digest, &str>, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        for i in items {
            out.push(format!(
                "{}{} {:?}",
                "  ".repeat(depth),
                names[&i.layer.diff_id],
                i.layer.top_of
            ));
            out.extend(lines(&i.items, names, depth + 1));
        }
        out
    }

    #[test]
    fn layers_are_chains_shared_by_the_images_built_on_them() {
        let images = [
            img("base", &["a"]),
            img("one", &["a", "b"]),
            img("two", &["a", "c"]),
            img("deep", &["a", "c", "e"]),
            // The same diff id on another chain is another node.
            img("other", &["b"]),
        ];
        let names: HashMap<Digest, &str> =
            ["a", "b", "c", "e"].iter().map(|n| (d(n), *n)).collect();
        let g = Graph::of(&images);
        let top = |layers: &[&str]| -> Vec<Digest> { layers.iter().map(|l| d(l)).collect() };
        assert_eq!(
            lines(&g.chain(&top(&["a", "c", "e"])), &names, 0),
            [r#"a ["base"]"#, r#"c ["two"]"#, r#"e ["deep"]"#]
        );
        // Podman's layout: a's children have a sibling each, so they are
        // branches; e, an only child, stays on c's level.
        assert_eq!(
            lines(&g.required_by(&top(&["a"])), &names, 0),
            [
                r#"a ["base"]"#,
                r#"b ["one"]"#,
                r#"c ["two"]"#,
                r#"  e ["deep"]"#
            ]
        );
        assert_eq!(
            lines(&g.required_by(&top(&["a", "c"])), &names, 0),
            [r#"c ["two"]"#, r#"  e ["deep"]"#]
        );
        assert_eq!(
            lines(&g.required_by(&top(&["b"])), &names, 0),
            [r#"b ["other"]"#]
        );
    }
}
