# Shared setup of the bench scripts; sourced, not run. Each script runs
# as the unprivileged test user (when started as root) against a registry
# holding the fixture images, with a private HOME:
#
#   bench_setup PREFIX   sets user, home, work (a fresh directory), reg,
#                        hutch and bhome, and writes registries.conf and
#                        containers.conf into bhome
#   as_user CMD...       runs CMD as that user with that HOME
#   bench_remove_work    removes work and stops a registry bench_setup
#                        started (for the script's EXIT trap)
#
# REG is HUTCH_BENCH_REGISTRY, else 127.0.0.1:5000 if a registry with the
# fixtures answers there (install.sh sets one up), else a throwaway
# registry started here. The hutch binary is HUTCH_BIN, else
# ~USER/.local/bin/hutch, else target/release/hutch.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib/env.sh
source "$repo/tests/lib/env.sh"

bench_setup() {
    user=$(id -un)
    is_root && user=$HUTCH_TEST_USER
    home=$(user_home "$user")
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 0755 "$work"

    if [ -n "${HUTCH_BENCH_REGISTRY:-}" ]; then
        reg=$HUTCH_BENCH_REGISTRY
    elif registry_answers 5000 && curl -fsS "http://127.0.0.1:5000/v2/busybox/tags/list" >/dev/null 2>&1; then
        reg=127.0.0.1:5000
    else
        local port
        port=$(pick_port 5000)
        start_registry "$work/registry" "$port"
        push_fixtures "$port" "$work/fixtures"
        reg=127.0.0.1:$port
    fi

    hutch=${HUTCH_BIN:-}
    [ -z "$hutch" ] && [ -x "$home/.local/bin/hutch" ] && hutch=$home/.local/bin/hutch
    [ -z "$hutch" ] && hutch=$repo/target/release/hutch
    [ -x "$hutch" ] || die "no hutch binary: build with cargo build --release or set HUTCH_BIN"
    if is_root; then
        # `exec` runs the helper hutch-enter found beside hutch.
        install -m 0755 "$hutch" "$work/hutch"
        [ -x "$(dirname "$hutch")/hutch-enter" ] && install -m 0755 "$(dirname "$hutch")/hutch-enter" "$work/hutch-enter"
        hutch=$work/hutch
    fi

    # registries.conf trusting REG; podman needs runc on this kind of host
    # (hybrid cgroups, no systemd).
    bhome=$work/home
    mkdir -p "$bhome/.config/containers" "$work/run" "$work/out"
    chmod 0700 "$work/run"
    printf 'unqualified-search-registries = ["%s"]\n\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" "$reg" \
        >"$bhome/.config/containers/registries.conf"
    printf '[engine]\nruntime = "runc"\n' >"$bhome/.config/containers/containers.conf"
    if is_root; then chown -R "$user:$(id -g "$user")" "$bhome" "$work/run" "$work/out"; fi
}

as_user() {
    local envs=(HOME="$bhome" XDG_CONFIG_HOME="$bhome/.config" XDG_DATA_HOME="$bhome/.local/share"
        XDG_RUNTIME_DIR="$work/run" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8)
    if is_root; then
        (cd "$work" && runuser -u "$user" -- env -i "${envs[@]}" "$@")
    else
        (cd "$work" && env -i "${envs[@]}" "$@")
    fi
}

bench_remove_work() {
    stop_registry
    [ -n "${work:-}" ] || return 0
    # The stores hold files owned by subordinate ids.
    if is_root; then rm -rf "$work"; else unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || rm -rf "$work"; fi
}
