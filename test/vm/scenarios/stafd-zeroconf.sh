#!/bin/bash
# Zeroconf end to end against the real kernel: an nvmet DC on 127.0.0.1:8009
# announced through the guest's real avahi-daemon (systemd, system bus) with
# `avahi-publish -s … _nvme-disc._tcp 8009 p=tcp`, and a stafd.conf WITHOUT any
# controller= line. stafd must find it over mDNS, connect it (nvmeN), cache
# its log page (= nvme discover) and show it with origin `discovered`. Then:
# withdrawn but connected -> it stays; target gone -> removed after
# zeroconf-connections-persistence, kernel controller deleted, dc_removed.
# shellcheck disable=SC2154

DISC=nqn.2014-08.org.nvmexpress.discovery
SUB_A=nqn.2024-01.io.example.stafd-vm:zc-a
SUB_B=nqn.2024-01.io.example.stafd-vm:zc-b

stafd_require
command -v avahi-publish >/dev/null || skip "avahi-utils not installed"
systemctl is-active -q avahi-daemon.service || systemctl start avahi-daemon.service ||
	skip "avahi-daemon not available in the guest"
log "avahi-daemon: $(systemctl is-active avahi-daemon.service)"

nvmet_setup
on_exit nvmet_cleanup
nvmet_port 1 127.0.0.1 8009
nvmet_subsys "$SUB_A"
nvmet_subsys "$SUB_B"
nvmet_link 1 "$SUB_A"
nvmet_link 1 "$SUB_B"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=enabled
[Discovery controller connection management]
zeroconf-connections-persistence=5
CONF
grep -Eqi '^[[:space:]]*controller[[:space:]]*=' /etc/stas/stafd.conf && fail "stafd.conf has a controller= line"

avahi-publish -s stafd-vm-dc _nvme-disc._tcp 8009 p=tcp >"$STAFD_VM_RESULTS/avahi-publish.log" 2>&1 &
pubpid=$!
on_exit "kill $pubpid 2>/dev/null"
# (avahi-browse is slow under TCG: the publisher's own confirmation suffices.)
wait_for 20 grep -q "Established under name" "$STAFD_VM_RESULTS/avahi-publish.log" || {
	cat "$STAFD_VM_RESULTS/avahi-publish.log" || true
	fail "avahi-publish could not announce the service"
}
log "announced through avahi-daemon: $(cat "$STAFD_VM_RESULTS/avahi-publish.log")"

mon=$STAFD_VM_RESULTS/signals.json
busctl --system monitor --json=short org.nvmexpress.staf >"$mon" 2>/dev/null &
monpid=$!
on_exit "kill $monpid 2>/dev/null"

t0=$(date +%s%N)
stafd_start

# discovered_dc FIELD: print FIELD of the discovered DC for :8009 (exit 1 if none)
discovered_dc() {
	stafctl --json ls -d | python3 -c '
import json, sys
l = [c for c in json.load(sys.stdin) if c["trsvcid"] == "8009" and c["origin"] == "discovered"]
if not l: sys.exit(1)
print(l[0][sys.argv[1]])' "$1"
}
connected() { [ "$(discovered_dc connected 2>/dev/null)" = True ] && discovered_dc device | grep -q '^nvme[0-9]'; }
export -f discovered_dc connected
wait_for 60 connected || {
	stafctl ls -d || true
	stafctl status || true
	fail "mDNS-announced DC not connected"
}
read -r dev traddr subsysnqn hostiface < <(stafctl --json ls -d | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin) if c["trsvcid"] == "8009" and c["origin"] == "discovered"][0]
print(c["device"], c["traddr"], c["subsysnqn"], c["host-iface"])')
log "discovered DC connected as $dev after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
assert_eq 127.0.0.1 "$traddr" "traddr"
assert_eq "$DISC" "$subsysnqn" "subsysnqn"
assert_eq lo "$hostiface" "host-iface"
assert_eq discovery "$(nvme_ctrl_attr "$dev" cntrltype)" "cntrltype"

all_subnqns() {
	stafctl --json adlp 2>/dev/null | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    if d["discovery-controller"]["trsvcid"] == "8009":
        print(" ".join(sorted(e["subnqn"] for e in d["log-pages"])))'
}
export -f all_subnqns
wait_for 20 bash -c '[ -n "$(all_subnqns)" ]' || { stafctl adlp || true; fail "no log page cached"; }
want=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json |
	python3 -c 'import json,sys; print(" ".join(sorted(r["subnqn"] for r in json.load(sys.stdin)["records"])))')
assert_eq "$want" "$(all_subnqns)" "stafd's cache vs. nvme discover"
log "cache = nvme discover: $want"

status=$(stafctl status)
echo "$status" >"$STAFD_VM_RESULTS/stafctl-status.txt"
assert_contains "$status" "discovered" "stafctl status"
stafctl --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = json.dumps(d)
assert "stafd-vm-dc" in s, "avahi service not in status"
' || fail "stafctl status lacks the avahi service"
log "stafctl status shows the discovered DC and the avahi service"

# -- withdrawn, still connected: stays (only not announced AND not connected expires)
kill "$pubpid"
wait "$pubpid" 2>/dev/null || true
wait_for 10 bash -c "journalctl -b -u stafd.service -o cat | grep -q \"'stafd-vm-dc'.*withdrawn\"" ||
	fail "stafd did not see the withdrawal"
sleep 7    # > reconciliation delay + persistence
connected || { stafctl ls -d; fail "connected discovered DC removed after withdrawal"; }
log "withdrawn but connected: DC kept ($(discovered_dc 'unresponsive timer'))"

# -- the target goes away: not connected, not announced -> removed after 5 s
nvmet_port_remove 1
wait_for 60 bash -c '! stafctl --json ls | grep -q "\"8009\""' || {
	stafctl ls -d || true
	fail "unresponsive discovered DC not removed"
}
log "target gone: discovered DC removed"
wait_for 5 grep -q '"member":"dc_removed"' "$mon" || fail "no dc_removed signal"
wait_for 20 bash -c "[ ! -e /sys/class/nvme/$dev ]" || fail "kernel controller $dev not deleted"
log "kernel controller $dev deleted, dc_removed emitted"

journal=$(stafd_journal)
assert_contains "$journal" "New discovered DC" "journal"
log "PASS"
