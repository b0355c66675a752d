//! Issue #14 (multi-container applications): user-defined networks. Three
//! containers on one network find each other by name and alias through
//! aardvark-dns, a published port serves the host, and once they and the
//! network are removed no holder, helper or DNS server of the user is left.

use std::time::Duration;

use super::common::{image, require_tool, wait_for, Env};
use super::network::{free_port, http_get};
use super::{expect_id, setup, Cleanup, SETTLE};

/// netavark and aardvark-dns, where Debian installs them.
pub fn require_netavark() {
    for tool in ["/usr/lib/podman/netavark", "/usr/lib/podman/aardvark-dns"] {
        if !std::path::Path::new(tool).is_file() {
            panic!("{tool} is missing: install the netavark and aardvark-dns packages");
        }
    }
    require_tool("pasta");
}

/// The processes of this user whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let owner = std::fs::metadata(entry.path()).map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        });
        if owner.ok() != me.as_ref().ok().copied() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(needle) {
            out.push(format!("{name}: {text}"));
        }
    }
    out
}

/// A shell function `get NAME`: looks NAME up through the container's DNS
/// server and prints the body of `GET /` there, or `NAME unreachable`
/// (busybox's nslookup and nc: the fixture's static busybox wget crashes
/// in glibc's NSS).
pub const GET: &str = "get() { a=$(busybox nslookup $1 2>/dev/null | awk '/^Address: / && $2 !~ /:/ { a = $2 } END { print a }'); \
    b=; [ -n \"$a\" ] && b=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 $a 80 2>/dev/null | tail -n 1); \
    if [ -n \"$b\" ]; then echo \"$b\"; else echo \"$1 unreachable\"; fi; }";

/// A web server container command serving `body` on port 80.
pub fn server(body: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("mkdir /w && echo {body} > /w/index.html && exec busybox httpd -f -p 80 -h /w"),
    ]
}

#[test]
fn issue14_networks_containers_reach_each_other_by_name_and_leave_nothing() {
    // issue #14 acceptance 1: web, db and client on one user network;
    // client reaches both by name and by alias, -p on web serves the host,
    // and after rm -f and network rm no helper of the user is left.
    require_netavark();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["network", "create", "app"])
        .success()
        .stdout_is("app");
    let port = free_port();
    let publish = format!("{port}:80");
    let mut web = vec![
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "app",
        "-p",
        &publish,
        &img,
    ];
    let web_cmd = server("web-ok");
    web.extend(web_cmd.iter().map(String::as_str));
    expect_id(&env.hutch(&web).success());
    let mut db = vec![
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "app",
        "--network-alias",
        "database",
        &img,
    ];
    let db_cmd = server("db-ok");
    db.extend(db_cmd.iter().map(String::as_str));
    expect_id(&env.hutch(&db).success());

    // The host reaches web through the published port.
    let body = wait_for("web through -p on a user network", SETTLE, || {
        http_get(port)
    });
    assert_eq!(body, "web-ok\n", "the host's GET through -p {publish}");

    // client finds both by name and db by its alias, through the DNS.
    let fetch = format!("{GET}; for h in web db database; do get $h; done");
    env.hutch(&[
        "run",
        "--rm",
        "--name",
        "client",
        "--network",
        "app",
        &img,
        "sh",
        "-c",
        &fetch,
    ])
    .success()
    .stdout_is("web-ok\ndb-ok\ndb-ok");
    // Its resolver is the network's DNS server on the gateway.
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "app",
        &img,
        "cat",
        "/etc/resolv.conf",
    ])
    .success()
    .stdout_has("search dns.podman")
    .stdout_has("nameserver 10.89.0.1");

    // inspect shows the address on the network, as Podman.
    let ip = env
        .hutch(&[
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.app.IPAddress}}",
            "db",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    assert!(ip.starts_with("10.89.0."), "db's address on app: {ip:?}");

    // network disconnect cuts db off; connect brings it back, and a
    // second network reaches web once web is connected to it.
    env.hutch(&["network", "disconnect", "app", "db"]).success();
    let probe = format!("{GET}; get db");
    env.hutch(&["run", "--rm", "--network", "app", &img, "sh", "-c", &probe])
        .success()
        .stdout_is("db unreachable");
    env.hutch(&["network", "disconnect", "app", "db"])
        .code(125)
        .stderr_has("is not connected to network app");
    env.hutch(&["network", "connect", "app", "db"]).success();
    env.hutch(&["run", "--rm", "--network", "app", &img, "sh", "-c", &probe])
        .success()
        .stdout_is("db-ok");
    env.hutch(&["network", "create", "back"]).success();
    env.hutch(&["network", "connect", "--alias", "front", "back", "web"])
        .success();
    let probe = format!("{GET}; get front");
    env.hutch(&["run", "--rm", "--network", "back", &img, "sh", "-c", &probe])
        .success()
        .stdout_is("web-ok");

    let store = env.store();
    let root = store.to_string_lossy().to_string();
    if processes_mentioning(&root)
        .iter()
        .all(|p| !p.contains("network-holder"))
    {
        panic!(
            "no network holder runs while containers use app: {:?}",
            processes_mentioning(&root)
        );
    }
    env.hutch(&["network", "rm", "app"])
        .code(2)
        .stderr_has("network is being used");
    env.hutch(&["rm", "-f", "web", "db"]).success();
    env.hutch(&["network", "rm", "app", "back"])
        .success()
        .stdout_is("app\nback");
    // Nothing of the user's networks is left: no holder, pasta or
    // aardvark-dns, no attachment.
    wait_for(
        "no holder, pasta or aardvark-dns left",
        Duration::from_secs(10),
        || {
            let p = processes_mentioning(&root);
            match p.is_empty() {
                true => Ok(()),
                false => Err(format!("left behind: {p:?}")),
            }
        },
    );
    let attached = store.join("networks/run/attached");
    let entries: Vec<_> = std::fs::read_dir(&attached)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "attachments left in {}: {entries:?}",
        attached.display()
    );
    env.hutch(&["network", "ls", "-q"])
        .success()
        .stdout_is("podman");
}

#[test]
fn issue14_networks_commands_and_errors_as_podman() {
    // issue #14: network create/ls/inspect/rm/exists/prune as Podman 4.3
    // answers them (ids are the SHA-256 of the name, as Podman's with CNI).
    require_netavark();
    let env = Env::new();
    env.hutch(&[
        "network",
        "create",
        "--subnet",
        "10.123.0.0/24",
        "--label",
        "k=v",
        "lab",
    ])
    .success()
    .stdout_is("lab");
    env.hutch(&["network", "create", "lab"])
        .code(125)
        .stderr_has("network name lab already used: network already exists");
    env.hutch(&["network", "create", "--driver", "macvlan", "mac"])
        .code(125);
    env.hutch(&["network", "create", "--subnet", "10.123.0.128/25", "clash"])
        .code(125)
        .stderr_has("overlaps");
    env.hutch(&["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.ID}}"])
        .success()
        .stdout_is("podman bridge 2f259bab93aa\nlab bridge a51146d38077");
    env.hutch(&["network", "ls", "--filter", "label=k=v", "-q"])
        .success()
        .stdout_is("lab");
    env.hutch(&[
        "network",
        "inspect",
        "lab",
        "--format",
        "{{.Name}} {{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}} {{.DNSEnabled}}",
    ])
    .success()
    .stdout_is("lab 10.123.0.0/24 10.123.0.1 true");
    let json = env.hutch(&["network", "inspect", "lab"]).success().json();
    assert_eq!(json[0]["subnets"][0]["subnet"], "10.123.0.0/24", "{json}");
    assert_eq!(json[0]["labels"]["k"], "v", "{json}");
    env.hutch(&["network", "inspect", "nosuch"])
        .code(125)
        .stderr_has("network nosuch: unable to find network with name or ID nosuch");
    env.hutch(&["network", "exists", "lab"]).code(0);
    env.hutch(&["network", "exists", "nosuch"]).code(1);
    env.hutch(&["network", "rm", "nosuch"]).code(1);
    env.hutch(&["network", "rm", "podman"]).code(125);
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "nosuch",
        &image("busybox"),
        "true",
    ])
    .code(125)
    .stderr_has("unable to find network with name or ID nosuch: network not found");
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "lab",
        "--ip",
        "10.9.9.9",
        &image("busybox"),
        "true",
    ])
    .code(125)
    .stderr_has("not a host address of the network's subnet");
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "lab",
        "--ip",
        "10.123.0.77",
        &image("busybox"),
        "sh",
        "-c",
        "ip -4 -o addr show eth0",
    ])
    .success()
    .stdout_has("inet 10.123.0.77/24");
    // --no-trunc shows whole ids; reload names the containers it is given
    // (their rules live in the holder's namespace: nothing to redo);
    // rm -f -t removes the containers using the network first.
    env.hutch(&[
        "network",
        "ls",
        "--no-trunc",
        "--format",
        "{{.ID}}",
        "--filter",
        "name=lab",
    ])
    .success()
    .stdout_is("a51146d38077ff992eba84cf1d5e9b249073503eb74868699016153b031a38f7");
    env.hutch(&["network", "reload", "--all"])
        .success()
        .stdout_is("");
    env.hutch(&["network", "reload", "nosuch"])
        .code(125)
        .stderr_has("no container with name or ID \"nosuch\" found");
    env.hutch(&["network", "create", "gone"]).success();
    env.hutch(&[
        "create",
        "--name",
        "user",
        "--network",
        "gone",
        &image("busybox"),
        "true",
    ])
    .success();
    env.hutch(&["network", "rm", "-f", "-t", "0", "gone"])
        .success()
        .stdout_is("gone");
    env.hutch(&["container", "exists", "user"]).code(1);
    env.hutch(&["network", "prune", "-f", "--filter", "label=nosuch"])
        .success()
        .stdout_is("");
    env.hutch(&["network", "prune", "-f"])
        .success()
        .stdout_is("lab");
    env.hutch(&["network", "ls", "-q"])
        .success()
        .stdout_is("podman");
}
