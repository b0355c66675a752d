#!/usr/bin/env bash
# Where the time of `hutch run --rm REG/busybox true` goes: runs it under
# `strace -f -tt -T` as the unprivileged test user (default network, or
# the network named by HUTCH_PROFILE_NETWORK) RUNS times and prints the
# median of each phase in ms, read off the syscalls that begin and end
# it. strace slows every syscall down, so the phases are larger than in
# an untraced run; their proportions are what counts. The untraced
# median of the same command is printed below for scale. Not part of the
# test suite.
#
#   sudo bench/profile.sh [RUNS]    (root is needed: strace -u keeps
#                                    newuidmap's setuid bit working)
#
# REG and the hutch binary are found as bench/run.sh finds them
# (HUTCH_BIN names a binary; build one with cargo build --release). The
# last trace is left in $HUTCH_PROFILE_TRACE when that is set.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${1:-5}
network=${HUTCH_PROFILE_NETWORK:-}
is_root || die "run as root: strace -u is what lets newuidmap keep its setuid bit"
command -v strace >/dev/null || die "strace is not installed (apt-get install strace)"

trap bench_remove_work EXIT
bench_setup hutch-profile

say "pulling $reg/busybox"
as_user "$hutch" pull -q "$reg/busybox" >/dev/null || die "hutch pull failed"
net_args=()
[ -n "$network" ] && net_args=(--network "$network")
cmd=("$hutch" run --rm "${net_args[@]}" "$reg/busybox" true)
as_user "${cmd[@]}" || die "${cmd[*]} failed"

# One trace: the user's environment, strace as root dropping to the user.
trace_once() {
    (cd "$work" && env -i HOME="$bhome" XDG_CONFIG_HOME="$bhome/.config" \
        XDG_DATA_HOME="$bhome/.local/share" XDG_RUNTIME_DIR="$work/run" \
        PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
        strace -u "$user" -f -tt -T -o "$1" "${cmd[@]}")
}

# The phases of one trace, in ms, on one line (see the table's labels).
# The markers: hutch's first syscall; its clone with CLONE_NEWUSER (init);
# newuidmap's exec and newgidmap's exit; the helper's exec and hutch's
# unlink of the helper's pid file (ready, as hutch sees it); init's first
# mount and its pivot_root; init's exec of the command and its exit;
# hutch's SIGKILL to the helper and the helper's end; hutch's exit.
phases() {
    awk '
    function ms(t,   a) { split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
    NR == 1 { hutch = $1; t0 = ms($2) }
    {
        pid = $1; t = ms($2)
        if (pid == hutch && /clone\(.*CLONE_NEWUSER/ && !clone) clone = t
        if (/execve\("[^"]*newuidmap"/ && !uidmap) uidmap = t
        if (/execve\("[^"]*newgidmap".*= 0/ || (/execve\("[^"]*newgidmap"/ && /unfinished/)) gidpid = pid
        if (pid == gidpid && /\+\+\+ exited/) maps = t
        if (/execve\("[^"]*(pasta|slirp4netns)"/ && !helper) { helper = t; hpid = pid }
        # The last unlink of the pid file is hutch seeing it complete.
        if (pid == hutch && /unlink\(.*pasta\.pid"/) ready = t
        if (/mount\(NULL, "\/", NULL, MS_REC\|MS_SLAVE/ && !init) { init = pid; mount0 = t }
        if (pid == init && /pivot_root/ && !pivot) pivot = t
        if (pid == init && /execve/ && !exec) exec = t
        if (pid == init && /\+\+\+ exited/) exited = t
        if (pid == hutch && hpid && $0 ~ ("kill\\(" hpid ", SIGKILL")) kill = t
        if (pid == hpid && /\+\+\+ killed/) gone = t
        if (pid == hutch && /\+\+\+ exited/) end = t
    }
    END {
        if (!ready) ready = helper
        if (!kill) kill = exited
        if (!gone) gone = kill
        printf "%.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n",
            clone - t0, (maps ? maps : clone) - clone, (helper ? helper - clone : 0),
            (helper ? ready - helper : 0), mount0 - clone, pivot - mount0, exec - pivot,
            exited - exec, kill - exited, gone - kill, end - exited, end - t0
    }' "$1"
}

say "tracing ${cmd[*]}, $runs runs, as $user"
rows=$work/out/phases
: >"$rows"
for i in $(seq 1 "$runs"); do
    trace_once "$work/out/trace"
    phases "$work/out/trace" >>"$rows"
done
[ -n "${HUTCH_PROFILE_TRACE:-}" ] && cp "$work/out/trace" "$HUTCH_PROFILE_TRACE"

# The untraced median, for scale.
untraced=$work/out/untraced
: >"$untraced"
for i in $(seq 1 $((runs * 4))); do
    s=$(date +%s%N)
    as_user "${cmd[@]}" >/dev/null
    e=$(date +%s%N)
    echo $(((e - s) / 1000)) >>"$untraced"
done

labels=(
    "start to clone (CLI, store, plan, etc files)"
    "clone to id maps written (newuidmap, newgidmap)"
    "clone to the helper's exec (spawned)"
    "helper exec to ready (hutch sees its pid file)"
    "clone to init's first mount (init released)"
    "init's rootfs mounts, to pivot_root"
    "pivot_root to exec (user, privileges, network wait)"
    "the container's process (true)"
    "container exit to the helper killed"
    "helper killed to gone (its exit)"
    "container exit to hutch's exit (record, --rm)"
    "total, traced"
)
median_col() {
    cut -d' ' -f"$1" "$rows" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-54s %10s\n' "phase (median of $runs traced runs)" ms
for i in "${!labels[@]}"; do
    printf '%-54s %10s\n' "${labels[$i]}" "$(median_col $((i + 1)))"
done
printf '%-54s %10s\n' "total, untraced (median of $((runs * 4)))" \
    "$(sort -n "$untraced" | awk '{ v[NR] = $1 } END { printf "%.1f", ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000 }')"

# Nothing of these runs may be left: a helper of theirs names a file in
# $work on its command line (other users of the account may have theirs).
if pgrep -u "$user" -f -- "$work/" >/dev/null; then
    die "a process of these runs is still running: $(pgrep -a -u "$user" -f -- "$work/")"
fi
