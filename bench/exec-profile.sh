#!/usr/bin/env bash
# Where `hutch exec CTR true` spends its time, and what an idle monitor's
# memory is made of (issue #19). Starts one detached `sleep` container as
# the unprivileged test user, then:
#
#  1. times RUNS untraced `hutch exec CTR true` and, for scale, RUNS
#     `hutch --version` (the binary's own load and start-up) and RUNS
#     `hutch inspect CTR` (start-up plus the store's reads);
#  2. traces RUNS/3 more under `strace -f --seccomp-bpf` with only the
#     syscalls that mark a phase (execve/execveat, memfd_create, the copy,
#     setns, exit_group) and prints each phase's median in ms: up to the
#     first memfd_create, the sealed copy (all copies until the last
#     sendfile/copy_file_range ends), the exec of the sealed copy to the
#     first setns, from there to the command's exec, and to hutch's exit;
#  3. prints the monitor's VmRSS, RssAnon, RssFile and RssShmem
#     (/proc/PID/status), its Pss split (smaps_rollup) and its resident
#     kB per mapping (smaps), and the same for Podman's conmon if Podman
#     runs here.
#
#   sudo bench/exec-profile.sh [RUNS]   (as root: runs as hutch-test)
#
# REG and the hutch binary are found as bench/lib.sh finds them. Not part
# of the test suite; ends with an error if a process of the runs is left.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-30}

cleanup() {
    if [ -n "${hutch:-}" ]; then as_user "$hutch" rm -a -f >/dev/null 2>&1 || true; fi
    if [ -n "${podman:-}" ]; then as_user podman rm -a -f >/dev/null 2>&1 || true; fi
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench-exec

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
as_user "$hutch" run -d --name idle "$reg/busybox" sleep 1000 >/dev/null || die "hutch run -d failed"
podman=
if command -v podman >/dev/null &&
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null &&
    as_user podman run -d --name idle "$reg/busybox" sleep 1000 >/dev/null; then
    podman=podman
fi
sleep "${HUTCH_BENCH_SETTLE:-2}"

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
        printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# 1. Untraced, interleaved, the first round not counted.
cat >"$work/out/time.sh" <<'EOF'
set -u
runs=$1 out=$2 hutch=$3
for round in $(seq 0 "$runs"); do
    for key in exec version inspect; do
        case $key in
        exec) cmd="$hutch exec idle true" ;;
        version) cmd="$hutch --version" ;;
        inspect) cmd="$hutch inspect -f {{.State.Pid}} idle" ;;
        esac
        s=$EPOCHREALTIME
        $cmd >/dev/null 2>&1 || { echo "failed: $cmd" >&2; exit 1; }
        e=$EPOCHREALTIME
        [ "$round" -gt 0 ] && awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }' >>"$out/$key"
    done
done
EOF
if is_root; then chown -R "$user" "$work/out"; fi
say "timing $runs rounds of exec, --version and inspect"
as_user bash "$work/out/time.sh" "$runs" "$work/out" "$hutch" || die "a timed command failed"
echo
printf '%-40s %8s\n' "untraced, median of $runs" ms
printf '%-40s %8s\n' "hutch exec idle true" "$(median <"$work/out/exec")"
printf '%-40s %8s\n' "hutch --version" "$(median <"$work/out/version")"
printf '%-40s %8s\n' "hutch inspect idle" "$(median <"$work/out/inspect")"

# 2. Traced phases. -ttt gives absolute times; -T adds each call's length.
traced=$(((runs + 2) / 3))
say "tracing $traced runs of exec"
phases=$work/out/phases
: >"$phases"
for i in $(seq 1 "$traced"); do
    log=$work/out/trace.$i
    as_user strace -f -y --seccomp-bpf -ttt -T -o "$log" \
        -e trace=execve,execveat,memfd_create,sendfile,copy_file_range,setns,exit_group \
        "$hutch" exec idle true >/dev/null 2>&1 || die "traced exec failed"
    awk '
        function end(line) { match(line, /<[0-9.]+>$/); return substr(line, RSTART + 1, RLENGTH - 2) }
        { t = $2 }
        NR == 1 { start = t }
        /memfd_create\(/ && !memfd { memfd = t }
        /(sendfile|copy_file_range)\(/ { copied = t + end($0) }
        /execveat\(/ && /memfd:/ && !reexec { reexec = t }
        /setns\(/ && !joined { joined = t }
        /execve(at)?\(/ && joined && !cmd { cmd = t }
        /exit_group\(/ { last = t }
        END {
            printf "%.3f %.3f %.3f %.3f %.3f %.3f\n",
                (memfd - start) * 1000, (copied - memfd) * 1000, (joined - reexec) * 1000,
                (cmd - joined) * 1000, (last - cmd) * 1000, (last - start) * 1000
        }' "$log" >>"$phases"
done
echo
printf '%-52s %8s\n' "traced phases, median of $traced (ms)" ms
col=1
for name in "start to memfd_create (CLI, first start-up)" \
    "memfd_create to end of copy (the sealed copy)" \
    "exec of the sealed copy to first setns" \
    "first setns to the command's exec" \
    "the command's exec to hutch's exit" \
    "total, traced"; do
    printf '%-52s %8s\n' "$name" "$(cut -d' ' -f"$col" "$phases" | median)"
    col=$((col + 1))
done
printf '%-52s %8s\n' "size of hutch (bytes)" "$(stat -c %s "$hutch")"
if [ -e "$(dirname "$hutch")/hutch-enter" ]; then
    printf '%-52s %8s\n' "size of hutch-enter (bytes)" "$(stat -c %s "$(dirname "$hutch")/hutch-enter")"
fi

# 3. Memory of the idle monitors.
report_memory() {
    local what=$1 pid=$2
    echo
    echo "$what (pid $pid, $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60))"
    awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { printf "  %-10s %8d kB\n", $1, $2 }' "/proc/$pid/status"
    awk '/^(Pss|Pss_Anon|Pss_File|Pss_Shmem|Private_Clean|Private_Dirty|Shared_Clean):/ {
        printf "  %-14s %8d kB\n", $1, $2 }' "/proc/$pid/smaps_rollup"
    echo "  resident kB by mapping:"
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "[anon]" : $6 }
        /^Rss:/ { rss[name] += $2 }
        END { for (n in rss) if (rss[n] > 0) printf "    %8d  %s\n", rss[n], n }' "/proc/$pid/smaps" | sort -rn
}
parent_of() { awk '{ print $2 }' <<<"$(sed 's/.*) //' "/proc/$1/stat")"; }
cpid=$(as_user "$hutch" inspect -f '{{.State.Pid}}' idle)
report_memory "hutch monitor" "$(parent_of "$cpid")"
if [ -n "$podman" ]; then
    ppid=$(as_user podman inspect -f '{{.State.Pid}}' idle)
    report_memory "podman's conmon" "$(parent_of "$ppid")"
fi

as_user "$hutch" rm -f idle >/dev/null
[ -n "$podman" ] && as_user podman rm -f idle >/dev/null
sleep 0.2
if pgrep -u "$user" -f -- "$work/" >/dev/null; then
    die "processes of the runs are left: $(pgrep -a -u "$user" -f -- "$work/")"
fi
