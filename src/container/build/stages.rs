//! Which stages a build runs and what each is built on: the target
//! stage, the stages it needs through `FROM` and `COPY --from` (and none
//! other), the global `ARG`s that `FROM` lines may use, and the
//! predefined platform arguments. Pure: no I/O.

use crate::image::containerfile::{self, words, Containerfile, Kind};

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: nothing.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image, by the name given (variables expanded).
    Image(String),
}

/// The arguments Docker and Podman predefine for the platform built for
/// and built on (the same here: hutch builds for its host).
pub fn platform_args(os: &str, arch: &str, variant: Option<&str>) -> Vec<(String, String)> {
    let platform = match variant {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    };
    let variant = variant.unwrap_or_default().to_string();
    let mut out = Vec::new();
    for side in ["TARGET", "BUILD"] {
        out.push((format!("{side}PLATFORM"), platform.clone()));
        out.push((format!("{side}OS"), os.to_string()));
        out.push((format!("{side}ARCH"), arch.to_string()));
        out.push((format!("{side}VARIANT"), variant.clone()));
    }
    out
}

/// The proxy arguments a build may be given without declaring them.
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

fn lookup<'a>(vars: &'a [(String, String)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// The values of the `ARG`s before the first `FROM`: `--build-arg`s
/// first, else their defaults (which may use earlier ones and the
/// platform arguments). Unset ones are left out.
pub fn global_args(
    cf: &Containerfile,
    build_args: &[(String, String)],
    platform: &[(String, String)],
) -> Result<Vec<(String, String)>, containerfile::Error> {
    let mut out: Vec<(String, String)> = platform.to_vec();
    for (name, default) in &cf.global_args {
        let given = build_args.iter().rev().find(|(k, _)| k == name);
        let value = match (given, default) {
            (Some((_, v)), _) => Some(v.clone()),
            (None, Some(d)) => Some(words::expand(d, cf.escape, &lookup(&out))?),
            (None, None) => None,
        };
        if let Some(v) = value {
            out.push((name.clone(), v));
        }
    }
    Ok(out)
}

/// The index of the stage `target` names (the last one when `None`).
pub fn target_index(cf: &Containerfile, target: Option<&str>) -> Option<usize> {
    match target {
        None => Some(cf.stages.len() - 1),
        Some(t) => {
            let t = t.to_ascii_lowercase();
            cf.stages.iter().position(|s| s.name.as_deref() == Some(&t))
        }
    }
}

/// The earlier stage `reference` (a name or an index) names, seen from
/// stage `before`.
pub fn stage_named(cf: &Containerfile, reference: &str, before: usize) -> Option<usize> {
    let r = reference.to_ascii_lowercase();
    if let Some(i) = cf.stages[..before]
        .iter()
        .position(|s| s.name.as_deref() == Some(&r))
    {
        return Some(i);
    }
    r.parse::<usize>().ok().filter(|i| *i < before)
}

/// What stage `index` is built on, its `FROM` expanded with `globals`.
pub fn base_of(
    cf: &Containerfile,
    index: usize,
    globals: &[(String, String)],
) -> Result<Base, containerfile::Error> {
    let from = &cf.stages[index].from;
    let image = words::expand(&from.image, cf.escape, &lookup(globals))?;
    if image.eq_ignore_ascii_case("scratch") {
        return Ok(Base::Scratch);
    }
    let r = image.to_ascii_lowercase();
    match cf.stages[..index]
        .iter()
        .position(|s| s.name.as_deref() == Some(&r))
    {
        Some(i) => Ok(Base::Stage(i)),
        None => Ok(Base::Image(image)),
    }
}

/// Which stages building stage `target` needs: it, and every stage its
/// `FROM` or a `COPY --from` names, recursively.
pub fn needed(
    cf: &Containerfile,
    target: usize,
    globals: &[(String, String)],
) -> Result<Vec<bool>, containerfile::Error> {
    let mut need = vec![false; cf.stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if need[i] {
            continue;
        }
        need[i] = true;
        if let Base::Stage(j) = base_of(cf, i, globals)? {
            todo.push(j);
        }
        for ins in &cf.stages[i].instructions {
            // `COPY --from=NAME` and `RUN --mount=...,from=NAME,...`.
            let froms: Vec<String> = match &ins.kind {
                Kind::Copy { flags, .. } => {
                    containerfile::flag(flags, "from").into_iter().collect()
                }
                Kind::Run { flags, .. } => flags
                    .iter()
                    .filter(|(name, _)| name == "mount")
                    .flat_map(|(_, spec)| {
                        spec.split(',')
                            .filter_map(|p| p.strip_prefix("from="))
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for from in froms {
                // Stage arguments are not known yet; the globals give
                // what a `--from=$STAGE` can name here.
                let from = words::expand(&from, cf.escape, &lookup(globals)).unwrap_or(from);
                if let Some(j) = stage_named(cf, &from, i) {
                    todo.push(j);
                }
            }
        }
    }
    Ok(need)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "ARG BASE=img\nARG TAG\nFROM ${BASE}:${TAG:-1} AS one\nRUN a\n\
        FROM scratch AS two\nCOPY x /\n\
        FROM one AS three\nCOPY --from=two / /\n\
        FROM img AS unused\n";

    #[test]
    fn only_the_stages_the_target_needs_are_built() {
        let cf = containerfile::parse(FILE).unwrap();
        let g = global_args(&cf, &[], &[]).unwrap();
        assert_eq!(g, [("BASE".to_string(), "img".to_string())]);
        assert_eq!(target_index(&cf, None), Some(3));
        assert_eq!(target_index(&cf, Some("THREE")), Some(2));
        assert_eq!(target_index(&cf, Some("nope")), None);
        assert_eq!(needed(&cf, 2, &g).unwrap(), [true, true, true, false]);
        assert_eq!(needed(&cf, 0, &g).unwrap(), [true, false, false, false]);
        // issue #15 item 4: RUN --mount from= needs its stage too.
        let mounts = containerfile::parse(
            "FROM img AS b\nFROM img AS c\nFROM img\nRUN --mount=type=bind,from=b,target=/m true\n",
        )
        .unwrap();
        assert_eq!(needed(&mounts, 2, &g).unwrap(), [true, false, true]);
        assert_eq!(needed(&cf, 3, &g).unwrap(), [false, false, false, true]);
    }

    #[test]
    fn from_lines_use_global_args_and_build_args() {
        let cf = containerfile::parse(FILE).unwrap();
        let args = [("TAG".to_string(), "2".to_string())];
        let g = global_args(&cf, &args, &platform_args("linux", "amd64", None)).unwrap();
        assert_eq!(base_of(&cf, 0, &g).unwrap(), Base::Image("img:2".into()));
        assert_eq!(base_of(&cf, 1, &g).unwrap(), Base::Scratch);
        assert_eq!(base_of(&cf, 2, &g).unwrap(), Base::Stage(0));
        let g = global_args(&cf, &[], &[]).unwrap();
        assert_eq!(base_of(&cf, 0, &g).unwrap(), Base::Image("img:1".into()));
        assert_eq!(stage_named(&cf, "0", 2), Some(0));
        assert_eq!(stage_named(&cf, "2", 2), None);
        let p = platform_args("linux", "arm64", Some("v8"));
        assert!(p.contains(&("TARGETPLATFORM".into(), "linux/arm64/v8".into())));
        assert!(p.contains(&("BUILDARCH".into(), "arm64".into())));
    }
}
