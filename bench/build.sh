#!/usr/bin/env bash
# Times `build` of a 10-step Containerfile (issue #15): a first build
# (every step run: --no-cache) and a fully cached rebuild, with hutch and,
# when installed, podman, as the unprivileged test user; prints the
# medians side by side. Not part of the test suite.
#
#   sudo bench/build.sh [RUNS]      (as root: runs as hutch-test)
#   bench/build.sh [RUNS]           (as a user with an /etc/subuid range)
#
# REG and the hutch binary are found as bench/lib.sh says.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-10}
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"

trap bench_remove_work EXIT
bench_setup hutch-bench-build

ctx=$work/ctx
mkdir -p "$ctx/src"
for i in 1 2 3; do echo "file $i" >"$ctx/src/f$i"; done
cat >"$ctx/Containerfile" <<EOF
FROM $reg/busybox
ARG VERSION=1
ENV APP=/app
WORKDIR /app
COPY src/ ./src/
RUN echo "\$VERSION" > version
RUN mkdir -p data && cat src/* > data/all
LABEL org.example.bench=build
USER app
EXPOSE 8080
CMD ["cat", "/app/data/all"]
EOF
chmod -R a+rX "$ctx"
is_root && chown -R "$user" "$ctx"

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
as_user "$hutch" build -q -t bench "$ctx" >/dev/null || die "hutch build failed"
cmds=("$hutch build -q --no-cache -t bench $ctx" "$hutch build -q -t bench $ctx")
names=(hutch-first hutch-cached)
if command -v podman >/dev/null; then
    as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null || die "podman pull failed"
    if as_user podman build -q -t bench "$ctx" >/dev/null; then
        cmds+=("podman build -q --no-cache -t bench $ctx" "podman build -q -t bench $ctx")
        names+=(podman-first podman-cached)
    else
        say "podman build failed; timing hutch only"
    fi
fi

say "timing ${#cmds[@]} command(s), $runs runs each, as $user"
as_user hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/out/result.json" "${cmds[@]}" >&2

echo
printf '%-14s %12s %12s %12s\n' tool median_ms mean_ms stddev_ms
for i in "${!names[@]}"; do
    jq -r --argjson i "$i" --arg n "${names[$i]}" \
        '.results[$i] | [$n, (.median * 1000), (.mean * 1000), (.stddev * 1000)] | "\(.[0]) \(.[1]) \(.[2]) \(.[3])"' \
        "$work/out/result.json" | awk '{ printf "%-14s %12.1f %12.1f %12.1f\n", $1, $2, $3, $4 }'
done
