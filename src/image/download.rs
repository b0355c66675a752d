//! Downloading one file over HTTP(S): a build context given as the URL of
//! a tarball (`hutch build https://…/ctx.tar.gz`). Registries are the
//! `client`'s; this is a plain GET that follows redirects and stops at a
//! size limit.

use std::io::{Read, Write};

/// What went wrong downloading.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Making the HTTP client.
    #[error("making the HTTP client")]
    Client(#[source] reqwest::Error),
    /// Sending the request or reading the response.
    #[error("GET {url}")]
    Get {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("GET {url}: the server answered {status}")]
    Status { url: String, status: u16 },
    /// Reading the body.
    #[error("reading {url}")]
    Read {
        url: String,
        #[source]
        source: std::io::Error,
    },
    /// The body is larger than the limit.
    #[error("{url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The body is empty.
    #[error("{url} is empty")]
    Empty { url: String },
}

/// Downloads `url` into `out` and returns its size; more than `limit`
/// bytes is an error. The client is dropped (its thread joined) before
/// this returns, so a caller may fork afterwards.
pub fn download(url: &str, out: &mut dyn Write, limit: u64) -> Result<u64, DownloadError> {
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("hutch/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(DownloadError::Client)?;
    let resp = client
        .get(url)
        .send()
        .map_err(|source| DownloadError::Get {
            url: url.to_string(),
            source,
        })?;
    if !resp.status().is_success() {
        return Err(DownloadError::Status {
            url: url.to_string(),
            status: resp.status().as_u16(),
        });
    }
    let mut body = resp.take(limit + 1);
    let n = std::io::copy(&mut body, out).map_err(|source| DownloadError::Read {
        url: url.to_string(),
        source,
    })?;
    drop(body);
    drop(client);
    if n > limit {
        return Err(DownloadError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    if n == 0 {
        return Err(DownloadError::Empty {
            url: url.to_string(),
        });
    }
    Ok(n)
}
