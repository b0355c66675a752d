#!/bin/sh
# A longer run of the layer unpacker's property test (src/storage/unpack_fuzz.rs)
# than CI does. Usage: tests/fuzz.sh [CASES]  (default 200000; about a minute
# per 20000 cases on one core). A failure prints the minimal archive members.
set -eu
cd "$(dirname "$0")/.."
PROPTEST_CASES="${1:-200000}" exec cargo test --release --bins storage::unpack::fuzz -- --nocapture
