#!/usr/bin/env bash
# Times `hutch ps -a` (and `ps -a -q`) with N created containers in one
# store, as whole processes with hyperfine; prints the medians. Not part of
# the test suite.
#
#   sudo bench/ps.sh [N]        (as root: runs as hutch-test)
#   bench/ps.sh [N]             (as a user with an /etc/subuid range)
#
# Uses the registry of bench/run.sh's rules (HUTCH_BENCH_REGISTRY, else
# 127.0.0.1:5000 when it has busybox) and HUTCH_BIN, else
# target/release/hutch.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib/env.sh
source "$repo/tests/lib/env.sh"

n=${1:-500}
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"
reg=${HUTCH_BENCH_REGISTRY:-127.0.0.1:5000}
curl -fsS "http://$reg/v2/busybox/tags/list" >/dev/null 2>&1 \
    || die "no busybox at $reg: run sudo ./install.sh or set HUTCH_BENCH_REGISTRY"
hutch=${HUTCH_BIN:-$repo/target/release/hutch}
[ -x "$hutch" ] || die "no hutch binary: build with cargo build --release or set HUTCH_BIN"

user=$(id -un)
is_root && user=$HUTCH_TEST_USER
work=$(mktemp -d /tmp/hutch-psbench.XXXXXX)
chmod 0755 "$work"
install -m 0755 "$hutch" "$work/hutch"
is_root && chown "$user" "$work"
as_user() {
    if is_root; then (cd "$work" && runuser -u "$user" -- "$@"); else (cd "$work" && "$@"); fi
}
cleanup() {
    if is_root; then rm -rf "$work"; else unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || rm -rf "$work"; fi
}
trap cleanup EXIT

root=$work/store
as_user "$work/hutch" --root "$root" pull -q --tls-verify=false "$reg/busybox" >/dev/null
say "creating $n containers"
for i in $(seq 1 "$n"); do
    as_user "$work/hutch" --root "$root" create --name "c$i" "$reg/busybox" true >/dev/null
done
as_user hyperfine -N --warmup 3 --runs 30 --export-json "$work/out.json" \
    "$work/hutch --root $root ps -a" "$work/hutch --root $root ps -a -q" >&2
printf '%-10s %10s\n' command median_ms
jq -r '.results[] | "\(.command | sub(".*/hutch --root [^ ]+ "; "")) \(.median * 1000)"' "$work/out.json" |
    awk '{ m = $NF; $NF = ""; printf "%-10s %10.1f\n", $0, m }'
