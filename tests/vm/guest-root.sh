#!/usr/bin/env bash
# Root's part of the cgroup v2 tier, inside the guest (tests/vm/boot.sh
# --root): turns on blk-iocost for the guest's disk, so that its cgroups'
# io.weight takes per-device weights (--blkio-weight-device), then runs
# the checks as the user `hutch` in a logind session with a user manager,
# as boot.sh runs a command without --root.
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
