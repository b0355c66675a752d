//! `create`: the one way a container comes to exist. Every front end (the
//! CLI's `run` and `create` today; the REST API, `kube play`, systemd units
//! and `build`'s RUN steps later) fills a `CreateRequest` and calls
//! `Engine::create`, `Engine::run` or `Engine::create_planned`.
//!
//! The request is checked as a whole before anything is pulled or recorded,
//! so a typo costs nothing; then the image is found or pulled, the container
//! is recorded with its directories, and its `Plan` is computed and stored
//! as the container's spec.

use std::path::PathBuf;

use super::engine::Engine;
use super::labels::Metadata;
use super::logread::LogConfig;
use super::plan::RunOptions;
use super::pod::Pod;
use super::restart::RestartPolicy;
use super::volumes::{self, Kind, Mount, VolumeRequest, Volumes};
use super::{Error, Plan};
use crate::cgroup;
use crate::image::{self, Platform, PullOptions, RuntimeConfig};
use crate::net::{self, NetworkPlan};
use crate::runtime::hardening::{self, Hardening, HardeningRequest};
use crate::runtime::plan::{Management, Origin};
use crate::runtime::security::{self, Security, SecurityRequest};
use crate::runtime::tuning::{self, Tuning};
use crate::storage::{ContainerRecord, Store};
use crate::userns::IdMaps;

pub use crate::cgroup::Request as LimitsRequest;
pub use crate::cgroup::Resources;
pub use crate::image::PullPolicy;
pub use crate::net::NetworkRequest;

/// Where the engine reports what happens while it works; a front end
/// shows these lines (the CLI on stderr).
pub trait Progress: image::Reporter {
    /// A degraded host or an ignored option: one `Warning:` line.
    fn warn(&self, line: &str);
    /// A cleanup that failed after the operation's own outcome was decided.
    fn cleanup_failed(&self, error: &Error);
}

/// How to reach registries when the image has to be pulled.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RegistryOptions {
    /// `--authfile`: the only credential file to read.
    pub authfile: Option<PathBuf>,
    /// `--cert-dir`: the TLS files for every registry.
    pub cert_dir: Option<PathBuf>,
    /// `--tls-verify`: `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    /// `--creds`: used instead of stored credentials; never recorded.
    #[serde(skip)]
    pub credentials: Option<crate::image::credentials::Credentials>,
}

/// The container's process.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ProcessRequest {
    /// Command and arguments (default: the image's entrypoint and cmd).
    pub command: Vec<String>,
    /// `--entrypoint`: `Some("")` clears the image's entrypoint.
    pub entrypoint: Option<String>,
    /// `-e`, in order (`NAME=VALUE`, or `NAME` to copy it from the host).
    pub env: Vec<String>,
    /// `--env-file`s, read in order before `env`.
    pub env_files: Vec<PathBuf>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `--unsetenv`, `--unsetenv-all`, `--env-host`, `--env-merge` and
    /// `--http-proxy`.
    pub env_options: EnvOptions,
    /// `--passwd`, `--passwd-entry`, `--hostuser`.
    pub passwd: super::passwd::PasswdRequest,
}

pub use super::plan::EnvOptions;
pub use super::request_parts::{ManageRequest, MetadataRequest, TuningRequest};

/// The user namespace, groups and devices.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UsernsRequest {
    /// `--userns`.
    pub mode: Option<String>,
    /// `--uidmap`.
    pub uidmap: Vec<String>,
    /// `--gidmap`.
    pub gidmap: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--device`.
    pub device: Vec<String>,
    /// `--gpus`: CDI names of kind nvidia.com/gpu (see `cdi::gpu_names`).
    pub gpus: Vec<String>,
}

/// Cgroup placement and limits.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CgroupRequest {
    /// `--cgroup-manager`.
    pub manager: Option<String>,
    /// `--cgroups`: enabled (the default when `None`) or disabled.
    pub mode: Option<String>,
    /// `--cgroup-parent`.
    pub parent: Option<String>,
    /// The limit flags.
    pub limits: LimitsRequest,
    /// `--device-cgroup-rule`: checked, then without effect rootless.
    pub device_rules: Vec<String>,
    /// The cgroup of the pod the container goes under, from its pod (see
    /// `Engine::with_pod`), never from a front end.
    #[serde(skip)]
    pub pod: Option<cgroup::PodCgroup>,
}

/// Where the container's output goes.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LogRequest {
    /// `--log-driver` (default k8s-file).
    pub driver: Option<String>,
    /// `--log-opt KEY=VALUE`.
    pub opts: Vec<String>,
}

/// Everything a new container needs, as one typed request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CreateRequest {
    /// The image, by name, short name or id.
    pub image: String,
    /// When to pull it.
    pub pull: PullPolicy,
    /// `--platform` (os/arch[/variant]); the host's when `None`.
    pub platform: Option<String>,
    /// Registry access for a pull.
    pub registry: RegistryOptions,
    /// Suppress pull progress.
    pub quiet: bool,
    /// `--rootfs`: `image` is a directory (`DIR:O` for an overlay on it) or
    /// a squashfs file, not an image (issue #18).
    #[serde(default)]
    pub rootfs: bool,
    /// `--name`; `hutch-` and 12 characters of the id when `None`.
    pub name: Option<String>,
    /// The process.
    pub process: ProcessRequest,
    /// `--rm`.
    pub remove: bool,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--log-driver`, `--log-opt`.
    pub log: LogRequest,
    /// Capabilities, security options, the read-only root.
    pub security: SecurityRequest,
    /// Cgroup placement and limits.
    pub cgroups: CgroupRequest,
    /// `--ulimit`, `--oom-score-adj`, `--init`.
    pub hardening: HardeningRequest,
    /// `-v`, `--mount`, `--tmpfs`, `--volumes-from`.
    pub mounts: VolumeRequest,
    /// `--userns`, `--uidmap`, `--gidmap`, `--group-add`, `--device`.
    pub userns: UsernsRequest,
    /// `--network` and friends.
    pub network: NetworkRequest,
    /// `--pod`.
    pub pod: Option<String>,
    /// `--label`, `--label-file`, `--annotation`.
    pub metadata: MetadataRequest,
    /// `--cidfile`, `--pidfile`, `--conmon-pidfile` and the other flags
    /// about managing the container.
    pub manage: ManageRequest,
    /// `--umask`, `--tz`, `--shm-size`, `--sysctl`.
    pub tuning: TuningRequest,
    /// `--secret SOURCE[,type=mount|env][,target=…][,uid=…][,gid=…][,mode=…]`.
    pub secrets: Vec<String>,
    /// `--health-*` and `--no-healthcheck` (#14).
    pub health: super::health::HealthRequest,
    /// The command line that asked for the container, as the front end
    /// saw it (`inspect` shows it as `Config.CreateCommand`); empty when
    /// it came from no command line.
    pub create_command: Vec<String>,
}

/// A recorded container.
pub struct Created {
    /// The full id.
    pub id: String,
    /// Its maps, for removing it when the spec cannot be made.
    pub(in crate::container) maps: IdMaps,
    /// The plan, recorded as the container's spec; an error leaves the
    /// record without one.
    pub(in crate::container) plan: Result<Plan, Error>,
}

/// How `Engine::run` ended.
pub enum Ran {
    /// Detached: a monitor runs the container with this id.
    Detached(String),
    /// In the foreground: the container exited with this code.
    Exited(i32),
}

/// The parts of a request checked before anything is pulled or recorded.
struct Checked {
    security: Security,
    cgroups: cgroup::Options,
    hardening: Hardening,
    own_mounts: Vec<Mount>,
    log: LogConfig,
    env_files: Vec<String>,
    metadata: Metadata,
    manage: Management,
    tuning: Tuning,
    health: super::health::Checked,
}

impl Engine {
    /// Records a container from `req` without starting it (`hutch create`)
    /// and returns its id. A container whose spec cannot be made is
    /// removed again.
    pub fn create(&self, req: &CreateRequest, progress: &dyn Progress) -> Result<String, Error> {
        let created = self.create_planned(req, true, progress)?;
        match created.plan {
            Ok(plan) => {
                super::events::on_plan(&plan, super::events::Status::Create);
                Ok(created.id)
            }
            Err(e) => {
                // A container that cannot be planned can never start.
                self.discard(&created.id, &created.maps, progress);
                Err(e)
            }
        }
    }

    /// Creates a container from `req` and runs it: in the foreground until
    /// it exits, or with `detach` through a monitor (as `start` does).
    /// Must be called single-threaded.
    pub fn run(
        &self,
        req: &CreateRequest,
        detach: bool,
        progress: &dyn Progress,
    ) -> Result<Ran, Error> {
        // First, before this process opens any file of its own.
        tuning::check_preserved_fds(req.tuning.preserve_fds).map_err(Error::Tuning)?;
        let Created { id, maps, plan } = self.create_planned(req, detach, progress)?;
        if let Ok(p) = &plan {
            super::events::on_plan(p, super::events::Status::Create);
        }
        // A member starts its pod's infra first, as Podman's do, and
        // --requires: what this container needs runs first.
        let plan = plan.and_then(|p| match &p.pod {
            Some(pod) => self.start_infra_for(pod).map(|()| p),
            None => Ok(p),
        });
        let plan = plan.and_then(|p| self.start_requirements(&p).map(|()| p));
        if detach {
            // From here on the monitor owns the container, `--rm` included.
            let paths = self.paths();
            let started = plan.and_then(|_| super::run_detached(&paths.root, &paths.runroot, &id));
            return match started {
                Ok(_) => Ok(Ran::Detached(id)),
                Err(e) => {
                    // A monitor that reported has applied `--rm` itself.
                    let is_reported = matches!(e, Error::MonitorFailed { .. });
                    if req.remove && !is_reported {
                        self.discard(&id, &maps, progress);
                    }
                    Err(e)
                }
            };
        }
        let pod = plan.as_ref().ok().and_then(|p| p.pod.clone());
        let joined = pod.as_deref().and_then(|p| self.infra_of(p));
        let result =
            plan.and_then(|p| super::events::on_foreground(&p, || self.run_foreground(&p)));
        if req.remove {
            self.discard(&id, &maps, progress);
        }
        if let Some(pod) = pod {
            if let Err(e) = self.apply_exit_policy(&pod, joined) {
                progress.cleanup_failed(&e);
            }
        }
        if req.manage.remove_image {
            self.remove_image_after(&req.image, progress);
        }
        // The helper killed at the exit: waited for only if it had ports.
        crate::net::reap_stopped(false);
        result.map(Ran::Exited)
    }

    /// Removes container `id` after a failed or finished start; a failure
    /// is reported, not returned. One removed meanwhile (a command that
    /// found it exited with no live monitor applied its `--rm`) is done.
    pub(in crate::container) fn discard(&self, id: &str, maps: &IdMaps, progress: &dyn Progress) {
        let removed = self.store().and_then(|s| {
            let event = super::events::removal(s, id);
            match s.remove_container(id, maps) {
                Ok(()) => {
                    event.done();
                    Ok(())
                }
                Err(crate::storage::Error::ContainerNotKnown { .. }) => Ok(()),
                Err(e) => Err(Error::Store(e)),
            }
        });
        if let Err(e) = removed {
            progress.cleanup_failed(&e);
        }
    }

    /// Checks `req`, finds or pulls its image, records the container and
    /// its start spec. `is_monitored`: a monitor will start it (`run -d`,
    /// `create`), so the passthrough log driver, which needs the caller's
    /// own stdio, is refused.
    pub fn create_planned(
        &self,
        req: &CreateRequest,
        is_monitored: bool,
        progress: &dyn Progress,
    ) -> Result<Created, Error> {
        let asked = req;
        // --pod-id-file names the pod --pod would.
        let with_id = super::options::with_pod_id(req)?;
        let with_pod = self.with_pod(&with_id)?;
        let req = &*with_pod;
        let Checked {
            security,
            cgroups,
            hardening,
            mut own_mounts,
            log,
            env_files,
            metadata,
            manage,
            mut tuning,
            health,
        } = self.check(req, is_monitored, progress)?;
        let recorded = super::clone::recorded(asked, req.pod.as_deref(), &env_files);
        let maps = self.user_maps()?.clone();
        if let Some(reason) = &maps.fallback_reason {
            progress.warn(&format!(
                "{reason}: running with a single-id map (only root inside the container is mapped)"
            ));
        }
        let ids = super::ids::plan(&req.userns, &maps)?;
        let (ids, cdi_env) = self.with_cdi(&req.userns, ids, &mut own_mounts)?;
        let manage = Management {
            requires: self.requirement_ids(&req.manage.requires)?,
            ..manage
        };
        let secrets = self.resolve_secrets(&req.secrets)?;
        let store = self.store()?;
        self.find_mounted_images(store, &mut own_mounts)?;
        let rootfs = super::rootfs::source_of(req)?;
        let rec = match &rootfs {
            Some(found) => found.record.clone(),
            None => self.image_for(store, req, &maps, progress)?,
        };
        if let Some(name) = req.name.as_deref().filter(|_| req.manage.replace) {
            self.replace(name)?;
        }
        let config = RuntimeConfig::parse(&rec.config)?;
        let manage = super::health::with_check(manage, &health, config.healthcheck.as_ref())?;
        let (id, record) = new_record(req, &rec);
        let net_req = self.user_networks(req, ids.shift.is_some())?;
        let cmd_path = self.paths().network_cmd_path.as_deref();
        let mut network = plan_network(&net_req, &rec.config, cmd_path)?;
        let pod = self.join_pod(req, &mut network)?;
        if let Some(p) = &pod {
            super::pod_member::member_namespaces(p, &mut tuning);
        }
        let is_host_network = network.mode == net::Mode::Host;
        tuning.sysctls =
            tuning::plan_sysctls(&req.tuning.sysctls, is_host_network).map_err(Error::Tuning)?;
        // Held until the spec is saved: a racing removal waits for it.
        let (dirs, _creation) = store.create_container_held(&record).map_err(Error::Store)?;
        // `/` gets the image's root mode and times now, while the upper
        // directory is still ours (prepare_lowers may give it away).
        let root_entry = store.image_root(&rec.layers);
        store
            .set_upper_root(&dirs, root_entry.as_ref())
            .map_err(Error::Store)?;
        let lowers = super::ids::prepare_lowers(store, &rec.layers, &dirs, &maps, &ids)?;
        let volume_owner = super::ids::unmapped_users_root(&ids);
        let p = &req.process;
        let mut env_options = p.env_options.clone();
        env_options.fill_host_vars(std::env::vars());
        let opts = RunOptions {
            command: p.command.clone(),
            entrypoint: p.entrypoint.clone(),
            env: p.env.clone(),
            env_files,
            workdir: p.workdir.clone(),
            user: p.user.clone().or(ids.default_user),
            hostname: p
                .hostname
                .clone()
                .or_else(|| {
                    pod.as_ref()
                        .filter(|p| p.has_infra && p.shares("uts") && !p.is_host_uts)
                        .map(|p| p.host_name().to_string())
                })
                .or_else(|| super::options::host_name(&tuning)),
            interactive: p.interactive,
            tty: p.tty,
            env_options,
            remove: req.remove,
            log,
            security,
            cgroups,
            hardening,
            network,
            labels: super::labels::merge(&config.labels, &metadata.labels),
            annotations: metadata.annotations,
            manage,
            manage_stop_signal: req.manage.stop_signal.clone(),
            tuning,
        };
        let plan =
            Plan::new(id.clone(), dirs, lowers, ids.maps, &config, &opts).and_then(|mut plan| {
                plan.identity = ids.identity;
                super::cdi::merge_env(&mut plan.env, &cdi_env);
                plan.identity.extra_users = self.extra_users(&p.passwd, &plan)?;
                plan.root_entry = root_entry;
                plan.rootfs = rootfs.map(|found| found.rootfs);
                plan.request = recorded;
                plan.origin = Origin {
                    name: record.name.clone(),
                    image: record.image_name.clone(),
                    image_id: record.image_id.hex().to_string(),
                };
                if let Some(p) = &pod {
                    bind_pod(&mut plan, p)?;
                }
                let (image_volumes, own_mounts) =
                    self.finish_plan(req, &config, &mut plan, own_mounts)?;
                plan.volumes = plan_mounts(
                    store,
                    &id,
                    &req.mounts,
                    own_mounts,
                    &image_volumes,
                    req.remove,
                    &record.created,
                )?;
                if let Some(root) = volume_owner {
                    super::ids::give_new_volumes(store, &plan.volumes, &maps, root)?;
                }
                super::secret_use::plan(store, &mut plan, secrets, volume_owner, &maps)?;
                if req.restart != RestartPolicy::No {
                    store
                        .set_restart_policy(&id, Some(&req.restart.to_string()))
                        .map_err(Error::Store)?;
                }
                super::save_spec(store, &plan)?;
                if let Some(path) = &req.manage.cidfile {
                    super::management::write_cidfile(path, &id)?;
                }
                Ok(plan)
            });
        Ok(Created { id, maps, plan })
    }

    /// The checks that need no image: flags against each other and
    /// against this host.
    fn check(
        &self,
        req: &CreateRequest,
        is_monitored: bool,
        progress: &dyn Progress,
    ) -> Result<Checked, Error> {
        if req.remove && req.restart != RestartPolicy::No {
            return Err(Error::RemoveRestarted(req.restart.to_string()));
        }
        if let Some(name) = &req.name {
            if !crate::storage::is_valid_container_name(name) {
                return Err(Error::InvalidName(name.clone()));
            }
        } else if req.manage.replace {
            return Err(Error::ReplaceWithoutName);
        }
        image::check_authfile(req.registry.authfile.as_deref())?;
        let mut security = security::plan_security(&req.security).map_err(Error::Security)?;
        // Read and compile the seccomp profile now, so a bad one fails
        // before anything is pulled or created.
        crate::runtime::seccomp::resolve(&mut security.seccomp, security.caps, self.runroot()?)?;
        let (cgroups, rlimit_pids) = self.plan_cgroups(&req.cgroups, progress)?;
        let hardening = plan_hardening(&req.hardening, rlimit_pids)?;
        let own_mounts = parse_mounts(&req.mounts)?;
        let log = super::logread::parse_log_config(
            req.log.driver.as_deref(),
            &req.log.opts,
            is_monitored,
        )?;
        let env_files = super::options::read_env_files(&req.process.env_files)?;
        let m = &req.metadata;
        let metadata = super::labels::parse(&m.label_files, &m.labels, &m.annotations, &|k| {
            std::env::var(k).ok()
        })
        .map_err(Error::Labels)?;
        let manage = super::management::plan(&req.manage)?;
        let tuning = super::options::check_tuning(req, progress)?;
        let health = super::health::check(&req.health)?;
        Ok(Checked {
            security,
            cgroups,
            hardening,
            own_mounts,
            log,
            env_files,
            metadata,
            manage,
            tuning,
            health,
        })
    }

    /// The local image `req` names, or the one pulled for it as its pull
    /// policy says.
    pub(in crate::container) fn image_for(
        &self,
        store: &Store,
        req: &CreateRequest,
        maps: &IdMaps,
        progress: &dyn Progress,
    ) -> Result<crate::storage::ImageRecord, Error> {
        let paths = self.paths();
        // Checked first: a malformed --platform fails even for a local image.
        let wanted = req.platform.as_deref().map(Platform::parse).transpose()?;
        let local = match req.pull {
            PullPolicy::Always => None,
            _ => image::find_local(paths, store, &req.image)?,
        };
        if let Some(rec) = local {
            let have = Platform {
                os: rec.os.clone(),
                architecture: rec.architecture.clone(),
                variant: rec.variant.clone(),
            };
            match &wanted {
                // Another platform than the local image's: pull that one,
                // as Podman does, unless --pull=never.
                Some(want) if !want.is_met_by(&have) => {
                    if req.pull == PullPolicy::Never {
                        return Err(Error::PlatformMismatch {
                            image: req.image.clone(),
                            have: have.to_string(),
                            want: want.to_string(),
                        });
                    }
                }
                _ => return Ok(rec),
            }
        } else if req.pull == PullPolicy::Never {
            return Err(Error::ImageNotLocal(req.image.clone()));
        }
        let platform = wanted.unwrap_or_else(Platform::host);
        let opts = PullOptions {
            platform,
            quiet: req.quiet,
            tls_verify: req.registry.tls_verify,
            authfile: req.registry.authfile.clone(),
            cert_dir: req.registry.cert_dir.clone(),
            credentials: req.registry.credentials.clone(),
        };
        Ok(image::pull(
            paths, store, &req.image, &opts, maps, progress,
        )?)
    }

    /// Resolves the images of `--mount type=image` as other image names
    /// resolve (tags, short names, ids) to their unpacked layers, top first.
    fn find_mounted_images(&self, store: &Store, mounts: &mut [Mount]) -> Result<(), Error> {
        for m in mounts.iter_mut().filter(|m| m.kind == Kind::Image) {
            let rec = image::find_local(self.paths(), store, &m.source)?.ok_or_else(|| {
                volumes_error(volumes::Error::ImageUnknown {
                    image: m.source.clone(),
                })
            })?;
            m.layers = rec
                .layers
                .iter()
                .rev()
                .map(|l| store.layer_path(&l.diff_id))
                .collect();
        }
        Ok(())
    }

    /// The network request with `--network NAME` resolved into the user
    /// networks it names; `is_shifted` when the container's id maps are
    /// not the default ones, which a user network refuses.
    fn user_networks(
        &self,
        req: &CreateRequest,
        is_shifted: bool,
    ) -> Result<NetworkRequest, Error> {
        let mut net_req = req.network.clone();
        if let Some(attachments) = super::networks::resolve(&self.paths().root, &req.network)? {
            // The holder's user namespace is the container's: its maps.
            if is_shifted {
                return Err(super::networks::Error::Invalid {
                    field: "--userns",
                    value: req.userns.mode.clone().unwrap_or_else(|| "--uidmap".into()),
                    reason: "containers on user-defined networks share the user namespace of the network holder; drop --userns/--uidmap/--gidmap or use pasta".into(),
                }
                .into());
            }
            net_req.networks = attachments;
        }
        Ok(net_req)
    }

    /// For `--pod`: checks the flags, makes `network` the pod's (without
    /// its ports, which the pod publishes) and returns the pod. A member
    /// of a pod without an infra keeps its own network.
    fn join_pod(
        &self,
        req: &CreateRequest,
        network: &mut NetworkPlan,
    ) -> Result<Option<Pod>, Error> {
        let Some(name) = &req.pod else {
            return Ok(None);
        };
        let p = super::pod::find(&self.paths().root, name)?;
        if !p.has_infra {
            return Ok(Some(p));
        }
        if !req.network.publish.is_empty() || req.network.publish_all {
            return Err(Error::PodPublishes(name.clone()));
        }
        if req.network.network.is_some() {
            return Err(Error::PodNetwork(name.clone()));
        }
        *network = super::pod_member::member_network(&p, network);
        Ok(Some(p))
    }
}

/// Marks `plan` as a member of `p`, whose user namespace it must share
/// when `p` has an infra.
fn bind_pod(plan: &mut Plan, p: &Pod) -> Result<(), Error> {
    let is_own = plan.maps.uids != p.maps.uids || plan.maps.gids != p.maps.gids;
    if p.has_infra && is_own {
        return Err(super::pod::Error::OwnUserns(p.name.clone()).into());
    }
    plan.pod = Some(p.id.clone());
    Ok(())
}

/// A new container's id and record for `req` of image `rec`.
fn new_record(req: &CreateRequest, rec: &crate::storage::ImageRecord) -> (String, ContainerRecord) {
    let id = new_id();
    let name = req
        .name
        .clone()
        .unwrap_or_else(|| format!("hutch-{}", &id[..12]));
    let record = ContainerRecord {
        id: id.clone(),
        name,
        image_id: rec.id.clone(),
        image_name: req.image.clone(),
        created: super::now_rfc3339(),
    };
    (id, record)
}

/// Plans the network from the request and the image's exposed ports; the
/// published host ports are checked now and again at start.
fn plan_network(
    req: &NetworkRequest,
    config: &[u8],
    cmd_path: Option<&std::path::Path>,
) -> Result<NetworkPlan, Error> {
    if req.no_hosts && !req.add_hosts.is_empty() {
        return Err(Error::NoHostsWithAddHost);
    }
    for spec in &req.exposed {
        if spec.contains(':') || net::parse_publish(spec).is_err() {
            return Err(Error::InvalidExpose(spec.clone()));
        }
    }
    let mut full = req.clone();
    for port in net::exposed_ports(config) {
        if !full.exposed.contains(&port) {
            full.exposed.push(port);
        }
    }
    let helpers = net::find_helpers_with(&std::env::var("PATH").unwrap_or_default(), cmd_path)
        .map_err(Error::NetworkRequest)?;
    let proc = std::path::Path::new(super::PROC);
    let plan =
        net::plan_network(&full, &helpers, net::host_route(proc)).map_err(Error::NetworkRequest)?;
    // Fail before the container is recorded; start checks again.
    net::check_ports(&plan.ports, net::unprivileged_port_start(proc))
        .map_err(Error::NetworkRequest)?;
    Ok(plan)
}

/// Checks `--ulimit`, `--oom-score-adj` and `--init`; `pids_limit` is the
/// `--pids-limit` no cgroup can take (RLIMIT_NPROC instead).
fn plan_hardening(req: &HardeningRequest, pids_limit: Option<i64>) -> Result<Hardening, Error> {
    let req = HardeningRequest {
        pids_limit: pids_limit.map(|n| n.to_string()),
        ..req.clone()
    };
    let current_oom = hardening::current_oom_score_adj(std::path::Path::new(crate::runtime::PROC));
    hardening::plan_hardening(&req, &hardening::current_hard_limit, current_oom)
        .map_err(Error::Hardening)
}

/// The user's mounts, parsed: done before anything is created, so a typo
/// costs nothing.
fn parse_mounts(req: &VolumeRequest) -> Result<Vec<Mount>, Error> {
    let mut out = Vec::new();
    for v in &req.volume {
        out.push(volumes::parse_volume(v).map_err(volumes_error)?);
    }
    for m in &req.mount {
        out.push(volumes::parse_mount(m).map_err(volumes_error)?);
    }
    for t in &req.tmpfs {
        out.push(volumes::parse_tmpfs(t).map_err(volumes_error)?);
    }
    for f in &req.volumes_from {
        volumes::parse_volumes_from(f).map_err(volumes_error)?;
    }
    Ok(out)
}

/// Plans the mounts of the new container `id`: inherited ones, the
/// image's `VOLUME`s and the user's, resolved against the host and the
/// store. Nothing touches the database when there is nothing to mount.
fn plan_mounts(
    store: &Store,
    id: &str,
    req: &VolumeRequest,
    own: Vec<Mount>,
    image_volumes: &[String],
    is_removed: bool,
    created: &str,
) -> Result<Volumes, Error> {
    if own.is_empty() && image_volumes.is_empty() && req.volumes_from.is_empty() {
        return Ok(Volumes::default());
    }
    let mut inherited = Vec::new();
    for f in &req.volumes_from {
        inherited.extend(volumes::mounts_from(store, f).map_err(volumes_error)?);
    }
    let mounts = volumes::combine(inherited, image_volumes, own).map_err(volumes_error)?;
    volumes::resolve(store, id, mounts, is_removed, created).map_err(volumes_error)
}

fn volumes_error(e: volumes::Error) -> Error {
    Error::Volumes(Box::new(e))
}

/// A new random container id: 64 hex characters.
pub(super) fn new_id() -> String {
    let mut buf = [0u8; 32];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf));
    if filled.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seed = format!("{t}-{}", std::process::id());
        return crate::storage::Digest::of(seed.as_bytes())
            .hex()
            .to_string();
    }
    hex::encode(buf)
}
