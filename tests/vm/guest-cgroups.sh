#!/usr/bin/env bash
# The cgroup v2 tier: runs inside the guest (tests/vm/boot.sh) as the
# unprivileged user, in a logind session with a systemd user manager.
#
#   guest-cgroups.sh HUTCH REGISTRY_TREE [FILTER]
#
# HUTCH is the hutch binary; REGISTRY_TREE a directory laid out as the
# registry API paths (v2/busybox/manifests/latest, v2/busybox/blobs/...),
# which busybox httpd serves on 127.0.0.1 as a read-only registry. Prints
# "ok NAME" or "FAILED NAME: why" per check and ends with
# "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

hutch=$1
tree=$2
filter=${3:-}
passed=0
failed=0
port=8765
reg=127.0.0.1:$port
img=$reg/busybox

pass() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAILED $1: $2"; failed=$((failed + 1)); }
wanted() { [ -z "$filter" ] || [[ $1 == *"$filter"* ]]; }

# --- setup ------------------------------------------------------------------
export HOME=${HOME:-/home/hutch}
mkdir -p "$HOME/.config/containers"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >"$HOME/.config/containers/registries.conf"
busybox httpd -p "127.0.0.1:$port" -h "$tree" || { echo "FAILED setup: httpd"; exit 1; }
if ! out=$("$hutch" pull -q "$img" 2>&1); then
    echo "FAILED setup: pull: $out"
    exit 1
fi

# check NAME COMMAND... : runs the check when it matches the filter.
check() {
    local name=$1
    shift
    wanted "$name" || return 0
    local why
    # The first lines hold the reason (an Error: line, "missing X in:").
    if why=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$why" | head -n 12 | tr '\n' ' ')"; fi
}

scopes() { systemctl --user list-units --all --no-legend 'hutch-*' | wc -l; }

memory_max() {
    local out
    out=$("$hutch" run --rm --memory 32m "$img" cat /sys/fs/cgroup/memory.max) || return 1
    [ "$out" = 33554432 ] || { echo "memory.max is $out"; return 1; }
    # The container sees its own cgroup as the root of its namespace.
    out=$("$hutch" run --rm --memory 32m "$img" cat /proc/self/cgroup) || return 1
    [ "$out" = "0::/" ] || { echo "/proc/self/cgroup is $out"; return 1; }
}

oom_kill() {
    "$hutch" run --name oom --memory 32m --memory-swap 32m "$img" \
        sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1' >/dev/null 2>&1
    local code=$?
    [ "$code" = 137 ] || { echo "exit code $code, not 137"; return 1; }
    local state
    state=$("$hutch" inspect --format '{{.State.OOMKilled}} {{.State.ExitCode}}' oom) || return 1
    "$hutch" rm oom >/dev/null
    [ "$state" = "true 137" ] || { echo "inspect says $state"; return 1; }
}

cpu_quota() {
    local out
    out=$("$hutch" run --rm --cpus 0.5 "$img" cat /sys/fs/cgroup/cpu.max) || return 1
    [ "$out" = "50000 100000" ] || { echo "cpu.max is $out"; return 1; }
    # A limited and a free busy loop side by side, read in one window: the
    # guest is emulated and its host may be busy, so compare them rather
    # than trust absolute numbers alone.
    "$hutch" run -d --name busy --cpus 0.5 "$img" sh -c 'while :; do :; done' >/dev/null || return 1
    "$hutch" run -d --name free "$img" sh -c 'while :; do :; done' >/dev/null || return 1
    sleep 2
    local perc
    perc=$("$hutch" stats --no-stream --interval 3 --format '{{.Name}} {{.CPUPerc}}' busy free) || return 1
    "$hutch" rm -f busy free >/dev/null
    local limited unlimited
    limited=$(echo "$perc" | awk '$1 == "busy" { sub("%", "", $2); print $2 }')
    unlimited=$(echo "$perc" | awk '$1 == "free" { sub("%", "", $2); print $2 }')
    awk -v l="$limited" -v f="$unlimited" 'BEGIN { exit !(l > 25 && l < 65 && f > l * 1.3) }' ||
        { echo "busy loops used: $perc"; return 1; }
}

pids_limit() {
    local out
    # The shell gives up at the first fork that fails; a subshell takes
    # that, and the sleeps it started stay.
    out=$("$hutch" run --rm --pids-limit 20 "$img" sh -c '
        (for i in $(seq 40); do sleep 30 & done) 2>/dev/null
        cat /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids.max') || return 1
    set -- $out
    [ "$2" = 20 ] || { echo "pids.max is $2"; return 1; }
    [ "$1" -le 20 ] || { echo "$1 tasks under a limit of 20"; return 1; }
}

pause_unpause() {
    "$hutch" run -d --name counter "$img" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null || return 1
    sleep 1
    "$hutch" pause counter >/dev/null || return 1
    local status a b c
    status=$("$hutch" inspect --format '{{.State.Paused}}' counter)
    # exec in a paused container is refused (its command would freeze in
    # the container's cgroup), as with Podman; cp still reads its files.
    local refused=0
    "$hutch" exec counter true >/dev/null 2>&1 || refused=$?
    rm -f "$HOME/n1" "$HOME/n2"
    "$hutch" cp counter:/tmp/n "$HOME/n1" && a=$(cat "$HOME/n1")
    sleep 1
    "$hutch" cp counter:/tmp/n "$HOME/n2" && b=$(cat "$HOME/n2")
    "$hutch" unpause counter >/dev/null || return 1
    sleep 1
    c=$("$hutch" exec counter cat /tmp/n) || return 1
    "$hutch" rm -f counter >/dev/null
    [ "$status" = true ] || { echo "inspect Paused is $status"; return 1; }
    [ "$refused" = 125 ] || { echo "exec in the paused container exited $refused"; return 1; }
    [ -n "$a" ] && [ "$a" = "$b" ] || { echo "the counter moved while paused: $a then $b"; return 1; }
    [ "$c" -gt "$b" ] || { echo "the counter did not resume: $b then $c"; return 1; }
}

update_memory() {
    "$hutch" run -d --name upd --memory 32m "$img" sleep 60 >/dev/null || return 1
    "$hutch" update --memory 64m upd >/dev/null || return 1
    local out
    out=$("$hutch" exec upd cat /sys/fs/cgroup/memory.max) || return 1
    "$hutch" rm -f upd >/dev/null
    [ "$out" = 67108864 ] || { echo "memory.max after update is $out"; return 1; }
}

# A clone (issue #13) takes its original's limits, those `update` gave it
# included, with its own flags over them.
clone_limits() {
    "$hutch" create --name cl --memory 32m --cpus 0.5 "$img" \
        cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max >/dev/null || return 1
    "$hutch" update --memory 48m cl >/dev/null || { "$hutch" rm -f cl >/dev/null; return 1; }
    "$hutch" container clone --cpus 1 cl cl2 >/dev/null || { "$hutch" rm -f cl >/dev/null; return 1; }
    local out
    out=$("$hutch" start -a cl2 | tr '\n' ' ')
    "$hutch" rm -f cl cl2 >/dev/null
    [ "$out" = "50331648 100000 100000 " ] || { echo "the clone's limits are $out"; return 1; }
}

no_scopes_left() {
    "$hutch" run -d --name left "$img" sleep 60 >/dev/null || return 1
    local during
    during=$(scopes)
    "$hutch" rm -f left >/dev/null || return 1
    sleep 0.5
    [ "$during" = 1 ] || { echo "$during hutch scopes while one container ran"; return 1; }
    [ "$(scopes)" = 0 ] || { echo "scopes left after rm:"; systemctl --user list-units --all 'hutch-*'; return 1; }
}

cgroupfs_manager() {
    # Twice in one delegated scope: the second run starts in the `hutch`
    # leaf the first moved the scope's processes to, and its container
    # must land beside that leaf, not below it.
    local out
    out=$(systemd-run --user --scope -q -p Delegate=yes sh -c '
        "$1" run --rm --cgroup-manager=cgroupfs --memory 32m "$2" cat /sys/fs/cgroup/memory.max &&
        "$1" --cgroup-manager=cgroupfs run --rm --memory 16m "$2" cat /sys/fs/cgroup/memory.max &&
        cat /proc/self/cgroup && ls /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/..' sh "$hutch" "$img") || { echo "$out"; return 1; }
    set -- $out
    [ "$1" = 33554432 ] && [ "$2" = 16777216 ] || { echo "memory.max read $1 and $2"; return 1; }
    case $3 in
    0::/*.scope/hutch) ;;
    *) echo "the shell ended in $3"; return 1 ;;
    esac
    # Nothing of the two containers is left, only the leaf with the shell.
    echo "$out" | grep -q 'hutch-' && { echo "a container cgroup was left: $out"; return 1; }
    return 0
}

no_warning_on_v2() {
    local err
    err=$("$hutch" run --rm "$img" true 2>&1 >/dev/null) || return 1
    [ -z "$err" ] || { echo "stderr: $err"; return 1; }
}

more_limits() {
    # The other limit flags land in their interface files; the guest's
    # disk is /dev/vda.
    local out
    out=$("$hutch" run --rm --memory 64m --memory-reservation 16m --memory-swap 96m \
        --cpu-quota 20000 --cpu-period 50000 --cpu-shares 2048 --cpuset-cpus 0 \
        --blkio-weight 500 --device-read-bps /dev/vda:1mb --device-write-iops /dev/vda:100 \
        "$img" sh -c 'cd /sys/fs/cgroup && for f in memory.low memory.swap.max cpu.max cpu.weight cpuset.cpus io.weight; do echo "$f=$(cat $f)"; done; cat io.max') || { echo "$out"; return 1; }
    local want
    for want in "memory.low=16777216" "memory.swap.max=33554432" "cpu.max=20000 50000" \
        "cpu.weight=79" "cpuset.cpus=0" "io.weight=default 4950" "rbps=1048576" "wiops=100"; do
        echo "$out" | grep -qF -- "$want" || { echo "missing $want in: $out"; return 1; }
    done
    # --cpus and --cpu-weight, and a systemd slice as --cgroup-parent.
    out=$("$hutch" run --rm --cpu-weight 300 --cgroup-parent hutch-test.slice "$img" \
        sh -c 'cat /sys/fs/cgroup/cpu.weight') || { echo "$out"; return 1; }
    [ "$out" = 300 ] || { echo "cpu.weight is $out"; return 1; }
}

# Issue #13: --blkio-weight-device and --cgroup-conf land in the
# container's cgroup files (the guest's root turned blk-iocost on for the
# disk, see guest-root.sh, so io.weight takes per-device weights); the
# realtime flags and device rules are accepted and change nothing.
cgroup_knobs() {
    local dev out
    dev=$(cat /sys/block/vda/dev) || return 1
    out=$("$hutch" run --rm --blkio-weight-device /dev/vda:500 \
        --cgroup-conf memory.high=33554432 --cgroup-conf pids.max=17 \
        --cpu-rt-period 1000000 --cpu-rt-runtime 950000 --device-cgroup-rule 'c 1:3 rwm' \
        "$img" sh -c "cd /sys/fs/cgroup && cat memory.high pids.max && grep '^$dev ' io.weight" 2>&1) ||
        { echo "$out"; return 1; }
    local want
    for want in "33554432" "17" "$dev 4950" "Warning: --cpu-rt-period has no effect" \
        "Warning: --device-cgroup-rule has no effect"; do
        echo "$out" | grep -qxF -- "$want" || echo "$out" | grep -qF -- "$want" ||
            { echo "missing $want in: $out"; return 1; }
    done
    # A live update of a device's weight, and a clone that keeps it.
    "$hutch" run -d --name kn --cgroup-conf memory.high=16777216 "$img" sleep 60 >/dev/null || return 1
    "$hutch" update --blkio-weight-device /dev/vda:1000 --memory-swappiness 10 kn >/dev/null 2>&1 ||
        { "$hutch" rm -f kn >/dev/null; echo "update failed"; return 1; }
    out=$("$hutch" exec kn sh -c "cat /sys/fs/cgroup/memory.high; grep '^$dev ' /sys/fs/cgroup/io.weight")
    "$hutch" rm -f kn >/dev/null
    [ "$out" = "16777216
$dev 10000" ] || { echo "after update: $out"; return 1; }
    # The kernel checks a --cgroup-conf value when the container starts.
    out=$("$hutch" run --rm --cgroup-conf memory.high=lots "$img" true 2>&1)
    [ $? = 125 ] && echo "$out" | grep -q 'memory.high' || { echo "a bad value gave: $out"; return 1; }
}

stats_all() {
    "$hutch" create --name sa "$img" true >/dev/null || return 1
    "$hutch" run -d --name sb "$img" sleep 60 >/dev/null || return 1
    local out
    out=$("$hutch" stats --all --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' | sort)
    "$hutch" rm -f sa sb >/dev/null
    echo "$out" | grep -qx 'sa 0B / 0B 0' || { echo "no zero row for sa: $out"; return 1; }
    echo "$out" | grep -q '^sb ' && ! echo "$out" | grep -qx 'sb 0B / 0B 0' ||
        { echo "no reading for sb: $out"; return 1; }
}

stats_json() {
    "$hutch" run -d --name js --memory 48m "$img" sleep 60 >/dev/null || return 1
    local out
    out=$("$hutch" stats --no-stream --format json js) || return 1
    "$hutch" rm -f js >/dev/null
    echo "$out" | grep -q '"MemLimit": 50331648' || { echo "$out"; return 1; }
    echo "$out" | grep -q '"Name": "js"' || { echo "$out"; return 1; }
}

exec_joins_cgroup() {
    # Issue #20 item 2: an exec'd process is in the container's cgroup (and
    # its cgroup namespace), so it counts against the container's limits;
    # for a pod member too.
    "$hutch" run -d --name ex --memory 64m "$img" sleep 60 >/dev/null || return 1
    local out
    out=$("$hutch" exec ex sh -c 'cat /proc/self/cgroup; grep -qx $$ /sys/fs/cgroup/cgroup.procs && echo member') || { echo "$out"; return 1; }
    [ "$out" = "0::/
member" ] || { echo "exec saw: $out"; return 1; }
    # Over the container's memory limit, the exec'd process is OOM-killed.
    "$hutch" exec ex sh -c 'dd if=/dev/zero of=/dev/null bs=128M count=1' >/dev/null 2>&1
    local code=$?
    "$hutch" rm -f ex >/dev/null
    [ "$code" = 137 ] || { echo "exec over the limit exited $code"; return 1; }
    "$hutch" pod create expod >/dev/null || return 1
    "$hutch" run -d --pod expod --name expm "$img" sleep 60 >/dev/null || return 1
    out=$("$hutch" exec expm sh -c 'cat /proc/self/cgroup; grep -qx $$ /sys/fs/cgroup/cgroup.procs && echo member') || { echo "$out"; return 1; }
    "$hutch" pod rm -f expod >/dev/null
    [ "$out" = "0::/
member" ] || { echo "exec in a pod member saw: $out"; return 1; }
}

controllers_without_limits() {
    # Issue #20 item 3: a container started without limits still has its
    # controllers, so stats show its memory and a live update works.
    "$hutch" run -d --name nl "$img" sleep 60 >/dev/null || return 1
    local files out
    files=$("$hutch" exec nl ls /sys/fs/cgroup) || return 1
    for f in memory.max memory.current cpu.max pids.max; do
        echo "$files" | grep -qx "$f" || { "$hutch" rm -f nl >/dev/null; echo "no $f in: $files"; return 1; }
    done
    out=$("$hutch" stats --no-stream --format json nl) || { "$hutch" rm -f nl >/dev/null; echo "$out"; return 1; }
    echo "$out" | grep -q '"MemUsageBytes": 0,' && { "$hutch" rm -f nl >/dev/null; echo "no memory usage: $out"; return 1; }
    "$hutch" update --memory 48m nl >/dev/null || { "$hutch" rm -f nl >/dev/null; return 1; }
    out=$("$hutch" exec nl cat /sys/fs/cgroup/memory.max)
    "$hutch" rm -f nl >/dev/null
    [ "$out" = 50331648 ] || { echo "memory.max after update is $out"; return 1; }
}

# Issue #13: a pod with limits gets a slice with them as systemd
# properties; its members' scopes go into it, a member over the pod's
# memory limit is killed, and pod rm removes the slice.
pod_limits() {
    "$hutch" pod create --name lim --memory 32m --memory-swap 32m --cpus 0.5 --cpuset-cpus 0 >/dev/null || return 1
    local id ctr slice dir out inslice inspect code left
    id=$("$hutch" pod inspect --format '{{.Id}}' lim) || return 1
    slice=hutch_pod_$id.slice
    ctr=$("$hutch" run -d --pod lim "$img" sleep 60) || { "$hutch" pod rm -f lim >/dev/null; return 1; }
    dir=/sys/fs/cgroup$(systemctl --user show -p ControlGroup --value "$slice")
    out=$(cat "$dir/memory.max" "$dir/memory.swap.max" "$dir/cpu.max" "$dir/cpuset.cpus" | tr '\n' ' ')
    inslice=$(systemctl --user show -p Slice --value "hutch-$ctr.scope")
    inspect=$("$hutch" pod inspect lim | tr -d ' \n')
    "$hutch" run --pod lim "$img" sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1' >/dev/null 2>&1
    code=$?
    "$hutch" pod rm -f lim >/dev/null || return 1
    sleep 0.5
    left=$(systemctl --user list-units --all --no-legend "$slice" | wc -l)
    [ "$out" = "33554432 0 50000 100000 0 " ] || { echo "the pod's slice has $out"; return 1; }
    [ "$inslice" = "$slice" ] || { echo "the member's scope is in $inslice, not $slice"; return 1; }
    local want
    for want in '"memory_limit":33554432' '"cpu_quota":50000' '"CreateCgroup":true'; do
        echo "$inspect" | grep -qF -- "$want" || { echo "pod inspect lacks $want: $inspect"; return 1; }
    done
    [ "$code" = 137 ] || { echo "a member over the pod's memory limit exited $code"; return 1; }
    [ "$left" = 0 ] || { echo "the slice is left after pod rm"; return 1; }
}

# A clone of a pod (issue #13) has the original's limits with its own over
# them.
pod_clone_limits() {
    "$hutch" pod create --name pc --memory 32m --cpus 0.5 >/dev/null || return 1
    "$hutch" create --pod pc --name pcm "$img" true >/dev/null || { "$hutch" pod rm -f pc >/dev/null; return 1; }
    local id dir out
    id=$("$hutch" pod clone --memory 48m pc pc2) || { "$hutch" pod rm -f pc >/dev/null; return 1; }
    "$hutch" start -a pcm-clone >/dev/null
    dir=/sys/fs/cgroup$(systemctl --user show -p ControlGroup --value "hutch_pod_$id.slice")
    out=$(cat "$dir/memory.max" "$dir/cpu.max" | tr '\n' ' ')
    "$hutch" pod rm -f pc pc2 >/dev/null
    [ "$out" = "50331648 50000 100000 " ] || { echo "the clone's slice has $out"; return 1; }
}

# Under the cgroupfs manager a pod's cgroup is a directory beside the
# containers' (issue #13), which pod rm removes.
pod_limits_cgroupfs() {
    local out
    out=$(systemd-run --user --scope -q -p Delegate=yes sh -c '
        "$1" pod create --name fsp --memory 32m >/dev/null &&
        "$1" run --rm --pod fsp --cgroup-manager=cgroupfs "$2" true &&
        id=$("$1" pod inspect --format "{{.Id}}" fsp) &&
        d=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/.. &&
        cat "$d/hutch-pod-$id/memory.max" &&
        "$1" pod rm -f fsp >/dev/null && ls "$d"' sh "$hutch" "$img") || { echo "$out"; return 1; }
    set -- $out
    [ "$1" = 33554432 ] || { echo "the pod's directory has memory.max $1: $out"; return 1; }
    echo "$out" | grep -q 'hutch-pod-' && { echo "the pod's directory is left: $out"; return 1; }
    return 0
}

# An offline machine (issue #14): this guest has no network interface, so
# no default route, which pasta needs. The default network still works
# (slirp4netns) and -p serves the guest.
offline_network() {
    local out
    busybox ip route | grep -q '^default' && { echo "the guest has a default route"; return 1; }
    out=$("$hutch" run --rm "$img" echo ok 2>&1) || { echo "$out"; return 1; }
    [ "$out" = ok ] || { echo "run printed: $out"; return 1; }
    "$hutch" run -d --name offweb -p 127.0.0.1:8090:80 "$img" \
        sh -c 'mkdir /w && echo served >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null || return 1
    for _ in $(seq 1 50); do
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 8090 2>/dev/null | tail -n 1)
        [ "$out" = served ] && break
        sleep 0.2
    done
    "$hutch" rm -f offweb >/dev/null
    [ "$out" = served ] || { echo "-p 8090 answered: ${out:-nothing}"; return 1; }
}

# User networks on the offline guest (issue #14): names resolve through
# aardvark-dns; the holder falls back to slirp4netns for its way out.
offline_user_network() {
    local out
    "$hutch" network create offnet >/dev/null || return 1
    "$hutch" run -d --name offdb --network offnet "$img" sleep 1000 >/dev/null || return 1
    out=$("$hutch" run --rm --network offnet "$img" busybox nslookup offdb 2>&1)
    "$hutch" rm -f offdb >/dev/null
    "$hutch" network rm offnet >/dev/null
    echo "$out" | grep -q 'Address: 10\.89\.' || { echo "nslookup offdb: $out"; return 1; }
}

# --- generate systemd, sd_notify, hutch-restart.service (issue #16) --------
gensys_units=$HOME/.config/systemd/user

# gensys_show UNIT PROPERTY: a property of a user unit.
gensys_show() { systemctl --user show -p "$2" --value "$1"; }

# gensys_served PORT TEXT: waits until 127.0.0.1:PORT serves TEXT.
gensys_served() {
    local out
    for _ in $(seq 1 50); do
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 "$1" 2>/dev/null | tail -n 1)
        [ "$out" = "$2" ] && return 0
        sleep 0.2
    done
    echo "port $1 answered: ${out:-nothing}"
    return 1
}

# gensys_install NAME ARGS...: generates NAME's unit into the user's unit
# directory with --files and ARGS, removes the container (a --new unit
# makes its own) and reloads the user manager.
gensys_install() {
    local name=$1 out
    shift
    mkdir -p "$gensys_units"
    out=$(cd "$gensys_units" && "$hutch" generate systemd --files --name "$@" "$name") || { echo "$out"; return 1; }
    [ "$out" = "$gensys_units/container-$name.service" ] || { echo "--files printed: $out"; return 1; }
    systemctl --user daemon-reload
}

# gensys_start UNIT: starts a user unit, showing its journal on failure.
gensys_start() {
    systemctl --user start "$1" && return 0
    journalctl --user -u "$1" -n 25 --no-pager 2>&1
    return 1
}

# A --new unit: active (running) with the monitor as MainPID, the port
# serves, a killed container restarts the unit, and a stop ends it cleanly
# within TimeoutStopSec.
gensys_new_unit() {
    local unit=container-gsweb.service out main mon pid t0
    "$hutch" create --name gsweb -p 127.0.0.1:8092:80 "$img" \
        sh -c 'mkdir /w && echo served >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null || return 1
    gensys_install gsweb --new || return 1
    "$hutch" rm gsweb >/dev/null || return 1
    gensys_start "$unit" || return 1
    out=$(gensys_show "$unit" ActiveState)/$(gensys_show "$unit" SubState)
    [ "$out" = active/running ] || { echo "after start: $out"; return 1; }
    main=$(gensys_show "$unit" MainPID)
    mon=$("$hutch" inspect --format '{{.State.ConmonPid}}' gsweb) || return 1
    [ "$main" = "$mon" ] || { echo "MainPID $main, the monitor is $mon"; return 1; }
    gensys_served 8092 served || return 1
    pid=$("$hutch" inspect --format '{{.State.Pid}}' gsweb) || return 1
    kill -9 "$pid"
    for _ in $(seq 1 150); do
        out=$(gensys_show "$unit" MainPID)
        [ "$out" != 0 ] && [ "$out" != "$main" ] && [ "$(gensys_show "$unit" SubState)" = running ] && break
        sleep 0.2
    done
    out=$(gensys_show "$unit" NRestarts)
    [ "$out" -ge 1 ] || { echo "no restart after kill -9 (NRestarts $out)"; systemctl --user status "$unit" --no-pager | tail -n 10; return 1; }
    mon=$("$hutch" inspect --format '{{.State.ConmonPid}}' gsweb) || return 1
    [ "$(gensys_show "$unit" MainPID)" = "$mon" ] || { echo "after the restart MainPID is not the monitor $mon"; return 1; }
    gensys_served 8092 served || return 1
    t0=$(date +%s)
    systemctl --user stop "$unit" || return 1
    out=$(( $(date +%s) - t0 ))
    # TimeoutStopSec=70: the stop timeout (10 s) and 60.
    [ "$out" -lt 70 ] || { echo "stop took $out s"; return 1; }
    out=$(gensys_show "$unit" ActiveState)
    [ "$out" = inactive ] || { echo "after stop: $out"; return 1; }
    out=$("$hutch" ps -a --format '{{.Names}}')
    echo "$out" | grep -qx gsweb && { echo "the container is left: $out"; return 1; }
    rm -f "$gensys_units/$unit"
}

# A unit of an existing container: Type=forking with the monitor's pid
# file; stop leaves the container, stopped.
gensys_existing_unit() {
    local unit=container-gsold.service out mon
    "$hutch" create --name gsold "$img" sleep 1000 >/dev/null || return 1
    gensys_install gsold || return 1
    gensys_start "$unit" || return 1
    mon=$("$hutch" inspect --format '{{.State.ConmonPid}}' gsold) || return 1
    out=$(gensys_show "$unit" MainPID)
    [ "$out" = "$mon" ] || { echo "MainPID $out, the monitor is $mon"; return 1; }
    systemctl --user stop "$unit" || return 1
    out=$("$hutch" inspect --format '{{.State.Status}}' gsold)
    "$hutch" rm -f gsold >/dev/null
    rm -f "$gensys_units/$unit"
    [ "$out" = exited ] || { echo "after stop the container is $out"; return 1; }
}

# --sdnotify=healthy: systemctl start returns only once the first health
# check passed, here after the container's 3 s of getting ready.
gensys_healthy_waits() {
    local unit=container-gsready.service out t0 ms
    "$hutch" create --name gsready --sdnotify=healthy --health-cmd 'test -e /tmp/ready' \
        --health-interval 1s "$img" sh -c 'sleep 3; touch /tmp/ready; exec sleep 1000' >/dev/null || return 1
    gensys_install gsready --new || return 1
    "$hutch" rm gsready >/dev/null || return 1
    t0=$(date +%s%N)
    gensys_start "$unit" || return 1
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "gensys_healthy_waits: systemctl --user start took $ms ms" >>"$HOME/gensys-measured"
    out=$("$hutch" inspect --format '{{.State.Health.Status}}' gsready)
    systemctl --user stop "$unit"
    rm -f "$gensys_units/$unit"
    [ "$ms" -ge 3000 ] || { echo "start returned after $ms ms"; return 1; }
    [ "$out" = healthy ] || { echo "health after start: $out"; return 1; }
}

# --sdnotify=conmon: the monitor says READY=1 once the container runs, so
# `systemctl --user start` waits for everything before: here the image
# pulled (--pull=always) through a registry that answers each connection
# only after 3 s (a shell proxy in front of the fixture registry).
slow_port=8767
gensys_conmon_waits() {
    local unit=container-gsslow.service out t0 ms proxy main mon
    printf '#!/bin/sh\nsleep 3\nexec busybox nc 127.0.0.1 %s\n' "$port" >"$HOME/slow-registry.sh" &&
        chmod +x "$HOME/slow-registry.sh" || return 1
    busybox nc -ll -p "$slow_port" -e "$HOME/slow-registry.sh" &
    proxy=$!
    printf '\n[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$slow_port" >>"$HOME/.config/containers/registries.conf"
    "$hutch" create --name gsslow --sdnotify=conmon --pull=always "127.0.0.1:$slow_port/busybox" sleep 1000 >/dev/null ||
        { kill "$proxy"; return 1; }
    gensys_install gsslow --new || { kill "$proxy"; return 1; }
    "$hutch" rm gsslow >/dev/null || { kill "$proxy"; return 1; }
    grep -q -- '--sdnotify=conmon' "$gensys_units/$unit" || { kill "$proxy"; echo "the unit lacks --sdnotify=conmon"; return 1; }
    t0=$(date +%s%N)
    gensys_start "$unit" || { kill "$proxy"; return 1; }
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    out=$("$hutch" inspect --format '{{.State.Status}}' gsslow)
    main=$(gensys_show "$unit" MainPID)
    mon=$("$hutch" inspect --format '{{.State.ConmonPid}}' gsslow)
    echo "gensys_conmon_waits: systemctl --user start took $ms ms (a 3 s registry delay before the container runs)" >>"$HOME/gensys-measured"
    systemctl --user stop "$unit"
    kill "$proxy"
    rm -f "$gensys_units/$unit"
    [ "$ms" -ge 3000 ] || { echo "start returned after $ms ms"; return 1; }
    [ "$out" = running ] || { echo "when start returned the container was $out"; return 1; }
    [ "$main" = "$mon" ] || { echo "MainPID $main, the monitor is $mon"; return 1; }
}

# hutch-restart.service starts the containers with restart policy always
# or unless-stopped (and no other) and stops them when it stops.
gensys_restart_unit() {
    local here out
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    mkdir -p "$gensys_units"
    sed "s|%h/.local/bin/hutch|$hutch|g" "$here/hutch-restart.service" >"$gensys_units/hutch-restart.service" || return 1
    systemctl --user daemon-reload
    "$hutch" create --name gsalways --restart always "$img" sleep 1000 >/dev/null || return 1
    "$hutch" create --name gsunless --restart unless-stopped "$img" sleep 1000 >/dev/null || return 1
    "$hutch" create --name gsno "$img" sleep 1000 >/dev/null || return 1
    gensys_start hutch-restart.service || return 1
    out=$("$hutch" inspect --format '{{.Name}}={{.State.Status}}' gsalways gsno gsunless | tr '\n' ' ')
    systemctl --user stop hutch-restart.service
    local after
    after=$("$hutch" inspect --format '{{.Name}}={{.State.Status}}' gsalways gsno gsunless | tr '\n' ' ')
    "$hutch" rm -f gsalways gsunless gsno >/dev/null
    rm -f "$gensys_units/hutch-restart.service"
    [ "$out" = "gsalways=running gsno=created gsunless=running " ] || { echo "after start: $out"; return 1; }
    [ "$after" = "gsalways=exited gsno=created gsunless=exited " ] || { echo "after stop: $after"; return 1; }
}

check offline_network offline_network
check offline_user_network offline_user_network
check memory_max memory_max
check oom_kill oom_kill
check cpu_quota cpu_quota
check pids_limit pids_limit
check pause_unpause pause_unpause
check update_memory update_memory
check clone_limits clone_limits
check no_scopes_left no_scopes_left
check cgroupfs_manager cgroupfs_manager
check no_warning_on_v2 no_warning_on_v2
check more_limits more_limits
check cgroup_knobs cgroup_knobs
check stats_all stats_all
check stats_json stats_json
check exec_joins_cgroup exec_joins_cgroup
check controllers_without_limits controllers_without_limits
check pod_limits pod_limits
check pod_clone_limits pod_clone_limits
check pod_limits_cgroupfs pod_limits_cgroupfs
check gensys_new_unit gensys_new_unit
check gensys_existing_unit gensys_existing_unit
check gensys_healthy_waits gensys_healthy_waits
check gensys_conmon_waits gensys_conmon_waits
[ -s "$HOME/gensys-measured" ] && cat "$HOME/gensys-measured"
check gensys_restart_unit gensys_restart_unit

# --- Quadlet (issue #16) ----------------------------------------------------
# Quadlet files installed with `hutch quadlet install` run as user services:
# Type=notify with the monitor as MainPID, a published port, a restart after
# the container is killed (Restart=on-failure), a stop within
# TimeoutStopSec, and a start again when the user manager restarts (root's
# loop in guest-root.sh restarts user@1000.service on request).
qdir=$HOME/quadlet-src

qlog=$HOME/quadlet-log

# quadlet_write NAME TEXT: a Quadlet file to install; its service's output
# goes to $qlog/SERVICE.log, which quadlet_diag shows on failure.
quadlet_write() {
    mkdir -p "$qdir" "$qlog" && printf '%s\n' "$2" >"$qdir/$1" &&
        printf '[Service]\nStandardOutput=append:%s/%%N.log\nStandardError=append:%s/%%N.log\n' "$qlog" "$qlog" >>"$qdir/$1"
}

# quadlet_diag UNIT...: each unit's state and the end of its output.
quadlet_diag() {
    local u
    for u in "$@"; do
        echo "$u: $(quadlet_prop "$u" ActiveState)/$(quadlet_prop "$u" SubState) result=$(quadlet_prop "$u" Result) main=$(quadlet_prop "$u" MainPID) log: $(tail -n 8 "$qlog/${u%.service}.log" 2>/dev/null | tr '\n' '|')"
    done
}

# quadlet_get PORT: the page served on 127.0.0.1:PORT, retried for up to
# 30 seconds (busybox nc, as offline_network asks).
quadlet_get() {
    local i out
    for i in $(seq 150); do
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 "$1" 2>/dev/null | tail -n 1)
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.2
    done
    echo "nothing on port $1: $("$hutch" ps -a --format '{{.Names}} {{.Status}} {{.Ports}}' 2>&1 | tr '\n' '|')"
    return 1
}

# quadlet_prop UNIT PROPERTY: one property of a user unit.
quadlet_prop() { systemctl --user show -p "$2" --value "$1"; }

# quadlet_running UNIT CONTAINER: the unit is active (running), its MainPID
# is the container's monitor.
quadlet_running() {
    local state main mon
    state=$(quadlet_prop "$1" ActiveState)/$(quadlet_prop "$1" SubState)
    [ "$state" = active/running ] || { echo "$1 is $state"; quadlet_diag "$1"; return 1; }
    main=$(quadlet_prop "$1" MainPID)
    mon=$("$hutch" inspect --format '{{.State.ConmonPid}}' "$2") || return 1
    [ "$main" = "$mon" ] || { echo "$1: MainPID $main, monitor $mon"; return 1; }
}

# quadlet_wait_restart UNIT CONTAINER OLD_MAINPID: waits up to 60 seconds
# for the unit to run again with another main process.
quadlet_wait_restart() {
    local i main
    for i in $(seq 120); do
        main=$(quadlet_prop "$1" MainPID)
        if [ "$main" != 0 ] && [ "$main" != "$3" ] &&
            [ "$(quadlet_prop "$1" SubState)" = running ]; then
            quadlet_running "$1" "$2" && return 0
        fi
        sleep 0.5
    done
    echo "$1 did not come back: NRestarts=$(quadlet_prop "$1" NRestarts)"
    quadlet_diag "$1"
    return 1
}

# quadlet_stop_within UNIT SECONDS: systemctl --user stop takes less.
quadlet_stop_within() {
    local t0 t1
    t0=$(date +%s)
    systemctl --user stop "$1" || return 1
    t1=$(date +%s)
    [ $((t1 - t0)) -lt "$2" ] || { echo "stopping $1 took $((t1 - t0))s"; return 1; }
    [ "$(quadlet_prop "$1" ActiveState)" = inactive ] || { echo "$1 is $(quadlet_prop "$1" ActiveState) after stop"; return 1; }
}

# quadlet_restart_manager: root restarts user@1000.service; waits for it.
quadlet_restart_manager() {
    local i
    : >/run/hutch-root/restart-user-manager || return 1
    for i in $(seq 120); do
        [ -e /run/hutch-root/restart-user-manager ] || break
        sleep 0.5
    done
    [ ! -e /run/hutch-root/restart-user-manager ] || { echo "root did not restart the user manager"; return 1; }
    for i in $(seq 60); do
        systemctl --user is-system-running >/dev/null 2>&1 && return 0
        [ "$(systemctl --user is-system-running 2>/dev/null)" = degraded ] && return 0
        sleep 0.5
    done
}

quadlet_container() {
    local out main pid
    quadlet_write qweb.container "[Unit]
Description=hutch quadlet web
[Container]
Image=$img
PublishPort=127.0.0.1:8181:80
Exec=sh -c 'mkdir -p /www && echo quadlet-served >/www/index.html && exec httpd -f -p 80 -h /www'
[Service]
Restart=on-failure
TimeoutStopSec=20
[Install]
WantedBy=default.target"
    out=$("$hutch" quadlet install "$qdir/qweb.container" 2>&1) || { echo "install: $out"; return 1; }
    [ "$out" = qweb.service ] || { echo "install printed: $out"; return 1; }
    timeout 120 systemctl --user start qweb.service 2>/dev/null || { quadlet_diag qweb.service; return 1; }
    quadlet_running qweb.service systemd-qweb || return 1
    out=$(quadlet_get 8181) || { echo "$out"; quadlet_diag qweb.service; return 1; }
    [ "$out" = quadlet-served ] || { echo "port 8181 answered $out"; return 1; }
    # Killed: the monitor exits with 137 and systemd starts it again.
    main=$(quadlet_prop qweb.service MainPID)
    pid=$("$hutch" inspect --format '{{.State.Pid}}' systemd-qweb) || return 1
    kill -9 "$pid" || return 1
    quadlet_wait_restart qweb.service systemd-qweb "$main" || return 1
    [ "$(quadlet_prop qweb.service NRestarts)" -ge 1 ] || { echo "NRestarts is $(quadlet_prop qweb.service NRestarts)"; return 1; }
    out=$(quadlet_get 8181) || { echo "port 8181 does not answer after the restart"; return 1; }
    quadlet_stop_within qweb.service 20 || return 1
    if "$hutch" container exists systemd-qweb; then echo "container left after stop"; return 1; fi
}

quadlet_user_manager_restart() {
    local out
    [ -e "$HOME/.config/systemd/user/default.target.wants/qweb.service" ] ||
        { echo "no default.target.wants link for qweb.service"; return 1; }
    timeout 120 systemctl --user start qweb.service 2>/dev/null || { quadlet_diag qweb.service; return 1; }
    quadlet_restart_manager || return 1
    local i
    for i in $(seq 120); do
        [ "$(quadlet_prop qweb.service SubState)" = running ] && break
        sleep 0.5
    done
    quadlet_running qweb.service systemd-qweb || return 1
    out=$(quadlet_get 8181) || { echo "port 8181 does not answer after the manager restarted"; return 1; }
    quadlet_stop_within qweb.service 20 || return 1
    out=$("$hutch" quadlet rm qweb.service 2>&1) || { echo "rm: $out"; return 1; }
    [ ! -e "$HOME/.config/systemd/user/qweb.service" ] || { echo "qweb.service left after quadlet rm"; return 1; }
    [ "$(quadlet_prop qweb.service LoadState)" = not-found ] || { echo "qweb.service still loaded: $(quadlet_prop qweb.service LoadState)"; return 1; }
}

quadlet_pod() {
    local out main pid
    quadlet_write qdata.volume "[Volume]"
    quadlet_write qpod.pod "[Pod]
PublishPort=127.0.0.1:8182:80
[Service]
TimeoutStopSec=40"
    quadlet_write qa.container "[Container]
Image=$img
Pod=qpod.pod
Volume=qdata.volume:/www
Exec=sh -c 'echo pod-served >/www/index.html && exec httpd -f -p 80 -h /www'
[Service]
Restart=on-failure
TimeoutStopSec=20"
    quadlet_write qb.container "[Container]
Image=$img
Pod=qpod.pod
Volume=qdata.volume:/data
Exec=sleep 100000
[Service]
TimeoutStopSec=20"
    out=$("$hutch" quadlet install "$qdir/qdata.volume" "$qdir/qpod.pod" "$qdir/qa.container" "$qdir/qb.container" 2>&1) ||
        { echo "install: $out"; return 1; }
    timeout 180 systemctl --user start qpod-pod.service 2>/dev/null || { quadlet_diag qpod-pod.service qa.service qb.service; return 1; }
    local i
    for i in $(seq 120); do
        [ "$(quadlet_prop qa.service SubState)/$(quadlet_prop qb.service SubState)" = running/running ] && break
        sleep 0.5
    done
    quadlet_running qa.service systemd-qa || { quadlet_diag qpod-pod.service qb.service; return 1; }
    quadlet_running qb.service systemd-qb || { quadlet_diag qpod-pod.service qa.service; return 1; }
    [ "$(quadlet_prop qdata-volume.service ActiveState)" = active ] || { echo "qdata-volume.service is not active"; return 1; }
    "$hutch" volume exists systemd-qdata || { echo "no volume systemd-qdata"; return 1; }
    out=$("$hutch" pod ps --format '{{.Name}}' 2>&1)
    [ "$out" = systemd-qpod ] || { echo "pod ps: $out"; return 1; }
    out=$(quadlet_get 8182) || { echo "$out"; quadlet_diag qa.service; return 1; }
    [ "$out" = pod-served ] || { echo "port 8182 answered $out"; return 1; }
    main=$(quadlet_prop qa.service MainPID)
    pid=$("$hutch" inspect --format '{{.State.Pid}}' systemd-qa) || return 1
    kill -9 "$pid" || return 1
    quadlet_wait_restart qa.service systemd-qa "$main" || return 1
    out=$(quadlet_get 8182) || { echo "port 8182 does not answer after the restart"; return 1; }
    quadlet_stop_within qpod-pod.service 40 || return 1
    for u in qa qb; do
        [ "$(quadlet_prop $u.service ActiveState)" = inactive ] || { echo "$u.service is $(quadlet_prop $u.service ActiveState) after the pod stopped"; return 1; }
    done
    if "$hutch" pod exists systemd-qpod; then echo "pod left after stop"; return 1; fi
    "$hutch" quadlet rm qa.container qb.container qpod.pod qdata.volume >/dev/null || return 1
}

# A .kube unit: `hutch kube play --service-container=true` is the main
# process, the pod serves its hostPort, and stop takes the pod down.
quadlet_kube() {
    local out main
    mkdir -p "$qdir" || return 1
    cat >"$HOME/qk.yaml" <<YAML || return 1
apiVersion: v1
kind: Pod
metadata:
  name: qk
spec:
  containers:
  - name: web
    image: $img
    command: [sh, -c, 'mkdir -p /www && echo kube-served >/www/index.html && exec httpd -f -p 80 -h /www']
    ports:
    - containerPort: 80
      hostPort: 8183
YAML
    quadlet_write qk.kube "[Kube]
Yaml=$HOME/qk.yaml
[Service]
TimeoutStopSec=30"
    out=$("$hutch" quadlet install "$qdir/qk.kube" 2>&1) || { echo "install: $out"; return 1; }
    [ "$out" = qk.service ] || { echo "install printed: $out"; return 1; }
    timeout 120 systemctl --user start qk.service 2>/dev/null || { quadlet_diag qk.service; return 1; }
    out=$(quadlet_prop qk.service ActiveState)/$(quadlet_prop qk.service SubState)
    [ "$out" = active/running ] || { echo "qk.service is $out"; quadlet_diag qk.service; return 1; }
    main=$(quadlet_prop qk.service MainPID)
    tr '\0' ' ' <"/proc/$main/cmdline" | grep -q 'kube play' ||
        { echo "MainPID $main is $(tr '\0' ' ' <"/proc/$main/cmdline")"; return 1; }
    out=$(quadlet_get 8183) || { echo "$out"; quadlet_diag qk.service; return 1; }
    [ "$out" = kube-served ] || { echo "port 8183 answered $out"; return 1; }
    quadlet_stop_within qk.service 30 || { quadlet_diag qk.service; return 1; }
    if "$hutch" pod exists qk; then echo "pod qk left after stop"; return 1; fi
    out=$("$hutch" quadlet rm qk.kube 2>&1) || { echo "rm: $out"; return 1; }
}

check quadlet_container quadlet_container
check quadlet_user_manager_restart quadlet_user_manager_restart
check quadlet_pod quadlet_pod
check quadlet_kube quadlet_kube

# --- auto-update (issue #16) -------------------------------------------------
# A second, writable registry on port 8766: a copy of the tree
# tests/vm/variant-tree.sh made beside REGISTRY_TREE (autoupd:latest, and
# the `next` and `broken` versions of it), where copying a version over
# `latest` is what pushing it would do.
au_reg=127.0.0.1:8766
au_img=$au_reg/autoupd:latest
au_tree=$HOME/autoupd-registry
au_unit=container-auweb.service

# autoupdate_push VERSION: makes autoupd:latest that version.
autoupdate_push() { cp "$au_tree/v2/autoupd/manifests/$1" "$au_tree/v2/autoupd/manifests/latest"; }

# autoupdate_row: auto-update's row for the unit (ARGS passed on).
autoupdate_row() { "$hutch" auto-update "$@" --format '{{.Unit}} {{.Policy}} {{.Updated}}' 2>&1; }

# autoupdate_image: the id of the image auweb runs.
autoupdate_image() { "$hutch" inspect --format '{{.Image}}' auweb 2>&1; }

# autoupdate_tagged: the id of the image autoupd:latest names locally.
autoupdate_tagged() { "$hutch" image inspect --format '{{.Id}}' "$au_img" 2>&1 | sed 's/^sha256://'; }

# A --new unit of a container labelled io.containers.autoupdate=registry:
# nothing to do at first; after a new version is pushed, --dry-run says
# pending and auto-update restarts the unit on it; after a version that
# cannot start is pushed, the restart fails and the old image runs again.
autoupdate_registry() {
    local out old new here
    here=$(dirname "$tree")
    rm -rf "$au_tree" && cp -r "$here/autoupd" "$au_tree" || return 1
    printf '\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$au_reg" >>"$HOME/.config/containers/registries.conf"
    busybox httpd -p "$au_reg" -h "$au_tree" || { echo "httpd on $au_reg"; return 1; }
    "$hutch" create --name auweb --label io.containers.autoupdate=registry "$au_img" sleep 100000 >/dev/null || return 1
    gensys_install auweb --new || return 1
    "$hutch" rm auweb >/dev/null || return 1
    gensys_start "$au_unit" || return 1
    old=$(autoupdate_image)
    out=$("$hutch" inspect --format '{{index .Config.Labels "PODMAN_SYSTEMD_UNIT"}}' auweb)
    [ "$out" = "$au_unit" ] || { echo "the PODMAN_SYSTEMD_UNIT label is '$out'"; return 1; }
    out=$(autoupdate_row) || { echo "auto-update with nothing new: $out"; return 1; }
    [ "$out" = "$au_unit registry false" ] || { echo "auto-update with nothing new: $out"; return 1; }

    autoupdate_push next
    out=$(autoupdate_row --dry-run) || { echo "--dry-run: $out"; return 1; }
    [ "$out" = "$au_unit registry pending" ] || { echo "--dry-run: $out"; return 1; }
    [ "$(autoupdate_image)" = "$old" ] || { echo "--dry-run changed the container"; return 1; }
    out=$(autoupdate_row) || { echo "auto-update: $out"; journalctl --user -u "$au_unit" -n 20 --no-pager; return 1; }
    [ "$out" = "$au_unit registry true" ] || { echo "auto-update: $out"; return 1; }
    new=$(autoupdate_image)
    [ "$new" != "$old" ] || { echo "the restarted unit runs the old image $old"; return 1; }
    [ "$new" = "$(autoupdate_tagged)" ] || { echo "the unit runs $new, the name is $(autoupdate_tagged)"; return 1; }
    "$hutch" inspect --format '{{index .Config.Labels "io.hutch.test.version"}}' auweb | grep -qx next ||
        { echo "the container does not run the next version"; return 1; }
    [ "$(gensys_show "$au_unit" ActiveState)" = active ] || { echo "$au_unit is $(gensys_show "$au_unit" ActiveState)"; return 1; }

    autoupdate_push broken
    out=$(autoupdate_row) || { echo "auto-update to the broken version: $out"; return 1; }
    [ "$out" = "$au_unit registry rolled back" ] || { echo "auto-update to the broken version: $out"; journalctl --user -u "$au_unit" -n 20 --no-pager; return 1; }
    [ "$(autoupdate_image)" = "$new" ] || { echo "after the rollback the unit runs $(autoupdate_image), not $new"; return 1; }
    [ "$(autoupdate_tagged)" = "$new" ] || { echo "after the rollback the name is $(autoupdate_tagged), not $new"; return 1; }
    [ "$(gensys_show "$au_unit" ActiveState)" = active ] || { echo "after the rollback $au_unit is $(gensys_show "$au_unit" ActiveState)"; return 1; }
    systemctl --user stop "$au_unit"
    rm -f "$gensys_units/$au_unit"
    systemctl --user daemon-reload
}

check autoupdate_registry autoupdate_registry

# Socket activation (issue #17): contrib/systemd's hutch.socket listens
# with nothing running; the first request starts hutch.service, which is
# passed the socket (LISTEN_FDS), answers, and leaves after its 5 idle
# seconds; the socket starts it again for the next request.
api_sock=$XDG_RUNTIME_DIR/hutch/hutch.sock
api_get() { curl -sS --max-time 20 --unix-socket "$api_sock" "http://d$1"; }
api_socket_activation() {
    local here out
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    command -v curl >/dev/null || { echo "curl is missing in the guest (tests/vm/image.sh guest_packages)"; return 1; }
    mkdir -p "$gensys_units"
    install -m 0644 "$here/hutch.socket" "$gensys_units/hutch.socket"
    sed "s|%h/.local/bin/hutch|$hutch|g" "$here/hutch.service" >"$gensys_units/hutch.service"
    systemctl --user daemon-reload
    systemctl --user start hutch.socket || { echo "hutch.socket did not start"; return 1; }
    [ -S "$api_sock" ] || { echo "no socket at $api_sock"; return 1; }
    out=$(stat -c %a "$api_sock")
    [ "$out" = 600 ] || { echo "the socket has mode $out"; return 1; }
    [ "$(gensys_show hutch.service ActiveState)" = inactive ] || { echo "the service runs before any request"; return 1; }
    out=$(api_get /_ping) || { echo "_ping: $out"; journalctl --user -u hutch.service -n 20 --no-pager; return 1; }
    [ "$out" = OK ] || { echo "_ping answered: $out"; return 1; }
    [ "$(gensys_show hutch.service ActiveState)" = active ] || { echo "the first request did not start hutch.service"; return 1; }
    "$hutch" create --name apisock "$img" true >/dev/null || return 1
    out=$(api_get '/containers/json?all=1') || { echo "containers/json: $out"; return 1; }
    echo "$out" | grep -q '"/apisock"' || { echo "containers/json lacks apisock: $out"; return 1; }
    for _ in $(seq 1 40); do
        [ "$(gensys_show hutch.service ActiveState)" = inactive ] && break
        sleep 0.5
    done
    [ "$(gensys_show hutch.service ActiveState)" = inactive ] || { echo "hutch.service did not leave when idle"; return 1; }
    [ "$(gensys_show hutch.socket ActiveState)" = active ] || { echo "hutch.socket is $(gensys_show hutch.socket ActiveState)"; return 1; }
    out=$(api_get /version) || { echo "version after the idle exit: $out"; return 1; }
    echo "$out" | grep -q '"ApiVersion":"1.41"' || { echo "version answered: $out"; return 1; }
    "$hutch" rm apisock >/dev/null
    systemctl --user stop hutch.socket hutch.service
    rm -f "$gensys_units/hutch.socket" "$gensys_units/hutch.service"
    systemctl --user daemon-reload
}

check api_socket_activation api_socket_activation

# The NFS checks (issue #18).
# shellcheck source=tests/vm/guest-nfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest-nfs.sh"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
