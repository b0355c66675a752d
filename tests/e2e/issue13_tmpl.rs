//! Issue #13 (Go templates for every --format): `--format` runs the whole
//! Go text/template language with Podman's functions and `table`
//! directive; `info` and `version` take templates; an unknown field is
//! Podman's error, exit status 125.

use crate::common::{image, Env};

#[test]
fn issue13_tmpl_images_pipe_into_podmans_functions() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    let id = env
        .hutch(&["images", "--format", "{{.ID}}"])
        .success()
        .stdout
        .trim()
        .to_string();
    let r = env
        .hutch(&["images", "--format", "{{.ID | upper}}"])
        .success()
        .stdout_is(&id.to_uppercase());
    if id.len() != 12 || r.stdout.trim() == id {
        r.fail("expected the 12-digit id, upper-cased");
    }
    env.hutch(&[
        "images",
        "--format",
        "{{truncate .ID 4}}-{{printf \"%-6s|\" .Tag}}{{len .Names}}",
    ])
    .success()
    .stdout_is(&format!("{}-latest|1", &id[..4]));
}

#[test]
fn issue13_tmpl_json_of_an_image_row_is_valid_json() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    env.pull(&image("config")).success();
    let r = env.hutch(&["images", "--format", "{{json .}}"]).success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    if lines.len() != 2 {
        r.fail("expected one JSON line per image");
    }
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| r.fail(&format!("{line:?} is not JSON: {e}")));
        if !v["Repository"].is_string() || !v["Names"].is_array() {
            r.fail("expected Repository and Names in each object");
        }
    }
    let r = env
        .hutch(&["images", "--format", "{{.Names | json}}"])
        .success();
    for line in r.stdout.lines() {
        let names: Vec<String> = serde_json::from_str(line)
            .unwrap_or_else(|e| r.fail(&format!("{line:?} is not a JSON list: {e}")));
        if names.len() != 1 {
            r.fail("expected one name per image");
        }
    }
}

#[test]
fn issue13_tmpl_inspect_ranges_and_branches() {
    let env = Env::new();
    let img = image("config");
    env.pull(&img).success();
    let format = "{{range .Config.Env}}{{if eq . \"SECOND=two\"}}found {{.}}{{end}}{{end}}";
    env.hutch(&["image", "inspect", "--format", format, &img])
        .success()
        .stdout_is("found SECOND=two");
    let format =
        "{{range $i, $e := .Config.Env}}{{if $i}},{{end}}{{index (split $e \"=\") 0}}{{end}}";
    env.hutch(&["image", "inspect", "--format", format, &img])
        .success()
        .stdout_is("PATH,GREETING,SECOND,EMPTY");
    let format = "{{with .Config}}{{.WorkingDir}}{{else}}none{{end}} {{if .Config.Labels}}labels{{else}}no labels{{end}}";
    env.hutch(&["inspect", "--format", format, &img])
        .success()
        .stdout_is("/work no labels");
}

#[test]
fn issue13_tmpl_table_prints_podmans_header() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    let r = env
        .hutch(&[
            "images",
            "--format",
            "table {{.ID}} {{.Repository | upper}}",
        ])
        .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    if lines.len() != 2 || !lines[0].starts_with("IMAGE ID      REPOSITORY") {
        r.fail("expected the header IMAGE ID, REPOSITORY and one row");
    }
    if !lines[1].ends_with("/BUSYBOX") || lines[1].as_bytes()[12..14] != *b"  " {
        r.fail("expected the upper-cased repository in an aligned column");
    }
}

#[test]
fn issue13_tmpl_info_and_version_take_templates() {
    let env = Env::new();
    let info = env.hutch(&["info", "--format", "json"]).success().json();
    let root = info["store"]["graphRoot"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = env
        .hutch(&["info", "--format", "{{.Store.GraphRoot}}"])
        .success()
        .stdout_is(&root);
    if root.is_empty() {
        r.fail("expected store.graphRoot in info's JSON");
    }
    env.hutch(&["info", "--format", "{{.Host.OS}}/{{.Host.Arch}}"])
        .success()
        .stdout_is(&format!(
            "linux/{}",
            info["host"]["arch"].as_str().unwrap_or_default()
        ));
    let version = env.hutch(&["version", "--format", "json"]).success().json();
    env.hutch(&["version", "--format", "{{.Client.Version}}"])
        .success()
        .stdout_is(version["Client"]["Version"].as_str().unwrap_or("?"));
}

#[test]
fn issue13_tmpl_unknown_field_is_podmans_error() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    env.hutch(&["images", "--format", "{{.Nope}}"])
        .tool_error(&[
            "template: images:1:13: executing \"images\" at <.Nope>: can't evaluate field Nope",
        ])
        .stdout_is("");
    env.hutch(&["ps", "-a", "--format", "{{.ID}} {{.Nope}}"])
        .tool_error(&["executing \"ps\" at <.Nope>: can't evaluate field Nope"]);
    env.hutch(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.Nope}}",
        &image("busybox"),
    ])
    .tool_error(&["at <.Config.Nope>: can't evaluate field Nope"]);
    env.hutch(&["info", "--format", "{{.Store.Nope}}"])
        .tool_error(&["at <.Store.Nope>: can't evaluate field Nope"]);
    env.hutch(&["images", "--format", "{{contains .ID \"a\"}}"])
        .tool_error(&["template: images:1: function \"contains\" not defined"]);
}
