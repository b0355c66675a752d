#!/usr/bin/env bash
# Issue #18 (doctor) host tier: `hutch doctor` on a host whose state only
# root can change, checked as the unprivileged users.
#
#   bash tests/doctor/host.sh HUTCH_BIN REGISTRY RANGED_USER NORANGE_USER WORKDIR
#
# Each case changes the host in a private mount namespace of its own
# (unshare -m), so the change is seen by the doctor and run it starts and
# by nothing else on the host (other test runs go on undisturbed), and it
# disappears with the namespace however the case ends:
#   - /dev/fuse with mode 0600: a node of the same device (10, 229) with
#     mode 0600 bind-mounted over it;
#   - newuidmap/newgidmap without the setuid bit: copies of the binaries
#     (cp drops setuid) bind-mounted over them.
# The temporary homes are removed by the EXIT trap.
#
# Prints each check as "ok: ..." or "FAILED: ...", and ends with
# "N passed, N failed".
set -uo pipefail

hutch=$1 registry=$2 ranged=$3 norange=$4 work=$5
passed=0
failed=0
tmp=$(mktemp -d "$work/doctor-tier.XXXXXX")
chmod 0755 "$tmp"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

# as USER SETUP CMD...: runs CMD as USER (fresh HOME, XDG dirs and
# registries.conf trusting the test registry) in a private mount
# namespace where root first ran SETUP. Output in $out, status in $rc.
as() {
    local user=$1 setup=$2 home
    shift 2
    home=$(mktemp -d "$tmp/home.XXXXXX")
    mkdir -p "$home/.config/containers" "$home/run"
    printf 'unqualified-search-registries = ["%s"]\n[[registry]]\nlocation = "%s"\ninsecure = true\n' \
        "$registry" "$registry" >"$home/.config/containers/registries.conf"
    chown -R "$user:" "$home"
    chmod 0700 "$home/run"
    local envs=(HOME="$home" XDG_RUNTIME_DIR="$home/run" XDG_CONFIG_HOME="$home/.config"
        XDG_DATA_HOME="$home/.local/share" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
        LANG=C.UTF-8 TMPDIR="$tmp")
    local script
    script="$setup"$'\n'"cd / && exec runuser -u $user -- env -i ${envs[*]} \"\$@\""
    out=$(unshare -m --propagation private bash -euc "$script" doctor-case "$@" 2>&1)
    rc=$?
}

# has_line NAME STATUS TEXT...: $out has the check NAME with STATUS and
# every TEXT in its line.
has_line() {
    local name=$1 status=$2 line t
    shift 2
    line=$(printf '%s\n' "$out" | awk -v n="$name" '$2 == n' | head -n1)
    if [ -z "$line" ]; then
        echo "no $name line in:"$'\n'"$out"
        return 1
    fi
    if [ "${line%% *}" != "$status" ]; then
        echo "expected $status for $name, got: $line"
        return 1
    fi
    for t in "$@"; do
        if [[ $line != *"$t"* ]]; then
            echo "expected \"$t\" in: $line"
            return 1
        fi
    done
}

check() {
    local what=$1
    shift
    local why
    if why=$("$@"); then pass "$what"; else fail "$what: $why"; fi
}

exit_is() {
    [ "$rc" -eq "$1" ] || { echo "exit status $rc, expected $1; output:"$'\n'"$out"; return 1; }
}

image="$registry/busybox"

# --- /dev/fuse mode 0600 --------------------------------------------------
fuse_setup='d=$(mktemp -d); mount -t tmpfs -o mode=0755 tmpfs "$d"
mknod -m 0600 "$d/fuse" c 10 229; mount --bind "$d/fuse" /dev/fuse'
as "$ranged" "$fuse_setup" "$hutch" doctor
check "fuse 0600: doctor exits 0 (kernel overlayfs works)" exit_is 0
check "fuse 0600: fuse-device warns with the chmod" \
    has_line fuse-device warn "/dev/fuse (mode 0600, uid 0)" "fix: sudo modprobe fuse; sudo chmod 0666 /dev/fuse"
check "fuse 0600: fuse-overlayfs warns, not needed" \
    has_line fuse-overlayfs warn "opening /dev/fuse" "not needed while kernel overlayfs works" "chmod 0666 /dev/fuse"
check "fuse 0600: overlay ok" has_line overlay ok "userxattr"
as "$ranged" "$fuse_setup" "$hutch" run --rm "$image" echo still-runs
check "fuse 0600: run still works (kernel overlayfs)" \
    bash -c '[ "$1" -eq 0 ] && [ "$(printf "%s\n" "$2" | tail -n1)" = still-runs ] || { echo "run: $1: $2"; exit 1; }' _ "$rc" "$out"

# --- newuidmap and newgidmap without setuid -------------------------------
nosuid_setup='d=$(mktemp -d); mount -t tmpfs -o mode=0755 tmpfs "$d"
for h in newuidmap newgidmap; do cp "/usr/bin/$h" "$d/$h"; chmod 0755 "$d/$h"; mount --bind "$d/$h" "/usr/bin/$h"; done'
as "$ranged" "$nosuid_setup" "$hutch" doctor
check "no setuid, ranged user: doctor exits 1" exit_is 1
check "no setuid, ranged user: newuidmap fails with the chmod" \
    has_line newuidmap fail "is neither setuid root nor has cap_setuid" \
    "fix: sudo chmod u+s /usr/bin/newuidmap (or: sudo setcap cap_setuid+ep /usr/bin/newuidmap)"
check "no setuid, ranged user: newgidmap fails with the chmod" \
    has_line newgidmap fail "fix: sudo chmod u+s /usr/bin/newgidmap (or: sudo setcap cap_setgid+ep /usr/bin/newgidmap)"
check "no setuid, ranged user: unshare fails but works with the own id" \
    has_line unshare fail "newuidmap" "with your own id only it works"
as "$ranged" "$nosuid_setup" "$hutch" run --rm "$image" true
check "no setuid, ranged user: run fails naming newuidmap (no fallback for a user with ranges)" \
    bash -c '[ "$1" -eq 125 ] && [[ $2 == *newuidmap* ]] || { echo "run: $1: $2"; exit 1; }' _ "$rc" "$out"

as "$norange" "$nosuid_setup" "$hutch" doctor
check "no setuid, user without range: doctor exits 0" exit_is 0
check "no setuid, user without range: newuidmap only warns" \
    has_line newuidmap warn "unused while you have no subordinate range" "fix: sudo chmod u+s /usr/bin/newuidmap"
as "$norange" "$nosuid_setup" "$hutch" run --rm "$image" echo fallback
check "no setuid, user without range: run works through the single-id fallback" \
    bash -c '[ "$1" -eq 0 ] && [ "$(printf "%s\n" "$2" | tail -n1)" = fallback ] || { echo "run: $1: $2"; exit 1; }' _ "$rc" "$out"

# The host itself was never changed.
check "the host's /dev/fuse and newuidmap are untouched" \
    bash -c '[ "$(stat -c %a /dev/fuse)" = 666 ] && [ -u /usr/bin/newuidmap ] || { ls -l /dev/fuse /usr/bin/newuidmap; exit 1; }'

echo "$passed passed, $failed failed"
