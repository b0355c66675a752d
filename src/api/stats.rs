//! `GET /containers/{id}/stats`: the engine's readings (the same as
//! `hutch stats`) in Docker's shape, once (`stream=false`: two readings a
//! second apart, so that the client can compute the CPU share from
//! `precpu_stats`, or one with `one-shot=true`) or once a second until the
//! client leaves or the container stops.

use std::time::Duration;

use serde_json::{json, Value};

use super::docker::{Ctx, Failure, Reply};
use super::http::{self, Request};
use crate::container::query::Reading;
use crate::container::{self, Engine};
use crate::error::render_chain;

/// How long apart two readings are.
const INTERVAL: Duration = Duration::from_secs(1);

/// Nanoseconds per clock tick of /proc/stat (USER_HZ is 100 on Linux).
const NS_PER_TICK: u64 = 10_000_000;

/// One reading of container `id`, 409 when it runs without a cgroup
/// (rootless on cgroup v1), as `hutch stats` refuses it.
fn read(engine: &Engine, id: &str) -> Result<Reading, Failure> {
    let mut r = engine
        .read_all_stats(&[id.to_string()])
        .map_err(|e| match e {
            container::Error::NoCgroup(_) => Failure::new(409, render_chain(&e)),
            e => Failure::from(e),
        })?;
    r.pop()
        .ok_or_else(|| Failure::new(404, format!("No such container: {id}")))
}

/// The host's CPU time so far (all CPUs), in nanoseconds, and the count of
/// online CPUs, from /proc/stat.
fn system_cpu() -> (u64, usize) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_proc_stat(&text)
}

fn parse_proc_stat(text: &str) -> (u64, usize) {
    let mut total = 0;
    let mut cpus = 0;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("cpu") => {
                total = words
                    .take(8)
                    .filter_map(|w| w.parse::<u64>().ok())
                    .sum::<u64>()
                    * NS_PER_TICK;
            }
            Some(w) if w.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus.max(1))
}

/// The `cpu_stats`/`precpu_stats` object of a reading.
fn cpu_object(r: Option<&Reading>, system: (u64, usize)) -> Value {
    let usage_ns = r.map_or(0, |r| r.stats.cpu_usec * 1000);
    json!({
        "cpu_usage": {
            "total_usage": usage_ns,
            "usage_in_kernelmode": 0,
            "usage_in_usermode": usage_ns,
        },
        "system_cpu_usage": system.0,
        "online_cpus": system.1,
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    })
}

/// Docker's stats object of reading `r`, after `pre` (the reading before,
/// zeros when none) taken with the host's CPU time `pre_system`.
fn object(r: &Reading, pre: Option<&Reading>, pre_system: (u64, usize)) -> Value {
    let now = crate::container::now_rfc3339();
    let system = system_cpu();
    let blk = |op: &str, value: u64| json!({ "major": 0, "minor": 0, "op": op, "value": value });
    json!({
        "id": r.id,
        "name": format!("/{}", r.name),
        "read": now,
        "preread": if pre.is_some() { json!(now) } else { json!("0001-01-01T00:00:00Z") },
        "pids_stats": { "current": r.stats.pids },
        "cpu_stats": cpu_object(Some(r), system),
        "precpu_stats": cpu_object(pre, pre_system),
        "memory_stats": {
            "usage": r.stats.memory_bytes,
            "limit": r.memory_limit,
            "stats": {},
        },
        "blkio_stats": {
            "io_service_bytes_recursive": [
                blk("read", r.stats.io_read_bytes),
                blk("write", r.stats.io_write_bytes),
            ],
        },
        "networks": {
            "eth0": {
                "rx_bytes": r.net.0,
                "tx_bytes": r.net.1,
                "rx_packets": 0, "tx_packets": 0, "rx_errors": 0,
                "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0,
            },
        },
    })
}

/// `GET /containers/{id}/stats?stream=&one-shot=`.
pub fn stats(ctx: &mut Ctx<'_>, id: &str, req: &Request) -> Result<Reply, Failure> {
    let is_stream = req
        .param("stream")
        .is_none_or(|s| req.flag("stream") || s.is_empty());
    let first = read(ctx.engine, id)?;
    let first_system = system_cpu();
    if !is_stream {
        if req.flag("one-shot") {
            return Ok(Reply::Json(200, object(&first, None, (0, first_system.1))));
        }
        std::thread::sleep(INTERVAL);
        let second = read(ctx.engine, id)?;
        return Ok(Reply::Json(
            200,
            object(&second, Some(&first), first_system),
        ));
    }
    ctx.write_stream_head("application/json", &[("Transfer-Encoding", "chunked")])?;
    let mut pre = (first, first_system);
    let mut is_first = true;
    loop {
        let (r, sys) = match is_first {
            true => (pre.0.clone(), pre.1),
            false => match read(ctx.engine, id) {
                Ok(r) => (r, system_cpu()),
                Err(_) => break,
            },
        };
        let v = match is_first {
            true => object(&r, None, (0, sys.1)),
            false => object(&r, Some(&pre.0), pre.1),
        };
        if http::write_chunk(&mut ctx.conn, format!("{v}\n").as_bytes()).is_err() {
            return Ok(Reply::Streamed);
        }
        let is_running = ctx.engine.is_running(&r.id).unwrap_or(false);
        if !is_running {
            break;
        }
        pre = (r, sys);
        is_first = false;
        std::thread::sleep(INTERVAL);
    }
    let _ = http::end_chunks(&mut ctx.conn);
    Ok(Reply::Streamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_gives_total_time_and_cpus() {
        let text = "cpu  10 0 5 100 5 0 0 0 0 0\ncpu0 5 0 2 50 2 0 0 0 0 0\ncpu1 5 0 3 50 3 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_proc_stat(text), (120 * NS_PER_TICK, 2));
        assert_eq!(parse_proc_stat(""), (0, 1));
    }
}
