#!/usr/bin/env bash
# Measures the memory of idle detached-container monitors: starts N
# detached `sleep` containers as the unprivileged test user, reads VmRSS,
# RssAnon and RssFile of each one's monitor (the parent of the container's
# pid) and prints min/median/max in kB. Not part of the test suite.
#
#   sudo bench/monitor-rss.sh [N]   (as root: runs as hutch-test)
#   bench/monitor-rss.sh [N]        (as a user with an /etc/subuid range)
#
# REG is HUTCH_BENCH_REGISTRY, else 127.0.0.1:5000 if a registry answers
# there (install.sh sets one up), else a throwaway registry started here.
# The hutch binary is HUTCH_BIN, else ~USER/.local/bin/hutch, else
# target/release/hutch. HUTCH_BENCH_SETTLE (seconds, default 2) is how
# long the monitors idle before they are measured.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

count=${1:-10}
settle=${HUTCH_BENCH_SETTLE:-2}

cleanup() {
    if [ -n "${hutch:-}" ]; then as_user "$hutch" rm -a -f >/dev/null 2>&1 || true; fi
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench


say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"

say "starting $count detached containers as $user"
for i in $(seq 1 "$count"); do
    as_user "$hutch" run -d --name "rss$i" "$reg/busybox" sleep 1000 >/dev/null ||
        die "hutch run -d (container $i) failed"
done
sleep "$settle"

# One line per monitor: VmRSS RssAnon RssFile (kB).
samples=$work/samples
: >"$samples"
for i in $(seq 1 "$count"); do
    pid=$(as_user "$hutch" inspect -f '{{.State.Pid}}' "rss$i")
    stat=$(cat "/proc/$pid/stat") || die "container rss$i (pid $pid) is not running"
    # Field 4 (ppid) counts from after the parenthesised command name.
    monitor=$(awk '{ print $2 }' <<<"${stat##*)}")
    awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
        END { print r, a, f }' "/proc/$monitor/status" >>"$samples"
done

stats() {
    sort -n | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%10d %10d %10d\n", v[1], m, v[NR] }'
}

echo
printf '%-10s %10s %10s %10s\n' "kB" min median max
for col in 1 2 3; do
    name=$(cut -d' ' -f"$col" <<<"VmRSS RssAnon RssFile")
    printf '%-10s %s\n' "$name" "$(cut -d' ' -f"$col" "$samples" | stats)"
done
