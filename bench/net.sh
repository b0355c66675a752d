#!/usr/bin/env bash
# Throughput of published ports: a busybox httpd inside a container serves
# a 1 GiB file through `-p 127.0.0.1:PORT:80`, and curl on the host fetches
# it; hyperfine times whole curl processes for hutch with pasta and with
# slirp4netns, and for podman with the same helpers when it is installed.
# Then it times `run --rm busybox true` per network mode, which is what the
# helper costs at start. Prints the medians side by side. Not part of the
# test suite.
#
#   sudo bench/net.sh [RUNS]        (as root: runs as hutch-test)
#   bench/net.sh [RUNS]             (as a user with an /etc/subuid range)
#
# REG and the hutch binary are found as bench/run.sh finds them.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-5}
size=$((1024 * 1024 * 1024))
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"

started=()
cleanup() {
    for c in "${started[@]}"; do
        # "TOOL NAME": remove what this script started.
        read -r tool name <<<"$c"
        as_user "$tool" rm -f "$name" >/dev/null 2>&1 || true
    done
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench-net

# The server: write the file into the container's own filesystem, then
# serve it; /ready tells the waiting script that the file is complete.
server="mkdir -p /www && head -c $size /dev/zero > /www/big && echo ok > /www/ready && exec httpd -f -p 80 -h /www"

# Starts TOOL's container with NETWORK publishing PORT; waits until it serves.
start_server() {
    local tool=$1 network=$2 port=$3 name=bench-net-$2
    as_user "$tool" rm -f "$name" >/dev/null 2>&1 || true
    local extra=()
    [ "$(basename "$tool")" = podman ] && extra=(--tls-verify=false)
    if ! as_user "$tool" run -d "${extra[@]}" --name "$name" --network "$network" \
        -p "127.0.0.1:$port:80" "$reg/busybox" sh -c "$server" >/dev/null; then
        say "$(basename "$tool") --network $network failed to start; left out"
        return 1
    fi
    started+=("$tool $name")
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null && return 0
        sleep 0.1
    done
    say "$(basename "$tool") --network $network never served on $port; left out"
    return 1
}

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
tools=("$hutch")
if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null || die "podman pull failed"
    tools+=(podman)
fi

cmds=()
names=()
for tool in "${tools[@]}"; do
    for network in pasta slirp4netns; do
        port=$(pick_port 18000)
        # Hold nothing: pick_port checks the port is free right now.
        if start_server "$tool" "$network" "$port"; then
            cmds+=("curl -fsS -o /dev/null http://127.0.0.1:$port/big")
            names+=("$(basename "$tool")/$network")
        fi
    done
done
[ ${#cmds[@]} -gt 0 ] || die "no server started"

say "fetching 1 GiB, $runs runs each, as $user"
as_user hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/out/net.json" "${cmds[@]}" >&2

say "timing run --rm true per network mode"
startup=()
startup_names=()
for network in none pasta slirp4netns; do
    startup+=("$hutch run --rm --network $network $reg/busybox true")
    startup_names+=("hutch/$network")
done
as_user hyperfine -N --warmup 3 --runs 30 --export-json "$work/out/start.json" "${startup[@]}" >&2

echo
printf '%-20s %10s %12s\n' "1 GiB through -p" median_s MiB_per_s
for i in "${!names[@]}"; do
    jq -r --argjson i "$i" '.results[$i].median' "$work/out/net.json" |
        awk -v n="${names[$i]}" '{ printf "%-20s %10.2f %12.0f\n", n, $1, 1024 / $1 }'
done
echo
printf '%-20s %10s\n' "run --rm true" median_ms
for i in "${!startup_names[@]}"; do
    jq -r --argjson i "$i" '.results[$i].median * 1000' "$work/out/start.json" |
        awk -v n="${startup_names[$i]}" '{ printf "%-20s %10.1f\n", n, $1 }'
done
