# The NFS checks of the guest tier (issue #18), sourced by guest-cgroups.sh
# after its own checks: they use its `check`, `$hutch`, `$img` (busybox,
# whose /home/app belongs to 1000:1000) and the registry it serves.
#
# guest-root.sh exported three directories of the guest's disk with
# Debian's nfs-kernel-server (root_squash, sec=sys) and mounted them over
# loopback with NFS 4.2: /mnt/nfs/store (rw), /mnt/nfs/home (rw) and
# /mnt/nfs/ro (exported and mounted read-only; written through
# /srv/nfs/ro on the server's side). It left "ok" or what failed in
# /run/hutch-root/nfs.

nfs_local=/var/tmp/hutch-$(id -u)

# Fails naming the setup's failure unless the exports are mounted.
nfs_ready() {
    local status
    status=$(cat /run/hutch-root/nfs 2>/dev/null) ||
        { echo "no /run/hutch-root/nfs: guest-root.sh did not set NFS up"; return 1; }
    [ "$status" = ok ] || { echo "NFS setup: $status"; return 1; }
    local d
    for d in store home ro; do
        [ "$(stat -f -c %T "/mnt/nfs/$d")" = nfs ] || { echo "/mnt/nfs/$d is not an NFS mount"; return 1; }
    done
}

# A store forced onto NFS with --root: doctor names NFS and the local
# store, and the chown that the server refuses (an image file owned by
# 1000:1000 becomes subordinate id 100999, which AUTH_SYS cannot give);
# pull then fails naming that exact operation, the store and the fix.
nfs_forced_store() {
    nfs_ready || return 1
    local root=/mnt/nfs/store/hutch out code=0 fix
    fix="keep the store on local disk: hutch --root $nfs_local (or export HUTCH_ROOT=$nfs_local)"
    out=$("$hutch" --root "$root" doctor 2>&1) || code=$?
    [ "$code" = 1 ] || { echo "doctor exited $code, not 1:"; echo "$out" | grep -v "^ok"; return 1; }
    echo "$out" | grep -qxF "warn  store-fs        nfs on $root: a network filesystem, where overlay mounts, xattrs and locks misbehave; fix: $fix" ||
        { echo "no NFS store-fs warning:"; echo "$out" | grep store; return 1; }
    local owners
    owners=$(echo "$out" | grep '^fail  store-owners ')
    [[ $owners == "fail  store-owners    chown of $root/tmp/owner-probe-"*" to a subordinate id (1:1 in the user namespace): EPERM: Operation not permitted: image files that belong to users other than root cannot be unpacked there; fix: $fix" ]] ||
        { echo "no store-owners failure:"; echo "$out" | grep store; return 1; }
    echo "$out" | grep -qE "^warn  overlay         kernel overlayfs on $root: mounting overlayfs with userxattr: .*; fuse-overlayfs is used instead" ||
        { echo "no kernel overlay warning:"; echo "$out" | grep overlay; return 1; }
    echo "$out" | grep -qxF "ok    fuse-overlayfs  mounts on $root" ||
        { echo "fuse-overlayfs does not mount on NFS:"; echo "$out" | grep overlay; return 1; }
    [ "$(stat -c %a "$root")" = 700 ] || { echo "doctor left $root mode $(stat -c %a "$root")"; return 1; }
    code=0
    out=$("$hutch" --root "$root" pull -q "$img" 2>&1) && { echo "pull onto NFS worked: $out"; return 1; }
    echo "$out" | grep -qE "^Error: pulling $img:latest: unpacking layers: store $root on nfs: layer sha256:[0-9a-f]{64}: entry \"home/app\": setting the owner to 1000:1000: Operation not permitted \(os error 1\)$" ||
        { echo "pull did not name the refused chown:"; echo "$out"; return 1; }
    echo "$out" | grep -qF "Hint: a server of nfs checks file owners itself and refuses the subordinate ids of image files; keep the store on this node: hutch --root $nfs_local" ||
        { echo "no hint naming the local store:"; echo "$out"; return 1; }
    # Nothing was half-recorded.
    out=$("$hutch" --root "$root" images -q 2>&1)
    [ -z "$out" ] || { echo "images after the failed pull: $out"; return 1; }
}

# HOME on NFS: pull and run work with no flag; the one warning names the
# node-local store and how to choose another; the store is there.
nfs_home() {
    nfs_ready || return 1
    local h=/mnt/nfs/home out err
    mkdir -p "$h/.config/containers" &&
        cp "$HOME/.config/containers/registries.conf" "$h/.config/containers/" || return 1
    err=$(mktemp)
    out=$(HOME=$h "$hutch" pull -q "$img" 2>"$err") || { echo "pull: $(cat "$err")"; rm -f "$err"; return 1; }
    local want="Warning: $h/.local/share/hutch is on nfs (a network filesystem): images and containers are kept on this node in $nfs_local; choose another place with --root or HUTCH_ROOT"
    [ "$(cat "$err")" = "$want" ] || { echo "pull's stderr is not the one warning: $(cat "$err")"; rm -f "$err"; return 1; }
    out=$(HOME=$h "$hutch" run --rm "$img" sh -c 'echo $((6 * 7)); ls -ln /home' 2>"$err") ||
        { echo "run: $(cat "$err")"; rm -f "$err"; return 1; }
    [ -s "$err" ] && { echo "run warned again: $(cat "$err")"; rm -f "$err"; return 1; }
    rm -f "$err"
    echo "$out" | head -n1 | grep -qx 42 || { echo "run printed: $out"; return 1; }
    # The image's file owners survived: 1000:1000 in the container.
    echo "$out" | grep -qE '^d.* 1000 +1000 .* app$' || { echo "/home/app in the container: $out"; return 1; }
    out=$(HOME=$h "$hutch" info --format '{{.Store.GraphRoot}}') || return 1
    [ "$out" = "$nfs_local" ] || { echo "info says the store is $out"; return 1; }
    [ "$(stat -c '%U %a' "$nfs_local")" = "$(id -un) 700" ] || { echo "$nfs_local is $(stat -c '%U %a' "$nfs_local")"; return 1; }
    [ "$(stat -f -c %T "$nfs_local")" != nfs ] || { echo "$nfs_local is on NFS"; return 1; }
    [ -s "$nfs_local/db.sqlite" ] || { echo "no database in $nfs_local"; return 1; }
    [ ! -e "$h/.local/share/hutch" ] || { echo "a store was made on NFS at $h/.local/share/hutch"; return 1; }
    out=$(HOME=$h "$hutch" doctor 2>&1)
    echo "$out" | grep -qxF "warn  store-fs        ext4 on $nfs_local: kept on this node, as $h/.local/share/hutch is on nfs (a network filesystem); fix: none needed; to keep the store elsewhere: hutch --root DIR (or export HUTCH_ROOT=DIR)" ||
        { echo "doctor's store-fs line:"; echo "$out" | grep store; return 1; }
    echo "$out" | grep -qxF "ok    store-owners    files in $nfs_local take your subordinate ids" ||
        { echo "doctor's store-owners line:"; echo "$out" | grep store; return 1; }
}

# A squashfs image on a read-only NFS mount runs as the user, also eight
# at once; nothing is written next to the file.
nfs_squashfs_ro() {
    nfs_ready || return 1
    local out i pids=() bad=0
    "$hutch" image save --format squashfs "$img" -o /srv/nfs/ro/app.sqfs >/dev/null || return 1
    touch /mnt/nfs/ro/probe 2>/dev/null && { echo "/mnt/nfs/ro is writable"; return 1; }
    out=$(cd /mnt/nfs/ro && "$hutch" run --rm ./app.sqfs sh -c 'echo $((6 * 7))' 2>&1) ||
        { echo "run ./app.sqfs: $out"; return 1; }
    echo "$out" | head -n1 | grep -qx 42 || { echo "run ./app.sqfs printed: $out"; return 1; }
    for i in 1 2 3 4 5 6 7 8; do
        "$hutch" run --rm /mnt/nfs/ro/app.sqfs sh -c "echo rank $i" >"$HOME/sqfs-$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || bad=$((bad + 1)); done
    for i in 1 2 3 4 5 6 7 8; do
        grep -qx "rank $i" "$HOME/sqfs-$i.out" || { echo "run $i of 8: $(cat "$HOME/sqfs-$i.out")"; bad=$((bad + 1)); }
    done
    rm -f "$HOME"/sqfs-*.out
    [ "$bad" = 0 ] || { echo "$bad of 8 concurrent runs failed"; return 1; }
    out=$(ls -A /srv/nfs/ro)
    [ "$out" = app.sqfs ] || { echo "beside the file: $out"; return 1; }
}

check nfs_forced_store nfs_forced_store
check nfs_home nfs_home
check nfs_squashfs_ro nfs_squashfs_ro
