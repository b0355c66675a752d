//! `search`: finding repositories at registries, as Podman's libimage
//! does it. A term `REGISTRY/TERM` searches that registry, any other term
//! the unqualified-search registries of registries.conf. Each registry is
//! asked Docker Hub's `/v1/search` first and, where it has none, its
//! `/v2/_catalog`, whose repository names are matched against the term
//! (a full match first). `--list-tags` lists `/v2/NAME/tags/list`.
//!
//! Nothing here prints; results come back as values for the CLI to format.

use std::path::PathBuf;

use serde::Deserialize;

use super::client::{Access, RegistryClient};
use super::credentials::Credentials;
use super::reference::{ImageName, Reference, DOCKER_HUB};
use super::registries::Registries;
use super::Error;
use crate::paths::Paths;

/// How many results a registry gives unless `--limit` says otherwise.
const DEFAULT_LIMIT: usize = 25;
/// How much of a description is shown unless `--no-trunc`.
const DESCRIPTION_WIDTH: usize = 44;
/// The largest catalog page, tag list page or v1 answer read.
const MAX_PAGE: u64 = 4 << 20;
/// The most catalog or tag-list pages followed (a registry whose `Link`
/// headers never end would otherwise be read for ever).
const MAX_PAGES: usize = 1000;
/// Docker Hub's search API host.
const DOCKER_HUB_INDEX: &str = "index.docker.io";

/// What `--filter` keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// `stars=N`: at least N stars.
    pub stars: u64,
    /// `is-automated=BOOL`.
    pub is_automated: Option<bool>,
    /// `is-official=BOOL`.
    pub is_official: Option<bool>,
}

impl SearchFilter {
    /// Parses `--filter` values as Podman does: `stars=N`, and
    /// `is-automated`/`is-official`, false only for `=false`.
    pub fn parse(filters: &[String]) -> Result<SearchFilter, Error> {
        let mut f = SearchFilter::default();
        for raw in filters {
            let (key, value) = match raw.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (raw.as_str(), None),
            };
            match key {
                "stars" => {
                    let v = value.ok_or_else(|| {
                        Error::SearchFilter(format!(
                            "invalid filter {:?}, should be stars=<value>",
                            filters
                        ))
                    })?;
                    f.stars = v.parse().map_err(|_| {
                        Error::SearchFilter(format!(
                            "incorrect value type for stars filter: {v:?} is not a number"
                        ))
                    })?;
                }
                "is-automated" => f.is_automated = Some(value != Some("false")),
                "is-official" => f.is_official = Some(value != Some("false")),
                _ => return Err(Error::SearchFilter(format!("invalid filter type {raw:?}"))),
            }
        }
        Ok(f)
    }

    fn keeps(&self, r: &Found) -> bool {
        r.stars >= self.stars
            && self.is_automated.is_none_or(|a| a == r.is_automated)
            && self.is_official.is_none_or(|o| o == r.is_official)
    }
}

/// How to search.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// `--limit`: 0 for the default (25 per registry); below 0 finds nothing.
    pub limit: i64,
    /// `--list-tags`: list the tags of the repository the term names.
    pub is_list_tags: bool,
    /// `--filter`.
    pub filter: SearchFilter,
    /// `--no-trunc`: full descriptions.
    pub is_no_trunc: bool,
    /// `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
    /// `--creds`: used instead of stored credentials.
    pub credentials: Option<Credentials>,
}

/// One result, with Podman's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// The registry searched.
    pub index: String,
    /// `registry/repository`.
    pub name: String,
    /// The description (v1 search only), truncated unless `--no-trunc`.
    pub description: String,
    /// Stars (v1 search only).
    pub stars: u64,
    /// Whether the repository is official (v1 search only).
    pub is_official: bool,
    /// Whether it is built automatically (v1 search only).
    pub is_automated: bool,
    /// The tag, with `--list-tags`.
    pub tag: String,
}

/// A repository as a registry reports it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
struct Found {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "star_count")]
    stars: u64,
    #[serde(default, rename = "is_official")]
    is_official: bool,
    #[serde(default, rename = "is_automated")]
    is_automated: bool,
}

#[derive(Deserialize)]
struct V1Results {
    #[serde(default)]
    results: Vec<Found>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Vec<String>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// Searches for `term`: the results of every registry that answered, or,
/// when none found anything, the errors of those that failed.
pub fn search(paths: &Paths, term: &str, opts: &SearchOptions) -> Result<Vec<SearchResult>, Error> {
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let (registries, term) = match term.split_once('/') {
        Some((reg, rest)) => (vec![reg.to_string()], rest),
        None => (regs.search_registries(), term),
    };
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for registry in &registries {
        match search_registry(paths, &regs, registry, term, opts) {
            Ok(found) => results.extend(found),
            Err(e) => failures.push(Error::Search {
                registry: registry.clone(),
                source: Box::new(e),
            }),
        }
    }
    if !results.is_empty() || failures.is_empty() {
        return Ok(results);
    }
    if failures.len() == 1 {
        return Err(failures.remove(0));
    }
    Err(Error::SearchAll(
        failures
            .iter()
            .map(|e| super::chain_text(e))
            .collect::<Vec<_>>()
            .join("; "),
    ))
}

/// The number of results to keep of `found`, as libimage counts it.
fn keep_count(found: usize, limit: i64) -> usize {
    match limit {
        0 => found.min(DEFAULT_LIMIT),
        l if l < 0 => 0,
        l => found.min(usize::try_from(l).unwrap_or(usize::MAX)),
    }
}

fn search_registry(
    paths: &Paths,
    regs: &Registries,
    registry: &str,
    term: &str,
    opts: &SearchOptions,
) -> Result<Vec<SearchResult>, Error> {
    if opts.is_list_tags {
        return list_tags(paths, regs, registry, term, opts);
    }
    let wanted = match opts.limit {
        l if l > 0 => usize::try_from(l).unwrap_or(usize::MAX),
        _ => DEFAULT_LIMIT,
    };
    let (client, _) = connect(paths, regs, registry, "", opts, true)?;
    let found = if term.is_empty() {
        None
    } else {
        v1_search(&client, registry, term, wanted)
    };
    let found = match found {
        Some(f) => f,
        None => catalog_search(&client, term, wanted)?,
    };
    drop(client);
    let keep = keep_count(found.len(), opts.limit);
    Ok(found
        .into_iter()
        .take(keep)
        .filter(|f| opts.filter.keeps(f))
        .map(|f| {
            let description = f.description.replace('\n', " ");
            let description =
                if !opts.is_no_trunc && description.chars().count() > DESCRIPTION_WIDTH {
                    let cut: String = description.chars().take(DESCRIPTION_WIDTH).collect();
                    format!("{}...", cut.trim_end())
                } else {
                    description
                };
            let name = if registry == DOCKER_HUB && !f.name.contains('/') {
                format!("{DOCKER_HUB}/library/{}", f.name)
            } else {
                format!("{registry}/{}", f.name)
            };
            SearchResult {
                index: registry.to_string(),
                name,
                description,
                stars: f.stars,
                is_official: f.is_official,
                is_automated: f.is_automated,
                tag: String::new(),
            }
        })
        .collect())
}

/// Connects to `registry` (repository `repository`, or the registry as
/// a whole when empty) with the options' TLS and credentials; returns
/// the client and the repository's path there (registries.conf may
/// rewrite it).
fn connect(
    paths: &Paths,
    regs: &Registries,
    registry: &str,
    repository: &str,
    opts: &SearchOptions,
    is_catalog: bool,
) -> Result<(RegistryClient, String), Error> {
    let r = Reference {
        registry: registry.to_string(),
        repository: repository.to_string(),
        tag: None,
        digest: None,
    };
    let mut ep = regs.endpoint(&r)?;
    if registry == DOCKER_HUB && repository.is_empty() {
        ep.host = DOCKER_HUB_INDEX.to_string();
    }
    let access = Access {
        auth_files: super::login::auth_files(paths, opts.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: opts.credentials.clone(),
    };
    let mut conn = access.options(&ep, opts.tls_verify)?;
    conn.is_catalog = is_catalog;
    Ok((RegistryClient::connect(&ep, &conn)?, ep.repository))
}

/// Docker Hub's search API; `None` when the registry has none.
fn v1_search(
    client: &RegistryClient,
    registry: &str,
    term: &str,
    limit: usize,
) -> Option<Vec<Found>> {
    let term = match registry {
        DOCKER_HUB => term.strip_prefix("library/").unwrap_or(term),
        _ => term,
    };
    let mut url = reqwest::Url::parse("http://x/v1/search").ok()?;
    url.query_pairs_mut()
        .append_pair("q", term)
        .append_pair("n", &limit.to_string());
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    match client.get_json(&path, MAX_PAGE) {
        Ok((body, _)) => match serde_json::from_slice::<V1Results>(&body) {
            Ok(r) => Some(r.results),
            Err(e) => {
                log::debug!("v1 search answer does not parse: {e}; trying the catalog");
                None
            }
        },
        Err(e) => {
            log::debug!("v1 search: {}; trying the catalog", super::chain_text(&e));
            None
        }
    }
}

/// The catalog's repositories containing `term`, a full match first, at
/// most `limit` of them.
fn catalog_search(client: &RegistryClient, term: &str, limit: usize) -> Result<Vec<Found>, Error> {
    let mut out: Vec<Found> = Vec::new();
    let mut path = "/v2/_catalog".to_string();
    for _ in 0..MAX_PAGES {
        if out.len() >= limit {
            break;
        }
        let (body, link) = client.get_json(&path, MAX_PAGE)?;
        let page: Catalog = serde_json::from_slice(&body).map_err(Error::SearchAnswer)?;
        for repo in page.repositories {
            if out.len() == limit {
                break;
            }
            if repo.contains(term) {
                let f = Found {
                    name: repo.clone(),
                    ..Found::default()
                };
                if repo == term {
                    out.insert(0, f);
                } else {
                    out.push(f);
                }
            }
        }
        match link.as_deref().and_then(next_page) {
            Some(next) => path = next,
            None => break,
        }
    }
    Ok(out)
}

/// The path and query of the next page a `Link: <URL>; rel="next"`
/// header names.
fn next_page(link: &str) -> Option<String> {
    let target = link.split(';').next()?.trim().trim_matches(['<', '>']);
    let url = reqwest::Url::parse("http://x/").ok()?.join(target).ok()?;
    Some(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}

/// The tags of repository `registry/term`.
fn list_tags(
    paths: &Paths,
    regs: &Registries,
    registry: &str,
    term: &str,
    opts: &SearchOptions,
) -> Result<Vec<SearchResult>, Error> {
    let full = format!("{registry}/{term}");
    let not_docker = || Error::NotDockerReference(term.to_string());
    if term.is_empty() {
        return Err(not_docker());
    }
    let parsed = ImageName::parse(&full).map_err(|_| not_docker())?;
    let r = parsed.qualify(DOCKER_HUB);
    let (client, repository) = connect(paths, regs, &r.registry, &r.repository, opts, false)?;
    let tags = repository_tags(&client, &repository)?;
    drop(client);
    let keep = keep_count(tags.len(), opts.limit);
    Ok(tags
        .into_iter()
        .take(keep)
        .map(|tag| SearchResult {
            index: String::new(),
            name: r.name(),
            description: String::new(),
            stars: 0,
            is_official: false,
            is_automated: false,
            tag,
        })
        .collect())
}

/// Lists every tag of `repository` at the registry `client` is connected
/// to (also for `pull --all-tags`).
pub(super) fn repository_tags(
    client: &RegistryClient,
    repository: &str,
) -> Result<Vec<String>, Error> {
    let mut tags = Vec::new();
    let mut path = format!("/v2/{repository}/tags/list");
    for _ in 0..MAX_PAGES {
        let (body, link) = client.get_json(&path, MAX_PAGE)?;
        let page: TagList = serde_json::from_slice(&body).map_err(Error::SearchAnswer)?;
        tags.extend(page.tags.unwrap_or_default());
        match link.as_deref().and_then(next_page) {
            Some(next) => path = next,
            None => break,
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, stars: u64, official: bool, automated: bool) -> Found {
        Found {
            name: name.into(),
            description: String::new(),
            stars,
            is_official: official,
            is_automated: automated,
        }
    }

    #[test]
    fn filters_parse_as_podman_parses_them() {
        let p =
            |v: &[&str]| SearchFilter::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["stars=3"]).unwrap().stars, 3);
        assert_eq!(p(&["is-official"]).unwrap().is_official, Some(true));
        assert_eq!(p(&["is-official=maybe"]).unwrap().is_official, Some(true));
        assert_eq!(
            p(&["is-automated=false"]).unwrap().is_automated,
            Some(false)
        );
        assert_eq!(
            p(&["foo=bar"]).unwrap_err().to_string(),
            "invalid filter type \"foo=bar\""
        );
        assert_eq!(
            p(&["stars"]).unwrap_err().to_string(),
            "invalid filter [\"stars\"], should be stars=<value>"
        );
        assert!(p(&["stars=x"])
            .unwrap_err()
            .to_string()
            .starts_with("incorrect value type for stars filter"));
    }

    #[test]
    fn filters_keep_by_stars_and_flags() {
        let filter = SearchFilter {
            stars: 2,
            is_official: Some(true),
            is_automated: None,
        };
        assert!(filter.keeps(&f("a", 2, true, false)));
        assert!(!filter.keeps(&f("a", 1, true, false)));
        assert!(!filter.keeps(&f("a", 5, false, true)));
        assert!(SearchFilter::default().keeps(&f("a", 0, false, false)));
    }

    #[test]
    fn limits_count_as_libimage_counts() {
        assert_eq!(keep_count(30, 0), 25);
        assert_eq!(keep_count(3, 0), 3);
        assert_eq!(keep_count(30, 2), 2);
        assert_eq!(keep_count(3, 101), 3);
        assert_eq!(keep_count(3, -1), 0);
    }

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_page("</v2/_catalog?last=b&n=2>; rel=\"next\"").as_deref(),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(
            next_page("<https://h:5000/v2/x/tags/list?n=1&last=a>; rel=\"next\"").as_deref(),
            Some("/v2/x/tags/list?n=1&last=a")
        );
    }

    #[test]
    fn v1_answers_parse() {
        let r: V1Results = serde_json::from_str(
            r#"{"num_results":1,"results":[{"name":"busybox","description":"d","star_count":7,"is_official":true,"is_automated":false}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.results,
            vec![Found {
                description: "d".into(),
                ..f("busybox", 7, true, false)
            }]
        );
    }
}
