#!/usr/bin/env bash
# User-defined networks (issue #14), hutch side by side with podman
# (netavark backend): the time to start a container on a user network
# (`run --rm --network NET busybox true`, whole processes), and the
# container-to-container throughput on one network (a busybox httpd serves
# a 512 MiB file, a second container fetches it with busybox nc through
# `exec`; whole exec processes; the fixture's static busybox wget crashes
# in glibc's NSS, so the server's address comes from inspect). Prints medians. Not part of the test
# suite.
#
#   sudo bench/usernet.sh [RUNS]     (as root: runs as hutch-test)
#   bench/usernet.sh [RUNS]          (as a user with an /etc/subuid range)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-10}
size=$((512 * 1024 * 1024))
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"

tools=()
cleanup() {
    for tool in "${tools[@]}"; do
        as_user "$tool" rm -f -t 0 bench-web bench-client >/dev/null 2>&1 || true
        as_user "$tool" network rm -f bench-net >/dev/null 2>&1 || true
    done
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench-usernet

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
tools=("$hutch")
if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null || die "podman pull failed"
    tools+=(podman)
fi

server="mkdir -p /www && head -c $size /dev/zero > /www/big && echo ok > /www/ready && exec httpd -f -p 80 -h /www"
start=()
fetch=()
names=()
for tool in "${tools[@]}"; do
    extra=()
    [ "$(basename "$tool")" = podman ] && extra=(--network-backend netavark)
    as_user "$tool" "${extra[@]}" network rm -f bench-net >/dev/null 2>&1 || true
    as_user "$tool" "${extra[@]}" network create bench-net >/dev/null
    as_user "$tool" "${extra[@]}" run -d --name bench-web --network bench-net "$reg/busybox" sh -c "$server" >/dev/null
    as_user "$tool" "${extra[@]}" run -d --name bench-client --network bench-net "$reg/busybox" sleep 100000 >/dev/null
    ready=
    for _ in $(seq 1 600); do
        ip=$(as_user "$tool" "${extra[@]}" inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' bench-web)
        if [ -n "$ip" ] && as_user "$tool" "${extra[@]}" exec bench-client sh -c \
            "printf 'GET /ready HTTP/1.0\r\n\r\n' | busybox nc $ip 80" 2>/dev/null | grep -q '^ok'; then
            ready=1
            break
        fi
        sleep 0.2
    done
    [ -n "$ready" ] || die "$(basename "$tool"): the server on bench-net never answered"
    start+=("$tool ${extra[*]} run --rm --network bench-net $reg/busybox true")
    fetch+=("$tool ${extra[*]} exec bench-client sh -c \"printf 'GET /big HTTP/1.0\\r\\n\\r\\n' | busybox nc $ip 80 > /dev/null\"")
    names+=("$(basename "$tool")")
done

say "starting a container on a user network, $((runs * 3)) runs each"
as_user hyperfine -N --warmup 2 --runs $((runs * 3)) --export-json "$work/out/start.json" "${start[@]}" >&2
say "fetching 512 MiB container to container, $runs runs each"
as_user hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/out/fetch.json" "${fetch[@]}" >&2

echo
printf '%-10s %22s %24s\n' tool "run --rm on net (ms)" "512 MiB c2c (s, MiB/s)"
for i in "${!names[@]}"; do
    s=$(jq -r --argjson i "$i" '.results[$i].median * 1000' "$work/out/start.json")
    f=$(jq -r --argjson i "$i" '.results[$i].median' "$work/out/fetch.json")
    awk -v n="${names[$i]}" -v s="$s" -v f="$f" 'BEGIN { printf "%-10s %22.1f %15.2f %8.0f\n", n, s, f, 512 / f }'
done
