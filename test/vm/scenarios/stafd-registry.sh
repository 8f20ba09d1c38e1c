#!/bin/bash
# The NVMe-oF ownership registry (/run/nvme/registry) on the real kernel:
#  A. a discovery controller connected with nvme-cli and registered
#     owner=nbft (as the initramfs would) is adopted by stafd, which leaves
#     the entry alone and shows owner nbft on D-Bus;
#  B. stafd's own connection gets an owner=stas entry with the uevent seqnum
#     (0755 directory, 0644 files);
#  C. a kernel removal of stafd's controller (remove uevent newer than the
#     entry) removes the entry; stafd reconnects and registers again;
#  D. stop with persistent-connections=false: stafd's controller and its
#     entry go, the nbft-owned controller stays (and so does its entry).

SUB_A=nqn.2024-01.io.example.stafd-vm:reg-a
REG=/run/nvme/registry

stafd_require
nvmet_setup
on_exit nvmet_cleanup
nvmet_subsys "$SUB_A"
nvmet_port 1 127.0.0.1 8009 # pre-connected, owned by "nbft"
nvmet_port 2 127.0.0.1 8010 # stafd's own
nvmet_link 1 "$SUB_A"
nvmet_link 2 "$SUB_A"

# -- the other orchestrator's controller and entry
nvme discover -t tcp -a 127.0.0.1 -s 8009 --persistent >/dev/null ||
	fail "nvme discover --persistent failed"
theirs=$(nvme_ctrl_find 127.0.0.1 8009)
[ -n "$theirs" ] || fail "no persistent discovery controller to :8009"
rm -rf "$REG/$theirs"
mkdir -p "$REG/$theirs"
echo nbft >"$REG/$theirs/owner"
cat /sys/kernel/uevent_seqnum >"$REG/$theirs/seqnum"
echo kept >"$REG/$theirs/note"
log "$theirs: connected by nvme-cli, registered owner=nbft"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
[Discovery controller connection management]
persistent-connections=false
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8009
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8010
CONF
stafd_start
assert_eq 0 "$(stafd_journal_count 'unknown key')" "configuration warnings"
has_sub() { stafd_dlp_subnqns "$1" | grep -qx "$SUB_A"; }
wait_for 60 has_sub 8009 || { stafctl ls -d; fail "stafd did not serve :8009"; }
wait_for 60 has_sub 8010 || { stafctl ls -d; fail "stafd did not serve :8010"; }

# -- A
assert_eq "$theirs" "$(stafd_dc_field 8009 device)" "device of :8009 (adopted)"
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8009)" "controllers to :8009"
assert_eq nbft "$(cat "$REG/$theirs/owner")" "owner of $theirs"
assert_eq kept "$(cat "$REG/$theirs/note")" "other attribute of $theirs"
assert_eq nbft "$(stafd_dc_field 8009 owner)" "D-Bus owner of :8009"
assert_contains "$(stafd_journal)" "Owned by nbft" "journal"
log "A: $theirs adopted, still owned by nbft"

# -- B
mine=$(stafd_dc_field 8010 device)
[ -n "$mine" ] && [ -e "/sys/class/nvme/$mine" ] || fail "no device for :8010"
wait_for 10 test -f "$REG/$mine/owner" || fail "no registry entry for $mine"
assert_eq stas "$(cat "$REG/$mine/owner")" "owner of $mine"
seq=$(cat "$REG/$mine/seqnum")
assert_match "$seq" '^[1-9][0-9]*$' "seqnum of $mine"
[ "$seq" -le "$(cat /sys/kernel/uevent_seqnum)" ] || fail "seqnum $seq from the future"
assert_eq 755 "$(stat -c %a "$REG/$mine")" "mode of $REG/$mine"
assert_eq 644 "$(stat -c %a "$REG/$mine/owner")" "mode of owner"
assert_eq 644 "$(stat -c %a "$REG/$mine/seqnum")" "mode of seqnum"
assert_eq stas "$(stafd_dc_field 8010 owner)" "D-Bus owner of :8010"
assert_eq "" "$(find "$REG" -maxdepth 1 -name '.*' ! -name . -print)" "hidden leftovers in $REG"
log "B: $mine registered owner=stas seqnum=$seq"

# -- C: the kernel controller goes away under stafd
nvme disconnect -d "$mine" >/dev/null || fail "nvme disconnect -d $mine"
removed() { stafd_journal | grep -q "$mine removed: registry entry removed"; }
wait_for 20 removed || { ls -la "$REG" || true; fail "entry of removed $mine not removed"; }
reconnected() {
	local d
	d=$(stafd_dc_field 8010 device)
	[ -n "$d" ] && [ -f "$REG/$d/seqnum" ] && [ "$(cat "$REG/$d/seqnum")" -gt "$seq" ]
}
wait_for 30 reconnected || { stafctl ls -d; ls -la "$REG"; fail "no new entry after the reconnect"; }
mine=$(stafd_dc_field 8010 device)
log "C: removal unregistered, reconnect registered $mine seqnum=$(cat "$REG/$mine/seqnum")"

# -- D
stafd_stop
[ -e "/sys/class/nvme/$theirs" ] || fail "D: stafd disconnected $theirs, which nbft owns"
assert_eq nbft "$(cat "$REG/$theirs/owner")" "D: owner of $theirs"
assert_contains "$(stafd_journal)" "Owned by nbft: not disconnecting it" "journal"
wait_for 10 test ! -e "/sys/class/nvme/$mine" || fail "D: $mine still connected after stop"
[ ! -e "$REG/$mine" ] || { ls -la "$REG/$mine"; fail "D: entry of $mine left after stafd disconnected it"; }
assert_eq "" "$(find "$REG" -maxdepth 1 -name '.*' ! -name . -print)" "hidden leftovers in $REG"
log "D: stop kept $theirs (nbft), disconnected and unregistered $mine"
log "PASS"
