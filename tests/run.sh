#!/usr/bin/env bash
# Runs hutch's whole test suite: unit tests, then the end-to-end, detached
# container lifecycle, hostile, no-range and Podman-comparison integration
# tests against a throwaway local registry.
#
#   sudo ./tests/run.sh [TESTNAME-FILTER]
#
# As root it prepares the host first (packages, /dev/fuse and /dev/net/tun, a
# single-node Slurm cluster,
# the users hutch-test and hutch-norange), runs the integration tests as
# those users, and then the doctor host tier (tests/doctor/host.sh). As a normal user it needs the packages already installed and
# runs the ranged-user tests as itself; the no-range tests then only run if
# the current user has no /etc/subuid range (otherwise they are reported as
# failed: they need `sudo ./tests/run.sh`).
#
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=tests/lib/env.sh
source "$repo/tests/lib/env.sh"

filter=("$@")
started=$(date +%s)

# --- host preparation ---------------------------------------------------
if is_root; then
    ensure_packages "${HUTCH_PACKAGES[@]}"
    ensure_devices
    ensure_users
    ensure_podman_config
    ensure_slurm # a single-node cluster for the Slurm tests (issue #18)
else
    ensure_packages "${HUTCH_PACKAGES[@]}" # only checks, and names what is missing
fi

work=$(mktemp -d /tmp/hutch-tests.XXXXXX)
chmod 0755 "$work"
cleanup() {
    stop_registry
    stop_auth_registry
    [ -n "${small_fs:-}" ] && unmount_small_fs "$small_fs"
    # Test stores hold files owned by subordinate ids: only root, or the
    # user inside a user namespace, can remove them.
    if is_root; then
        rm -rf "$work"
    else
        rm -rf "$work" 2>/dev/null || unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- registry and fixtures ------------------------------------------------
port=$(pick_port 5000)
start_registry "$work/registry" "$port"
push_fixtures "$port" "$work/fixtures"
registry="127.0.0.1:$port"

# A second registry with TLS (self-signed CA) and htpasswd basic auth, for
# login and push; its access log lets the tests count uploads.
auth_port=$(pick_port $((port + 1)))
auth_user=hutch
auth_pass="pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
start_auth_registry "$work/auth-registry" "$auth_port" "$auth_user" "$auth_pass"

# docker-py 7 in a cached virtual environment (issue #17).
docker_py=$(ensure_docker_py)

# The MPI test program and its image's files (issue #18).
build_mpi_context "$repo" "$work/mpi"

# --- build ----------------------------------------------------------------
cargo=$(find_cargo) || die "cargo not found (install Rust >= 1.85 with rustup)"
export CARGO_TERM_COLOR=never
say "building hutch (release)"
"$cargo" build --release --locked --quiet || die "cargo build --release failed"
say "building the tests"
"$cargo" test --locked --no-run --message-format=json >"$work/build.json" || die "cargo test --no-run failed"
target_dir=$("$cargo" metadata --format-version 1 --no-deps | jq -r .target_directory)
hutch_release="$target_dir/release/hutch"
[ -x "$hutch_release" ] || die "no release binary at $hutch_release"

# Stage the binaries where the unprivileged users can read them.
mkdir -p "$work/bin" "$work/tmp"
chmod 1777 "$work/tmp" # per-test HOMEs; removed with $work even if a test leaks one
install -m 0755 "$hutch_release" "$work/bin/hutch"
# The helper `exec` seals and runs is found beside the hutch binary.
[ -x "$target_dir/release/hutch-enter" ] || die "no release binary at $target_dir/release/hutch-enter"
install -m 0755 "$target_dir/release/hutch-enter" "$work/bin/hutch-enter"
for suite in e2e lifecycle hostile norange compat soak; do
    exe=$(jq -r --arg n "$suite" \
        'select(.reason == "compiler-artifact" and .profile.test and .target.name == $n and (.target.kind | index("test"))) | .executable' \
        "$work/build.json" | tail -n1)
    [ -n "$exe" ] && [ -x "$exe" ] || die "no test binary for tests/$suite in cargo's output"
    install -m 0755 "$exe" "$work/bin/test-$suite"
done

# A small filesystem the test user owns, for the full-disk tests (issue
# #21 item 4); without root there is none, and those tests fail naming
# HUTCH_TEST_SMALL_FS.
small_fs=""
if is_root; then
    small_fs="$work/small"
    mount_small_fs "$small_fs" "$HUTCH_TEST_USER" 64m
fi

# --- running --------------------------------------------------------------
passed=0
failed=0
problems=()

# Adds the counts from libtest's "test result:" lines in $2 to the totals;
# a suite that ended without one (crash, timeout) counts as one failure.
count() {
    local name=$1 log=$2 rc=$3 p f
    p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
    f=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s += $1} END {print s + 0}')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        problems+=("$name exited with status $rc without a test result (see above)")
    elif [ "$f" -ne 0 ]; then
        problems+=("$name: $f failed")
    fi
}

# Style gates (STYLE.md): formatting and clippy with warnings as errors.
# Each counts as one check.
lint() {
    local name=$1
    shift
    say "$name"
    if "$@" 2>&1 | tee "$work/lint.log" | tail -n 40; [ "${PIPESTATUS[0]}" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        problems+=("$name")
    fi
}
lint "cargo fmt --check" "$cargo" fmt --all -- --check
lint "cargo clippy -D warnings" "$cargo" clippy --locked --all-targets --quiet -- -D warnings

say "unit tests"
set +e
"$cargo" test --locked --bins -- "${filter[@]}" 2>&1 | tee "$work/unit.log"
rc=${PIPESTATUS[0]}
set -e
count "unit tests" "$work/unit.log" "$rc"

# Other integration tests (for example the man-page check) are pure: they
# run as the invoking user from the checkout.
while IFS=$'\t' read -r name exe; do
    case "$name" in e2e | lifecycle | hostile | norange | compat | soak) continue ;; esac
    say "tests/$name"
    # The parity test prints the share of Podman's names implemented.
    extra=()
    [ "$name" = parity ] && extra=(--nocapture)
    set +e
    (cd "$repo" && timeout 600 "$exe" --test-threads=2 "${extra[@]}" "${filter[@]}") 2>&1 | tee "$work/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
    count "tests/$name" "$work/$name.log" "$rc"
done < <(jq -r 'select(.reason == "compiler-artifact" and .profile.test and (.target.kind | index("test"))) | "\(.target.name)\t\(.executable)"' "$work/build.json" | sort -u)

# run_suite NAME USER [ARG...] : runs $work/bin/test-NAME as USER ("" =
# myself), with the test binary's extra ARGs.
run_suite() {
    local name=$1 user=$2 bin hutch_bin log="$work/$1.log" rc
    shift 2
    # The tests use this run's staged copy, so that concurrent runs from
    # other checkouts cannot swap the binary under them; the user's
    # ~/.local/bin/hutch is refreshed for manual use.
    hutch_bin="$work/bin/hutch"
    [ -n "$user" ] && install_for_user "$user" "$work/bin/hutch"
    bin="$work/bin/test-$name"
    local envs=(
        HOME="$(user_home "${user:-$(id -un)}")"
        PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
        TMPDIR="$work/tmp"
        LANG=C.UTF-8
        RUST_BACKTRACE=1
        HUTCH_BIN="$hutch_bin"
        HUTCH_TEST_REGISTRY="$registry"
        HUTCH_TEST_AUTH_REGISTRY="127.0.0.1:$auth_port"
        HUTCH_TEST_AUTH_USER="$auth_user"
        HUTCH_TEST_AUTH_PASSWORD="$auth_pass"
        HUTCH_TEST_AUTH_CA="$work/auth-registry/certs/ca/ca.crt"
        HUTCH_TEST_AUTH_LOG="$work/auth-registry/registry.log"
        HUTCH_TEST_SMALL_FS="$small_fs"
        HUTCH_TEST_MPI_CONTEXT="$work/mpi"
        HUTCH_TEST_DOCKER_PY="$docker_py"
    )
    say "tests/$name as ${user:-$(id -un)}"
    # The compat tier runs every command through Podman too (its
    # differential table alone is ~370 invocations): it gets longer.
    local limit=1200
    [ "$name" = compat ] && limit=2400
    set +e
    if [ -n "$user" ]; then
        (cd "$work" && timeout "$limit" runuser -u "$user" -- env -i "${envs[@]}" "$bin" --test-threads=2 "$@" "${filter[@]}") 2>&1 | tee "$log"
    else
        (cd "$work" && timeout "$limit" env -i "${envs[@]}" "$bin" --test-threads=2 "$@" "${filter[@]}") 2>&1 | tee "$log"
    fi
    rc=${PIPESTATUS[0]}
    set -e
    count "tests/$name" "$log" "$rc"
}

if is_root; then
    run_suite e2e "$HUTCH_TEST_USER"
    run_suite lifecycle "$HUTCH_TEST_USER"
    run_suite hostile "$HUTCH_TEST_USER"
    run_suite norange "$HUTCH_NORANGE_USER"
    run_suite compat "$HUTCH_TEST_USER"
    # The soak tier (issue #21): random kills, concurrency, a full disk;
    # --nocapture prints its counts.
    run_suite soak "$HUTCH_TEST_USER" --nocapture
else
    run_suite e2e ""
    run_suite lifecycle ""
    run_suite hostile ""
    if has_subuid_range; then
        failed=$((failed + 1))
        problems+=("tests/norange not run: $(id -un) has an /etc/subuid range; the no-range user tests need sudo ./tests/run.sh")
        say "${problems[-1]}"
    else
        run_suite norange ""
    fi
    run_suite compat ""
    run_suite soak "" --nocapture
fi

# The doctor host tier (issue #18): /dev/fuse mode 0600 and newuidmap
# without setuid, each in a private mount namespace (tests/doctor/host.sh),
# checked as the test users. Runs as root, with no filter or one naming
# "doctor".
run_doctor_tier() {
    local log="$work/doctor-tier.log" p f
    say "doctor host tier"
    if ! is_root; then
        failed=$((failed + 1))
        problems+=("the doctor host tier needs root to change /dev/fuse and newuidmap in a mount namespace: run sudo ./tests/run.sh")
        return
    fi
    set +e
    bash "$repo/tests/doctor/host.sh" "$work/bin/hutch" "$registry" \
        "$HUTCH_TEST_USER" "$HUTCH_NORANGE_USER" "$work" 2>&1 | tee "$log"
    set -e
    p=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 | awk '{print $1}')
    f=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 | awk '{print $3}')
    if [ -z "$p" ]; then
        failed=$((failed + 1))
        problems+=("the doctor host tier ended without a result (see above)")
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -eq 0 ] || problems+=("doctor host tier: $f failed")
}
if [ "${#filter[@]}" -eq 0 ] || [[ ${filter[0]} == *doctor* ]]; then
    run_doctor_tier
fi

# The cgroup v2 tier (issue #5) runs in a guest with systemd as PID 1 and
# pure cgroup v2 (tests/vm/); this host cannot give either. The NFS checks
# (issue #18: loopback exports of nfs-kernel-server) run there too, as this
# host's kernel has no NFS at all (tests/vm/guest-nfs.sh). It runs with no
# filter, or with a filter starting with "guest" (the rest of which picks
# checks). Booting needs root: without it the tier counts as failed.
run_guest_tier() {
    local log="$work/guest.log" share="$work/vmshare" rc guest_filter=""
    say "cgroup v2 tier in a guest"
    if ! is_root; then
        failed=$((failed + 1))
        problems+=("the cgroup v2 guest tier needs root to boot its VM: run sudo ./tests/run.sh")
        return
    fi
    [ "${#filter[@]}" -gt 0 ] && guest_filter=${filter[0]#guest}
    set +e
    (
        set -e
        bash "$repo/tests/vm/image.sh"
        mkdir -p "$share"
        bash "$repo/tests/vm/registry-tree.sh" "$work/fixtures/busybox" busybox "$share/registry"
        bash "$repo/tests/vm/variant-tree.sh" "$work/fixtures/busybox" autoupd "$share/autoupd"
        install -m 0755 "$work/bin/hutch" "$share/hutch"
        install -m 0755 "$work/bin/hutch-enter" "$share/hutch-enter"
        install -m 0755 "$repo/tests/vm/guest-cgroups.sh" "$share/guest-cgroups.sh"
        install -m 0755 "$repo/tests/vm/guest-root.sh" "$share/guest-root.sh"
        install -m 0644 "$repo/tests/vm/guest-nfs.sh" "$share/guest-nfs.sh"
        install -m 0644 "$repo/contrib/systemd/hutch-restart.service" "$share/hutch-restart.service"
        install -m 0644 "$repo/contrib/systemd/hutch.socket" "$share/hutch.socket"
        install -m 0644 "$repo/contrib/systemd/hutch.service" "$share/hutch.service"
        chmod 0755 "$share"
        # Root's setup first (guest-root.sh), then the checks as the user.
        bash "$repo/tests/vm/boot.sh" --root -s "$share:ro" -t 900 -- \
            bash "$share/guest-root.sh" "$share/guest-cgroups.sh" "$share/hutch" "$share/registry" "$guest_filter"
    ) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    local p f
    p=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 | awk '{print $1}')
    f=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 | awk '{print $3}')
    if [ -z "$p" ]; then
        failed=$((failed + 1))
        problems+=("the cgroup v2 guest tier ended without a result (exit $rc, see above)")
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -eq 0 ] || problems+=("cgroup v2 guest tier: $f failed")
}
if [ "${#filter[@]}" -eq 0 ] || [[ ${filter[0]} == guest* ]]; then
    run_guest_tier
fi

echo
for p in "${problems[@]}"; do echo "FAILED: $p"; done
echo "took $(($(date +%s) - started))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
