#!/usr/bin/env bash
# Root's part of the cgroup v2 tier, inside the guest (tests/vm/boot.sh
# --root): turns on blk-iocost for the guest's disk, so that its cgroups'
# io.weight takes per-device weights (--blkio-weight-device), serves and
# mounts NFS exports for the NFS checks, then runs the checks as the user
# `hutch` in a logind session with a user manager, as boot.sh runs a
# command without --root.
#
#   guest-root.sh GUEST_CGROUPS_SH ARGS...
set -u
dev=$(cat /sys/block/vda/dev) || { echo "FAILED setup: no /sys/block/vda"; exit 1; }
echo "$dev enable=1" >/sys/fs/cgroup/io.cost.qos ||
    { echo "FAILED setup: enabling io.cost for vda ($dev)"; exit 1; }
systemctl start user@1000.service || { echo "FAILED setup: user@1000.service"; exit 1; }
# The quadlet_* checks (issue #16) ask root to restart the user's manager,
# as a reboot with lingering would: they create the request file, this
# loop restarts user@1000.service and removes it.
mkdir -m 1777 /run/hutch-root || { echo "FAILED setup: /run/hutch-root"; exit 1; }

# The NFS checks (issue #18, tests/vm/guest-nfs.sh) need real NFS: Debian's
# nfs-kernel-server exports three directories of the guest's own disk over
# loopback, and the client mounts them (NFS 4.2, root_squash, sec=sys):
# /mnt/nfs/store (a store forced onto NFS), /mnt/nfs/home (a home
# directory) and /mnt/nfs/ro (read-only; the user writes its files through
# /srv/nfs/ro, as an administrator publishes to a read-only share). The
# outcome goes to /run/hutch-root/nfs: "ok", or what failed, which those
# checks report; the other checks run either way.
start_nfs() {
    local d
    for d in store home ro; do
        install -d -o hutch -g hutch -m 0755 "/srv/nfs/$d" "/mnt/nfs/$d" || { echo "making /srv/nfs/$d"; return 1; }
    done
    printf '/srv/nfs/%s 127.0.0.1(%s,sync,no_subtree_check,root_squash)\n' \
        store rw home rw ro ro >/etc/exports
    # Without these a fresh server refuses new opens for its 90-second grace
    # period (the client just waits), and the first write hangs that long.
    printf '[nfsd]\ngrace-time=10\nlease-time=10\n' >>/etc/nfs.conf
    systemctl start nfs-server.service || { echo "starting nfs-server: $(systemctl status nfs-server --no-pager -n 10 2>&1)"; return 1; }
    for d in store:rw home:rw ro:ro; do
        mount -t nfs -o "vers=4.2,${d#*:}" "127.0.0.1:/srv/nfs/${d%:*}" "/mnt/nfs/${d%:*}" ||
            { echo "mounting 127.0.0.1:/srv/nfs/${d%:*}"; return 1; }
    done
}
if why=$(start_nfs 2>&1); then echo ok >/run/hutch-root/nfs; else echo "$why" >/run/hutch-root/nfs; fi
(
    while sleep 1; do
        if [ -e /run/hutch-root/restart-user-manager ]; then
            systemctl restart user@1000.service >/run/hutch-root/restart.log 2>&1
            rm -f /run/hutch-root/restart-user-manager
        fi
    done
) </dev/null >/dev/null 2>&1 &
# pam_systemd makes a tty-less session "background" unless told.
XDG_SESSION_CLASS=user exec runuser -l hutch -c "exec /bin/bash $(printf '%q ' "$@")"
