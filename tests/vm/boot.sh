#!/usr/bin/env bash
# Boots the guest built by tests/vm/image.sh, runs one command in it and
# exits with that command's status. By default the command runs as the
# guest's user `hutch` in a logind session (user manager, XDG_RUNTIME_DIR
# and the session bus are there), which is what rootless hutch sees on a
# systemd machine.
#
#   sudo tests/vm/boot.sh [-s HOSTDIR[:ro]]... [-e NAME=VALUE]... [--root]
#                         [-t SECONDS] [-- ] COMMAND [ARGS...]
#
#   -s DIR[:ro]   share a host directory at the same path in the guest (9p)
#   -e NAME=VAL   environment for the command
#   -t SECONDS    the command's time limit inside the guest (default 600)
#   --root        run the command as root instead of the user
#
# Exit status: the command's; 124 when it hit the limit; 125 when the guest
# ended without a result (the end of its console log is printed).
set -uo pipefail

dir=${HUTCH_VM_DIR:-/var/tmp/hutch-vm}
shares=() envs=() as=user limit=600
while [ $# -gt 0 ]; do
    case $1 in
    -s) shares+=("$2"); shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    -t) limit=$2; shift 2 ;;
    --root) as=root; shift ;;
    --) shift; break ;;
    -*) echo "boot.sh: unknown option $1" >&2; exit 125 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "boot.sh: no command" >&2; exit 125; }
for f in vmlinux initrd root.img; do
    [ -s "$dir/$f" ] || { echo "boot.sh: $dir/$f is missing: run tests/vm/image.sh" >&2; exit 125; }
done

ctl=$(mktemp -d /tmp/hutch-vm.XXXXXX)
chmod 0755 "$ctl"
qemu_pid=
finish() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
    rm -rf "$ctl"
}
trap finish EXIT
trap 'exit 130' INT TERM

printf 'as=%s\nlimit=%s\n' "$as" "$limit" >"$ctl/settings"
{
    echo 'export HUTCH_GUEST=1'
    for e in "${envs[@]+"${envs[@]}"}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
    printf 'exec'
    printf ' %q' "$@"
    echo
} >"$ctl/command"
: >"$ctl/shares" && : >"$ctl/stdout" && : >"$ctl/stderr"
devices=()
n=0
for s in "${shares[@]+"${shares[@]}"}"; do
    mode=rw
    case $s in *:ro) mode=ro s=${s%:ro} ;; esac
    path=$(cd "$s" && pwd) || { echo "boot.sh: no directory $s" >&2; exit 125; }
    ro=
    [ $mode = ro ] && ro=,readonly=on
    devices+=(-fsdev "local,id=s$n,path=$path,security_model=none$ro" -device "virtio-9p-pci,fsdev=s$n,mount_tag=s$n")
    echo "s$n $path $mode" >>"$ctl/shares"
    n=$((n + 1))
done

# Software emulation: the KVM device of this kind of host cannot run a stock
# Debian kernel. Use KVM only where the CPU offers hardware virtualisation.
accel=(-accel tcg,thread=multi -cpu max)
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=(-accel kvm -cpu host); fi

timeout -k 5 "$((limit + 180))" qemu-system-x86_64 "${accel[@]}" -M q35 -smp 2 -m 2048 \
    -nodefaults -no-user-config -display none -no-reboot -serial "file:$ctl/console" \
    -kernel "$dir/vmlinux" -initrd "$dir/initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 rw mitigations=off systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all systemd.show_status=0 hutch.job" \
    -drive "file=$dir/root.img,format=raw,if=none,id=root,snapshot=on,cache=unsafe" \
    -device virtio-blk-pci,drive=root \
    -fsdev "local,id=ctl,path=$ctl,security_model=none" -device virtio-9p-pci,fsdev=ctl,mount_tag=ctl \
    "${devices[@]+"${devices[@]}"}" >"$ctl/qemu.log" 2>&1 &
qemu_pid=$!
tail -n +1 -s 0.2 -F --pid=$qemu_pid "$ctl/stdout" 2>/dev/null &
out=$!
tail -n +1 -s 0.2 -F --pid=$qemu_pid "$ctl/stderr" >&2 2>/dev/null &
err=$!
wait "$qemu_pid"
qemu_pid=
wait "$out" "$err" 2>/dev/null
[ -s "$ctl/job.log" ] && sed 's/^/boot.sh: guest: /' "$ctl/job.log" >&2
if [ -s "$ctl/status" ]; then
    exit "$(cat "$ctl/status")"
fi
echo "boot.sh: the guest ended without a result" >&2
tail -n 20 "$ctl/qemu.log" "$ctl/console" >&2
exit 125
