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
# target/release/hutch. HUTCH_BASE_BIN names a second hutch (for example a
# build of the previous release) timed in the same run as "base", so a
# change is measured against its baseline under the same load.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-50}
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"

trap bench_remove_work EXIT
bench_setup hutch-bench

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
as_user "$hutch" run --rm "$reg/busybox" true || die "hutch run --rm $reg/busybox true failed"
# Each tool with its default network (hutch and podman 4: slirp4netns;
# Podman 5 moved to pasta) and with --network none (no helper process).
cmds=("$hutch run --rm $reg/busybox true" "$hutch run --rm --network none $reg/busybox true")
names=(hutch hutch-none)
if [ -n "${HUTCH_BASE_BIN:-}" ]; then
    [ -x "$HUTCH_BASE_BIN" ] || die "HUTCH_BASE_BIN=$HUTCH_BASE_BIN is not an executable"
    base=$work/hutch-base
    install -m 0755 "$HUTCH_BASE_BIN" "$base"
    # A store of its own: an older build may not open a newer schema.
    base="$base --root $bhome/.local/share/hutch-base"
    as_user $base pull -q "$reg/busybox" >/dev/null || die "base hutch pull failed"
    cmds+=("$base run --rm $reg/busybox true" "$base run --rm --network none $reg/busybox true")
    names+=(base base-none)
fi
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
