//! Issue #13 (Podman's CLI contract): `image trust show|set`, and every
//! pull obeying the signature policy they edit.

use crate::common::{image, registry, Env};

fn user_policy(env: &Env) -> std::path::PathBuf {
    env.config_home.join("containers/policy.json")
}

#[test]
fn issue13_trust_set_show_and_pulls_obey_the_policy() {
    let env = Env::new();
    let reg = registry();
    let busybox = image("busybox");
    // Default reject: the user's file is created and the pull refused,
    // nothing stored.
    env.hutch(&["image", "trust", "set", "-t", "reject", "default"])
        .success()
        .stderr_empty();
    assert!(user_policy(&env).is_file());
    env.hutch(&["pull", "-q", &busybox])
        .error_exit(125, &["rejected by policy", &busybox]);
    assert_eq!(env.hutch(&["images", "-q"]).success().stdout, "");
    // The registry accepted: the pull works; the table shows both rows.
    env.hutch(&["image", "trust", "set", "--type", "accept", &reg])
        .success();
    env.hutch(&["pull", "-q", &busybox]).success();
    let table = env.hutch(&["image", "trust", "show"]).success();
    let rows: Vec<Vec<&str>> = table
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["TRANSPORT", "NAME", "TYPE", "ID", "STORE"]);
    assert!(
        rows.contains(&vec!["all", "default", "reject"]),
        "{}",
        table.stdout
    );
    assert!(
        rows.contains(&vec!["repository", reg.as_str(), "accept"]),
        "{}",
        table.stdout
    );
    let bare = env.hutch(&["image", "trust", "show", "-n"]).success();
    assert_eq!(bare.stdout.lines().count(), rows.len() - 1);
    // A more specific scope that wants signatures wins over the registry's
    // accept, and hutch says it verifies none.
    let key = env.dir.join("key.gpg");
    std::fs::write(&key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n").unwrap();
    let repo = format!("{reg}/busybox");
    env.hutch(&["image", "trust", "set", "-f", key.to_str().unwrap(), &repo])
        .success();
    env.hutch(&["rmi", &busybox]).success();
    env.hutch(&["pull", "-q", &busybox])
        .error_exit(125, &["signature is required", &repo]);
    // JSON rows as Podman names them; --raw is the file itself.
    let json = env
        .hutch(&["image", "trust", "show", "--json"])
        .success()
        .json();
    let signed = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == repo.as_str())
        .expect("the repository's row");
    assert_eq!(signed["transport"], "repository");
    assert_eq!(signed["type"], "signed");
    assert_eq!(json[0]["name"], "* (default)");
    let raw = env.hutch(&["image", "trust", "show", "--raw"]).success();
    assert_eq!(
        raw.stdout,
        std::fs::read_to_string(user_policy(&env)).unwrap()
    );
    let doc: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    assert_eq!(
        doc["transports"]["docker"][&repo][0]["keyPath"],
        key.to_str().unwrap()
    );
}

#[test]
fn issue13_trust_refuses_bad_input_and_keeps_the_file() {
    let env = Env::new();
    env.hutch(&["image", "trust", "set", "-t", "accept", "docker.io"])
        .success();
    let before = std::fs::read(user_policy(&env)).unwrap();
    env.hutch(&["image", "trust", "set", "-t", "bogus", "x"])
        .error_exit(
        125,
        &["invalid choice: bogus (choose from 'accept', 'reject', 'signedBy', 'sigstoreSigned')"],
    );
    env.hutch(&["image", "trust", "set", "x"]).error_exit(
        125,
        &["at least one public key must be defined for type 'signedBy'"],
    );
    env.hutch(&["image", "trust", "set", "-f", "/nonexistent/k.gpg", "x"])
        .error_exit(125, &["/nonexistent/k.gpg"]);
    env.hutch(&["image", "trust", "set", "-t", "accept"])
        .code(125);
    assert_eq!(std::fs::read(user_policy(&env)).unwrap(), before);
    // A malformed policy stops pulls with the file's name, not silently.
    std::fs::write(user_policy(&env), "{\"default\": {}}").unwrap();
    env.hutch(&["pull", "-q", &image("busybox")])
        .error_exit(125, &["policy.json"])
        .stderr_has("containers-policy.json(5)");
}

#[test]
fn issue13_trust_concurrent_sets_all_land() {
    let env = Env::new();
    let pending: Vec<_> = (0..8)
        .map(|i| {
            let scope = format!("reg{i}.example.com");
            env.spawn(&["image", "trust", "set", "-t", "reject", scope.as_str()])
        })
        .collect();
    for p in pending {
        p.wait().success();
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user_policy(&env)).unwrap()).unwrap();
    for i in 0..8 {
        assert_eq!(
            doc["transports"]["docker"][format!("reg{i}.example.com")][0]["type"],
            "reject",
            "{doc}"
        );
    }
}
