#!/usr/bin/env bash
# Issue #18: the squashfs writer, measured. Writes one tree (136 MiB,
# 1,920 entries here: binaries, shared libraries and Perl modules copied
# from this host's /usr by the fixed list below) to a squashfs file with
# `mksquashfs` and the options hutch passes it (src/files/squashfs.rs),
# with the same on one processor (`-processors 1`), and with the
# `backhand` crate (bench/sqfs-writers/, built here in release), ROUNDS
# times each (default 3), order rotated; prints the median CPU time, wall
# time and peak RSS of each (`/usr/bin/time -v`), the output sizes and the
# load average, and checks the mksquashfs and backhand outputs: the same
# entries listed by `unsquashfs -l`, and, mounted with squashfuse, the
# same contents as the tree (`diff -r`) and the same type, mode, owner,
# mtime and link target of every entry below the root. Then says whether
# each writer keeps what that tree lacks: an extended attribute (a file
# capability, as root) and hard links, on a small tree. Not part of the
# test suite.
#
#   bench/sqfs-writers.sh [ROUNDS]      (root or the test user)
#
# The writer binary is SQFSW_BIN if set (the test user, who cannot write
# the target directory, points it at a built one), else built with cargo
# into CARGO_TARGET_DIR (default /work/target-sqfsw).
set -euo pipefail

rounds=${1:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf '%s\n' "$*" >&2; }
die() { say "sqfs-writers: $*"; exit 1; }

for tool in mksquashfs unsquashfs squashfuse fusermount /usr/bin/time python3 cargo; do
    [ "$tool" = cargo ] && [ -n "${SQFSW_BIN:-}" ] && continue
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

if [ -n "${SQFSW_BIN:-}" ]; then
    bin=$SQFSW_BIN
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-sqfsw}
    say "building bench/sqfs-writers (release) into $CARGO_TARGET_DIR"
    cargo build -q --release --manifest-path "$here/sqfs-writers/Cargo.toml"
    bin=$CARGO_TARGET_DIR/release/sqfs-writers
fi
[ -x "$bin" ] || die "no writer binary at $bin"

work=$(mktemp -d /tmp/sqfs-writers.XXXXXX)
mounts=()
cleanup() {
    local m
    for m in "${mounts[@]}"; do fusermount -u "$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The tree: a fixed list, so every run writes the same files. What is
# missing on this host is an error, not a smaller tree.
tree=$work/tree
bins=(/usr/bin/podman /usr/bin/skopeo /usr/bin/git /usr/bin/perl /usr/bin/bash)
libs=(/usr/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libssl.so.3
    /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/lib/x86_64-linux-gnu/libz.so.1
    /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libicudata.so.72)
perl_dirs=(/usr/share/perl/5.36.0 /usr/lib/x86_64-linux-gnu/perl/5.36.0)
say "copying the tree into $tree"
mkdir -p "$tree/usr/bin" "$tree/usr/lib/x86_64-linux-gnu" "$tree/usr/share/perl"
cp -p "${bins[@]}" "$tree/usr/bin/"
for lib in "${libs[@]}"; do
    # The soname link and the file it names, as a distribution lays them.
    cp -P --preserve=all "$lib" "$tree/usr/lib/x86_64-linux-gnu/"
    [ -L "$lib" ] && cp -p "$(readlink -f "$lib")" "$tree/usr/lib/x86_64-linux-gnu/"
done
cp -a "${perl_dirs[0]}" "$tree/usr/share/perl/"
ln -s 5.36.0 "$tree/usr/share/perl/5.36"
mkdir -p "$tree/usr/lib/x86_64-linux-gnu/perl"
cp -a "${perl_dirs[1]}" "$tree/usr/lib/x86_64-linux-gnu/perl/"
# Owners and modes other than root's 0755/0644, so the checks see them
# kept (chown needs root; as the test user the tree is all its own).
if [ "$(id -u)" = 0 ]; then
    chown -R 1000:1000 "$tree/usr/share/perl/5.36.0/Pod"
    chown -h 1000:100 "$tree/usr/share/perl/5.36"
fi
chmod 4755 "$tree/usr/bin/bash"
chmod 0700 "$tree/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto"
touch -h -d '2001-02-03 04:05:06 UTC' "$tree/usr/bin/git" "$tree/usr/share/perl/5.36"
entries=$(find "$tree" -mindepth 1 | wc -l)
size=$(du -s --apparent-size -B1 "$tree" | cut -f1)
say "tree: $entries entries, $((size / 1048576)) MiB"

# The options hutch gives mksquashfs, read from its source.
# The const is named, not quoted, in the options: put its value in.
mapfile -t opts < <(sed -n '/^fn mksquashfs_options/,/^}/p' "$here/../src/files/squashfs.rs" |
    grep -oE '"[^"]*"|COMPRESSION' | tr -d '"' | sed 's/^COMPRESSION$/zstd/')
[ "${#opts[@]}" -gt 0 ] || die "could not read mksquashfs's options from src/files/squashfs.rs"
printf '%s\n' "${opts[@]}" | grep -qx -- -comp || die "no -comp in hutch's mksquashfs options"
grep -q 'COMPRESSION: &str = "zstd"' "$here/../src/files/squashfs.rs" ||
    die "hutch's compressor is no longer zstd: update this script"
say "mksquashfs options (hutch's): ${opts[*]}"

# run WRITER ROUND: writes $work/WRITER.sqfs, appends "user sys wall rss"
# (seconds, seconds, seconds, KiB) to $work/WRITER.times.
run() {
    local out=$work/$1.sqfs log=$work/$1.$2.time
    rm -f "$out"
    sync
    case $1 in
    mksquashfs) /usr/bin/time -v -o "$log" mksquashfs "$tree" "$out" "${opts[@]}" >/dev/null ;;
    mksquashfs-1)
        /usr/bin/time -v -o "$log" mksquashfs "$tree" "$out" "${opts[@]}" -processors 1 >/dev/null
        ;;
    backhand) /usr/bin/time -v -o "$log" "$bin" "$tree" "$out" 2>/dev/null ;;
    esac
    awk -F': ' '
        /User time/ {u=$2} /System time/ {s=$2}
        /Elapsed \(wall clock\)/ {n=split($2, p, ":"); w=0; for (i=1;i<=n;i++) w=w*60+p[i]}
        /Maximum resident set size/ {r=$2}
        END {printf "%s %s %.2f %s\n", u, s, w, r}' "$log" >>"$work/$1.times"
}

say "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) processors"
for ((r = 1; r <= rounds; r++)); do
    # Rotate which goes first, so none always meets another's dirty pages
    # or a colder cache.
    case $((r % 3)) in
    1) order=(mksquashfs backhand mksquashfs-1) ;;
    2) order=(backhand mksquashfs-1 mksquashfs) ;;
    0) order=(mksquashfs-1 mksquashfs backhand) ;;
    esac
    for w in "${order[@]}"; do
        say "round $r: $w"
        run "$w" "$r"
    done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Checks: the listing, then the contents and metadata through squashfuse.
unsquashfs -l -d '' "$work/mksquashfs.sqfs" | grep -v '^Parallel\|^[0-9]* inodes' | sort >"$work/mksquashfs.list"
unsquashfs -l -d '' "$work/backhand.sqfs" | grep -v '^Parallel\|^[0-9]* inodes' | sort >"$work/backhand.list"
diff -u "$work/mksquashfs.list" "$work/backhand.list" >&2 || die "the two files list different entries"
[ "$(grep -c . "$work/backhand.list")" -ge "$entries" ] || die "fewer entries listed than the tree has"
meta() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %U %G %TY-%Tm-%Td-%TH-%TM-%TT %l\n' | sed 's/\.[0-9]* / /' | sort); }
meta "$tree" >"$work/tree.meta"
for w in mksquashfs backhand; do
    mkdir "$work/mnt-$w"
    squashfuse "$work/$w.sqfs" "$work/mnt-$w"
    mounts+=("$work/mnt-$w")
    diff -r --no-dereference "$tree" "$work/mnt-$w" >&2 || die "$w: the contents differ from the tree"
    meta "$work/mnt-$w" >"$work/$w.meta"
    diff -u "$work/tree.meta" "$work/$w.meta" >&2 || die "$w: type, mode, owner, mtime or link differ from the tree"
    say "$w: checked: same entries, contents and metadata as the tree"
done

# What the tree above lacks: an extended attribute (a file capability as
# root, where setting it needs root; a user.* one otherwise) and two hard
# links; whether each writer keeps them, by extracting with unsquashfs.
small=$work/small
mkdir "$small"
cp /usr/bin/true "$small/ping"
echo linked >"$small/a"
ln "$small/a" "$small/b"
if [ "$(id -u)" = 0 ]; then xattr=security.capability; else xattr=user.bench; fi
python3 -c 'import sys, os; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex("0100000200200000000000000000000000000000"))' \
    "$small/ping" "$xattr" || die "cannot set $xattr on $small/ping"
mksquashfs "$small" "$work/small-m.sqfs" "${opts[@]}" >/dev/null
"$bin" "$small" "$work/small-b.sqfs" 2>/dev/null
keeps=()
for w in m b; do
    unsquashfs -q -d "$work/small-$w" "$work/small-$w.sqfs" >/dev/null
    x=no
    python3 -c 'import sys, os; os.getxattr(sys.argv[1], sys.argv[2])' "$work/small-$w/ping" "$xattr" 2>/dev/null && x=yes
    l=no
    [ "$(stat -c %i "$work/small-$w/a")" = "$(stat -c %i "$work/small-$w/b")" ] && l=yes
    keeps+=("$xattr: $x, hard links: $l")
done

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '\ntree: %d entries, %d MiB; %d rounds; load average %s; %d processors\n' \
    "$entries" "$((size / 1048576))" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '%-12s %10s %10s %10s %10s %12s %12s\n' writer cpu_s user_s sys_s wall_s peak_rss_MiB output_MiB
for w in mksquashfs mksquashfs-1 backhand; do
    t=$work/$w.times
    cpu=$(awk '{printf "%.2f\n", $1 + $2}' "$t" | median)
    usr=$(awk '{print $1}' "$t" | median)
    sys=$(awk '{print $2}' "$t" | median)
    wall=$(awk '{print $3}' "$t" | median)
    rss=$(awk '{print $4}' "$t" | median)
    out=$(stat -c %s "$work/$w.sqfs")
    printf '%-12s %10s %10s %10s %10s %12.1f %12.1f\n' "$w" "$cpu" "$usr" "$sys" "$wall" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$out / 1048576" | bc -l)"
done
printf '(mksquashfs-1: the same with -processors 1, for the cost of one core)\n'
for w in mksquashfs backhand; do
    printf '%s: %s\n' "$w" "$(unsquashfs -s "$work/$w.sqfs" | grep -iE '^compression|level' | tr '\n' ' ')"
done
printf '\nkept on a small tree: mksquashfs: %s; backhand: %s\n' "${keeps[0]}" "${keeps[1]}"
printf '\nper round (user sys wall rss_KiB):\n'
for w in mksquashfs mksquashfs-1 backhand; do sed "s/^/$w: /" "$work/$w.times"; done
