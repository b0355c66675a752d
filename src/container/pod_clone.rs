//! `pod clone`: a new pod made through `create_pod` from the request its
//! original was created with (kept in the original's record), with the
//! clone's own name and options laid over it, and a copy of each of the
//! original's containers in it (made as `container clone` makes them).
//! The original's infra is a process, not a container: the new pod gets
//! its own when it starts.

use super::clone::CloneRequest;
use super::create::Progress;
use super::pod::{self, Pod};
use super::pod_options::{self, PodOptions};
use super::{Engine, Error};

/// What `pod clone` changes in the copy.
#[derive(Debug, Clone, Default)]
pub struct PodCloneRequest {
    /// The pod to copy (name, id or id prefix).
    pub pod: String,
    /// The copy's name; `NAME-clone` (then `NAME-clone1`, …) when `None`.
    pub name: Option<String>,
    /// The options given, laid over the original's (see
    /// `pod_options::lay_over`).
    pub options: PodOptions,
    /// The command line, for `pod inspect`.
    pub create_command: Vec<String>,
    /// `--destroy`: remove the original (and its containers) once the copy
    /// exists.
    pub destroy: bool,
    /// `--start`: start the copy.
    pub start: bool,
}

/// The first name of `NAME-clone`, `NAME-clone1`, `NAME-clone2`, … that
/// no pod of `pods` has (Podman's names for clones).
fn clone_name(pods: &[Pod], name: &str) -> String {
    let base = format!("{name}-clone");
    let mut candidate = base.clone();
    for n in 1.. {
        if !pods.iter().any(|p| p.name == candidate) {
            break;
        }
        candidate = format!("{base}{n}");
    }
    candidate
}

impl Engine {
    /// Creates a copy of pod `req.pod` with `req`'s changes, and a copy of
    /// each of its containers in it, and returns its id; with `destroy`
    /// removes the original, then with `start` starts the copy. When a
    /// container cannot be copied, the new pod is removed again. Must be
    /// called single-threaded.
    pub fn clone_pod(
        &self,
        req: &PodCloneRequest,
        progress: &dyn Progress,
    ) -> Result<String, Error> {
        let root = &self.paths().root;
        let original = pod::find(root, &req.pod)?;
        let mut new = original
            .request
            .as_deref()
            .cloned()
            .ok_or_else(|| pod::Error::CloneNoRequest(original.name.clone()))?;
        new.name = Some(match &req.name {
            Some(n) => n.clone(),
            None => clone_name(&pod::list(root)?, &original.name),
        });
        // The clone's label files are read now, their labels after the
        // original's (which the recorded request holds as labels).
        let mut over = req.options.clone();
        let mut labels = super::pod_ops::labels_of(&over)?;
        labels.append(&mut over.labels);
        over.labels = labels;
        over.label_files.clear();
        pod_options::lay_over(&mut new.options, &over);
        new.create_command.clone_from(&req.create_command);
        let id = self.create_pod(&new)?;
        for m in self.members(&original.id)? {
            let copy = CloneRequest {
                container: m.record.id.clone(),
                pod: Some(id.clone()),
                ..CloneRequest::default()
            };
            if let Err(e) = self.clone_container(&copy, progress) {
                if let Err(undo) = self.remove_pod(&id, true, None) {
                    progress.cleanup_failed(&undo);
                }
                return Err(e);
            }
        }
        if req.destroy {
            self.remove_pod(&original.id, true, None)?;
        }
        if req.start {
            let started = self.start_pod(&id)?;
            if let Some(e) = started.failures.into_iter().next() {
                return Err(e);
            }
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_are_named_as_podmans() {
        let pod = |name: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "id": name, "name": name, "created": "2026-01-01T00:00:00Z",
                "network": crate::net::NetworkPlan::default(),
                "maps": crate::userns::IdMaps::plan(1000, 1000, &[], &[]),
            }))
            .unwrap()
        };
        assert_eq!(clone_name(&[pod("web")], "web"), "web-clone");
        let taken = [pod("web"), pod("web-clone"), pod("web-clone1")];
        assert_eq!(clone_name(&taken, "web"), "web-clone2");
    }
}
