#!/usr/bin/env bash
# The measurements of issue #19 in one go, printed as one table: measure,
# hutch median, Podman median, ratio, goal, pass/fail: `run --rm busybox
# true` with the default network and with --network none, `exec CTR true`
# into a detached `sleep` container, and the memory of that container's
# idle monitor (RSS and PSS, hutch's monitor against Podman's conmon);
# then bench/scale.sh's growth measures (ps -a at 5,000 containers, 200
# detached containers' memory, ...) with their goals, unless
# HUTCH_BENCH_SCALE=0. The commands are timed interleaved (one run of each in
# turn, RUNS rounds), so that the load of a shared machine falls on all
# of them alike; medians of whole processes, as the unprivileged test
# user. Not part of the test suite.
#
#   sudo bench/all.sh [RUNS]        (as root: runs as hutch-test)
#   bench/all.sh [RUNS]             (as a user with an /etc/subuid range)
#
# REG and the hutch binary are found as bench/run.sh finds them.
# HUTCH_BASE_BIN names a second hutch (the build before a change) timed in
# the same rounds, shown as its own column. Ends with an error if a
# process of the runs is left behind.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-30}

# The detached containers of the exec measure, in every store.
remove_containers() {
    [ -n "${hutch:-}" ] && as_user "$hutch" rm -a -f >/dev/null 2>&1
    [ -n "${base:-}" ] && as_user $base rm -a -f >/dev/null 2>&1
    [ -n "${podman:-}" ] && as_user podman rm -a -f -t 0 >/dev/null 2>&1
    return 0
}
trap 'remove_containers; bench_remove_work' EXIT
bench_setup hutch-bench-all

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
base=
if [ -n "${HUTCH_BASE_BIN:-}" ]; then
    [ -x "$HUTCH_BASE_BIN" ] || die "HUTCH_BASE_BIN=$HUTCH_BASE_BIN is not an executable"
    base=$work/hutch-base
    install -m 0755 "$HUTCH_BASE_BIN" "$base"
    # A store of its own: an older build may not open a newer schema.
    base="$base --root $bhome/.local/share/hutch-base"
    as_user $base pull -q "$reg/busybox" >/dev/null || die "base hutch pull failed"
fi
podman=
if command -v podman >/dev/null &&
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null &&
    as_user podman run --rm "$reg/busybox" true; then
    podman=podman
else
    say "podman is missing or cannot run here: its column stays empty"
fi

# The container `exec` enters, one per tool, idle (its monitor is measured
# after the timings).
start_idle() {
    # shellcheck disable=SC2068 # the tool's words ($base carries its --root)
    as_user $@ run -d --name benchexec "$reg/busybox" sleep 100000 >/dev/null || die "$* run -d failed"
}
start_idle "$hutch"
[ -n "$base" ] && start_idle $base
[ -n "$podman" ] && start_idle podman

# measure name, goal in ms, then the command's arguments after the tool.
measures=(
    "run --rm, default network|30|run --rm $reg/busybox true"
    "run --rm, --network none|15|run --rm --network none $reg/busybox true"
    "exec CTR true|12|exec benchexec true"
)

# The timing loop runs as the user (no runuser per run): one line per
# command in $work/out/cmds ("TOOL.MEASURE COMMAND..."), RUNS+1 rounds of
# one run of each in turn, the first round not counted (caches warm up),
# each round starting with the next command.
# Bash's EPOCHREALTIME costs no process.
samples=$work/out/samples
mkdir -p "$samples"
: >"$work/out/cmds"
for i in "${!measures[@]}"; do
    IFS='|' read -r _ _ args <<<"${measures[$i]}"
    [ -n "$hutch" ] && echo "hutch.$i $hutch $args" >>"$work/out/cmds"
    [ -n "$base" ] && echo "base.$i $base $args" >>"$work/out/cmds"
    [ -n "$podman" ] && echo "podman.$i $podman $args" >>"$work/out/cmds"
done
cat >"$work/out/loop.sh" <<'EOF'
set -u
rounds=$1 cmds=$2 out=$3
mapfile -t lines <"$cmds"
n=${#lines[@]}
for round in $(seq 0 "$rounds"); do
    # Each round starts one command further on: whatever a command leaves
    # running in the background (Podman's cleanup) slows each of the
    # others alike.
    for j in $(seq 0 $((n - 1))); do
        read -r key cmd <<<"${lines[$(((round + j) % n))]}"
        s=$EPOCHREALTIME
        # shellcheck disable=SC2086 # the command's words
        $cmd >/dev/null 2>&1 || { echo "failed: $cmd" >&2; exit 1; }
        e=$EPOCHREALTIME
        [ "$round" -gt 0 ] && awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }' >>"$out/$key"
    done
done
exit 0
EOF
if is_root; then chown -R "$user" "$work/out"; fi
say "timing ${#measures[@]} measure(s), $runs interleaved rounds, as $user"
as_user bash "$work/out/loop.sh" "$runs" "$work/out/cmds" "$samples" || die "a timed command failed"

median() {
    [ -s "$1" ] || {
        echo -
        return
    }
    sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
printf '%-28s %8s %8s %8s %7s %6s %5s\n' measure hutch base podman ratio goal pass
for i in "${!measures[@]}"; do
    IFS='|' read -r name goal _ <<<"${measures[$i]}"
    h=$(median "$samples/hutch.$i")
    b=$(median "$samples/base.$i" 2>/dev/null || echo -)
    p=$(median "$samples/podman.$i" 2>/dev/null || echo -)
    ratio=-
    [ "$p" != - ] && ratio=$(awk -v h="$h" -v p="$p" 'BEGIN { printf "%.2fx", h / p }')
    pass=$(awk -v h="$h" -v g="$goal" 'BEGIN { print (h <= g) ? "yes" : "no" }')
    printf '%-28s %8s %8s %8s %7s %6s %5s\n' "$name" "$h" "$b" "$p" "$ratio" "≤$goal" "$pass"
done

# The idle monitor of each tool's `benchexec` container (the parent of
# its pid 1; conmon for Podman), attach socket open, in MB: VmRSS and Pss.
memory_of() {
    local pid stat monitor
    # shellcheck disable=SC2068 # the tool's words ($base carries its --root)
    pid=$(as_user $@ inspect -f '{{.State.Pid}}' benchexec) || { echo "- -"; return; }
    stat=$(cat "/proc/$pid/stat") || { echo "- -"; return; }
    monitor=$(awk '{ print $2 }' <<<"${stat##*)}")
    awk '/^VmRSS:/ { r = $2 } END { printf "%.2f ", r / 1024 }' "/proc/$monitor/status"
    awk '/^Pss:/ { p = $2 } END { printf "%.2f\n", p / 1024 }' "/proc/$monitor/smaps_rollup"
}
read -r h_rss h_pss <<<"$(memory_of "$hutch")"
b_rss=- b_pss=-
[ -n "$base" ] && read -r b_rss b_pss <<<"$(memory_of $base)"
p_rss=- p_pss=-
[ -n "$podman" ] && read -r p_rss p_pss <<<"$(memory_of podman)"
memory_row() {
    local name=$1 h=$2 b=$3 p=$4 goal=$5 ratio=- pass
    [ "$p" != - ] && ratio=$(awk -v h="$h" -v p="$p" 'BEGIN { printf "%.2fx", h / p }')
    pass=$(awk -v h="$h" -v g="$goal" 'BEGIN { print (h <= g) ? "yes" : "no" }')
    printf '%-28s %8s %8s %8s %7s %6s %5s\n' "$name" "$h" "$b" "$p" "$ratio" "≤$goal" "$pass"
}
memory_row "idle monitor RSS (MB)" "$h_rss" "$b_rss" "$p_rss" 1.5
memory_row "idle monitor PSS (MB)" "$h_pss" "$b_pss" "$p_pss" 1.5
remove_containers

# Nothing of the runs may be left: a hutch helper names a file under
# $work on its command line.
sleep 0.1
if pgrep -u "$user" -f -- "$work/" >/dev/null; then
    die "processes of the runs are left: $(pgrep -a -u "$user" -f -- "$work/")"
fi

# A cold pull of a big layer (bench/pull.sh), unless HUTCH_BENCH_PULL=0.
if [ "${HUTCH_BENCH_PULL:-1}" != 0 ]; then
    say "cold pull: bench/pull.sh (HUTCH_BENCH_PULL=0 skips it)"
    pull_out=$(bash "$repo/bench/pull.sh" | grep '^PULL ') || die "bench/pull.sh failed"
    echo
    while IFS='|' read -r name value unit; do
        printf '%-58s %10s %s\n' "${name#PULL }" "$value" "$unit"
    done <<<"$pull_out"
    ratio=$(grep -F 'PULL hutch / pipeline|' <<<"$pull_out" | cut -d'|' -f2)
    printf '%-58s %10s %10s %5s\n' "cold pull, hutch / the curl, gunzip, tar pipeline" "$ratio" "≤0.4" \
        "$(awk -v r="$ratio" 'BEGIN { print (r <= 0.4) ? "yes" : "no" }')"
fi

# How costs grow (bench/scale.sh, its own stores), unless
# HUTCH_BENCH_SCALE=0: each line as it measured, then the issue's goals.
[ "${HUTCH_BENCH_SCALE:-1}" = 0 ] && exit 0
say "growth: bench/scale.sh (HUTCH_BENCH_SCALE=0 skips it)"
scale_out=$(bash "$repo/bench/scale.sh" | grep '^SCALE ') || die "bench/scale.sh failed"
echo
printf '%-58s %10s\n' "growth measure" value
while IFS='|' read -r name value unit; do
    printf '%-58s %10s %s\n' "${name#SCALE }" "$value" "$unit"
done <<<"$scale_out"
scale_value() { grep -F "SCALE $1|" <<<"$scale_out" | cut -d'|' -f2; }
ps_large=$(grep -E '^SCALE ps -a, [0-9]+ containers\|' <<<"$scale_out" | tail -n 1 | cut -d'|' -f2)
user_total=$(grep -E '^SCALE PSS of hutch.s processes, [0-9]+ detached, user network\|' <<<"$scale_out" | cut -d'|' -f2)
per_default=$(scale_value "PSS per container, default network")
per_podman=$(scale_value "Podman PSS per container, default network")
echo
printf '%-58s %10s %10s %5s\n' goal hutch goal pass
goal_row() { # NAME VALUE GOAL
    local pass
    pass=$(awk -v h="$2" -v g="$3" 'BEGIN { print (h != "" && g != "" && h <= g) ? "yes" : "no" }')
    printf '%-58s %10s %10s %5s\n' "$1" "${2:--}" "≤${3:--}" "$pass"
}
goal_row "ps -a, largest store (ms)" "$ps_large" 60
goal_row "PSS of hutch's processes, detached on a user network (MB)" "$user_total" 400
goal_row "PSS per container, default network (MB; goal: Podman's)" "$per_default" "$per_podman"
