#!/bin/bash
# stafd's main job against the real kernel: nvmet DC on loopback, stafd under
# systemd connects, caches what `nvme discover` sees, follows AENs (twice:
# RAE handling), follows a referral into a `referral` DC, never connects an
# excluded DC, and serves it all on D-Bus and through stafctl.
# shellcheck disable=SC2154

DISC=nqn.2014-08.org.nvmexpress.discovery
SUB_A=nqn.2024-01.io.example.stafd-vm:engine-a
SUB_B=nqn.2024-01.io.example.stafd-vm:engine-b
SUB_C=nqn.2024-01.io.example.stafd-vm:engine-c
SUB_D=nqn.2024-01.io.example.stafd-vm:engine-d

stafd_require
nvmet_setup
on_exit nvmet_cleanup

# Port 1: the configured DC.  Port 2: the referred-to DC.  Port 3: excluded.
nvmet_port 1 127.0.0.1 8009
nvmet_port 2 127.0.0.1 8010
nvmet_port 3 127.0.0.1 8011
for s in "$SUB_A" "$SUB_B" "$SUB_C" "$SUB_D"; do nvmet_subsys "$s"; done
nvmet_link 1 "$SUB_A"
nvmet_link 1 "$SUB_B"
nvmet_link 2 "$SUB_D"
nvmet_link 3 "$SUB_A"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
[Controllers]
controller = transport=tcp ; traddr=127.0.0.1 ; trsvcid=8009   # the DDC
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8011
exclude=transport=tcp;trsvcid=8011
CONF

mon=$STAFD_VM_RESULTS/signals.json
busctl --system monitor --json=short org.nvmexpress.staf >"$mon" 2>/dev/null &
monpid=$!
on_exit "kill $monpid 2>/dev/null"

t0=$(date +%s%N)
stafd_start
log "stafd ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms (systemctl start, Type=notify)"

# -- connected, and the cache equals what `nvme discover` sees
# stafd's cached subnqns of the DC on 127.0.0.1:PORT, on one line.
dlp_traddrs() { stafd_dlp_subnqns "$1" | paste -sd' '; }
export -f dlp_traddrs stafd_dlp_subnqns
export STAFD_DISC_NQN
wait_for 20 sh -c "stafctl --json ls | grep -q '\"device\": \"nvme[0-9]'" || {
	stafctl ls -d
	fail "stafd did not connect"
}
wait_for 20 bash -c "[ -n \"\$(dlp_traddrs 8009)\" ]" || fail "no log page cached"

dev=$(stafctl --json ls | python3 -c 'import json,sys; print([c["device"] for c in json.load(sys.stdin) if c["trsvcid"]=="8009"][0])')
log "DDC connected as $dev"
assert_eq discovery "$(nvme_ctrl_attr "$dev" cntrltype)" "cntrltype"
want=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json |
	python3 -c 'import json,sys; print(" ".join(sorted(r["subnqn"] for r in json.load(sys.stdin)["records"])))')
got=$(dlp_traddrs 8009)
assert_eq "$want" "$got" "stafd's cache vs. nvme discover"
log "cache = nvme discover: $got"

# -- the excluded DC is never connected
[ -z "$(nvme_ctrl_find 127.0.0.1 8011)" ] || fail "excluded DC 127.0.0.1:8011 got connected"
stafctl --json ls | grep -q '"8011"' && fail "excluded DC listed"

# -- AEN: link a subsystem, the cache follows and log_pages_changed is emitted
n_sig() { grep -c '"member":"log_pages_changed"' "$mon" || true; }
before=$(n_sig)
t0=$(date +%s%N)
nvmet_link 1 "$SUB_C"
wait_for 10 bash -c "dlp_traddrs 8009 | grep -q engine-c" || fail "AEN: $SUB_C not in the cache"
log "AEN #1 -> cache updated in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
wait_for 5 bash -c "[ \$(grep -c '\"member\":\"log_pages_changed\"' $mon) -gt $before ]" ||
	fail "no log_pages_changed signal"

# -- a second AEN also arrives (RAE was cleared on the last read)
nvmet_unlink 1 "$SUB_B"
wait_for 10 bash -c "! dlp_traddrs 8009 | grep -q engine-b" || fail "second AEN not received (RAE left set?)"
log "AEN #2 -> cache updated"

# -- a referral on the port creates a referral DC, which gets connected
nvmet_referral 1 ref1 127.0.0.1 8010
wait_for 15 bash -c "stafctl --json ls -d | python3 -c 'import json,sys; l=json.load(sys.stdin); sys.exit(0 if any(c[\"trsvcid\"]==\"8010\" and c[\"origin\"]==\"referral\" and c[\"device\"].startswith(\"nvme\") and c[\"device\"]!=\"nvme?\" for c in l) else 1)'" ||
	{ stafctl ls -d; fail "no connected referral DC for 127.0.0.1:8010"; }
wait_for 10 bash -c "dlp_traddrs 8010 | grep -q engine-d" || fail "referral DC's log page"
log "referral DC created and connected"

# -- the referral goes: the DC is removed and dc_removed is emitted
nvmet_referral_remove 1 ref1
wait_for 15 bash -c "! stafctl --json ls | grep -q '\"8010\"'" || fail "referral DC not removed"
wait_for 5 grep -q '"member":"dc_removed"' "$mon" || fail "no dc_removed signal"
log "referral gone -> DC removed, dc_removed emitted"

# -- administrators' view
busctl --system introspect org.nvmexpress.staf /org/nvmexpress/staf >/dev/null || fail "introspect"
stafctl status
stafctl adlp
journal=$(stafd_journal)
assert_contains "$journal" "Received AEN" "journal"
log "PASS"
