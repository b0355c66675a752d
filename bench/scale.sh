#!/usr/bin/env bash
# How hutch's costs grow (issue #19): each measure at a small and a large
# size, with the growth as a ratio. Not part of the test suite.
#
#   ps -a            with 500 and 5,000 created containers (median ms)
#   images           with 100 and 1,000 images (median ms)
#   run --rm         of a 1-layer and a 120-layer image (median ms)
#   detached         200 `run -d ... sleep` on the default network and on
#                    one user network: the time to start them all, and the
#                    PSS of every process hutch left for them (monitors,
#                    network helpers, forwarders, the network holder,
#                    aardvark-dns), in total and per container; Podman's
#                    per-container PSS on its default network (conmon,
#                    slirp4netns, its pause process) from PODMAN_N
#                    containers, for the goal "at most Podman's"
#   concurrent       50 `run --rm` started at once: wall time until all end
#
#   sudo bench/scale.sh            (as root: runs as hutch-test)
#   bench/scale.sh                 (as a user with an /etc/subuid range)
#
# Sizes can be made smaller for a quick look: PS_N (5000), IMAGES_N (1000),
# LAYERS_N (120), DETACHED_N (200), PODMAN_N (20), CONCURRENT_N (50), RUNS
# (timed runs per median, 15). REG and the hutch binary are found as
# bench/lib.sh says. Ends with an error if a process of the user is left.
# Prints one line per measure, `SCALE measure|value|unit`, which
# bench/all.sh reads.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ps_n=${PS_N:-5000}
images_n=${IMAGES_N:-1000}
layers_n=${LAYERS_N:-120}
detached_n=${DETACHED_N:-200}
podman_n=${PODMAN_N:-20}
concurrent_n=${CONCURRENT_N:-50}
runs=${RUNS:-15}

cleanup() {
    if [ -n "${hutch:-}" ] && [ -n "${work:-}" ]; then
        for s in ps images detached usernet; do
            as_user "$hutch" --root "$bhome/store-$s" rm -a -f -t 0 >/dev/null 2>&1 || true
        done
        as_user "$hutch" --root "$bhome/store-usernet" network rm -f scalenet >/dev/null 2>&1 || true
        as_user "$hutch" rm -a -f -t 0 >/dev/null 2>&1 || true
    fi
    if [ -n "${podman_ok:-}" ]; then as_user podman rm -a -f -t 0 >/dev/null 2>&1 || true; fi
    bench_remove_work
}
trap cleanup EXIT
bench_setup hutch-bench-scale

report() { printf 'SCALE %s|%s|%s\n' "$1" "$2" "$3"; }

# The median, in ms, of RUNS timed runs of the command (output dropped),
# after one untimed run.
median_ms() {
    as_user bash -c '
        runs=$1; shift
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        for _ in $(seq 1 "$runs"); do
            s=$EPOCHREALTIME; "$@" >/dev/null 2>&1; e=$EPOCHREALTIME
            echo "$s $e"
        done' _ "$runs" "$@" |
        awk '{ split($1, a, "."); split($2, b, ".");
               printf "%.3f\n", ((b[1] - a[1]) * 1e6 + (b[2] - a[2])) / 1000 }' |
        sort -n | awk '{ v[NR] = $1 } END {
            printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0) ? b / a : 0 }'; }

# Runs a script as the user with `$hutch --root STORE` as "$h".
in_store() {
    local store=$1
    shift
    as_user env H="$hutch --root $bhome/store-$store" REG="$reg" bash -c "$@"
}

say "pulling $reg/busybox into each store"
for s in ps images layers detached usernet; do
    in_store "$s" '$H pull -q "$REG/busybox" >/dev/null' || die "hutch pull failed"
done

# --- ps -a ------------------------------------------------------------------
make_containers() { # STORE FROM TO
    in_store "$1" 'for i in $(seq '"$2 $3"'); do
        $H create --name "c$i" "$REG/busybox" true >/dev/null || exit 1
    done' || die "hutch create failed"
}
small=$((ps_n / 10))
say "ps -a: creating $small containers"
make_containers ps 1 "$small"
ps_small=$(median_ms $hutch --root "$bhome/store-ps" ps -a)
say "ps -a: creating $((ps_n - small)) more"
make_containers ps $((small + 1)) "$ps_n"
ps_large=$(median_ms $hutch --root "$bhome/store-ps" ps -a)
[ "$(as_user $hutch --root "$bhome/store-ps" ps -a -q | wc -l)" -eq "$ps_n" ] ||
    die "ps -a -q does not list $ps_n containers"
report "ps -a, $small containers" "$ps_small" ms
report "ps -a, $ps_n containers" "$ps_large" ms
report "ps -a growth ($ps_n vs $small)" "$(ratio "$ps_small" "$ps_large")" x

# --- images -----------------------------------------------------------------
make_images() { # FROM TO: each a one-file image of its own
    in_store images 'd=$(mktemp -d); for i in $(seq '"$1 $2"'); do
        echo "$i" >"$d/id"; tar -C "$d" -cf "$d/l.tar" id
        $H import -q "$d/l.tar" "localhost/scale$i" >/dev/null || exit 1
    done; rm -rf "$d"' || die "hutch import failed"
}
small=$((images_n / 10))
say "images: importing $small images"
make_images 1 "$small"
img_small=$(median_ms $hutch --root "$bhome/store-images" images)
say "images: importing $((images_n - small)) more"
make_images $((small + 1)) "$images_n"
img_large=$(median_ms $hutch --root "$bhome/store-images" images)
report "images, $small images" "$img_small" ms
report "images, $images_n images" "$img_large" ms
report "images growth ($images_n vs $small)" "$(ratio "$img_small" "$img_large")" x

# --- an image of many layers ------------------------------------------------
say "building an image of $layers_n layers"
ctx=$work/layers
mkdir -p "$ctx"
{
    echo "FROM $reg/busybox"
    for i in $(seq 2 "$layers_n"); do
        echo "l$i" >"$ctx/f$i"
        echo "COPY f$i /layers/f$i"
    done
} >"$ctx/Containerfile"
is_root && chown -R "$user" "$ctx"
in_store layers '$H build -q -t localhost/layers '"$ctx"' >/dev/null' || die "hutch build failed"
got=$(as_user $hutch --root "$bhome/store-layers" inspect -f '{{len .RootFS.Layers}}' localhost/layers)
[ "$got" -eq "$layers_n" ] || die "the built image has $got layers, not $layers_n"
as_user $hutch --root "$bhome/store-layers" run --rm localhost/layers cat "/layers/f$layers_n" |
    grep -qx "l$layers_n" || die "the top layer's file is not seen in the container"
run1=$(median_ms $hutch --root "$bhome/store-layers" run --rm --network none "$reg/busybox" true)
runn=$(median_ms $hutch --root "$bhome/store-layers" run --rm --network none localhost/layers true)
report "run --rm --network none, 1 layer" "$run1" ms
report "run --rm --network none, $layers_n layers" "$runn" ms
report "run growth ($layers_n vs 1 layer)" "$(ratio "$run1" "$runn")" x

# --- detached containers ----------------------------------------------------
# pss.py USER PID...: the PSS (kB) of the user's processes outside the
# process trees rooted at PID... (the containers); with --left HOME, the
# pids of the user's processes whose HOME is that one instead.
cat >"$work/pss.py" <<'EOF'
import os, pwd, sys
left = sys.argv[1] == "--left"
if left:
    home = sys.argv[2].encode()
    args = sys.argv[3:]
else:
    args = sys.argv[1:]
uid = pwd.getpwnam(args[0]).pw_uid
roots = {int(p) for p in args[1:] if p.isdigit() and int(p) > 0}
ppid, procs = {}, []
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) == os.getpid():
        continue
    try:
        st = open(f"/proc/{d}/stat").read()
        if os.stat(f"/proc/{d}").st_uid != uid:
            continue
    except OSError:
        continue
    ppid[int(d)] = int(st.rsplit(")", 1)[1].split()[1])
    procs.append(int(d))
if left:
    for p in procs:
        try:
            env = open(f"/proc/{p}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"HOME=" + home in env:
            print(p)
    sys.exit(0)
def inside(p):
    while p > 1:
        if p in roots:
            return True
        p = ppid.get(p, 0)
    return False
total = 0
for p in procs:
    if inside(p):
        continue
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total)
EOF

# The PSS (kB) of the user's processes outside the containers that TOOL
# ARGS... (a hutch with its store, or podman) lists as running.
pss_outside() { # TOOL ARGS...
    local inside
    inside=$(as_user "$@" ps -q --no-trunc | while read -r id; do
        as_user "$@" inspect -f '{{.State.Pid}}' "$id"
    done)
    # shellcheck disable=SC2086 # one pid per word
    python3 "$work/pss.py" "$user" $inside
}

detached() { # NAME STORE NETWORK-FLAGS...
    local name=$1 store=$2
    shift 2
    local base start end pss
    base=$(pss_outside $hutch --root "$bhome/store-$store")
    start=$EPOCHREALTIME
    in_store "$store" 'for i in $(seq 1 '"$detached_n"'); do
        $H run -d '"$*"' --name "d$i" "$REG/busybox" sleep 100000 >/dev/null || exit 1
    done' || die "hutch run -d ($name) failed"
    end=$EPOCHREALTIME
    sleep 2
    [ "$(as_user $hutch --root "$bhome/store-$store" ps -q | wc -l)" -eq "$detached_n" ] ||
        die "not all $detached_n containers ($name) run"
    pss=$(pss_outside $hutch --root "$bhome/store-$store")
    report "start $detached_n detached, $name" "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')" s
    report "PSS of hutch's processes, $detached_n detached, $name" "$(((pss - base) / 1024))" MB
    report "PSS per container, $name" "$(awk -v p="$pss" -v b="$base" -v n="$detached_n" 'BEGIN { printf "%.2f", (p - b) / n / 1024 }')" MB
    as_user $hutch --root "$bhome/store-$store" rm -a -f -t 0 >/dev/null
}
say "starting $detached_n detached containers on the default network"
detached "default network" detached
say "starting $detached_n detached containers on one user network"
as_user $hutch --root "$bhome/store-usernet" network create scalenet >/dev/null
detached "user network" usernet --network scalenet

podman_ok=
if command -v podman >/dev/null && as_user podman pull -q --tls-verify=false "$reg/busybox" >/dev/null; then
    podman_ok=1
    say "starting $podman_n detached Podman containers on its default network"
    base=$(pss_outside podman)
    as_user bash -c 'for i in $(seq 1 '"$podman_n"'); do
        podman run -d --name "p$i" "$1/busybox" sleep 100000 >/dev/null || exit 1
    done' _ "$reg" || die "podman run -d failed"
    sleep 2
    pss=$(pss_outside podman)
    report "Podman PSS per container, default network" "$(awk -v p="$pss" -v b="$base" -v n="$podman_n" 'BEGIN { printf "%.2f", (p - b) / n / 1024 }')" MB
    as_user podman rm -a -f -t 0 >/dev/null
    # Podman's pause process (catatonit) outlives its containers.
    pause=$work/run/libpod/tmp/pause.pid
    if [ -s "$pause" ]; then kill "$(cat "$pause")" 2>/dev/null || true; fi
fi

# --- concurrent runs --------------------------------------------------------
say "$concurrent_n concurrent run --rm"
start=$EPOCHREALTIME
in_store detached 'pids=(); for i in $(seq 1 '"$concurrent_n"'); do
    $H run --rm "$REG/busybox" true & pids+=($!)
done; rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc' ||
    die "a concurrent run --rm failed"
end=$EPOCHREALTIME
report "$concurrent_n concurrent run --rm, all done" "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')" s

sleep 1
left=$(python3 "$work/pss.py" --left "$bhome" "$user")
[ -z "$left" ] || die "processes left behind: $(ps -o pid,args -p "${left//$'\n'/,}")"
