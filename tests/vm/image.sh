#!/usr/bin/env bash
# Builds the guest that the cgroup tier of the tests boots: Debian bookworm
# with systemd as PID 1, pure cgroup v2, a lingering unprivileged user
# `hutch` (uid 1000, subordinate ids 100000:65536) whose user manager
# delegates cpu, cpuset, io, memory and pids, and a boot service that runs
# one command handed in over 9p (see tests/vm/boot.sh). The NFS server and
# client (issue #18) are installed but not started at boot: the checks
# that need them start them (tests/vm/guest-root.sh).
#
#   sudo tests/vm/image.sh [DIR]     (default $HUTCH_VM_DIR or /var/tmp/hutch-vm)
#
# Everything comes from Debian packages: the kernel is linux-image-amd64,
# unpacked rather than installed; the root filesystem is debootstrap's
# minbase plus a few packages. The result is cached: when DIR holds an image
# built by this same script, the call returns at once. HUTCH_VM_REBUILD=1
# forces a rebuild. Concurrent calls wait for each other.
set -euo pipefail

dir=${1:-${HUTCH_VM_DIR:-/var/tmp/hutch-vm}}
suite=bookworm
guest_packages=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,uidmap,fuse-overlayfs,kmod,procps,busybox-static,slirp4netns,passt,netavark,aardvark-dns,iptables,nfs-kernel-server,nfs-common,rpcbind,squashfuse,squashfs-tools,curl

say() { printf '==> vm image: %s\n' "$*" >&2; }
die() { printf 'error: vm image: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)

is_current() {
    [ "${HUTCH_VM_REBUILD:-0}" != 1 ] && [ "$(cat "$dir/recipe" 2>/dev/null)" = "$recipe" ] &&
        [ -s "$dir/vmlinux" ] && [ -s "$dir/initrd" ] && [ -s "$dir/root.img" ]
}
is_current && exit 0
exec 8>"$dir/lock"
flock 8
is_current && exit 0
started=$(date +%s)

# --- host tools -------------------------------------------------------------
mirror=${HUTCH_VM_MIRROR:-$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources |
    awk '{print $2}' | grep -m1 'debian$' || true)}
[ -n "$mirror" ] || mirror=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '$2 ~ /debian\/?$/ {print $2; exit}' || true)
[ -n "$mirror" ] || die "no Debian mirror in the apt sources; set HUTCH_VM_MIRROR"

apt_quiet() {
    local try
    for try in 1 2 3 4 5; do
        DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
            -o DPkg::Lock::Timeout=300 "$@" && return 0
        say "apt-get $* failed (attempt $try); retrying"
        sleep 5
    done
    return 1
}

missing=()
for tool in debootstrap:debootstrap cpio:cpio mkfs.ext4:e2fsprogs xz:xz-utils flock:util-linux; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_quiet update >/dev/null
    apt_quiet install "${missing[@]}" || die "cannot install ${missing[*]}"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
    apt_quiet update >/dev/null
    # Some machine images carry qemu-utils from bookworm-backports, which
    # bookworm's qemu-system-x86 would remove: take the matching backport.
    if apt-get -s -y --no-install-recommends install qemu-system-x86 2>/dev/null | grep -q '^Remv qemu-utils'; then
        lists=/var/tmp/hutch-vm-apt
        mkdir -p "$lists/lists/partial"
        printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-backports main\n' \
            "$mirror" "$mirror" "$mirror" >"$lists/sources.list"
        opts=(-o "Dir::Etc::sourcelist=$lists/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::lists=$lists/lists")
        apt_quiet "${opts[@]}" update >/dev/null
        apt_quiet "${opts[@]}" -t bookworm-backports install qemu-system-x86 ||
            die "cannot install qemu-system-x86 from bookworm-backports"
    else
        apt_quiet install qemu-system-x86 || die "cannot install qemu-system-x86"
    fi
fi

# --- kernel -----------------------------------------------------------------
build="$dir/build"
if [ -d "$build" ]; then
    # An interrupted build may have left mounts below it.
    awk -v b="$build/" 'index($2, b) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$build"
fi
mkdir -p "$build/kernel" "$dir/debs"
root="$build/root"

apt_quiet update >/dev/null
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on"
kver=${kpkg#linux-image-}
(cd "$dir/debs" && ls "${kpkg}"_*.deb >/dev/null 2>&1 || apt-get -q download "$kpkg" >/dev/null 2>&1) ||
    die "cannot download $kpkg"
dpkg-deb -x "$(ls -t "$dir/debs/${kpkg}"_*.deb | head -n1)" "$build/kernel"
say "kernel $kver"
# QEMU boots the uncompressed ELF through its PVH note: no in-guest
# decompression, which is slow under software emulation.
vmlinuz="$build/kernel/boot/vmlinuz-$kver"
offset=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
[ -n "$offset" ] || die "no xz stream in $vmlinuz"
tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc --single-stream >"$build/vmlinux" 2>/dev/null || true
[ "$(head -c 4 "$build/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] || die "could not unpack vmlinux from $vmlinuz"

# --- root filesystem --------------------------------------------------------
say "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include="$guest_packages" --cache-dir="$dir/debs" \
    "$suite" "$root" "$mirror" >"$build/debootstrap.log" 2>&1 ||
    { tail -n 20 "$build/debootstrap.log" >&2; die "debootstrap failed"; }
rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

echo guest >"$root/etc/hostname"
printf '127.0.0.1 localhost guest\n::1 localhost\n' >"$root/etc/hosts"
: >"$root/etc/fstab"
# A fixed machine id: no first-boot work.
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"
chroot "$root" useradd -m -u 1000 -U -s /bin/bash hutch
echo 'hutch:100000:65536' >"$root/etc/subuid"
echo 'hutch:100000:65536' >"$root/etc/subgid"
mkdir -p "$root/var/lib/systemd/linger" "$root/etc/systemd/system/user@.service.d" \
    "$root/etc/systemd/journald.conf.d" "$root/etc/systemd/system/multi-user.target.wants"
touch "$root/var/lib/systemd/linger/hutch"
printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >"$root/etc/systemd/system/user@.service.d/delegate.conf"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/volatile.conf"
# No udev in the guest: give the devices the modes a distribution's rules do.
printf 'z /dev/fuse 0666 - - -\nz /dev/net/tun 0666 - - -\n' >"$root/etc/tmpfiles.d/devices.conf"
# Units a one-command guest never needs; each costs boot time under TCG.
for unit in getty.target serial-getty@.service console-getty.service apt-daily.timer \
    apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer systemd-timesyncd.service systemd-tmpfiles-clean.timer \
    systemd-remount-fs.service systemd-sysusers.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service systemd-random-seed.service \
    systemd-journal-flush.service dev-hugepages.mount sys-kernel-debug.mount \
    sys-kernel-tracing.mount sys-kernel-config.mount proc-sys-fs-binfmt_misc.automount \
    modprobe@drm.service modprobe@efi_pstore.service modprobe@loop.service modprobe@dm_mod.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The NFS server and client (issue #18): installed enabled, but only the
# NFS checks need them, and they cost boot time; guest-root.sh starts them.
find "$root/etc/systemd/system" -path '*.wants/*' \
    \( -name 'nfs-*' -o -name 'rpcbind*' -o -name 'rpc-*' \) -delete
for kind in system user; do
    mkdir -p "$root/etc/systemd/$kind-generators"
    for g in "$root/lib/systemd/$kind-generators"/*; do
        [ -e "$g" ] && ln -sf /dev/null "$root/etc/systemd/$kind-generators/${g##*/}"
    done
done

# The boot service: mount the control share, run its `command` file as the
# user in a real logind session (or as root), leave `status`, power off.
cat >"$root/usr/local/sbin/hutch-vm-job" <<'JOB'
#!/bin/bash
set -u
ctl=/run/hutch-vm
mkdir -p "$ctl"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ctl "$ctl" || exit 1
exec 2>>"$ctl/job.log"
as=user limit=600
. "$ctl/settings"
while read -r tag path mode; do
    [ -n "$tag" ] || continue
    mkdir -p "$path"
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$mode" "$tag" "$path" ||
        echo "share $tag on $path did not mount" >&2
done <"$ctl/shares"
if [ "$as" = root ]; then
    timeout -k 5 "$limit" /bin/bash "$ctl/command" >>"$ctl/stdout" 2>>"$ctl/stderr" </dev/null
else
    systemctl start user@1000.service
    # pam_systemd makes a tty-less session "background" unless told
    XDG_SESSION_CLASS=user timeout -k 5 "$limit" runuser -l hutch -c "exec /bin/bash $ctl/command" \
        >>"$ctl/stdout" 2>>"$ctl/stderr" </dev/null
fi
echo $? >"$ctl/status"
sync
JOB
chmod 0755 "$root/usr/local/sbin/hutch-vm-job"
cat >"$root/etc/systemd/system/hutch-vm-job.service" <<'UNIT'
[Unit]
Description=Run the command the host handed in, then power off
ConditionKernelCommandLine=hutch.job
After=systemd-logind.service systemd-user-sessions.service dbus.service
Wants=systemd-logind.service
SuccessAction=poweroff-immediate
FailureAction=poweroff-immediate

[Service]
Type=exec
ExecStart=/usr/local/sbin/hutch-vm-job
IgnoreSIGPIPE=no
UNIT
ln -sf /etc/systemd/system/hutch-vm-job.service \
    "$root/etc/systemd/system/multi-user.target.wants/hutch-vm-job.service"

# --- modules and initramfs ---------------------------------------------------
modules="$root/lib/modules/$kver"
mkdir -p "$modules/kernel/drivers"
cp -a "$build/kernel/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$modules/"
for sub in arch block crypto fs lib mm net virt drivers/block drivers/char drivers/virtio drivers/net drivers/md; do
    src="$build/kernel/lib/modules/$kver/kernel/$sub"
    [ -d "$src" ] && mkdir -p "$modules/kernel/$(dirname "$sub")" && cp -a "$src" "$modules/kernel/$sub"
done
rm -rf "$modules"/kernel/drivers/net/{ethernet,wireless,usb,wwan,can}
chroot "$root" depmod -a "$kver"

initrd="$build/initrd.d"
mkdir -p "$initrd/bin" "$initrd/mod"
cp "$root/bin/busybox" "$initrd/bin/busybox"
chroot "$root" modprobe -S "$kver" -a --show-depends virtio_pci virtio_blk ext4 crc32c_generic 9pnet_virtio 9p |
    awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
    cp "$root$ko" "$initrd/mod/"
    basename "$ko" >>"$initrd/mod/order"
done
cat >"$initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /root
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /mod/order); do insmod "/mod/$m"; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 400 ]; do usleep 20000; n=$((n + 1)); done
mount -t ext4 -o rw,noatime /dev/vda /root || { echo "initrd: no root"; poweroff -f; }
umount /proc
mount --move /dev /root/dev
exec switch_root /root /sbin/init
INIT
chmod 0755 "$initrd/init"
(cd "$initrd" && find . | cpio -o -H newc --quiet) >"$build/initrd"

say "making the root image"
truncate -s 4G "$build/root.img"
mkfs.ext4 -q -F -O ^has_journal -E root_owner=0:0 -d "$root" "$build/root.img"

mv -f "$build/vmlinux" "$build/initrd" "$build/root.img" "$dir/"
echo "$recipe" >"$dir/recipe"
rm -rf "$build"
say "built in $(($(date +%s) - started)) s: $dir"
