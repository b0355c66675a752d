#!/usr/bin/env bash
# Issue #18: the start of N concurrent containers (default 32), as ranks
# of a job would start them, from one squashfs file (`image save --format
# squashfs`, then `run FILE.sqfs`), from the store (`run IMAGE`), and with
# Podman from its store; each a whole batch timed from the first start to
# the last exit, repeated ROUNDS times (default 5), medians printed. As the
# unprivileged test user, with `--network none` (ranks talk over the
# host's fabric, not a container network). Not part of the test suite.
#
#   sudo bench/hpc.sh [N [ROUNDS]]      (as root: runs as hutch-test)
#
# REG, the hutch binary and the registry: as bench/run.sh (bench/lib.sh).
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

n=${1:-32}
rounds=${2:-5}

trap bench_remove_work EXIT
bench_setup hutch-hpc
img="$reg/busybox"
sqfs="$work/out/app.sqfs"

say "pulling $img and saving it as $sqfs"
as_user "$hutch" pull -q "$img" >/dev/null || die "hutch pull failed"
as_user "$hutch" image save --format squashfs "$img" -o "$sqfs" || die "image save failed"
chmod 0444 "$sqfs"

have_podman=""
if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$img" >/dev/null && have_podman=1
fi

# Seconds (3 decimals) for N concurrent runs of "$@" IMAGE-OR-FILE true.
batch() {
    local start end i pids=()
    start=$(date +%s.%N)
    for ((i = 0; i < n; i++)); do
        as_user "$@" true >/dev/null 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || die "a run failed: $*"; done
    end=$(date +%s.%N)
    echo "$start $end" | awk '{printf "%.3f\n", $2 - $1}'
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

declare -A result
for kind in sqfs store podman; do
    [ "$kind" = podman ] && [ -z "$have_podman" ] && continue
    times=()
    for ((r = 0; r < rounds; r++)); do
        case $kind in
        sqfs) times+=("$(batch "$hutch" run --rm --network none "$sqfs")") ;;
        store) times+=("$(batch "$hutch" run --rm --network none "$img")") ;;
        podman) times+=("$(batch podman run --rm --network none "$img")") ;;
        esac
    done
    result[$kind]=$(printf '%s\n' "${times[@]}" | median)
    say "$kind: ${times[*]}"
done

printf '%d concurrent containers, median of %d batches (seconds, first start to last exit)\n' "$n" "$rounds"
printf '  hutch run FILE.sqfs   %s\n' "${result[sqfs]}"
printf '  hutch run IMAGE       %s\n' "${result[store]}"
printf '  podman run IMAGE      %s\n' "${result[podman]:-(podman not installed)}"
