#!/usr/bin/env bash
# Compares the start latency of `hutch run --rm REG/busybox true` with the
# default id maps and with --userns=keep-id (issue #7: within 1.2x after
# the first start, which makes the keep-id copy of the layers), as the
# unprivileged test user; prints the medians and their ratio. Not part of
# the test suite.
#
#   sudo bench/keepid.sh [RUNS]     (as root: runs as hutch-test)
#   bench/keepid.sh [RUNS]          (as a user with an /etc/subuid range)
#
# REG is HUTCH_BENCH_REGISTRY, else 127.0.0.1:5000 if a registry answers
# there (install.sh sets one up), else a throwaway registry started here.
# The hutch binary is HUTCH_BIN, else ~USER/.local/bin/hutch, else
# target/release/hutch.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-50}
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"

trap bench_remove_work EXIT
bench_setup hutch-bench

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
# The first start of each: keep-id's makes the shifted layer copies.
as_user "$hutch" run --rm "$reg/busybox" true || die "hutch run --rm $reg/busybox true failed"
as_user "$hutch" run --rm --userns=keep-id "$reg/busybox" true || die "hutch run --rm --userns=keep-id failed"
cmds=("$hutch run --rm $reg/busybox true" "$hutch run --rm --userns=keep-id $reg/busybox true")
names=(default keep-id)

say "timing ${#cmds[@]} commands, $runs runs each, as $user"
as_user hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/out/result.json" "${cmds[@]}" >&2

echo
printf '%-8s %12s %12s %12s\n' mode median_ms mean_ms stddev_ms
for i in "${!names[@]}"; do
    jq -r --argjson i "$i" --arg n "${names[$i]}" \
        '.results[$i] | [$n, (.median * 1000), (.mean * 1000), (.stddev * 1000)] | "\(.[0]) \(.[1]) \(.[2]) \(.[3])"' \
        "$work/out/result.json" | awk '{ printf "%-8s %12.1f %12.1f %12.1f\n", $1, $2, $3, $4 }'
done
jq -r '"keep-id/default median ratio: \(.results[1].median / .results[0].median * 1000 | round / 1000)"' "$work/out/result.json"
