#!/bin/bash
# Harness self-test of the nvmet helpers stafd's referral tests rely on:
# a port's discovery log carries referrals to other ports, adding and
# removing one is a log change (AEN), and ports come and go cleanly.
# Needs no stafd.

NQN=nqn.2024-01.io.example.stafd-vm:ref-a
DISC_NQN=nqn.2014-08.org.nvmexpress.discovery

nvmet_setup
on_exit nvmet_cleanup
nvmet_subsys "$NQN"
nvmet_port 1 127.0.0.1 8009
nvmet_port 2 127.0.0.1 8010
nvmet_link 1 "$NQN"
nvmet_link 2 "$NQN"
nvmet_referral 1 to-port-2 127.0.0.1 8010

out=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json) || fail "nvme discover failed"
assert_contains "$out" '"trsvcid":"8010"' "discovery log of port 1"
assert_match "$out" '"subtype":"(referral|discovery subsystem referral)"' "discovery log of port 1"
log "port 1 refers to port 2"

out=$(nvme discover -t tcp -a 127.0.0.1 -s 8010 -o json) || fail "nvme discover on port 2 failed"
assert_contains "$out" "$NQN" "discovery log of port 2"
assert_not_contains "$out" '"trsvcid":"8009"' "discovery log of port 2"

mon=$STAFD_VM_RESULTS/udev-nvme-referral.txt
udev_monitor_start "$mon"
nvme discover -t tcp -a 127.0.0.1 -s 8009 --persistent >/dev/null || fail "persistent discover failed"
dev=$(nvme_ctrl_find 127.0.0.1 8009 "$DISC_NQN")
[ -n "$dev" ] || fail "no persistent discovery controller"
on_exit "nvme disconnect -d $dev >/dev/null 2>&1"

nvmet_referral_remove 1 to-port-2
wait_for 5 grep -q '^NVME_AEN=0x70f002' "$mon" || fail "no AEN after removing a referral"
log "removing the referral sent an AEN to $dev"
out=$(nvme discover -d "$dev" -o json) || fail "nvme discover -d $dev failed"
assert_not_contains "$out" '"trsvcid":"8010"' "discovery log after removing the referral"

# Port removal while a host is connected to it: the controller goes away
# from the target; the host starts reconnecting (state leaves "live").
nvmet_port_remove 2
[ ! -d "$NVMET/ports/2" ] || fail "port 2 still there"
nvme disconnect -d "$dev" >/dev/null
nvmet_port_remove 1
assert_eq "" "$(ls "$NVMET/ports")" "ports left"
log "nvmet referral helpers work"
