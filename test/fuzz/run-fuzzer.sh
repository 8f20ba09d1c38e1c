#!/bin/sh
# Run a libFuzzer target briefly over its seed corpus without writing to the
# source tree: new inputs go to a temporary first corpus directory.
# Usage: run-fuzzer.sh FUZZER SEED_CORPUS [extra libFuzzer args...]
set -eu
fuzzer=$1
corpus=$2
shift 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$fuzzer" -max_total_time=5 -rss_limit_mb=2048 -timeout=10 "$@" "$tmp" "$corpus"
