#!/bin/bash
# nvme-cli interplay: a persistent discovery controller created by
# `nvme discover --persistent`, which stafd does not manage, gets a
# discovery-log-change AEN. nvme-cli's own udev rule is masked in the guest
# (vm-run), so only stafd can react: it logs the hand-off and asks systemd to
# restart the nvmf-connect@ unit nvme-cli's rule would have used. An AEN on
# stafd's own DC is not handed off.

SUB_A=nqn.2024-01.io.example.stafd-vm:handoff-a
SUB_B=nqn.2024-01.io.example.stafd-vm:handoff-b
SUB_C=nqn.2024-01.io.example.stafd-vm:handoff-c

stafd_require
nvmet_setup
on_exit nvmet_cleanup
[ -e /etc/udev/rules.d/70-nvmf-autoconnect.rules ] &&
	[ "$(readlink /etc/udev/rules.d/70-nvmf-autoconnect.rules)" = /dev/null ] ||
	fail "nvme-cli's udev rule is not masked: the test could not tell who restarted the unit"

for s in "$SUB_A" "$SUB_B" "$SUB_C"; do nvmet_subsys "$s"; done
nvmet_port 1 127.0.0.1 8009 # stafd's
nvmet_port 4 127.0.0.1 8012 # nvme-cli's
nvmet_link 1 "$SUB_A"
nvmet_link 4 "$SUB_B"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8009
CONF
stafd_start
has_sub() { stafd_dlp_subnqns "$1" | grep -qx "$2"; }
wait_for 30 has_sub 8009 "$SUB_A" || { stafctl ls -d; fail "stafd did not connect to its DC"; }
mine=$(stafd_dc_field 8009 device)
log "stafd's DC is $mine"

# nvme-cli 2.x: `discover --persistent` leaves the discovery controller
# connected (kato 30 s) after printing the log.
nvme discover -t tcp -a 127.0.0.1 -s 8012 --persistent >/dev/null ||
	fail "nvme discover --persistent failed"
theirs=$(nvme_ctrl_find 127.0.0.1 8012)
[ -n "$theirs" ] || fail "nvme discover --persistent left no controller to 127.0.0.1:8012"
assert_eq discovery "$(nvme_ctrl_attr "$theirs" cntrltype)" "cntrltype of $theirs"
assert_eq live "$(nvme_ctrl_attr "$theirs" state)" "state of $theirs"
log "nvme-cli's persistent DC is $theirs"
stafctl --json ls | grep -q '"8012"' && fail "stafd manages 127.0.0.1:8012, which it was not told about"

# -- AEN on nvme-cli's DC: hand-off
t0=$(date +%s%N)
nvmet_link 4 "$SUB_C"
handed() { stafd_journal | grep -q "$theirs is not managed by stafd: handing it to nvme-cli"; }
wait_for 20 handed || { stafd_journal | tail -n 20; fail "no hand-off of $theirs in stafd's journal"; }
line=$(stafd_journal | grep "handing it to nvme-cli")
log "hand-off logged $(( ($(date +%s%N) - t0) / 1000000 )) ms after the change: $line"
assert_contains "$line" "(nvmf-connect@" "hand-off line"
assert_contains "$line" "device\\x3d$theirs" "hand-off unit (escaped --device=$theirs)"
assert_contains "$line" "trsvcid\\x3d8012" "hand-off unit (escaped --trsvcid=8012)"
systemd_saw() { journalctl -b _PID=1 --no-pager -o cat | grep -q 'nvmf-connect@'; }
wait_for 20 systemd_saw || {
	systemctl list-units 'nvmf-connect@*' --all --no-pager || true
	fail "systemd got no nvmf-connect@ job"
}
log "systemd: $(journalctl -b _PID=1 --no-pager -o cat | grep 'nvmf-connect@' | head -n 2 | tr '\n' ' ')"
systemctl list-units 'nvmf-connect@*' --all --no-pager --no-legend || true
assert_not_contains "$(stafd_journal)" "handoff failed" "stafd journal"
assert_not_contains "$(stafd_journal)" "systemctl for the nvme-cli hand-off failed" "stafd journal"

# -- AEN on stafd's own DC: no hand-off, a refetch
nvmet_link 1 "$SUB_C"
wait_for 20 has_sub 8009 "$SUB_C" || fail "stafd did not follow the AEN on its own DC"
assert_eq 1 "$(stafd_journal_count 'handing it to nvme-cli')" "hand-off lines"
assert_eq 0 "$(stafd_journal_count "$mine is not managed")" "hand-offs of stafd's own $mine"
log "AEN on stafd's own $mine: refetched, not handed off"
log "PASS"
