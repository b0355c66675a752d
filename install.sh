#!/usr/bin/env bash
# Installs hutch on a fresh Debian 12 for the unprivileged user hutch-test
# and proves it works. Run as root:
#
#   sudo ./install.sh
#
# Installs the Debian packages hutch needs (uidmap slirp4netns passt
# fuse-overlayfs) plus those of the local test registry, creates the users
# hutch-test (with an /etc/subuid range) and hutch-norange (without), builds
# hutch in release mode into ~hutch-test/.local/bin/hutch (with hutch-enter,
# the helper `exec` runs, beside it), makes sure a
# plain-HTTP registry answers on 127.0.0.1:5000 (HUTCH_REGISTRY_PORT) with
# the fixture images, trusts it in hutch-test's registries.conf, and runs
#   hutch run --rm 127.0.0.1:5000/busybox echo hello
# as hutch-test. A registry this script starts keeps running afterwards,
# with its storage in /var/lib/hutch-registry.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
# shellcheck source=tests/lib/env.sh
source "$repo/tests/lib/env.sh"

is_root || die "run as root: sudo ./install.sh"
port=${HUTCH_REGISTRY_PORT:-5000}

ensure_packages "${HUTCH_PACKAGES[@]}"
ensure_devices
ensure_users

cargo=$(find_cargo) || die "cargo not found: install Rust >= 1.85 (for example with rustup) and run again"
say "building hutch (release)"
"$cargo" build --release --locked || die "cargo build --release failed"
target_dir=$("$cargo" metadata --format-version 1 --no-deps | jq -r .target_directory)
install_for_user "$HUTCH_TEST_USER" "$target_dir/release/hutch"
install_for_user "$HUTCH_NORANGE_USER" "$target_dir/release/hutch"
install_restart_unit "$HUTCH_TEST_USER" "$repo"
say "installed $(user_home "$HUTCH_TEST_USER")/.local/bin/hutch, hutch-enter beside it, and hutch-restart.service"

if registry_answers "$port"; then
    say "a registry already answers on 127.0.0.1:$port; pushing the fixtures to it"
elif port_in_use "$port"; then
    die "127.0.0.1:$port is taken by something that is not a registry; set HUTCH_REGISTRY_PORT"
else
    start_registry /var/lib/hutch-registry "$port" detach
    say "registry pid $HUTCH_REGISTRY_PID, log /var/lib/hutch-registry/registry.log"
fi
fixtures=$(mktemp -d /tmp/hutch-fixtures.XXXXXX)
push_fixtures "$port" "$fixtures"
rm -rf "$fixtures"

for u in "$HUTCH_TEST_USER" "$HUTCH_NORANGE_USER"; do
    write_user_registries_conf "$u" "$port"
done

say "as $HUTCH_TEST_USER: hutch run --rm 127.0.0.1:$port/busybox echo hello"
out=$(cd / && runuser -l "$HUTCH_TEST_USER" -c \
    "PATH=\$HOME/.local/bin:\$PATH hutch run --rm 127.0.0.1:$port/busybox echo hello") \
    || die "hutch run failed for $HUTCH_TEST_USER"
echo "$out"
[ "$out" = hello ] || die "expected \"hello\", got \"$out\""
say "hutch works: try  su - $HUTCH_TEST_USER -c 'hutch run --rm 127.0.0.1:$port/busybox echo hello'"
