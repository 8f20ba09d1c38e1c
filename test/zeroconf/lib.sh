# SPDX-License-Identifier: Apache-2.0
# Shared by the zeroconf system tests (sourced, bash).  The caller sets:
#   ZT_PREFIX   short name for namespaces/mounts (zc, zs)
#   ZT_NETNS    network namespaces to delete at exit
#   ZT_IPV6     use-ipv6= of the avahi-daemons (yes/no)
#   ZT_POLICIES extra D-Bus policy files for every bus (array, may be empty)
# and gets: a private mount namespace with a tmpfs /run (re-exec), $W, log,
# fail/pass, bg, start_bus/bus_of, start_avahi/stop_avahi, publish, listen.

ZT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

zt_require() {  # TOOLS…: fail when missing; skip without avahi/dbus or root
    local b
    for b in avahi-daemon dbus-daemon; do
        command -v "$b" >/dev/null || { echo "SKIP: $b not installed"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
    for b in "$@"; do
        command -v "$b" >/dev/null || { echo "FAIL: $b is required"; exit 1; }
    done
}

# zt_enter SCRIPT ARGS…: re-exec SCRIPT in a private mount namespace once,
# then give it a private /run and a work directory.
zt_enter() {
    if [ -z "${ZT_INNER:-}" ]; then
        exec unshare -m --propagation private env ZT_INNER=1 "$@"
    fi
    mount -t tmpfs -o mode=0755 "$ZT_PREFIX-run" /run || exit 1
    mkdir -p /run/avahi-daemon /run/netns /run/dbus
    W=$(mktemp -d "/tmp/$ZT_PREFIX-test.XXXXXX")
    PIDS=()
    FAILED=0
    T0=$(date +%s)
    trap zt_cleanup EXIT
}

log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
fail() { log "FAIL: $*"; FAILED=1; }
pass() { log "PASS: $*"; }

zt_cleanup() {
    local p ns f
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for ns in $ZT_NETNS; do ip netns del "$ns" 2>/dev/null; done
    if [ "$FAILED" != 0 ] || [ -n "${ZT_VERBOSE:-}" ]; then
        for f in "$W"/*.out "$W"/*.err "$W"/*.log; do
            [ -s "$f" ] || continue
            echo "===== $f (last 60 lines)"; tail -n 60 "$f"
        done
    fi
    rm -rf "$W"
}

bg() { "$@" & PIDS+=($!); LAST=$!; }

# zt_netns_setup SUBNET: namespaces ${ZT_PREFIX}A (loopback only) and
# ${ZT_PREFIX}B/C joined by a veth pair ${ZT_PREFIX}b0 (SUBNET.1) -
# ${ZT_PREFIX}c0 (SUBNET.2), multicast on.
zt_netns_setup() {
    local p=$ZT_PREFIX net=$1
    ip netns add "${p}A" && ip -n "${p}A" link set lo up || return 1
    ip netns add "${p}B" && ip netns add "${p}C" || return 1
    ip -n "${p}B" link set lo up; ip -n "${p}C" link set lo up
    ip -n "${p}B" link add "${p}b0" type veth peer name "${p}c0" netns "${p}C" || return 1
    ip -n "${p}B" addr add "$net.1/24" dev "${p}b0"
    ip -n "${p}C" addr add "$net.2/24" dev "${p}c0"
    ip -n "${p}B" link set "${p}b0" multicast on up
    ip -n "${p}C" link set "${p}c0" multicast on up
}

start_bus() {   # NAME -> $W/NAME.bus, with avahi's policy and $ZT_POLICIES
    local n=$1
    "$ZT_HERE/../bus-config" "$W/$n.bus" ${ZT_POLICIES[@]+"${ZT_POLICIES[@]}"} \
        /usr/share/dbus-1/system.d/avahi-dbus.conf > "$W/$n-bus.conf"
    bg dbus-daemon --nofork --nopidfile --config-file="$W/$n-bus.conf"
    eval "BUSPID_$n=$LAST"
    for _ in $(seq 50); do [ -S "$W/$n.bus" ] && return 0; sleep 0.1; done
    fail "dbus-daemon $n did not start"; return 1
}

bus_of() { echo "unix:path=$W/$1.bus"; }

start_avahi() {  # NAME(bus) NETNS IFACES
    local n=$1 ns=$2 ifc=$3 before
    before=$(cat "$W/avahi-$n.log" 2>/dev/null | wc -l)
    cat > "$W/$n-avahi.conf" <<CONF
[server]
host-name=$ZT_PREFIX-$n
use-ipv4=yes
use-ipv6=$ZT_IPV6
allow-interfaces=$ifc
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
CONF
    # ip netns exec gives it a mount namespace of its own: private runtime
    # dir (pid file, socket) and no static services from /etc/avahi/services.
    bg ip netns exec "$ns" env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$n")" sh -c \
        'mount -t tmpfs avahi-run /run/avahi-daemon && mount -t tmpfs avahi-svc /etc/avahi/services &&
         exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f "$0"' "$W/$n-avahi.conf" \
        >>"$W/avahi-$n.log" 2>&1
    eval "AVAHIPID_$n=$LAST"
    for _ in $(seq 100); do
        # Only this instance's lines: the log is shared across restarts.
        tail -n +$((before + 1)) "$W/avahi-$n.log" 2>/dev/null | grep -q "Server startup complete" && return 0
        sleep 0.1
    done
    fail "avahi-daemon $n did not start"; return 1
}

stop_avahi() {  # NAME
    local v="AVAHIPID_$1"
    kill "${!v}"; wait "${!v}" 2>/dev/null
}

publish() {   # BUSNAME NETNS -- avahi-publish args ; sets $LAST
    local n=$1 ns=$2; shift 2
    bg ip netns exec "$ns" env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$n")" avahi-publish -s "$@" \
        >>"$W/publish-$n.log" 2>&1
}

listen() {    # NETNS ADDR PORT ; sets $LAST
    bg ip netns exec "$1" socat "TCP-LISTEN:$3,bind=$2,reuseaddr,fork" /dev/null
}
