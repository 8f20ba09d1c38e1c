#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# System test of daemon/zeroconf.c (through zc-probe) against REAL
# avahi-daemons talking real mDNS, each on its own private dbus-daemon.
# Everything runs in network namespaces created here (loopback and a veth
# pair between two namespaces), inside a private mount namespace with a
# private /run, so no packet leaves this machine and no system instance of
# avahi-daemon/dbus-daemon is touched.
#
#   test-zeroconf.sh PATH/TO/zc-probe
#
# Exit 0 = pass, 1 = fail, 77 = skipped (avahi-daemon/dbus-daemon missing,
# or not root).
set -u

PROBE=$(realpath "${1:?usage: $0 zc-probe}")

ZT_PREFIX=zc ZT_NETNS="zcA zcB zcC" ZT_IPV6=yes ZT_POLICIES=()
# shellcheck source=test/zeroconf/lib.sh
. "$(dirname "$0")/lib.sh"
zt_require avahi-publish ip unshare socat python3
zt_enter "$0" "$@"

# --- building blocks -------------------------------------------------------

start_probe() {  # NAME(bus) NETNS OUTNAME
    bg ip netns exec "$2" env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$1")" "$PROBE" --debug \
        >"$W/$3.out" 2>"$W/$3.err"
    eval "PROBEPID_$3=$LAST"
}

# check OUTNAME PYEXPR: evaluate on the probe's latest state.
#   av = last zeroconf_to_json(); svcs = list(av["services"].values());
#   reach = last zeroconf_get_services() list
check() {
    python3 - "$W/$1.out" "$2" <<'PY'
import json, sys
av, reach = None, None
for line in open(sys.argv[1]):
    if line.startswith("avahi "):
        av = json.loads(line[6:])
    elif line.startswith("reachable "):
        reach = json.loads(line[10:])
if av is None or reach is None:
    sys.exit(1)
svcs = list(av["services"].values())
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

wait_for() {  # OUTNAME TIMEOUT PYEXPR
    local end=$(( $(date +%s%N) / 1000000 + $2 * 1000 ))
    while [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ]; do
        check "$1" "$3" && return 0
        sleep 0.2
    done
    return 1
}

probe_alive() { local v="PROBEPID_$1"; kill -0 "${!v}" 2>/dev/null; }

# --- namespaces ----------------------------------------------------------------

zt_netns_setup 10.250.2 || exit 1

NQN1=nqn.2014-08.org.example:zc-dc1
DISC=nqn.2014-08.org.nvmexpress.discovery

# ===== Part 1: one host (namespace zcA), mDNS over loopback ===================
log "part 1: same host, loopback"
start_bus A || exit 1
start_probe A zcA p1
for _ in $(seq 50); do grep -q "avahi-daemon is not running" "$W/p1.out" && break; sleep 0.2; done
wait_for p1 10 'True'
probe_alive p1 || fail "probe did not stay up without avahi-daemon"
grep -q "avahi-daemon is not running; will browse when it appears" "$W/p1.out" &&
    pass "no avahi-daemon: probe runs, logs it once" || fail "no 'not running' message"
check p1 'av["avahi-daemon"] == "not running" and reach == []' || fail "state without daemon"

start_avahi A zcA lo || exit 1
# (No change of the reachable set, so no new state line: watch the log.)
for _ in $(seq 50); do grep -q "avahi-daemon is back" "$W/p1.out" && break; sleep 0.2; done
grep -q "avahi-daemon is back" "$W/p1.out" && grep -q "mDNS: browsing" "$W/p1.out" &&
    pass "avahi-daemon appears: probe notices ('is back')" || fail "probe did not notice avahi-daemon"

# tcp DC announced, nothing listening yet: resolved but not reachable.
publish A zcA ZC-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
if wait_for p1 10 'any(s["name"] == "ZC-DC1" and s["resolved"] and s["traddr"] == "127.0.0.1" for s in svcs)'; then
    sleep 0.5
    check p1 'reach == [] and not any(s["reachable"] for s in svcs)' &&
        pass "tcp DC without listener: resolved, not reachable" || fail "reachable without a listener"
else
    fail "ZC-DC1 not resolved"
fi
grep -q "is not reachable" "$W/p1.out" && pass "unreachable logged" || fail "no 'not reachable' log"

# Listener starts: picked up by the 5 s retry.
listen zcA 127.0.0.1 8009; L1=$LAST
S=$(date +%s)
wait_for p1 12 "any(r == {'transport':'tcp','traddr':'127.0.0.1','trsvcid':'8009','subsysnqn':'$NQN1','host-iface':'lo','announced':True} for r in reach)" &&
    pass "listener up: DC reachable after $(( $(date +%s) - S ))s with host-iface=lo, nqn=$NQN1" ||
    fail "DC1 did not become reachable with the right fields"

# Bogus protocol: error logged, ignored.
publish A zcA ZC-BOGUS _nvme-disc._tcp 8010 p=bogus; PUBB=$LAST
listen zcA 127.0.0.1 8010; LB=$LAST
for _ in $(seq 50); do grep -q "ZC-BOGUS.*unsupported protocol p=bogus" "$W/p1.err" && break; sleep 0.2; done
grep -q "ZC-BOGUS.*unsupported protocol p=bogus" "$W/p1.err" &&
    pass "p=bogus: error logged" || fail "no error for p=bogus"
sleep 1
check p1 'not any(r["trsvcid"] == "8010" for r in reach) and not any(s["name"] == "ZC-BOGUS" and s["resolved"] for s in svcs)' &&
    pass "p=bogus: service ignored" || fail "p=bogus service used"

# Missing p= also ignored.
publish A zcA ZC-NOP _nvme-disc._tcp 8011 nqn=x; PUBN=$LAST
for _ in $(seq 50); do grep -q "ZC-NOP.*no protocol" "$W/p1.err" && break; sleep 0.2; done
grep -q "ZC-NOP.*no protocol" "$W/p1.err" && pass "no p=: error logged" || fail "no error for missing p="

# An announcement that never resolves (its SRV points at a host name no one
# answers for): retried with backoff (10 s, then 30 s, ...), warned about
# once per streak, not every 10 s (issue 12).
publish A zcA ZC-NORES -H zc-nohost.local _nvme-disc._tcp 8015 p=tcp; PUBR0=$LAST
for _ in $(seq 100); do grep -q "Failed to resolve mDNS service 'ZC-NORES'" "$W/p1.err" && break; sleep 0.2; done
if grep -q "Failed to resolve mDNS service 'ZC-NORES'.*retrying in 10 s" "$W/p1.err"; then
    pass "never-resolving service: warning, next retry in 10 s"
    # The retry after 10 s fails again (after Avahi's own timeout): a debug
    # line announces 30 s; no second warning.
    # (debug lines go to the probe's stdout, warnings to its stderr)
    for _ in $(seq 150); do grep -q "ZC-NORES.*attempt 2 failed; next in 30 s" "$W/p1.out" && break; sleep 0.2; done
    grep -q "ZC-NORES.*attempt 2 failed; next in 30 s" "$W/p1.out" &&
        pass "never-resolving service: second failure backs off to 30 s" ||
        fail "no backoff to 30 s: $(grep -h ZC-NORES "$W/p1.out" "$W/p1.err" | tail -3)"
    [ "$(grep -c "Failed to resolve mDNS service 'ZC-NORES'" "$W/p1.err")" = 1 ] &&
        pass "never-resolving service: warned once per streak" ||
        fail "resolve failure warned $(grep -c "Failed to resolve mDNS service 'ZC-NORES'" "$W/p1.err") times"
else
    fail "no resolve failure warning for ZC-NORES: $(grep ZC-NORES "$W/p1.err" | tail -3)"
fi
kill "$PUBR0"; wait "$PUBR0" 2>/dev/null

# rdma over _udp: no probe, reachable at once, host-iface "".
publish A zcA ZC-RDMA _nvme-disc._udp 4420 p=roce; PUBR=$LAST
wait_for p1 10 "any(r['transport'] == 'rdma' and r['trsvcid'] == '4420' and r['host-iface'] == '' and r['subsysnqn'] == '$DISC' for r in reach)" &&
    pass "_udp + p=roce: rdma DC, default NQN, no host-iface" || fail "rdma service not reported"

# Withdraw: gone.
kill "$PUBR"; wait "$PUBR" 2>/dev/null
wait_for p1 10 'not any(r["transport"] == "rdma" for r in reach) and not any(s["name"] == "ZC-RDMA" for s in svcs)' &&
    pass "service withdrawn: gone" || fail "withdrawn service still listed"

# avahi-daemon stops and comes back.
stop_avahi A
wait_for p1 10 'av["avahi-daemon"] == "not running" and reach == [] and svcs == []' &&
    pass "avahi-daemon stopped: services dropped" || fail "state after avahi-daemon stop"
kill "$PUB1" "$PUBB" "$PUBN" 2>/dev/null; wait "$PUB1" "$PUBB" "$PUBN" 2>/dev/null
sleep 2
probe_alive p1 && pass "probe survives avahi-daemon going away" || fail "probe exited"
start_avahi A zcA lo || exit 1
publish A zcA ZC-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
wait_for p1 15 "av['avahi-daemon'] == 'running' and any(r['traddr'] == '127.0.0.1' and r['trsvcid'] == '8009' and r['subsysnqn'] == '$NQN1' for r in reach)" &&
    pass "avahi-daemon back: service found and reachable again" || fail "service not found after avahi restart"
[ "$(grep -c 'avahi-daemon is back' "$W/p1.out")" = 2 ] && pass "'is back' logged once per transition" ||
    fail "'is back' count: $(grep -c 'avahi-daemon is back' "$W/p1.out")"

# The bus itself goes away and returns.
kill "$BUSPID_A"; wait "$BUSPID_A" 2>/dev/null; stop_avahi A; kill "$PUB1" 2>/dev/null
rm -f "$W/A.bus"
sleep 2
probe_alive p1 && pass "probe survives the system bus going away" || fail "probe exited when the bus left"
start_bus A && start_avahi A zcA lo
publish A zcA ZC-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
wait_for p1 20 "any(r['traddr'] == '127.0.0.1' and r['trsvcid'] == '8009' for r in reach)" &&
    pass "bus back: service found again (client re-created)" || fail "not found after bus restart"

# Listener gone does not un-announce; withdrawing does.
kill "$PUB1"; wait "$PUB1" 2>/dev/null
wait_for p1 10 'reach == [] and svcs == []' && pass "DC1 withdrawn: gone" || fail "DC1 still listed"
kill "$PROBEPID_p1"; wait "$PROBEPID_p1"; rc=$?
[ "$rc" = 0 ] && pass "probe exits 0 on SIGTERM" || fail "probe exit status $rc"
grep -E "ERROR|AddressSanitizer|runtime error" "$W/p1.err" && fail "sanitizer/unexpected errors in probe stderr"

# ===== Part 2: two hosts (namespaces zcB -> zcC over a veth) =================
log "part 2: across a veth between two network namespaces"
start_bus B && start_bus C || exit 1
start_avahi B zcB zcb0 && start_avahi C zcC zcc0 || exit 1
start_probe C zcC p2
publish B zcB ZC-REMOTE _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUBX=$LAST
wait_for p2 15 'any(s["name"] == "ZC-REMOTE" and s["resolved"] and s["traddr"] == "10.250.2.1" and s["interface"] == "zcc0" for s in svcs)' &&
    pass "remote service resolved over real multicast: 10.250.2.1 on zcc0" || fail "remote service not resolved"
check p2 'reach == []' && pass "remote DC not reachable before its listener" || fail "remote reachable w/o listener"
listen zcB 10.250.2.1 8009; LX=$LAST
wait_for p2 12 "any(r == {'transport':'tcp','traddr':'10.250.2.1','trsvcid':'8009','subsysnqn':'$NQN1','host-iface':'zcc0','announced':True} for r in reach)" &&
    pass "remote DC reachable with host-iface=zcc0" || fail "remote DC not reachable"
# IPv6 link-local announcement of the same service keeps %iface.
if wait_for p2 10 'any(s["name"] == "ZC-REMOTE" and s["protocol"] == "IPv6" and s["resolved"] for s in svcs)'; then
    check p2 'all(s["traddr"].startswith("fe80:") and s["traddr"].endswith("%zcc0") for s in svcs if s["protocol"] == "IPv6" and s["resolved"])' &&
        pass "IPv6 link-local traddr keeps %zcc0" || fail "IPv6 traddr: $(grep '^avahi' "$W/p2.out" | tail -1)"
else
    log "note: no IPv6 resolution of the remote service (no link-local address yet?)"
fi
kill "$LX"; kill "$PUBX"; wait "$PUBX" 2>/dev/null
wait_for p2 10 'reach == [] and svcs == []' && pass "remote withdrawn: gone" || fail "remote still listed"
probe_alive p2 || fail "probe p2 died"
grep -E "AddressSanitizer|runtime error" "$W/p2.err" && fail "sanitizer errors in probe p2"

log "done in $(( $(date +%s) - T0 ))s"
[ "$FAILED" = 0 ] && { log "ALL PASSED"; exit 0; }
exit 1
