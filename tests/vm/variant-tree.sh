#!/usr/bin/env bash
# Lays out an OCI image layout as a registry tree (tests/vm/registry-tree.sh)
# and adds two more versions of the image beside its tag, for the
# auto-update checks (issue #16): same layers, another config each, so
# another digest each.
#
#   tests/vm/variant-tree.sh OCI_LAYOUT NAME OUT
#
# gives OUT/v2/NAME/manifests/latest (the layout's image) and, in the same
# directory, `next` (a label added: a new version that works) and `broken`
# (its entrypoint a command that does not exist: a version that fails to
# start). Copying one of them over `latest` is what pushing it would do.
set -euo pipefail
layout=$1 name=$2 out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$here/registry-tree.sh" "$layout" "$name" "$out"
repo=$out/v2/$name
manifest=$repo/manifests/latest
config=$repo/blobs/$(jq -r '.config.digest' "$manifest")
[ -s "$config" ] || { echo "variant-tree.sh: no config blob for $manifest" >&2; exit 1; }

# variant TAG JQ_FILTER: a config changed by the filter, and a manifest
# naming it under TAG.
variant() {
    local tag=$1 filter=$2 tmp hex size
    tmp=$(mktemp)
    jq -c "$filter" "$config" >"$tmp"
    hex=$(sha256sum "$tmp" | cut -d' ' -f1)
    size=$(stat -c %s "$tmp")
    mv "$tmp" "$repo/blobs/sha256:$hex"
    jq -c --arg d "sha256:$hex" --argjson s "$size" '.config.digest = $d | .config.size = $s' \
        "$manifest" >"$repo/manifests/$tag"
}
variant next '.config.Labels["io.hutch.test.version"] = "next"'
variant broken '.config.Entrypoint = ["/no/such/command"]'
chmod -R a+rX "$out"
