#!/usr/bin/env bash
# Times whole `hutch run --rm REG/busybox true` processes, with the default
# network and with --network none, and the same with podman when it is
# installed, as the unprivileged test user; prints the medians side by
# side. Not part of the test suite.
#
#   sudo bench/run.sh [RUNS]        (as root: runs as hutch-test)
#   bench/run.sh [RUNS]             (as a user with an /etc/subuid range)
#
# REG is HUTCH_BENCH_REGISTRY, else 127.0.0.1:5000 if a registry answers
# there (install.sh sets one up), else a throwaway registry started here.
# The hutch binary is HUTCH_BIN, else ~USER/.local/bin/hutch, else
# target/release/hutch.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib/env.sh
source "$repo/tests/lib/env.sh"

runs=${1:-50}
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"

user=$(id -un)
is_root && user=$HUTCH_TEST_USER
home=$(user_home "$user")

work=$(mktemp -d /tmp/hutch-bench.XXXXXX)
chmod 0755 "$work"
cleanup() {
    stop_registry
    # The stores hold files owned by subordinate ids.
    if is_root; then rm -rf "$work"; else unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -n "${HUTCH_BENCH_REGISTRY:-}" ]; then
    reg=$HUTCH_BENCH_REGISTRY
elif registry_answers 5000 && curl -fsS "http://127.0.0.1:5000/v2/busybox/tags/list" >/dev/null 2>&1; then
    reg=127.0.0.1:5000
else
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
    install -m 0755 "$hutch" "$work/hutch"
    hutch=$work/hutch
fi

# A private HOME: registries.conf trusting REG; podman needs runc on this
# kind of host (hybrid cgroups, no systemd).
bhome=$work/home
mkdir -p "$bhome/.config/containers" "$work/run" "$work/out"
chmod 0700 "$work/run"
printf 'unqualified-search-registries = ["%s"]\n\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" "$reg" \
    >"$bhome/.config/containers/registries.conf"
printf '[engine]\nruntime = "runc"\n' >"$bhome/.config/containers/containers.conf"
is_root && chown -R "$user:$(id -g "$user")" "$bhome" "$work/run" "$work/out"

as_user() {
    local envs=(HOME="$bhome" XDG_CONFIG_HOME="$bhome/.config" XDG_DATA_HOME="$bhome/.local/share"
        XDG_RUNTIME_DIR="$work/run" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8)
    if is_root; then
        (cd "$work" && runuser -u "$user" -- env -i "${envs[@]}" "$@")
    else
        (cd "$work" && env -i "${envs[@]}" "$@")
    fi
}

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
as_user "$hutch" run --rm "$reg/busybox" true || die "hutch run --rm $reg/busybox true failed"
# Each tool with its default network (hutch: pasta when installed;
# podman 4: slirp4netns) and with --network none (no helper process).
cmds=("$hutch run --rm $reg/busybox true" "$hutch run --rm --network none $reg/busybox true")
names=(hutch hutch-none)
if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null || die "podman pull failed"
    if as_user podman run --rm "$reg/busybox" true; then
        cmds+=("podman run --rm $reg/busybox true" "podman run --rm --network none $reg/busybox true")
        names+=(podman podman-none)
    else
        say "podman run failed; timing hutch only"
    fi
fi

say "timing ${#cmds[@]} command(s), $runs runs each, as $user"
as_user hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/out/result.json" "${cmds[@]}" >&2

echo
printf '%-12s %12s %12s %12s\n' tool median_ms mean_ms stddev_ms
for i in "${!names[@]}"; do
    jq -r --argjson i "$i" --arg n "${names[$i]}" \
        '.results[$i] | [$n, (.median * 1000), (.mean * 1000), (.stddev * 1000)] | "\(.[0]) \(.[1]) \(.[2]) \(.[3])"' \
        "$work/out/result.json" | awk '{ printf "%-12s %12.1f %12.1f %12.1f\n", $1, $2, $3, $4 }'
done
