#!/bin/bash
# The GPU check of issue #18: on a host with an NVIDIA GPU and its driver
# but no nvidia-ctk and no CDI spec, an unprivileged user generates a spec
# with `hutch cdi generate`, lists the GPU with `nvidia-smi -L` inside a
# container, and builds and runs a small CUDA program there.
#
# Host: Ubuntu 24.04 (or Debian-like) with the NVIDIA driver, for example
# under /usr/local/nvidia; commands run as root (this script creates the
# user and installs newuidmap). CI has no GPU and never runs this.
#
# What to carry (in one directory, CARRY, default tests/gpu/carry, which
# git ignores; give it to the device machine with the worktree):
#   hutch         the release binary (cp $CARGO_TARGET_DIR/release/hutch)
#   image.tar     an image archive for `hutch load` (docker-archive or
#                 oci-archive, optionally .tar.gz): with nvcc inside (a
#                 CUDA "devel" image, e.g. nvidia/cuda:12.4.1-devel-
#                 ubuntu22.04 saved with `podman save -o image.tar`) the
#                 CUDA program is built in the container; an image without
#                 nvcc (ubuntu:24.04) works when the host has nvcc
#                 (/usr/local/cuda/bin), which then builds it statically
#                 linked to the CUDA runtime and the container runs it.
#                 The image needs glibc (nvidia-smi is bound from the host).
#   uidmap.deb    Debian's/Ubuntu's uidmap package, installed only when
#                 newuidmap is absent (apt-get download uidmap).
#
# How to call it, as root, from the repository root:
#   tests/gpu/run.sh                    # uses tests/gpu/carry
#   CARRY=/some/dir IMAGE=localhost/cuda:devel tests/gpu/run.sh
# With the project's device tool: run(command="tests/gpu/run.sh",
# carry=["tests/gpu/carry"], timeout_s=500).
#
# It prints each step and ends with `GPU CHECK PASSED` (exit 0), or stops
# at the first failing step with `GPU CHECK FAILED: STEP` (exit 1).

set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CARRY=${CARRY:-$HERE/carry}
GPU_USER=${GPU_USER:-hutchgpu}
IMAGE=${IMAGE:-}

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nGPU CHECK FAILED: %s\n' "$*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run this as root (it creates $GPU_USER)"

step "host: the GPU and its driver"
# CUDA needs /dev/nvidia-uvm, which the driver makes on first use by root.
command -v nvidia-modprobe >/dev/null && nvidia-modprobe -u -c=0
ls -l /dev/nvidia* || fail "no /dev/nvidia* nodes"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L || fail "nvidia-smi -L on the host"; fi
if command -v nvidia-ctk >/dev/null; then echo "note: nvidia-ctk is installed; it is not used"; fi
ls /etc/cdi /var/run/cdi 2>/dev/null && echo "note: system CDI specs exist; the user's own spec wins"

step "hutch binary"
[ -f "$CARRY/hutch" ] || fail "no $CARRY/hutch (copy the release binary there)"
install -m 0755 "$CARRY/hutch" /usr/local/bin/hutch || fail "installing hutch"
hutch --version || fail "hutch --version"

step "newuidmap/newgidmap"
if ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
    [ -f "$CARRY/uidmap.deb" ] || fail "newuidmap is absent and $CARRY/uidmap.deb was not carried"
    dpkg -i "$CARRY/uidmap.deb" || fail "dpkg -i uidmap.deb"
fi
ls -l "$(command -v newuidmap)" "$(command -v newgidmap)"

step "user $GPU_USER with a subordinate id range"
id "$GPU_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$GPU_USER" || fail "useradd $GPU_USER"
for f in /etc/subuid /etc/subgid; do
    touch "$f"
    grep -q "^$GPU_USER:" "$f" || echo "$GPU_USER:300000:65536" >>"$f" || fail "writing $f"
done
grep "^$GPU_USER:" /etc/subuid /etc/subgid
# The GPU nodes must be openable by the user (0666 is the driver default).
for n in /dev/nvidia[0-9]* /dev/nvidiactl /dev/nvidia-uvm; do
    [ -e "$n" ] && runuser -u "$GPU_USER" -- test -r "$n" -a -w "$n" || echo "note: $GPU_USER cannot open $n"
done
HOME_DIR=$(getent passwd "$GPU_USER" | cut -d: -f6)
WORK=$HOME_DIR/gpu-check
rm -rf "$WORK" && install -d -o "$GPU_USER" -g "$GPU_USER" "$WORK" || fail "making $WORK"

# Runs a command as the user, in a login-like environment without a
# systemd session (as on a cluster node).
as_user() {
    runuser -u "$GPU_USER" -- env -i HOME="$HOME_DIR" USER="$GPU_USER" LOGNAME="$GPU_USER" \
        PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 sh -c "cd \"$WORK\" && $1"
}

step "load the image"
TAR=
for t in "$CARRY"/image.tar "$CARRY"/image.tar.gz; do [ -f "$t" ] && TAR=$t; done
[ -n "$TAR" ] || fail "no $CARRY/image.tar (or .tar.gz)"
case "$TAR" in
*.gz) gzip -dc "$TAR" >"$WORK/image.tar" || fail "gunzip $TAR" ;;
*) cp "$TAR" "$WORK/image.tar" || fail "copying $TAR" ;;
esac
chown "$GPU_USER:" "$WORK/image.tar"
LOADED=$(as_user "hutch load -i image.tar") || fail "hutch load"
echo "$LOADED"
if [ -z "$IMAGE" ]; then
    IMAGE=$(echo "$LOADED" | sed -n 's/^Loaded image[^:]*: *//p' | head -1)
fi
[ -n "$IMAGE" ] || fail "no image name from hutch load; set IMAGE"
echo "image: $IMAGE"

step "hutch cdi generate, as $GPU_USER"
as_user "hutch cdi generate --output ~/.config/cdi/nvidia.yaml" || fail "hutch cdi generate"
as_user "grep -E '^kind|name:|path: /dev|libcuda' ~/.config/cdi/nvidia.yaml"

step "nvidia-smi -L in a container (--device nvidia.com/gpu=all)"
SMI=$(as_user "hutch run --rm --device nvidia.com/gpu=all $IMAGE nvidia-smi -L") || fail "nvidia-smi -L in the container"
echo "$SMI"
echo "$SMI" | grep -q '^GPU 0: ' || fail "nvidia-smi -L listed no GPU"

step "a CUDA program"
cat >"$WORK/vadd.cu" <<'EOF'
#include <cstdio>
#include <cuda_runtime.h>

__global__ void vadd(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

#define CHECK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { \
    printf("cuda error %s at %s\n", cudaGetErrorString(e), #x); return 1; } } while (0)

int main() {
    const int n = 1 << 20;
    size_t bytes = n * sizeof(float);
    float *a = new float[n], *b = new float[n], *c = new float[n];
    for (int i = 0; i < n; i++) { a[i] = i; b[i] = 2.0f * i; }
    float *da, *db, *dc;
    CHECK(cudaMalloc(&da, bytes)); CHECK(cudaMalloc(&db, bytes)); CHECK(cudaMalloc(&dc, bytes));
    CHECK(cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice));
    vadd<<<(n + 255) / 256, 256>>>(da, db, dc, n);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost));
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (c[i] != 3.0f * i) { printf("mismatch at %d: %f\n", i, c[i]); return 1; }
        sum += c[i];
    }
    cudaDeviceProp p;
    CHECK(cudaGetDeviceProperties(&p, 0));
    printf("vadd ok on %s: n=%d sum=%.0f\n", p.name, n, sum);
    return 0;
}
EOF
chown "$GPU_USER:" "$WORK/vadd.cu"
# 3 * n(n-1)/2 for n = 2^20.
WANT="n=1048576 sum=1649265868800"
if as_user "hutch run --rm $IMAGE sh -c 'command -v nvcc || test -x /usr/local/cuda/bin/nvcc'" >/dev/null; then
    echo "building with nvcc inside the container"
    OUT=$(as_user "hutch run --rm --gpus all -v \"$WORK\":/work -w /work $IMAGE sh -c 'PATH=\$PATH:/usr/local/cuda/bin; nvcc -o vadd vadd.cu && ./vadd'") \
        || fail "building or running vadd in the container: $OUT"
elif [ -x /usr/local/cuda/bin/nvcc ]; then
    echo "the image has no nvcc: building on the host, running in the container"
    as_user "/usr/local/cuda/bin/nvcc -cudart static -o vadd vadd.cu" || fail "nvcc on the host"
    OUT=$(as_user "hutch run --rm --gpus all -v \"$WORK\":/work -w /work $IMAGE ./vadd") \
        || fail "running vadd in the container: $OUT"
else
    fail "no nvcc in the image nor in /usr/local/cuda/bin on the host"
fi
echo "$OUT"
echo "$OUT" | grep -q "vadd ok .*$WANT" || fail "vadd's result (want $WANT)"

step "GPU CHECK PASSED"
echo "$SMI"
echo "$OUT"
