#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Zeroconf through the WHOLE daemon: stafd (our build) on a private
# system-like dbus-daemon that has both our policy and avahi's, with a real
# avahi-daemon on the same bus, checked only through stafd's D-Bus API
# (busctl) and its log. Same isolation as test-zeroconf.sh: a private mount
# namespace with a tmpfs /run, network namespaces created here (loopback in
# zsA; a veth pair zsb0 10.250.3.1 (ns zsB) - zsc0 10.250.3.2 (ns zsC)).
# /dev/nvme-fabrics is not needed: connections fail, DCs stay "connected
# False", which is what the persistence logic is about.
#
#   test-stafd-zeroconf.sh PATH/TO/stafd PATH/TO/org.nvmexpress.staf.conf
#
# Exit 0 = pass, 1 = fail, 77 = skipped.
set -u

STAFD=$(realpath "${1:?usage: $0 stafd policy.conf}")
POLICY=$(realpath "${2:?usage: $0 stafd policy.conf}")

ZT_PREFIX=zs ZT_NETNS="zsA zsB zsC" ZT_IPV6=no ZT_POLICIES=("$POLICY")
# shellcheck source=test/zeroconf/lib.sh
. "$(dirname "$0")/lib.sh"
zt_require avahi-publish ip unshare socat python3 busctl
zt_enter "$0" "$@"
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555
DISC=nqn.2014-08.org.nvmexpress.discovery
NQN1=nqn.2014-08.org.example:zs-dc1

# --- building blocks -------------------------------------------------------

write_conf() {  # NAME ; stdin = [Service Discovery]/... body
    cat > "$W/$1-stafd.conf"
}

start_stafd() {  # NAME(bus) NETNS
    local n=$1 ns=$2
    mkdir -p "$W/run-$n"
    cat > "$W/$n-sys.conf" <<CONF
[Host]
nqn=$HOSTNQN
id=11111111-2222-3333-4444-555555555555
CONF
    bg ip netns exec "$ns" env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$n")" RUNTIME_DIRECTORY="$W/run-$n" \
        "$STAFD" -f "$W/$n-stafd.conf" --sys-conf="$W/$n-sys.conf" >>"$W/stafd-$n.log" 2>&1
    eval "STAFDPID_$n=$LAST"
    for _ in $(seq 100); do
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$n") busctl --system status org.nvmexpress.staf >/dev/null 2>&1 && return 0
        kill -0 "$LAST" 2>/dev/null || break
        sleep 0.1
    done
    fail "stafd $n did not get on the bus"; return 1
}

stafd_alive() { local v="STAFDPID_$1"; kill -0 "${!v}" 2>/dev/null; }
stafd_hup() { local v="STAFDPID_$1"; kill -HUP "${!v}"; }

# check BUS PYEXPR: evaluate against stafd's D-Bus answers:
#   dcs = list_controllers(true); disc = the discovered ones;
#   pi = process_info(); av = pi["avahi"]; svcs = list(av["services"].values())
cat > "$W/check.py" <<'PY'
import json, subprocess, sys
def call(*a):
    p = subprocess.run(['busctl', '--system', '--json=short', 'call', 'org.nvmexpress.staf',
                        '/org/nvmexpress/staf'] + list(a), capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        sys.exit(2)
    return json.loads(p.stdout)['data']
dcs = call('org.nvmexpress.staf', 'list_controllers', 'b', 'true')[0]
disc = [c for c in dcs if c.get('origin') == 'discovered']
pi = json.loads(call('org.nvmexpress.staf.debug', 'process_info')[0])
av = pi['avahi']
svcs = list(av['services'].values())
if len(sys.argv) > 2:
    print(json.dumps({'dcs': dcs, 'avahi': av}, indent=1))
sys.exit(0 if eval(sys.argv[1]) else 1)
PY
check() { DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") python3 "$W/check.py" "$2"; }
dump() { DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") python3 "$W/check.py" True dump; }

wait_for() {  # BUS TIMEOUT PYEXPR
    local end=$(( $(date +%s%N) / 1000000 + $2 * 1000 ))
    while [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ]; do
        check "$1" "$3" && return 0
        sleep 0.3
    done
    return 1
}

# holds BUS SECONDS PYEXPR: PYEXPR stays true for SECONDS.
holds() {
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        check "$1" "$3" || return 1
        sleep 0.5
    done
}

DC1="c['transport'] == 'tcp' and c['traddr'] == '127.0.0.1' and c['trsvcid'] == '8009'"
HAS_DC1="any($DC1 and c['origin'] == 'discovered' and c['host-iface'] == 'lo' and c['subsysnqn'] == '$NQN1' and c['connected'] == 'False' for c in dcs)"
NO_DC1="not any($DC1 for c in dcs)"

# --- namespaces ----------------------------------------------------------------

zt_netns_setup 10.250.3 || exit 1

# ===== Part 1: stafd + avahi-daemon on one bus, mDNS over loopback ==========
log "part 1: stafd and avahi-daemon on loopback (ns zsA)"
start_bus A || exit 1
start_avahi A zsA lo || exit 1
write_conf A <<CONF
[Global]
tron=true
ip-family=ipv4
[Service Discovery]
zeroconf=enabled
[Discovery controller connection management]
zeroconf-connections-persistence=5
[Controllers]
exclude=transport=tcp;traddr=127.0.0.1;trsvcid=8012
CONF
busctl_mon() {  # BUS -> $W/mon-BUS.json
    bg env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$1")" busctl --system monitor --json=short org.nvmexpress.staf \
        >"$W/mon-$1.json" 2>"$W/mon-$1.err"
}
start_stafd A zsA || exit 1
busctl_mon A
n_removed() { grep -c '"member":"dc_removed"' "$W/mon-A.json"; }

wait_for A 20 'av["avahi-daemon"] == "running"' && pass "stafd browses through avahi-daemon on the shared bus" ||
    fail "avahi block: $(dump A | head -20)"

# Announced, nothing listening: resolved, not reachable, NOT a DC.
publish A zsA ZS-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
if wait_for A 20 'any(s["name"] == "ZS-DC1" and s["resolved"] for s in svcs)'; then
    sleep 2.5   # > the 1.5 s reconciliation delay
    check A "$NO_DC1 and not any(s['name'] == 'ZS-DC1' and s['reachable'] for s in svcs)" &&
        pass "announced without a listener: resolved, not reachable, not a DC" ||
        fail "unreachable service became a DC: $(dump A)"
else
    fail "ZS-DC1 not in process_info's avahi block: $(dump A)"
fi

# Listener up: the 5 s retry makes it reachable -> discovered DC.
listen zsA 127.0.0.1 8009; L1=$LAST
S=$(date +%s)
wait_for A 30 "$HAS_DC1 and any(s['name'] == 'ZS-DC1' and s['reachable'] and s['host-iface'] == 'lo' for s in svcs)" &&
    pass "listener up: discovered DC (tcp, 127.0.0.1, 8009, $NQN1, lo) after $(( $(date +%s) - S ))s, reachable in avahi block" ||
    fail "no discovered DC1: $(dump A)"
grep -q "New discovered DC" "$W/stafd-A.log" && pass "stafd logs 'New discovered DC'" || fail "no 'New discovered DC' log"
check A "all(c['unresponsive timer'].endswith('[off]') for c in disc if $DC1)" &&
    pass "announced DC failing to connect: unresponsive timer off" || fail "timer runs while announced: $(dump A)"

# Still announced but failing to connect, longer than the persistence: stays.
holds A 8 "$HAS_DC1" && pass "announced + unconnectable for > persistence (5 s): DC stays" ||
    fail "announced DC went away: $(dump A)"
[ "$(n_removed)" = 0 ] || fail "dc_removed emitted while nothing was removed"

# p=bogus: error logged, never a DC.
publish A zsA ZS-BOGUS _nvme-disc._tcp 8010 p=bogus; PUBB=$LAST
listen zsA 127.0.0.1 8010
for _ in $(seq 50); do grep -q "ZS-BOGUS.*p=bogus" "$W/stafd-A.log" && break; sleep 0.2; done
grep -q "ZS-BOGUS.*p=bogus" "$W/stafd-A.log" && pass "p=bogus: error in stafd's log" || fail "no p=bogus error logged"

# TXT nqn= carrying ',' (connect-option smuggling, issue 11): a warning
# naming the service, counted in process_info, never a DC.
publish A zsA ZS-COMMA _nvme-disc._tcp 8013 p=tcp "nqn=$NQN1,traddr=127.0.0.3"; PUBC=$LAST
listen zsA 127.0.0.1 8013
for _ in $(seq 50); do grep -q "ZS-COMMA.*not a valid NQN" "$W/stafd-A.log" && break; sleep 0.2; done
grep -q "ZS-COMMA.*not a valid NQN.*service ignored" "$W/stafd-A.log" &&
    pass "TXT nqn= with ',': warning names the service" || fail "no warning for nqn= with ','"
sleep 2.5
holds A 3 "not any(c['trsvcid'] == '8013' for c in dcs) and int(pi['rejected transport ids']) >= 1" &&
    pass "TXT nqn= with ',': never a DC, counted in process_info" || fail "comma NQN: $(dump A)"
[ "$(grep -c "ZS-COMMA.*not a valid NQN" "$W/stafd-A.log")" = 1 ] &&
    pass "TXT nqn= with ',': logged once" || fail "comma NQN warning repeated"

# Excluded by traddr+trsvcid: reachable, but never a DC.
publish A zsA ZS-EXCL _nvme-disc._tcp 8012 p=tcp; PUBE=$LAST
listen zsA 127.0.0.1 8012
wait_for A 30 'any(s["name"] == "ZS-EXCL" and s["reachable"] for s in svcs)' || fail "ZS-EXCL not reachable"
sleep 2.5
holds A 3 "not any(c['trsvcid'] in ('8010', '8012') for c in dcs)" &&
    pass "p=bogus and exclude=traddr;trsvcid: never a DC" || fail "bogus/excluded DC listed: $(dump A)"

# Same IP announced on two interfaces: needs two interfaces in zsA.
# (Checked in part 3, where zsC has lo and zsc0.)

# avahi-daemon stopped and started again: stafd never exits, finds it again.
# (Persistence 60 s meanwhile: a slow restart must not expire the DC.)
set_persistence() {
    sed -i "s/^zeroconf-connections-persistence=.*/zeroconf-connections-persistence=$1/" "$W/A-stafd.conf"
    stafd_hup A
    for _ in $(seq 50); do [ "$(grep -c '^Reloaded' "$W/stafd-A.log")" -gt "$2" ] && return 0; sleep 0.1; done
    fail "no reload"
}
set_persistence 60 0
stop_avahi A
kill "$PUB1" "$PUBB" "$PUBE" "$PUBC" 2>/dev/null; wait "$PUB1" "$PUBB" "$PUBE" "$PUBC" 2>/dev/null
wait_for A 20 'av["avahi-daemon"] == "not running" and svcs == []' &&
    pass "avahi-daemon stopped: avahi block says not running" || fail "avahi block after stop: $(dump A)"
sleep 1
stafd_alive A && pass "stafd survives avahi-daemon going away" || { fail "stafd exited"; exit 1; }
start_avahi A zsA lo || exit 1
publish A zsA ZS-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
wait_for A 30 "av['avahi-daemon'] == 'running' and any(s['name'] == 'ZS-DC1' and s['reachable'] for s in svcs) and $HAS_DC1" &&
    pass "avahi-daemon back: service found again, DC still there" || fail "after avahi restart: $(dump A)"
grep -q "avahi-daemon is back" "$W/stafd-A.log" || fail "no 'avahi-daemon is back' log"
set_persistence 5 1

# Withdrawn: not announced, not connected -> removed after ~5 s, dc_removed.
before=$(n_removed)
kill "$PUB1"; wait "$PUB1" 2>/dev/null
S=$(date +%s)
wait_for A 10 'not any(s["name"] == "ZS-DC1" for s in svcs)' || fail "withdrawal not seen"
wait_for A 8 "$HAS_DC1 and any(not c['unresponsive timer'].endswith('[off]') for c in disc if $DC1)" &&
    pass "withdrawn: DC kept, unresponsive timer running" || fail "right after withdrawal: $(dump A)"
wait_for A 25 "$NO_DC1" && E=$(( $(date +%s) - S )) || E=
if [ -n "$E" ]; then
    # 5 s + two 1.5 s reconciliation delays + polling; generous on a busy host.
    [ "$E" -ge 5 ] && [ "$E" -le 20 ] && pass "withdrawn: DC removed after ${E}s (persistence 5 s)" ||
        fail "withdrawn DC removed after ${E}s, expected ~8s"
else
    fail "withdrawn DC not removed: $(dump A)"
fi
for _ in $(seq 20); do [ "$(n_removed)" -gt "$before" ] && break; sleep 0.2; done
[ "$(n_removed)" -gt "$before" ] && pass "dc_removed emitted" || fail "no dc_removed signal ($(cat "$W/mon-A.err"))"
grep -q "Not announced and not connected for the persistence period" "$W/stafd-A.log" ||
    fail "no persistence log line"

# Back again, then zeroconf=disabled + SIGHUP: browsers gone, DC expires and
# is not re-created.
publish A zsA ZS-DC1 _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUB1=$LAST
wait_for A 30 "$HAS_DC1" && pass "re-announced: discovered DC again" || fail "not re-created: $(dump A)"
sed -i 's/zeroconf=enabled/zeroconf=disabled/' "$W/A-stafd.conf"
stafd_hup A
wait_for A 10 'av["avahi-daemon"] == "disabled" and svcs == []' &&
    pass "zeroconf=disabled + SIGHUP: avahi block disabled, no services" || fail "after disable: $(dump A)"
wait_for A 25 "$NO_DC1" && pass "zeroconf disabled: discovered DC expires" || fail "DC kept: $(dump A)"
holds A 4 "$NO_DC1 and disc == []" && pass "zeroconf disabled: discovered DC not re-created" ||
    fail "re-created: $(dump A)"
stafd_alive A || fail "stafd A died"
kill "$PUB1" 2>/dev/null
v=STAFDPID_A; kill "${!v}"; wait "${!v}"; rc=$?
[ "$rc" = 0 ] && pass "stafd exits 0 on SIGTERM" || fail "stafd exit status $rc"
grep -E "AddressSanitizer|runtime error|Assertion" "$W/stafd-A.log" && fail "sanitizer/assertion output"

# ===== Part 2: across hosts (zsB announces, stafd in zsC over the veth) ======
log "part 2: across a veth between two network namespaces"
start_bus B && start_bus C || exit 1
start_avahi B zsB zsb0 && start_avahi C zsC "zsc0,lo" || exit 1
write_conf C <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=enabled
CONF
start_stafd C zsC || exit 1
publish B zsB ZS-REMOTE _nvme-disc._tcp 8009 p=tcp nqn=$NQN1; PUBX=$LAST
listen zsB 10.250.3.1 8009
wait_for C 40 "any(c['traddr'] == '10.250.3.1' and c['trsvcid'] == '8009' and c['host-iface'] == 'zsc0' and c['origin'] == 'discovered' and c['subsysnqn'] == '$NQN1' for c in dcs)" &&
    pass "remote DC (10.250.3.1) discovered on zsc0 over real multicast" || fail "remote DC: $(dump C)"

# Same IP announced on two interfaces: ZS-REMOTE's address also announced
# locally (zsC's lo) by a second service -> a warning.
ip -n zsC addr add 10.250.3.1/32 dev lo
# avahi-publish -s cannot pick an address: publish one (-R: no reverse
# record) and a service on that host name.
bg ip netns exec zsC env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of C)" avahi-publish -a -R zs-dup.local 10.250.3.1 \
    >>"$W/publish-C.log" 2>&1
bg ip netns exec zsC env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of C)" avahi-publish -s -H zs-dup.local ZS-DUP \
    _nvme-disc._tcp 8009 p=tcp nqn=$NQN1 >>"$W/publish-C.log" 2>&1
W2='address 10.250.3.1 is announced on two interfaces'
for _ in $(seq 50); do grep -q "$W2" "$W/stafd-C.log" && break; sleep 0.2; done
grep -q "$W2" "$W/stafd-C.log" && pass "same IP announced on two interfaces: warning logged" ||
    fail "no warning for the same IP on two interfaces"
stafd_alive C || fail "stafd C died"

log "done in $(( $(date +%s) - T0 ))s"
[ "$FAILED" = 0 ] && { log "ALL PASSED"; exit 0; }
exit 1
