//! Issue #14, events: every container, image, volume and pod operation
//! records an event in the store's event log, `hutch events` reads them
//! back with Podman's filters, times and formats, concurrent writers lose
//! no line, a streaming reader follows the log across rotations, and
//! `--events-backend` picks where they go.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{image, Env, Run};

/// `hutch events --stream=false` with `extra`, as JSON objects.
fn events_json(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["events", "--stream=false", "--format", "json"];
    args.extend_from_slice(extra);
    let r = env.hutch(&args).success();
    r.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| r.fail(&format!("line {l:?} is not JSON: {e}")))
        })
        .collect()
}

/// Each event of `events` as `TYPE STATUS NAME`.
fn summaries(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["Type"].as_str().unwrap_or("?"),
                e["Status"].as_str().unwrap_or("?"),
                e["Name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The lines of the event log files (the rotated one first), failing
/// unless each is one JSON object.
fn log_lines(env: &Env) -> Vec<Value> {
    let dir = env.store().join("events");
    let mut out = Vec::new();
    for name in ["events.log.1", "events.log"] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} does not end with a newline"
        );
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: line {line:?} is not one JSON object: {e}"));
            out.push(v);
        }
    }
    out
}

#[test]
fn issue14_events_lifecycle_is_recorded_in_order() {
    // issue #14 (events): create, init, start, attach, died and cleanup of
    // a foreground run; the detached container's events from its monitor;
    // exec, rename, stop, remove; image, volume and pod events.
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&[
        "run", "--name", "one", "--label", "tier=web", &img, "sh", "-c", "exit 3",
    ])
    .code(3);
    env.hutch(&["run", "-d", "--name", "two", &img, "sleep", "300"])
        .success();
    env.hutch(&["exec", "two", "sh", "-c", "exit 4"]).code(4);
    env.hutch(&["rename", "two", "three"]).success();
    env.hutch(&["stop", "-t", "1", "three"]).success();
    env.hutch(&["rm", "one", "three"]).success();
    env.hutch(&["tag", &img, "localhost/other:1"]).success();
    env.hutch(&["untag", &img, "localhost/other:1"]).success();
    env.hutch(&["volume", "create", "v1"]).success();
    env.hutch(&["volume", "rm", "v1"]).success();
    env.hutch(&["pod", "create", "--name", "p1"]).success();
    env.hutch(&["pod", "rm", "p1"]).success();

    let all = events_json(&env, &[]);
    let got = summaries(&all);
    let want: Vec<String> = [
        format!("image pull {img}"),
        "container create one".into(),
        "container init one".into(),
        "container start one".into(),
        "container attach one".into(),
        "container died one".into(),
        "container cleanup one".into(),
        "container create two".into(),
        "container init two".into(),
        "container start two".into(),
        "container exec two".into(),
        "container exec_died two".into(),
        "container rename three".into(),
        "container stop three".into(),
        "container died three".into(),
        "container cleanup three".into(),
        "container remove one".into(),
        "container remove three".into(),
        "image tag localhost/other:1".into(),
        "image untag localhost/other:1".into(),
        "volume create v1".into(),
        "volume remove v1".into(),
        "pod create p1".into(),
        "pod remove p1".into(),
    ]
    .into();
    assert_eq!(got, want, "events in the log:\n{all:#?}");

    // The died events carry the exit code (137: the stop's SIGKILL after
    // its one second, or 143 when sleep heeded SIGTERM) and the labels.
    let died: Vec<&Value> = all.iter().filter(|e| e["Status"] == "died").collect();
    assert_eq!(died[0]["ContainerExitCode"], 3);
    assert_eq!(died[0]["Attributes"]["tier"], "web");
    assert_eq!(died[0]["Image"], format!("{img}:latest"));
    assert_eq!(died[0]["ID"].as_str().map(str::len), Some(64));
    let code = died[1]["ContainerExitCode"].as_i64();
    assert!(matches!(code, Some(137 | 143)), "{:#?}", died[1]);
    let exec_died = all.iter().find(|e| e["Status"] == "exec_died").unwrap();
    assert_eq!(exec_died["ContainerExitCode"], 4);

    // The default output is Podman's text line, labels after the name.
    let id = died[0]["ID"].as_str().unwrap();
    let r = env
        .hutch(&[
            "events",
            "--stream=false",
            "--filter",
            "event=died",
            "--filter",
            "container=one",
        ])
        .success();
    let line = r.stdout.trim_end();
    let tail = format!("+0000 UTC container died {id} (image={img}:latest, name=one, tier=web)");
    if r.stdout.lines().count() != 1 || !line.ends_with(&tail) {
        r.fail(&format!("expected one line ending with {tail:?}"));
    }
    // `2026-12-05 09:32:31.045640407 +0000 UTC`: date, time, fraction.
    let stamp = &line[..line.len() - tail.len()];
    let (date, time) = stamp.trim_end().split_once(' ').unwrap_or(("", ""));
    if date.len() != 10 || !time.starts_with(|c: char| c.is_ascii_digit()) || time.len() < 8 {
        r.fail("the line does not start with Go's time");
    }
    // --no-trunc=false cuts the id to 12 characters.
    env.hutch(&[
        "events",
        "--stream=false",
        "--no-trunc=false",
        "--filter",
        "event=died",
        "--filter",
        "container=one",
    ])
    .success()
    .stdout_has(&format!(" container died {} (image=", &id[..12]));
}

#[test]
fn issue14_events_died_carries_exit_code_and_labels_with_concurrent_writers() {
    // issue #14 acceptance: `events --stream=false --filter event=died`
    // lists each container's died event with its exit code and labels,
    // while two hutch processes at a time write many events: no line is
    // lost or mixed (each is one JSON object, and all are there).
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    const RUNS: usize = 6;
    const VOLUMES: usize = 40;
    std::thread::scope(|s| {
        for side in ["a", "b"] {
            let env = &env;
            let img = &img;
            s.spawn(move || {
                for i in 0..RUNS {
                    let label = format!("job={side}{i}");
                    let script = format!("exit {}", i + 1);
                    let mut args = vec!["run", "--rm", "--label", &label];
                    if i % 2 == 1 {
                        // The detached container's monitor writes its died.
                        args.push("-d");
                    }
                    args.extend([img.as_str(), "sh", "-c", &script]);
                    let r = env.hutch(&args);
                    if r.code != Some(0) && r.code != Some(i as i32 + 1) {
                        r.fail("the run failed");
                    }
                }
            });
            s.spawn(move || {
                for i in 0..VOLUMES {
                    let name = format!("{side}-vol{i}");
                    env.hutch(&["volume", "create", &name]).success();
                    env.hutch(&["volume", "rm", &name]).success();
                }
            });
        }
    });
    // The detached ones may still be finishing.
    let want_died = 2 * RUNS;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut died = events_json(&env, &["--filter", "event=died"]);
    while died.len() < want_died && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        died = events_json(&env, &["--filter", "event=died"]);
    }
    assert_eq!(died.len(), want_died, "died events: {died:#?}");
    for e in &died {
        let job = e["Attributes"]["job"]
            .as_str()
            .unwrap_or_else(|| panic!("no label: {e}"));
        let i: i64 = job[1..].parse().unwrap();
        assert_eq!(e["ContainerExitCode"].as_i64(), Some(i + 1), "{e}");
    }
    // The text lines show the labels too.
    let r = env
        .hutch(&["events", "--stream=false", "--filter", "event=died"])
        .success();
    for side in ["a", "b"] {
        for i in 0..RUNS {
            if !r.stdout.contains(&format!(", job={side}{i})")) {
                r.fail(&format!("no died line with the label job={side}{i}"));
            }
        }
    }
    // Every write is in the log: a run is 7 events (create, init, start,
    // attach or not, died, cleanup, remove), a volume 2, and the pull 1.
    let removed = wait_for_removals(&env, 2 * RUNS);
    let lines = log_lines(&env);
    let attached = RUNS / 2 + RUNS % 2;
    let want = 1 + 2 * (attached * 7 + (RUNS - attached) * 6) + 2 * VOLUMES * 2;
    assert_eq!(
        lines.len(),
        want,
        "{removed} removals; log:\n{}",
        summaries(&lines).join("\n")
    );
}

/// Waits until `count` container `remove` events are recorded (detached
/// `--rm` containers are removed by their monitors), returning how many.
fn wait_for_removals(env: &Env, count: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = events_json(
            env,
            &["--filter", "event=remove", "--filter", "type=container"],
        )
        .len();
        if n >= count || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn issue14_events_since_until_filters_and_formats() {
    // issue #14: --since/--until as Podman reads times (RFC 3339, Unix
    // seconds, durations), filters ANDed by key and ORed by value, json
    // and Go templates, and clear errors for what is not understood.
    let env = Env::new();
    for name in ["v1", "v2", "v3"] {
        env.hutch(&["volume", "create", "--label", "x=y", name])
            .success();
    }
    let all = events_json(&env, &[]);
    assert_eq!(
        summaries(&all),
        ["volume create v1", "volume create v2", "volume create v3"]
    );
    let t2 = all[1]["Time"].as_str().unwrap().to_string();
    let names = |extra: &[&str]| -> Vec<String> {
        events_json(&env, extra)
            .iter()
            .map(|e| e["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names(&["--since", &t2]), ["v3"]);
    assert_eq!(names(&["--until", &t2]), ["v1"]);
    assert_eq!(names(&["--since", "1h"]), ["v1", "v2", "v3"]);
    assert_eq!(
        names(&["--since", "1h", "--until", "-1h"]),
        Vec::<String>::new()
    );
    assert_eq!(names(&["--since", "1000000000.5"]), ["v1", "v2", "v3"]);
    assert_eq!(names(&["--until", "2001-01-01"]), Vec::<String>::new());
    assert_eq!(names(&["--filter", "volume=v2"]), ["v2"]);
    assert_eq!(
        names(&["--filter", "volume=v2", "--filter", "volume=v3"]),
        ["v2", "v3"]
    );
    assert_eq!(
        names(&["--filter", "volume=v2", "--filter", "event=remove"]),
        Vec::<String>::new()
    );
    assert_eq!(names(&["--filter", "type=container"]), Vec::<String>::new());

    // A template sees Podman's fields; `{{json .}}` is the log's line.
    env.hutch(&[
        "events",
        "--stream=false",
        "--filter",
        "volume=v1",
        "--format",
        "{{.Type}}|{{.Status}}|{{.Name}}|{{.ContainerExitCode}}|{{.Attributes}}",
    ])
    .success()
    .stdout_is("volume|create|v1|0|map[]");
    let r = env
        .hutch(&[
            "events",
            "--stream=false",
            "--filter",
            "volume=v1",
            "--format",
            "{{json .}}",
        ])
        .success();
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| r.fail(&e.to_string()));
    assert_eq!(v["Name"], "v1");
    assert_eq!(v["Attributes"], Value::Null);

    env.hutch(&["events", "--stream=false", "--filter", "bogus=1"])
        .tool_error(&["bogus is an invalid filter"]);
    env.hutch(&["events", "--stream=false", "--filter", "event"])
        .tool_error(&["event is an invalid filter"]);
    env.hutch(&["events", "--stream=false", "--since", "soon"])
        .tool_error(&["unable to convert since time of soon"]);
    env.hutch(&["events", "--stream=false", "--format", "{{.Nope}}"])
        .code(125);

    // --until with a duration streams until then, then stops.
    let started = Instant::now();
    env.hutch(&[
        "events",
        "--until",
        "2s",
        "--filter",
        "volume=v3",
        "--format",
        "{{.Name}}",
    ])
    .success()
    .stdout_is("v3");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "--until 2s returned early"
    );
}

#[test]
fn issue14_events_stream_follows_the_log_across_rotations() {
    // issue #14: the log is rotated by size (one previous file kept), and
    // a streaming `events` keeps reading across the rotations, losing
    // nothing.
    let mut env = Env::new();
    env.set_env("HUTCH_EVENTS_LOGFILE_MAX_SIZE", "3000");
    const COUNT: usize = 60;
    let mut reader = env.command(&[
        "events",
        "--since",
        "1h",
        "--filter",
        "type=volume",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    reader
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = reader.spawn().expect("starting hutch events");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    for i in 0..COUNT {
        let name = format!("vol{i:02}");
        env.hutch(&["volume", "create", &name]).success();
        env.hutch(&["volume", "rm", &name]).success();
        if i == 0 {
            // The reader is reading before the log is rotated.
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => got.push(line),
                Err(e) => panic!("hutch events printed nothing: {e}"),
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 2 * COUNT {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => got.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let want: Vec<String> = (0..COUNT)
        .flat_map(|i| [format!("create vol{i:02}"), format!("remove vol{i:02}")])
        .collect();
    assert_eq!(got, want, "the streaming reader missed events");

    // The log was rotated: the current file and one previous one, each
    // under the limit, the current one starting with the rotation event.
    let dir = env.store().join("events");
    let current = std::fs::read_to_string(dir.join("events.log")).unwrap();
    let previous = std::fs::read_to_string(dir.join("events.log.1")).unwrap();
    assert!(current.len() < 3000 && previous.len() < 3000);
    assert!(
        current
            .lines()
            .next()
            .unwrap_or("")
            .contains("\"Status\":\"log-rotation\""),
        "{current}"
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A reader from the start sees what the two files keep, in order.
    let kept = events_json(&env, &["--filter", "type=volume"]);
    let last = summaries(&kept).pop().unwrap_or_default();
    assert_eq!(last, format!("volume remove vol{:02}", COUNT - 1));
    assert!(kept.len() < 2 * COUNT, "nothing was rotated away");
}

#[test]
fn issue14_events_backend_none_records_nothing_and_events_says_so() {
    // issue #14: --events-backend none writes nothing and `events` says it
    // cannot read; an unknown backend is refused; journald fails clearly
    // where there is no journal, and works where there is one.
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&[
        "--events-backend",
        "none",
        "run",
        "--rm",
        "--name",
        "quiet",
        &img,
        "true",
    ])
    .success();
    env.hutch(&["--events-backend", "none", "volume", "create", "q"])
        .success();
    let names: Vec<String> = summaries(&events_json(&env, &[]));
    assert_eq!(names, [format!("image pull {img}")], "events were recorded");
    env.hutch(&["--events-backend", "none", "events", "--stream=false"])
        .tool_error(&["cannot read events with the \"none\" backend"]);
    env.hutch(&["--events-backend", "bogus", "ps"])
        .tool_error(&["\"bogus\" is not a valid events backend"]);
    let logger = ["info", "--format", "{{.Host.EventLogger}}"];
    env.hutch(&logger).success().stdout_is("file");
    let mut none = vec!["--events-backend", "none"];
    none.extend(logger);
    env.hutch(&none).success().stdout_is("none");

    // The detached container's monitor inherits the backend.
    env.hutch(&[
        "--events-backend",
        "none",
        "run",
        "-d",
        "--rm",
        &img,
        "true",
    ])
    .success();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        events_json(&env, &[]).len(),
        1,
        "the monitor recorded events"
    );

    let socket = std::path::Path::new("/run/systemd/journal/socket");
    let journald = |args: &[&str]| -> Run {
        let mut all = vec!["--events-backend", "journald"];
        all.extend_from_slice(args);
        env.hutch(&all)
    };
    if socket.exists() {
        journald(&["volume", "create", "jv"]).success();
        let r = journald(&[
            "events",
            "--stream=false",
            "--filter",
            "volume=jv",
            "--format",
            "{{.Name}}",
        ])
        .success();
        if !r.stdout.lines().any(|l| l == "jv") {
            r.fail("the journal did not give the event back");
        }
    } else {
        journald(&["events", "--stream=false"])
            .tool_error(&["journald", "/run/systemd/journal/socket does not exist"]);
        // A command still works, with one warning for all its events.
        let r = journald(&["run", "--rm", &img, "true"]).success();
        let warnings = r.stderr_lines("Warning: recording events");
        if warnings.len() != 1 {
            r.fail("expected one warning about the journal");
        }
    }
}
