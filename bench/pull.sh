#!/usr/bin/env bash
# A cold pull of one big gzip layer from the local registry (issue #19):
# hutch against `curl | gunzip | tar -x` of the same blob, and Podman, as
# whole processes, each into a fresh store (or directory) every time;
# medians of RUNS. Not part of the test suite.
#
#   sudo bench/pull.sh [RUNS]      (as root: runs as hutch-test)
#   bench/pull.sh [RUNS]           (as a user with an /etc/subuid range)
#
# The layer is made from the host's /usr/lib and /usr/share files, about
# LAYER_MB (default 200) MB unpacked, gzip -6, pushed once as
# REG/hutch-bench-pull. REG and the hutch binary are found as
# bench/lib.sh says. Prints `PULL name|value|unit` lines, which
# bench/all.sh reads.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-3}
layer_mb=${LAYER_MB:-200}

trap bench_remove_work EXIT
bench_setup hutch-bench-pull

say "making a layer of about $layer_mb MB from /usr"
python3 - "$work/layer.tar" "$layer_mb" <<'EOF'
import os, sys, tarfile
out, limit = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
total = 0
with tarfile.open(out, "w") as t:
    for top in ("/usr/lib/x86_64-linux-gnu", "/usr/share"):
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                if not os.path.isfile(p) or os.path.islink(p):
                    continue
                try:
                    t.add(p, arcname=p.lstrip("/"), recursive=False)
                except OSError:
                    continue
                total += os.path.getsize(p)
                if total >= limit:
                    sys.exit(0)
EOF
gzip -6 -c "$work/layer.tar" >"$work/layer.tar.gz"
is_root && chown "$user" "$work/layer.tar.gz"
unpacked=$(($(stat -c %s "$work/layer.tar") / 1048576))
packed=$(($(stat -c %s "$work/layer.tar.gz") / 1048576))
rm -f "$work/layer.tar"
say "layer: $unpacked MB unpacked, $packed MB gzip; pushing $reg/hutch-bench-pull"
store=$bhome/store-seed
as_user "$hutch" --root "$store" import -q "$work/layer.tar.gz" localhost/hutch-bench-pull >/dev/null ||
    die "hutch import failed"
as_user "$hutch" --root "$store" push -q --compression-format gzip localhost/hutch-bench-pull \
    "$reg/hutch-bench-pull" >/dev/null || die "hutch push failed"
digest=$(as_user "$hutch" --root "$store" inspect -f '{{index .RootFS.Layers 0}}' localhost/hutch-bench-pull)
manifest=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$reg/v2/hutch-bench-pull/manifests/latest")
blob=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["layers"][0]["digest"])' "$manifest")
[ -n "$blob" ] || die "no layer in the pushed manifest"
say "pushed: layer blob $blob (diff id $digest)"

# The median, in seconds, of RUNS runs of SCRIPT (run by bash as the user
# with $R as the run's fresh directory, removed after each run).
median_s() {
    local script=$1 i s e
    : >"$work/out/t"
    for i in $(seq 1 "$runs"); do
        s=$EPOCHREALTIME
        as_user env R="$bhome/run-$i" REG="$reg" BLOB="$blob" H="$hutch" bash -c "$script" >/dev/null 2>&1 ||
            die "failed: $script"
        e=$EPOCHREALTIME
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }' >>"$work/out/t"
        as_user "$hutch" unshare rm -rf "$bhome/run-$i" 2>/dev/null || rm -rf "$bhome/run-$i"
    done
    sort -n "$work/out/t" | awk '{ v[NR] = $1 } END {
        printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

say "timing $runs cold pulls of each"
pipeline=$(median_s 'mkdir -p "$R" && curl -fsS "http://$REG/v2/hutch-bench-pull/blobs/$BLOB" | gunzip | tar -x -C "$R"')
hutch_s=$(median_s '$H --root "$R" pull -q "$REG/hutch-bench-pull"')
printf 'PULL layer|%s MB gzip, %s MB unpacked|\n' "$packed" "$unpacked"
printf 'PULL curl, gunzip, tar pipeline|%s|s\n' "$pipeline"
printf 'PULL hutch pull|%s|s\n' "$hutch_s"
printf 'PULL hutch / pipeline|%s|x\n' "$(awk -v h="$hutch_s" -v p="$pipeline" 'BEGIN { printf "%.2f", h / p }')"
if command -v podman >/dev/null; then
    podman_s=$(median_s 'podman --root "$R/root" --runroot "$R/run" pull -q --tls-verify=false "$REG/hutch-bench-pull"')
    printf 'PULL podman pull|%s|s\n' "$podman_s"
    printf 'PULL podman / pipeline|%s|x\n' "$(awk -v h="$podman_s" -v p="$pipeline" 'BEGIN { printf "%.2f", h / p }')"
fi
# Podman's pause process (catatonit) outlives its pulls.
pause=$work/run/libpod/tmp/pause.pid
if [ -s "$pause" ]; then kill "$(cat "$pause")" 2>/dev/null || true; fi
