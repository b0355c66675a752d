//! Front ends that are not the command line: they read their own input
//! (Kubernetes YAML) and build the engine's typed requests, as the CLI's
//! flags do. They never print; the CLI formats what they return.

pub mod kube;
