//! Issue #14 (secrets): `secret create/ls/inspect/rm/exists` and `run
//! --secret` (files and variables), each compared with what Podman 4.3
//! does, as the unprivileged user.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{image, Env, Run};
use crate::push::hutch_stdin;

/// Podman's words for a name outside its rule.
const INVALID_NAME: &str = "only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Creates secret `name` holding `data` (through a file) and returns its id.
fn create(env: &Env, name: &str, data: &str) -> String {
    let file = env.dir.join(format!("{name}.data"));
    std::fs::write(&file, data).unwrap();
    let r = env
        .hutch(&["secret", "create", name, &file.display().to_string()])
        .success();
    let id = r.stdout.trim().to_string();
    if id.len() != 25 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        r.fail("expected a 25-character hex id");
    }
    id
}

#[test]
fn issue14_secrets_create_list_inspect_and_remove() {
    // issue #14 secrets: create from a file and from stdin, list, inspect
    // in Podman's shape, exists, rm, with Podman's words and codes.
    let env = Env::new();
    let id1 = create(&env, "pw", "hunter2");
    let id2 = hutch_stdin(
        &env,
        &["secret", "create", "--label", "app=db", "tok", "-"],
        "abc",
    )
    .success()
    .stdout
    .trim()
    .to_string();
    assert_eq!(id2.len(), 25, "stdin secret id {id2:?}");
    // The data is kept 0600 in a 0700 directory, outside the records.
    let data_dir = env.store().join("secrets/filedriver");
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&env.store().join("secrets")), 0o700);
    assert_eq!(mode(&data_dir.join(&id1)), 0o600);
    assert_eq!(std::fs::read(data_dir.join(&id2)).unwrap(), b"abc");
    let records = env.store().join("secrets/secrets.json");
    assert_eq!(mode(&records), 0o600);
    assert!(!std::fs::read_to_string(&records)
        .unwrap()
        .contains("hunter2"));

    let again = env.dir.join("pw.data").display().to_string();
    env.hutch(&["secret", "create", "pw", &again])
        .tool_error(&["pw: secret name in use"]);
    // Listed by id, with Podman's columns.
    let mut ids = [id1.clone(), id2.clone()];
    ids.sort();
    let ls = env.hutch(&["secret", "ls"]).success();
    let header = ls.stdout.lines().next().unwrap_or_default();
    let words: Vec<&str> = header.split_whitespace().collect();
    if words != ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"] || !ls.stdout.contains("file") {
        ls.fail("expected Podman's table");
    }
    env.hutch(&["secret", "ls", "-q"])
        .success()
        .stdout_is(&ids.join("\n"));
    env.hutch(&[
        "secret",
        "list",
        "--noheading",
        "--format",
        "table {{.Name}}",
    ])
    .success()
    .stdout_has("pw");
    env.hutch(&[
        "secret",
        "ls",
        "--filter",
        "name=to",
        "--format",
        "{{.Name}} {{.Driver}}",
    ])
    .success()
    .stdout_is("tok file");
    env.hutch(&["secret", "ls", "-f", &format!("id={}", &id1[..8]), "-q"])
        .success()
        .stdout_is(&id1);
    env.hutch(&["secret", "ls", "--filter", "label=x"])
        .tool_error(&["invalid filter \"label\""]);
    let json = env
        .hutch(&["secret", "ls", "--format", "json"])
        .success()
        .json();
    assert_eq!(json.as_array().map(Vec::len), Some(2), "{json}");
    assert_eq!(json[0]["ID"], ids[0].as_str());

    let v = env.hutch(&["secret", "inspect", "tok"]).success().json();
    let o = &v[0];
    assert_eq!(o["ID"], id2.as_str());
    assert_eq!(o["CreatedAt"], o["UpdatedAt"]);
    assert_eq!(o["Spec"]["Name"], "tok");
    assert_eq!(o["Spec"]["Driver"]["Name"], "file");
    assert_eq!(
        o["Spec"]["Driver"]["Options"]["path"],
        data_dir.display().to_string().as_str()
    );
    assert_eq!(o["Spec"]["Labels"]["app"], "db");
    env.hutch(&["secret", "inspect", "--format", "{{.Spec.Name}}", &id1[..6]])
        .success()
        .stdout_is("pw");
    env.hutch(&["secret", "inspect", "--pretty", "pw"])
        .success()
        .stdout_has("Name:              pw\nDriver:            file\n");
    let missing = env
        .hutch(&["secret", "inspect", "pw", "nosuch"])
        .tool_error(&["inspecting secret: no secret with name or id \"nosuch\": no such secret"]);
    assert_eq!(missing.json()[0]["ID"], id1.as_str());

    env.hutch(&["secret", "exists", "pw"]).code(0).stdout_is("");
    env.hutch(&["secret", "exists", "nosuch"])
        .code(1)
        .stdout_is("");
    // rm goes on past a missing name and exits 125 for it.
    env.hutch(&["secret", "rm", "nosuch", "pw"])
        .tool_error(&["no secret with name or id \"nosuch\": no such secret"])
        .stdout_is(&id1);
    assert!(!data_dir.join(&id1).exists());
    env.hutch(&["secret", "exists", "pw"]).code(1);
    env.hutch(&["secret", "rm"])
        .tool_error(&["requires one argument, or the --all flag"]);
    env.hutch(&["secret", "rm", "--all"])
        .success()
        .stdout_is(&id2);
    env.hutch(&["secret", "ls", "-q"]).success().stdout_is("");
    assert!(!data_dir.join(&id2).exists());
}

#[test]
fn issue14_secrets_refuse_hostile_names_and_sizes() {
    // issue #14 secrets: a name with a path separator or `..` never names
    // a file; data must be 1 to 511999 bytes; only the file driver.
    let mut env = Env::new();
    let file = env.dir.join("data");
    std::fs::write(&file, "x").unwrap();
    let file = file.display().to_string();
    let long = "a".repeat(65);
    for name in [
        "a/b",
        "..",
        "../x",
        "../../victim",
        "_a",
        "a-",
        "a.",
        "",
        &long,
    ] {
        env.hutch(&["secret", "create", name, &file])
            .tool_error(&[INVALID_NAME, "invalid secret name"]);
    }
    env.hutch(&["secret", "rm", "../x"])
        .tool_error(&["invalid secret name"]);
    env.hutch(&["secret", "inspect", "../x"])
        .tool_error(&["no such secret"]);
    // Nothing was written for them, inside the store or beside it.
    let listed: Vec<String> = crate::common::list_dir(&env.store().join("secrets"));
    assert!(
        listed.iter().all(|n| n == "secrets.lock"),
        "store/secrets holds {listed:?}"
    );
    for beside in [env.store().join("x"), env.data_home.join("victim")] {
        assert!(!beside.exists(), "{} was made", beside.display());
    }
    env.hutch(&["secret", "create", &"a".repeat(64), &file])
        .success();

    let size_error = "secret data must be larger than 0 and less than 512000 bytes";
    let empty = env.dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    env.hutch(&["secret", "create", "e", &empty.display().to_string()])
        .tool_error(&[size_error]);
    let big = env.dir.join("big");
    std::fs::write(&big, vec![b'x'; 512_000]).unwrap();
    env.hutch(&["secret", "create", "big", &big.display().to_string()])
        .tool_error(&[size_error]);
    std::fs::write(&big, vec![b'x'; 511_999]).unwrap();
    env.hutch(&["secret", "create", "big", &big.display().to_string()])
        .success();
    hutch_stdin(
        &env,
        &["secret", "create", "big2", "-"],
        &"y".repeat(600_000),
    )
    .tool_error(&[size_error]);

    env.hutch(&["secret", "create", "--driver", "pass", "p", &file])
        .tool_error(&["secret driver \"pass\" is not supported"]);
    env.hutch(&["secret", "create", "--env", "v", "HUTCH_SECRET_VALUE"])
        .tool_error(&["environment variable HUTCH_SECRET_VALUE is not set"]);
    env.set_env("HUTCH_SECRET_VALUE", "from-env");
    env.hutch(&["secret", "create", "--env", "v", "HUTCH_SECRET_VALUE"])
        .success();
    let id = env
        .hutch(&["secret", "inspect", "--format", "{{.ID}}", "v"])
        .success()
        .stdout
        .trim()
        .to_string();
    let data = env.store().join("secrets/filedriver").join(id);
    assert_eq!(std::fs::read_to_string(data).unwrap(), "from-env");
}

#[test]
fn issue14_secrets_concurrent_creates_make_one_secret_per_name() {
    // issue #14 secrets: concurrent invocations are safe: of six creations
    // of one name one wins; six of different names all stay recorded.
    let env = Env::new();
    let file = env.dir.join("data");
    std::fs::write(&file, "x").unwrap();
    let file = file.display().to_string();
    let same: Vec<_> = (0..6)
        .map(|_| env.spawn(&["secret", "create", "one", &file]))
        .collect();
    let runs: Vec<Run> = same.into_iter().map(|p| p.wait()).collect();
    let won = runs.iter().filter(|r| r.code == Some(0)).count();
    if won != 1 {
        let all: Vec<String> = runs.iter().map(|r| r.to_string()).collect();
        panic!(
            "expected one creation to win, {won} did:\n{}",
            all.join("\n")
        );
    }
    for r in runs.iter().filter(|r| r.code != Some(0)) {
        assert!(r.stderr.contains("one: secret name in use"), "{r}");
    }
    let many: Vec<_> = (0..6)
        .map(|i| env.spawn(&["secret", "create", &format!("n{i}"), &file]))
        .collect();
    for p in many {
        p.wait().success();
    }
    let names = env
        .hutch(&["secret", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout;
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["n0", "n1", "n2", "n3", "n4", "n5", "one"]);
}

#[test]
fn issue14_secrets_reach_containers_as_files_and_variables() {
    // issue #14 secrets: `--secret` on run, create, container run and
    // container create: a read-only file at /run/secrets/NAME or target,
    // owned and moded as asked (0444 by default), or a variable.
    let env = Env::new();
    let img = image("busybox");
    create(&env, "s1", "hello");
    let show = "stat -c '%u %g %a' /run/secrets/s1; cat /run/secrets/s1; echo; \
                echo x > /run/secrets/s1 || echo read-only";
    env.hutch(&["run", "--rm", "--secret", "s1", &img, "sh", "-c", show])
        .success()
        .stdout_is("0 0 444\nhello\nread-only");
    env.hutch(&[
        "container",
        "run",
        "--rm",
        "--secret",
        "s1,type=env",
        &img,
        "sh",
        "-c",
        "echo $s1",
    ])
    .success()
    .stdout_is("hello");
    let env_target = "echo $FOO; env | grep -c '^s1=' || true";
    env.hutch(&[
        "run",
        "--rm",
        "--secret",
        "s1,type=env,target=FOO",
        &img,
        "sh",
        "-c",
        env_target,
    ])
    .success()
    .stdout_is("hello\n0");
    let owned = "s1,target=/etc/x,uid=5,gid=6,mode=0400";
    env.hutch(&[
        "run",
        "--rm",
        "--secret",
        owned,
        &img,
        "sh",
        "-c",
        "stat -c '%u %g %a' /etc/x; cat /etc/x",
    ])
    .success()
    .stdout_is("5 6 400\nhello");
    env.hutch(&[
        "run",
        "--rm",
        "--secret",
        "s1,target=rel/y",
        &img,
        "cat",
        "/run/secrets/rel/y",
    ])
    .success()
    .stdout_is("hello");
    // A target with `..` is cleaned as Podman cleans it, inside the root.
    env.hutch(&[
        "run",
        "--rm",
        "--secret",
        "s1,target=../../etc/evil",
        &img,
        "cat",
        "/etc/evil",
    ])
    .success()
    .stdout_is("hello");

    // inspect shows the mounted ones as Podman does.
    for cmd in [&["create"][..], &["container", "create"][..]] {
        let name = format!("c{}", cmd.len());
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(["--name", &name, "--secret", "s1,uid=3,gid=4,mode=0640"]);
        args.extend(["--secret", "s1,type=env", &img, "true"]);
        env.hutch(&args).success();
        let v = env.hutch(&["inspect", &name]).success().json();
        let secrets = &v[0]["Config"]["Secrets"];
        assert_eq!(secrets.as_array().map(Vec::len), Some(1), "{secrets}");
        assert_eq!(secrets[0]["Name"], "s1");
        assert_eq!(
            (&secrets[0]["UID"], &secrets[0]["GID"], &secrets[0]["Mode"]),
            (&3.into(), &4.into(), &0o640.into())
        );
    }

    env.hutch(&["run", "--rm", "--secret", "nosuch", &img, "true"])
        .tool_error(&["no secret with name or id \"nosuch\": no such secret"]);
    env.hutch(&["run", "--rm", "--secret", "s1,type=env,uid=5", &img, "true"])
        .tool_error(&["UID, GID, Mode options cannot be set with secret type env: parsing secret"]);
    env.hutch(&["create", "--secret", "s1,type=bogus", &img, "true"])
        .tool_error(&["type bogus is invalid: parsing secret"]);
    // The copy is private to the user: 0700 in the container's directory.
    let id = env
        .hutch(&["inspect", "--format", "{{.Id}}", "c1"])
        .success()
        .stdout
        .trim()
        .to_string();
    let copies = env.store().join("containers").join(id).join("secrets");
    assert_eq!(mode(&copies), 0o700);
}

#[test]
fn issue14_secrets_removed_while_used_behave_as_in_podman() {
    // issue #14 secrets: `secret rm` of a used secret is allowed (Podman
    // 4.3); a mounted copy stays, a variable is read at each start, so
    // the start fails until a secret of that name exists again.
    let env = Env::new();
    let img = image("busybox");
    create(&env, "s1", "first");
    env.hutch(&[
        "create",
        "--name",
        "files",
        "--secret",
        "s1",
        &img,
        "cat",
        "/run/secrets/s1",
    ])
    .success();
    env.hutch(&[
        "create",
        "--name",
        "vars",
        "--secret",
        "s1,type=env,target=V",
        &img,
        "sh",
        "-c",
        "echo $V",
    ])
    .success();
    env.hutch(&["start", "-a", "vars"])
        .success()
        .stdout_is("first");
    env.hutch(&["secret", "rm", "s1"]).success();
    env.hutch(&["start", "-a", "files"])
        .success()
        .stdout_is("first");
    env.hutch(&["start", "-a", "vars"])
        .tool_error(&["no secret with name or id \"s1\": no such secret"]);
    create(&env, "s1", "second");
    env.hutch(&["start", "-a", "vars"])
        .success()
        .stdout_is("second");
    env.hutch(&["start", "-a", "files"])
        .success()
        .stdout_is("first");
}
