#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The test command: set up a fresh Debian 12 machine (as root) and run every
# test: a warning-free gcc build with unit, D-Bus, zeroconf and VM (real
# kernel) suites; an ASan/UBSan clang build with the unit, D-Bus and zeroconf
# suites; the libFuzzer targets briefly; valgrind over the D-Bus suite.
# Ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${STAFD_TEST_DIR:-$src/build-test}

./test/setup-deps.sh || exit 1

passed=0 failed=0 skipped=0
tally() {  # tally TESTLOG.json
        local p f s
        read -r p f s < <(python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get('result')
        if r in ('OK', 'EXPECTEDFAIL'):
            p += 1
        elif r == 'SKIP':
            s += 1
        else:
            f += 1
except OSError:
    pass
print(p, f, s)
PY
)
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}
step() {  # step NAME CMD... : a build step that counts as one test
        local name=$1; shift
        echo "=== $name"
        if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); return 1; fi
}

rm -rf "$out"
mkdir -p "$out"

# 1. gcc, warnings are errors; every suite, the VM included.
if step "gcc build (-Werror)" bash -c "meson setup '$out/gcc' --werror -Dtests=enabled >'$out/gcc-setup.log' && ninja -C '$out/gcc'"; then
        meson test -C "$out/gcc" --print-errorlogs --no-rebuild --num-processes 2 \
                --suite unit --suite dbus --suite zeroconf --suite system
        tally "$out/gcc/meson-logs/testlog.json"
        mv "$out/gcc/meson-logs/testlog.json" "$out/gcc/meson-logs/testlog-host.json"
        meson test -C "$out/gcc" --print-errorlogs --no-rebuild --num-processes 1 --suite vm
        tally "$out/gcc/meson-logs/testlog.json"
fi

# 2. clang with ASan/UBSan: the unit, D-Bus and zeroconf suites.
if step "clang ASan/UBSan build" bash -c "CC=clang meson setup '$out/asan' --werror -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false >'$out/asan-setup.log' && ninja -C '$out/asan'"; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C "$out/asan" --print-errorlogs --no-rebuild --num-processes 2 \
                --suite unit --suite dbus --suite zeroconf --suite system
        tally "$out/asan/meson-logs/testlog.json"
fi

# 3. libFuzzer targets, a few seconds each over their seed corpora.
if step "clang libFuzzer build" bash -c "CC=clang meson setup '$out/fuzz' -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false >'$out/fuzz-setup.log' && ninja -C '$out/fuzz'"; then
        meson test -C "$out/fuzz" --print-errorlogs --no-rebuild --num-processes 2 --suite fuzz
        tally "$out/fuzz/meson-logs/testlog.json"
fi

# 4. valgrind: stafd under memcheck through the D-Bus suite.
if [ -d "$out/gcc" ]; then
        STAFD_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --quiet" \
        meson test -C "$out/gcc" --print-errorlogs --no-rebuild --num-processes 2 --suite dbus \
                --logbase valgrind 2>&1 | tail -n 25
        tally "$out/gcc/meson-logs/valgrind.json"
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
