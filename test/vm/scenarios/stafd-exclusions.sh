#!/bin/bash
# The system exclusion list (/etc/nvme/exclusions.conf.d) while stafd runs:
# an exclusion written at run time keeps a referral DC (127.0.0.1:8011,
# referred to by the configured DC :8010) and an mDNS DC (:8009, announced
# through avahi-daemon) from being connected, with a warning naming
# file:line; removing the file lets both in; writing it again drops both
# (stafd owns their connections: they are disconnected).
# shellcheck disable=SC2154

SUB=nqn.2024-01.io.example.stafd-vm:excl
DROPIN_DIR=/etc/nvme/exclusions.conf.d
DROPIN=$DROPIN_DIR/stafd-vm.conf

stafd_require
command -v avahi-publish >/dev/null || skip "avahi-utils not installed"
systemctl is-active -q avahi-daemon.service || systemctl start avahi-daemon.service ||
	skip "avahi-daemon not available in the guest"

nvmet_setup
on_exit nvmet_cleanup
nvmet_subsys "$SUB"
nvmet_port 1 127.0.0.1 8009 # announced by mDNS
nvmet_port 2 127.0.0.1 8010 # configured; refers to :8011
nvmet_port 3 127.0.0.1 8011 # the referral
for p in 1 2 3; do nvmet_link "$p" "$SUB"; done

rm -rf "$DROPIN_DIR"
on_exit "rm -rf $DROPIN_DIR"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=enabled
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8010
CONF
stafd_start
has_sub() { stafd_dlp_subnqns "$1" | grep -qx "$SUB"; }
wait_for 60 has_sub 8010 || { stafctl ls -d; fail "configured DC :8010 not served"; }
log "configured DC :8010 connected"

# -- the exclusion appears while stafd runs (its directory too)
mkdir -p "$DROPIN_DIR"
cat >"$DROPIN" <<EXCL
# written by the stafd-exclusions VM scenario
[exclusions]
exclusion = transport=tcp;traddr=127.0.0.1;trsvcid=8011
exclusion = traddr=::ffff:127.0.0.1;trsvcid=8009
EXCL
loaded() { stafd_journal | grep -q "System exclusion list: 2 exclusions"; }
wait_for 20 loaded || { stafd_journal | tail -n 20; fail "stafd did not load the new exclusion list"; }
log "stafd loaded the exclusion list without a reload"

# -- then a referral and an mDNS announcement of excluded DCs
nvmet_referral 2 to-8011 127.0.0.1 8011
avahi-publish -s stafd-vm-excl _nvme-disc._tcp 8009 p=tcp >"$STAFD_VM_RESULTS/avahi-publish.log" 2>&1 &
pubpid=$!
on_exit "kill $pubpid 2>/dev/null"
wait_for 20 grep -q "Established under name" "$STAFD_VM_RESULTS/avahi-publish.log" ||
	fail "avahi-publish could not announce the service"

warned() { stafd_journal | grep -q "8011.*excluded by $DROPIN:3" && stafd_journal | grep -q "8009.*excluded by $DROPIN:4"; }
wait_for 60 warned || { stafd_journal | tail -n 30; fail "no exclusion warnings naming $DROPIN:3 and :4"; }
# The decision is made: neither DC is in stafd's set or connected.
ls_json=$(stafctl --json ls)
assert_not_contains "$ls_json" '"8011"' "stafctl ls"
assert_not_contains "$ls_json" '"8009"' "stafctl ls"
assert_eq 0 "$(nvme_ctrl_count 127.0.0.1 8011)" "controllers to :8011"
assert_eq 0 "$(nvme_ctrl_count 127.0.0.1 8009)" "controllers to :8009"
assert_eq 1 "$(stafd_journal_count "8011.*excluded by")" "warnings for :8011 (once per DC)"
log "excluded: referral :8011 and mDNS :8009 not connected ($(stafd_journal | grep -m1 'excluded by'))"

# -- removing the exclusion lets them in
rm -f "$DROPIN"
# (The mDNS DC has host-iface lo: look it up by its trsvcid.)
both_in() {
	has_sub 8011 && [ "$(stafd_dc_field 8011 connected)" = True ] &&
		[ "$(stafd_dc_field 8009 connected)" = True ]
}
wait_for 60 both_in || { stafctl ls -d; stafd_journal | tail -n 20; fail "DCs not connected after removing the exclusion"; }
assert_eq referral "$(stafd_dc_field 8011 origin)" "origin of :8011"
assert_eq discovered "$(stafd_dc_field 8009 origin)" "origin of :8009"
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8011)" "controllers to :8011"
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8009)" "controllers to :8009"
log "exclusion removed: :8011 and :8009 connected"

# -- excluded again while connected: both leave the set and are disconnected
cat >"$DROPIN.tmp" <<EXCL
[exclusions]
exclusion = trsvcid=8011
exclusion = trsvcid=8009;host-iface=lo
EXCL
mv "$DROPIN.tmp" "$DROPIN"
both_out() {
	local j
	j=$(stafctl --json ls) || return 1
	case $j in *'"8011"'* | *'"8009"'*) return 1 ;; esac
	[ "$(nvme_ctrl_count 127.0.0.1 8011)" = 0 ] && [ "$(nvme_ctrl_count 127.0.0.1 8009)" = 0 ]
}
wait_for 60 both_out || { stafctl ls -d; fail "newly excluded DCs not dropped"; }
has_sub 8010 && [ "$(stafd_dc_field 8010 connected)" = True ] || fail "the configured DC :8010 was affected"
log "excluded again: both dropped and disconnected, :8010 untouched"
log "PASS"
