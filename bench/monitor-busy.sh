#!/usr/bin/env bash
# Measures the memory of the process that copies a busy container's output
# to its log: hutch's monitor and, when podman is installed, its conmon.
# Starts a detached container running `yes` (with and without log
# rotation), samples the copier's VmRSS every 0.1 s for SECONDS and prints
# its median and peak in kB per tool. Not part of the test suite.
#
#   sudo bench/monitor-busy.sh [SECONDS]   (as root: runs as hutch-test)
#   bench/monitor-busy.sh [SECONDS]        (as a user with an /etc/subuid range)
#
# REG, the hutch binary and the user are chosen as in bench/run.sh.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=${1:-4}

cleanup() {
    if [ -n "${hutch:-}" ]; then as_user "$hutch" rm -a -f >/dev/null 2>&1 || true; fi
    if command -v podman >/dev/null; then as_user podman rm -a -f -t 0 >/dev/null 2>&1 || true; fi
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench

# sample PID : prints "median peak" of VmRSS (kB) over $seconds.
sample() {
    local pid=$1 end samples=()
    end=$(($(date +%s%N) + seconds * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        samples+=("$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)")
        sleep 0.1
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%10d %10d\n", m, v[NR] }'
}

# Parent of the container's main process: hutch's monitor.
monitor_of() {
    local pid stat
    pid=$(as_user "$hutch" inspect -f '{{.State.Pid}}' "$1")
    stat=$(cat "/proc/$pid/stat")
    awk '{ print $2 }' <<<"${stat##*)}"
}

printf '%-24s %10s %10s\n' "VmRSS kB, $seconds s" median peak
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
for opts in "" "--log-opt max-size=1m"; do
    # shellcheck disable=SC2086 # $opts is split on purpose
    as_user "$hutch" run -d --name busy $opts "$reg/busybox" yes >/dev/null || die "hutch run -d failed"
    printf '%-24s %s\n' "hutch ${opts:-default}" "$(sample "$(monitor_of busy)")"
    as_user "$hutch" rm -f busy >/dev/null
done

if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null || die "podman pull failed"
    for opts in "" "--log-opt max-size=1m"; do
        # shellcheck disable=SC2086
        as_user podman run -d --name busy $opts "$reg/busybox" yes >/dev/null || die "podman run -d failed"
        conmon=$(as_user podman inspect -f '{{.State.ConmonPid}}' busy)
        printf '%-24s %s\n' "podman ${opts:-default}" "$(sample "$conmon")"
        as_user podman rm -f -t 0 busy >/dev/null
    done
fi
