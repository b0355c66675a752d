# shellcheck shell=bash
# Shared setup for tests/run.sh, install.sh and bench/run.sh: packages, test
# users, the local plain-HTTP registry and the fixture images.
#
# Source it; every function is idempotent and reports what it does on
# stderr with a "==> " prefix. Functions that need root say so.

HUTCH_TEST_USER=${HUTCH_TEST_USER:-hutch-test}
HUTCH_NORANGE_USER=${HUTCH_NORANGE_USER:-hutch-norange}
HUTCH_TEST_GROUP=${HUTCH_TEST_GROUP:-hutch-extra}

# Packages the suite needs on Debian 12.
HUTCH_PACKAGES=(
    uidmap slirp4netns passt fuse-overlayfs docker-registry busybox-static
    skopeo zstd jq procps iproute2 util-linux python3 curl ca-certificates
    build-essential pkg-config apache2-utils openssl time libseccomp-dev
    podman runc netavark aardvark-dns iptables squashfuse squashfs-tools docker.io
    slurm-wlm munge openmpi-bin libopenmpi-dev docker-compose python3-venv strace
)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Installs the missing packages among "$@" (root). Runs apt-get update at
# most once per process, and only when something is missing.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root || die "missing packages: ${missing[*]} (run as root: sudo $0)"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${_HUTCH_APT_UPDATED:-}" ]; then
        apt-get -o DPkg::Lock::Timeout=120 update -q >&2 || die "apt-get update failed"
        _HUTCH_APT_UPDATED=1
    fi
    apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
}

# Makes /dev/fuse and /dev/net/tun usable by unprivileged users, as a normal
# distribution does (root).
ensure_devices() {
    if [ ! -e /dev/net/tun ]; then
        mkdir -p /dev/net && mknod /dev/net/tun c 10 200 2>/dev/null || say "cannot create /dev/net/tun"
    fi
    if [ ! -e /dev/fuse ]; then
        mknod /dev/fuse c 10 229 2>/dev/null || say "cannot create /dev/fuse"
    fi
    chmod 0666 /dev/net/tun /dev/fuse 2>/dev/null || true
}

# Podman is the oracle of tests/compat. On this kind of host (cgroup v1 or
# hybrid, PID 1 not systemd) it runs with runc, the cgroupfs manager and
# file events, set in a drop-in that leaves the rest of its defaults (root).
ensure_podman_config() {
    local d=/etc/containers/containers.conf.d
    mkdir -p "$d"
    printf '%s\n' '# Written by hutch tests/lib/env.sh for tests/compat.' \
        '[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' \
        >"$d/50-hutch-tests.conf"
}

# Prints the first free subordinate id start at or above 100000 that does
# not overlap any range in /etc/subuid or /etc/subgid.
_free_subid_start() {
    local start=100000
    while awk -F: -v s="$start" '$2 < s + 65536 && s < $2 + $3 { hit = 1 } END { exit !hit }' \
        /etc/subuid /etc/subgid 2>/dev/null; do
        start=$((start + 65536))
    done
    echo "$start"
}

# Creates the ranged test user and the no-range user (root).
ensure_users() {
    local u
    for u in "$HUTCH_TEST_USER" "$HUTCH_NORANGE_USER"; do
        if ! id "$u" >/dev/null 2>&1; then
            say "creating user $u"
            useradd --create-home --shell /bin/bash "$u" || die "useradd $u failed"
        fi
        mkdir -p "$(user_home "$u")"
    done
    touch /etc/subuid /etc/subgid
    # The no-range user must have no subordinate ids at all.
    sed -i "/^$HUTCH_NORANGE_USER:/d; /^$(id -u "$HUTCH_NORANGE_USER"):/d" /etc/subuid /etc/subgid
    if ! grep -q "^$HUTCH_TEST_USER:" /etc/subuid || ! grep -q "^$HUTCH_TEST_USER:" /etc/subgid; then
        sed -i "/^$HUTCH_TEST_USER:/d" /etc/subuid /etc/subgid
        local start
        start=$(_free_subid_start)
        say "giving $HUTCH_TEST_USER subordinate ids $start:65536"
        echo "$HUTCH_TEST_USER:$start:65536" >>/etc/subuid
        echo "$HUTCH_TEST_USER:$start:65536" >>/etc/subgid
    fi
    # A supplementary group for --group-add keep-groups (tests/lifecycle/userns.rs).
    getent group "$HUTCH_TEST_GROUP" >/dev/null || groupadd "$HUTCH_TEST_GROUP" || die "groupadd $HUTCH_TEST_GROUP failed"
    if ! id -nG "$HUTCH_TEST_USER" | tr ' ' '\n' | grep -qx "$HUTCH_TEST_GROUP"; then
        say "adding $HUTCH_TEST_USER to group $HUTCH_TEST_GROUP"
        usermod -aG "$HUTCH_TEST_GROUP" "$HUTCH_TEST_USER" || die "usermod -aG $HUTCH_TEST_GROUP failed"
    fi
}

user_home() { getent passwd "$1" | cut -d: -f6; }

# Whether the named user (default: current) has a range in /etc/subuid.
has_subuid_range() {
    local u=${1:-$(id -un)} uid
    uid=$(id -u "$u")
    grep -qE "^($u|$uid):" /etc/subuid 2>/dev/null
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Whether a Distribution API registry answers on 127.0.0.1:$1.
registry_answers() {
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/v2/" 2>/dev/null
}

# Prints the first free port from $1 (default 5000) upwards.
pick_port() {
    local p=${1:-5000}
    while port_in_use "$p"; do p=$((p + 1)); done
    echo "$p"
}

# Starts `docker-registry serve` on 127.0.0.1:$2 with its storage and
# config under $1; sets HUTCH_REGISTRY_PID. Waits until /v2/ answers.
# With a third argument "detach" it runs in its own session, to outlive
# the calling script.
start_registry() {
    local dir=$1 port=$2 detach=${3:-} bin
    bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
    [ -x "$bin" ] || die "docker-registry not found (install the docker-registry package)"
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    say "starting registry on 127.0.0.1:$port (storage $dir/storage)"
    if [ "$detach" = detach ]; then
        setsid "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    else
        "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    fi
    HUTCH_REGISTRY_PID=$!
    local i
    for i in $(seq 1 100); do
        if registry_answers "$port"; then return 0; fi
        if ! kill -0 "$HUTCH_REGISTRY_PID" 2>/dev/null; then
            cat "$dir/registry.log" >&2
            die "docker-registry exited before answering on port $port"
        fi
        sleep 0.1
    done
    cat "$dir/registry.log" >&2
    die "registry on port $port did not answer /v2/ within 10s"
}

# Stops the registry started by start_registry.
stop_registry() {
    if [ -n "${HUTCH_REGISTRY_PID:-}" ]; then
        kill "$HUTCH_REGISTRY_PID" 2>/dev/null || true
        wait "$HUTCH_REGISTRY_PID" 2>/dev/null || true
        HUTCH_REGISTRY_PID=
    fi
}

# Makes a throwaway CA and a server certificate for 127.0.0.1 and
# localhost: keys and the server certificate in $1/private (root only), the
# CA certificate alone in $1/ca/ca.crt (world-readable, usable as a
# --cert-dir or certs.d directory).
make_test_ca() {
    local dir=$1 priv=$1/private
    mkdir -p "$priv" "$dir/ca"
    chmod 0700 "$priv"
    chmod 0755 "$dir" "$dir/ca"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hutch test CA" \
        -keyout "$priv/ca.key" -out "$dir/ca/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1 || die "openssl could not make the test CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$priv/server.key" -out "$priv/server.csr" >/dev/null 2>&1 \
        || die "openssl could not make the server key"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$priv/server.ext"
    openssl x509 -req -in "$priv/server.csr" -CA "$dir/ca/ca.crt" -CAkey "$priv/ca.key" -CAcreateserial \
        -days 2 -extfile "$priv/server.ext" -out "$priv/server.crt" >/dev/null 2>&1 \
        || die "openssl could not sign the server certificate"
    chmod 0644 "$dir/ca/ca.crt"
}

# Starts a second registry on 127.0.0.1:$2 with TLS (a fresh self-signed
# CA, $1/certs/ca/ca.crt) and htpasswd basic auth for user $3 with password
# $4, logging every request to $1/registry.log (readable by the test
# users); sets HUTCH_AUTH_REGISTRY_PID. Waits until /v2/ answers 401.
start_auth_registry() {
    local dir=$1 port=$2 user=$3 pass=$4 bin
    bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
    [ -x "$bin" ] || die "docker-registry not found (install the docker-registry package)"
    command -v htpasswd >/dev/null || die "htpasswd not found (install apache2-utils)"
    command -v openssl >/dev/null || die "openssl not found (install openssl)"
    mkdir -p "$dir/storage"
    chmod 0755 "$dir"
    make_test_ca "$dir/certs"
    htpasswd -Bbn "$user" "$pass" >"$dir/htpasswd" || die "htpasswd failed"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
auth:
  htpasswd:
    realm: hutch-test
    path: $dir/htpasswd
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $dir/certs/private/server.crt
    key: $dir/certs/private/server.key
EOF
    say "starting TLS+auth registry on 127.0.0.1:$port (storage $dir/storage)"
    # Made before the registry starts (the redirection below keeps its
    # mode), so that the test users can read it from the first line on.
    : >"$dir/registry.log"
    chmod 0644 "$dir/registry.log"
    "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    HUTCH_AUTH_REGISTRY_PID=$!
    local i code
    for i in $(seq 1 100); do
        code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$dir/certs/ca/ca.crt" \
            "https://127.0.0.1:$port/v2/" 2>/dev/null || true)
        [ "$code" = 401 ] && return 0
        if ! kill -0 "$HUTCH_AUTH_REGISTRY_PID" 2>/dev/null; then
            cat "$dir/registry.log" >&2
            die "docker-registry (TLS+auth) exited before answering on port $port"
        fi
        sleep 0.1
    done
    cat "$dir/registry.log" >&2
    die "TLS+auth registry on port $port did not answer /v2/ with 401 within 10s"
}

# Stops the registry started by start_auth_registry.
stop_auth_registry() {
    if [ -n "${HUTCH_AUTH_REGISTRY_PID:-}" ]; then
        kill "$HUTCH_AUTH_REGISTRY_PID" 2>/dev/null || true
        wait "$HUTCH_AUTH_REGISTRY_PID" 2>/dev/null || true
        HUTCH_AUTH_REGISTRY_PID=
    fi
}

# Builds the fixture OCI layouts into $2 and pushes them to the registry
# at 127.0.0.1:$1; verifies each by manifest digest.
push_fixtures() {
    local port=$1 out=$2 here name
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    rm -rf "$out" && mkdir -p "$out"
    say "building fixture images in $out"
    /usr/bin/python3 "$here/fixtures/build.py" "$out" /bin/busybox >/dev/null \
        || die "tests/fixtures/build.py failed"
    for name in busybox layers config zstd multi volume devices; do
        say "pushing 127.0.0.1:$port/$name:latest"
        skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
            "oci:$out/$name:latest" "docker://127.0.0.1:$port/$name:latest" >&2 \
            || die "skopeo copy of $name to 127.0.0.1:$port failed"
        local want got
        want=$(jq -r '.manifests[0].digest' "$out/$name/index.json")
        got=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$port/$name:latest" | sha256sum | cut -d' ' -f1)
        [ "sha256:$got" = "$want" ] || die "$name on 127.0.0.1:$port has manifest sha256:$got, expected $want"
    done
}

# Finds cargo for root or the invoking sudo user; prints its path.
find_cargo() {
    local c
    for c in "$(command -v cargo 2>/dev/null)" "$HOME/.cargo/bin/cargo" \
        "${SUDO_USER:+$(user_home "${SUDO_USER}")/.cargo/bin/cargo}" /root/.cargo/bin/cargo /usr/local/cargo/bin/cargo; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# Writes a registries.conf trusting the plain-HTTP registry on $2 for the
# user $1 (root; leaves an existing file alone if it already names it).
write_user_registries_conf() {
    local u=$1 port=$2 home conf
    home=$(user_home "$u")
    conf="$home/.config/containers/registries.conf"
    if [ -f "$conf" ] && grep -q "127.0.0.1:$port" "$conf"; then return 0; fi
    install -d -o "$u" -g "$(id -g "$u")" "$home/.config" "$home/.config/containers"
    if [ -f "$conf" ]; then
        printf '\n[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$port" >>"$conf"
    else
        printf 'unqualified-search-registries = ["127.0.0.1:%s"]\n\n[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' \
            "$port" "$port" >"$conf"
    fi
    chown "$u:$(id -g "$u")" "$conf"
}

# Copies the hutch binary $2 into ~$1/.local/bin/hutch, and the helper
# hutch-enter beside $2 (which `exec` runs) beside it (root).
install_for_user() {
    local u=$1 bin=$2 home
    home=$(user_home "$u")
    [ -x "$(dirname "$bin")/hutch-enter" ] || die "no hutch-enter beside $bin: build both binaries (cargo build --release)"
    install -d -o "$u" -g "$(id -g "$u")" "$home/.local" "$home/.local/bin"
    install -m 0755 -o "$u" -g "$(id -g "$u")" "$bin" "$home/.local/bin/hutch"
    install -m 0755 -o "$u" -g "$(id -g "$u")" "$(dirname "$bin")/hutch-enter" "$home/.local/bin/hutch-enter"
}

# Installs contrib/systemd/hutch-restart.service (from repository $2) as
# ~$1/.config/systemd/user/hutch-restart.service, enabled: the link
# `systemctl --user enable` makes, made here, as root need not reach the
# user's manager (root).
install_restart_unit() {
    local u=$1 repo=$2 home dir g
    home=$(user_home "$u")
    g=$(id -g "$u")
    dir=$home/.config/systemd/user
    install -d -o "$u" -g "$g" "$home/.config" "$home/.config/systemd" "$dir" "$dir/default.target.wants"
    install -m 0644 -o "$u" -g "$g" "$repo/contrib/systemd/hutch-restart.service" "$dir/hutch-restart.service"
    ln -sfn ../hutch-restart.service "$dir/default.target.wants/hutch-restart.service"
    chown -h "$u:$g" "$dir/default.target.wants/hutch-restart.service"
}

# Mounts a fresh tmpfs of size $3 (default 64m) at $1, owned by user $2
# and private to them, for tests of a full disk (root). Whatever was
# mounted there is unmounted first, so each setup starts empty.
mount_small_fs() {
    local dir=$1 u=$2 size=${3:-64m}
    is_root || die "mounting the small filesystem $dir needs root"
    unmount_small_fs "$dir"
    mkdir -p "$dir"
    say "mounting a $size tmpfs for $u at $dir"
    mount -t tmpfs -o "size=$size,mode=0700,uid=$(id -u "$u"),gid=$(id -g "$u")" hutch-small "$dir" \
        || die "mounting a tmpfs at $dir failed"
}

# Unmounts every mount at $1 that mount_small_fs made (root).
unmount_small_fs() {
    while mountpoint -q "$1" 2>/dev/null; do
        umount "$1" 2>/dev/null || umount -l "$1" || die "unmounting $1 failed"
    done
}

# --- Slurm (issue #18) ------------------------------------------------------
# A single-node Slurm cluster (munged, slurmctld, slurmd) for the tests of
# `srun`/`sbatch` around hutch. PID 1 is not systemd on the test hosts, so
# the daemons are started directly. The host's cgroups are hybrid, so
# processes are tracked by their parent chain (proctrack/linuxproc) and
# tasks are not bound (task/none). The node has as many CPUs as the host;
# a CPU may be shared by up to 4 jobs (OverSubscribe=FORCE:4), so that an
# 8-task array runs concurrently on 2 CPUs, and `srun -n 4` needs
# `--overcommit`.

HUTCH_SLURM_CONF=/etc/slurm/slurm.conf
HUTCH_SLURM_MARK='# Written by hutch tests/lib/env.sh for the Slurm tests (issue #18).'

# Whether slurmctld answers and this host's node takes jobs.
slurm_ready() {
    scontrol ping 2>/dev/null | grep -q 'is UP' || return 1
    sinfo -h -N -n "$(hostname -s)" -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)$'
}

# Writes slurm.conf for this host (root). A slurm.conf that these tests did
# not write is left alone if it names this host, else refused.
write_slurm_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 / 2)}' /proc/meminfo)
    if [ -f "$HUTCH_SLURM_CONF" ] && ! grep -qxF "$HUTCH_SLURM_MARK" "$HUTCH_SLURM_CONF"; then
        grep -q "^NodeName=$host " "$HUTCH_SLURM_CONF" && return 0
        die "$HUTCH_SLURM_CONF exists, was not written by the tests and has no node $host"
    fi
    mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
    chown slurm:slurm /var/lib/slurm/slurmctld /var/log/slurm
    cat >"$HUTCH_SLURM_CONF.new" <<EOF
$HUTCH_SLURM_MARK
ClusterName=hutch
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=30
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
    mv "$HUTCH_SLURM_CONF.new" "$HUTCH_SLURM_CONF"
}

# Starts munged, slurmctld and slurmd unless Slurm already answers (root),
# then waits until the node takes jobs.
ensure_slurm() {
    is_root || die "starting Slurm needs root"
    slurm_ready && return 0
    write_slurm_conf
    if ! pgrep -x munged >/dev/null; then
        say "starting munged"
        install -d -o munge -g munge -m 0755 /run/munge
        runuser -u munge -- /usr/sbin/munged || die "munged did not start"
    fi
    if ! pgrep -x slurmctld >/dev/null; then
        say "starting slurmctld"
        /usr/sbin/slurmctld </dev/null || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
    fi
    if ! pgrep -x slurmd >/dev/null; then
        say "starting slurmd"
        /usr/sbin/slurmd </dev/null || die "slurmd did not start (see /var/log/slurm/slurmd.log)"
    fi
    local i
    for i in $(seq 1 60); do
        slurm_ready && return 0
        # A node left down or drained by an earlier run comes back.
        scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    die "the Slurm node $(hostname -s) did not become ready within 60s"
}

# --- docker-py (issue #17) ---------------------------------------------------
# Makes a virtual environment with docker-py 7 (PyPI's `docker`) in a cache
# directory, once: /var/cache/hutch-tests as root, else under
# ${XDG_CACHE_HOME:-~/.cache}. Prints its python, readable by every user.
ensure_docker_py() {
    local dir py
    if is_root; then
        dir=/var/cache/hutch-tests/docker-py7
    else
        dir=${XDG_CACHE_HOME:-$HOME/.cache}/hutch-tests/docker-py7
    fi
    py=$dir/bin/python3
    if ! "$py" -c 'import docker, sys; sys.exit(docker.__version__.split(".")[0] != "7")' 2>/dev/null; then
        say "installing docker-py 7 in $dir"
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        /usr/bin/python3 -m venv "$dir" >&2 || die "python3 -m venv failed (install python3-venv)"
        "$dir/bin/pip" install -q --disable-pip-version-check 'docker>=7,<8' >&2 \
            || die "pip install docker>=7,<8 failed (PyPI unreachable?)"
        chmod -R a+rX "$dir"
    fi
    echo "$py"
}

# --- MPI (issue #18) ----------------------------------------------------------
# Builds the context of the MPI test image in $2 (root or not): the program
# tests/mpi/allreduce.c (from repository $1) compiled with the host's
# mpicc, and below $2/root the files it needs at the same paths as on the
# host: its shared libraries, Open MPI's and PMIx's plugin directories,
# help texts and configuration, and every library those load (the ldd
# closure). The image is the host's MPI, so that the host's mpirun and the
# ranks in containers speak the same PMIx (docs/compat.md, MPI).
build_mpi_context() {
    local repo=$1 out=$2 lib=/usr/lib/x86_64-linux-gnu f d
    command -v mpicc >/dev/null || die "mpicc not found (install libopenmpi-dev)"
    rm -rf "$out" && mkdir -p "$out/root"
    say "building the MPI test program and its image context in $out"
    mpicc -O2 -o "$out/root/allreduce" "$repo/tests/mpi/allreduce.c" || die "mpicc failed"
    for d in "$lib/openmpi" "$lib/pmix2" /usr/share/openmpi /usr/share/pmix /etc/openmpi; do
        [ -e "$d" ] || continue
        mkdir -p "$out/root$(dirname "$d")"
        cp -a "$d" "$out/root$(dirname "$d")/"
    done
    # The libraries the program and every plugin load, copied to the
    # path ldd names (the loader at its /lib64 path, as the ELF asks).
    {
        ldd "$out/root/allreduce"
        find "$lib/openmpi" "$lib/pmix2" -name '*.so*' -type f -exec ldd {} \; 2>/dev/null
    } | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/lib64\// {print $1}' | sort -u |
        while read -r f; do
            mkdir -p "$out/root$(dirname "$f")"
            cp -L "$f" "$out/root$f"
        done
    [ -e "$out/root/lib64/ld-linux-x86-64.so.2" ] || die "the MPI context has no loader (ldd output not understood)"
    chmod -R a+rX "$out"
}
