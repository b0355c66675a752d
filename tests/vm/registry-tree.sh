#!/usr/bin/env bash
# Lays out an OCI image layout as the paths of the registry API, so that a
# static file server (busybox httpd in the guest) answers pulls of it:
#
#   tests/vm/registry-tree.sh OCI_LAYOUT NAME OUT
#
# gives OUT/v2/ (answers the API check), OUT/v2/NAME/manifests/latest and
# OUT/v2/NAME/blobs/sha256:HEX for every blob of the layout.
set -euo pipefail
layout=$1 name=$2 out=$3
top=$(jq -r '.manifests[0].digest' "$layout/index.json")
mkdir -p "$out/v2/$name/manifests" "$out/v2/$name/blobs"
: >"$out/v2/index.html"
cp "$layout/blobs/sha256/${top#sha256:}" "$out/v2/$name/manifests/latest"
for blob in "$layout"/blobs/sha256/*; do
    cp "$blob" "$out/v2/$name/blobs/sha256:${blob##*/}"
done
chmod -R a+rX "$out"
