#!/bin/sh
HERE=$(cd "$(dirname "$0")" && pwd)  # for ../bus-config
# SPDX-License-Identifier: Apache-2.0
#
# stafctl without stafd: exit codes and messages.
# Usage: test-stafctl-noserver.sh STAFCTL POLICY_FILE VERSION
#
# Runs a private dbus-daemon (system-bus type, with our policy file
# included) and points stafctl at it with DBUS_SYSTEM_BUS_ADDRESS.

set -u

STAFCTL=$1
POLICY=$2
VERSION=$3
MSG='stafctl: cannot reach stafd on the system bus (is it running?)'

fail=0
tmp=$(mktemp -d)
bus_pid=

cleanup() {
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

ok()  { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

# expect RC STDERR_EXACT ARGS...   ("-" for STDERR_EXACT: do not check)
expect() {
        want_rc=$1 want_err=$2
        shift 2
        "$STAFCTL" "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" -ne "$want_rc" ]; then
                bad "stafctl $*: exit $rc, expected $want_rc"
                sed 's/^/#   /' "$tmp/err"
                return
        fi
        if [ "$want_err" != "-" ]; then
                if [ "$(cat "$tmp/err")" != "$want_err" ]; then
                        bad "stafctl $*: stderr '$(cat "$tmp/err")', expected '$want_err'"
                        return
                fi
                if [ -s "$tmp/out" ]; then
                        bad "stafctl $*: unexpected stdout '$(cat "$tmp/out")'"
                        return
                fi
        fi
        ok "stafctl $* -> $rc"
}

# --version
out=$("$STAFCTL" --version)
if [ $? -eq 0 ] && [ "$out" = "stafctl $VERSION" ]; then
        ok "--version prints 'stafctl $VERSION'"
else
        bad "--version printed '$out'"
fi
expect 0 - --help

# Usage errors: exit 2, before any bus access.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-such-socket
expect 2 - bogus
expect 2 -
expect 2 - --no-such-option ls
expect 2 - ls --no-such-option
expect 2 - ls -x
expect 2 - ls extra-argument
expect 2 - tron -d
expect 2 - dlp
expect 2 - dlp -a 192.168.1.10
expect 2 - dlp -s 8009
expect 2 - dlp -a 192.168.1.10 -s
expect 2 - adlp -a 1.2.3.4

# No bus at all.
expect 1 "$MSG" ls
expect 1 "$MSG" status

# A bus, but nobody owns org.nvmexpress.staf.
"$HERE/../bus-config" "$tmp/system_bus_socket" "$POLICY" >"$tmp/bus.conf"

dbus-daemon --config-file="$tmp/bus.conf" --fork --print-address=3 --print-pid=4 \
        3>"$tmp/address" 4>"$tmp/pid" || { echo "Bail out! cannot start dbus-daemon"; exit 1; }
bus_pid=$(cat "$tmp/pid")
DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$tmp/address")
export DBUS_SYSTEM_BUS_ADDRESS

expect 1 "$MSG" ls
expect 1 "$MSG" ls -d
expect 1 "$MSG" --json ls
expect 1 "$MSG" status
expect 1 "$MSG" tron
expect 1 "$MSG" troff
expect 1 "$MSG" adlp --detailed
expect 1 "$MSG" dlp -a 192.168.1.10 -s 8009
expect 1 "$MSG" dlp -t tcp -a 192.168.1.10 -s 8009 -q nqn.2014-08.org.nvmexpress:uuid:x

exit $fail
