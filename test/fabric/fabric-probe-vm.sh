#!/bin/bash
# VM scenario (run with /work/wt-vm's test/vm/vm-run, or the merged tree's):
#   test/vm/vm-run .../test/fabric/fabric-probe-vm.sh [/path/to/fabric-probe]
# nvmet on 127.0.0.1:8009 with two subsystems and a referral; the probe
# connects (daemon/fabric -> libnvme), reads identity, tries DIM, fetches the
# DLP and must see what `nvme discover` sees; fabric_find_existing must find
# the controller it made; then it disconnects.
# shellcheck disable=SC2154
probe=${1:-$(dirname "$(readlink -f "$0")")/../../build/test/fabric/fabric-probe}
[ -x "$probe" ] || skip "no fabric-probe at $probe"

nvmet_setup
on_exit nvmet_cleanup
nvmet_port 1 127.0.0.1 8009
nvmet_subsys nqn.2024-01.io.stafd:probe-a
nvmet_subsys nqn.2024-01.io.stafd:probe-b
nvmet_link 1 nqn.2024-01.io.stafd:probe-a
nvmet_link 1 nqn.2024-01.io.stafd:probe-b
nvmet_referral 1 ref1 127.0.0.2 8010

out=$("$probe" --find --disconnect --symname stafd-probe tcp 127.0.0.1 8009) || {
	echo "$out"
	fail "fabric-probe failed"
}
echo "$out"
[ -n "${STAFD_VM_RESULTS:-}" ] && echo "$out" >"$STAFD_VM_RESULTS/fabric-probe.out"

assert_match "$out" '^connect: ok nvme[0-9]+$' "probe output"
dev=$(sed -n 's/^connect: ok //p' <<<"$out")
assert_contains "$out" "info: device=$dev cntrltype=discovery" "connect info"
assert_contains "$out" "info-async: device=$dev cntrltype=discovery" "async info"
assert_contains "$out" "hostnqn=$(cat /etc/nvme/hostnqn)" "info hostnqn"
assert_contains "$out" "find: $dev" "find"
# nvmet has no DIM (dctype none): libnvme refuses with EOPNOTSUPP
assert_contains "$out" "register: error Operation not supported" "register"
assert_match "$out" '^register: ' "register"
# 6.1 nvmet lists its own discovery subsystem too: 2 subsystems + self + referral
assert_match "$out" '^dlp: entries=4 ' "dlp"
assert_contains "$out" "pleo=0" "nvmet has no Supported Log Pages: no PLEO"
assert_contains "$out" "disconnect: ok" "disconnect"
wait_for 5 bash -c "[ ! -e /sys/class/nvme/$dev ]" || fail "$dev still there after disconnect"

# Same entries as nvme-cli's view (subnqn, traddr, trsvcid, subtype).
ours=$(grep '^entry ' <<<"$out" |
	sed -E 's/.* subtype=([^ ]+).*/\1/' | sort | tr '\n' ' ')
ours_nqn=$(grep '^entry ' <<<"$out" | sed -E 's/.* subnqn=([^ ]+).*/\1/' | sort | tr '\n' ' ')
ours_addr=$(grep '^entry ' <<<"$out" |
	sed -E 's/.* traddr=([^ ]+) trsvcid=([^ ]+).*/\1:\2/' | sort | tr '\n' ' ')
disc=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json)
theirs_nqn=$(jq -r '.records[].subnqn' <<<"$disc" | sort | tr '\n' ' ')
theirs_addr=$(jq -r '.records[] | "\(.traddr):\(.trsvcid)"' <<<"$disc" | sort | tr '\n' ' ')
log "subtypes: $ours"
assert_eq "$theirs_nqn" "$ours_nqn" "subnqn set vs nvme discover"
assert_eq "$theirs_addr" "$ours_addr" "addresses vs nvme discover"
assert_contains "$ours_nqn" "nqn.2024-01.io.stafd:probe-a" "entries"
assert_contains "$ours_nqn" "nqn.2014-08.org.nvmexpress.discovery" "referral entry"
assert_contains "$ours_addr" "127.0.0.2:8010" "referral address"

# Adoption: a persistent discovery controller made by nvme-cli is found
# and used instead of a new connection.
nvme discover --persistent -t tcp -a 127.0.0.1 -s 8009 >/dev/null ||
	fail "nvme discover --persistent"
theirs=$(nvme_ctrl_find 127.0.0.1 8009)
[ -n "$theirs" ] || fail "nvme discover --persistent left no controller"
out=$("$probe" --adopt --find --disconnect tcp 127.0.0.1 8009) || {
	echo "$out"
	fail "fabric-probe --adopt failed"
}
echo "$out"
assert_contains "$out" "adopt: $theirs" "adopt"
assert_contains "$out" "info-async: device=$theirs cntrltype=discovery" "adopted info"
assert_match "$out" '^dlp: entries=4 ' "dlp of adopted"
assert_contains "$out" "disconnect: ok" "disconnect adopted"
log "fabric-probe-vm: ok"
