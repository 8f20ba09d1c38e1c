#!/bin/bash
# A DC's life against the real kernel:
#  A. the nvmet port goes away and comes back before ctrl-loss-tmo: the
#     kernel reconnects by itself, stafd refetches on NVME_EVENT, the cached
#     DLPEs are served throughout;
#  B. the port stays away: the kernel gives up and removes the controller,
#     stafd keeps the cache, tries to reconnect in 3 s and again 3 s later
#     (both fail, logged once), then after 60 s (port back by then)
#     reconnects and refetches;
#  C. systemctl stop/start with persistent connections: the same /dev/nvmeN
#     is adopted, the cache file is served at once;
#  D. persistent-connections=false, reload, stop: the controller is gone.

SUB_A=nqn.2024-01.io.example.stafd-vm:life-a
SUB_B=nqn.2024-01.io.example.stafd-vm:life-b
SUB_C=nqn.2024-01.io.example.stafd-vm:life-c
CACHE=/run/stafd/last-known-config.json

stafd_require
nvmet_setup
on_exit nvmet_cleanup

for s in "$SUB_A" "$SUB_B" "$SUB_C"; do nvmet_subsys "$s"; done
port_up() {
	nvmet_port 1 127.0.0.1 8009
	nvmet_link 1 "$SUB_A"
	for s in "$@"; do nvmet_link 1 "$s"; done
}
port_up

conf() { # PERSISTENT
	stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
reconnect-delay=1
ctrl-loss-tmo=8
[Service Discovery]
zeroconf=disabled
[Discovery controller connection management]
persistent-connections=$1
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8009
CONF
}
conf true

stafd_start
has_sub() { stafd_dlp_subnqns 8009 | grep -qx "$1"; }
wait_for 30 has_sub "$SUB_A" || { stafctl ls -d; fail "stafd did not connect and cache $SUB_A"; }
dev=$(stafd_dc_field 8009 device)
log "connected as $dev (ctrl_loss_tmo=$(nvme_ctrl_attr "$dev" ctrl_loss_tmo 2>/dev/null || echo ?)," \
	"reconnect_delay=$(nvme_ctrl_attr "$dev" reconnect_delay 2>/dev/null || echo ?))"
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8009)" "kernel controllers to 127.0.0.1:8009"

state() { nvme_ctrl_attr "$dev" state 2>/dev/null || echo gone; }
not_live() { [ "$(state)" != live ]; }
is_live() { [ "$(state)" = live ]; }

# ---------------------------------------------------------------- A
log "A: port removed"
t0=$SECONDS
nvmet_port_remove 1
wait_for 20 not_live || fail "A: $dev still live after the port was removed"
log "A: kernel controller $dev is $(state)"
dc_connected_is() { [ "$(stafd_dc_field 8009 connected)" = "$1" ]; }
wait_for 10 dc_connected_is False ||
	fail "A: stafd still reports the DC connected"
# What is cached now (nvmet unlinks the subsystems before the port goes:
# the DC may have announced some of that before it vanished) stays served.
snap=$(stafd_dlp_subnqns 8009)
assert_contains "$snap" "$STAFD_DISC_NQN" "A: cached DLPEs while disconnected"
# Back, with one more subsystem: visible only by refetching after the
# kernel's reconnect (no AEN: the new controller never saw the change).
port_up "$SUB_B"
wait_for 15 is_live || fail "A: the kernel did not reconnect $dev (state $(state))"
log "A: port restored, kernel reconnected $dev after $((SECONDS - t0))s"
wait_for 15 has_sub "$SUB_B" || fail "A: no refetch after the kernel's reconnect"
assert_match "$(stafd_journal)" "Received NVME_EVENT=(rediscover|connected)" "stafd journal"
assert_eq "$dev" "$(stafd_dc_field 8009 device)" "A: device after the kernel's reconnect"
assert_eq 0 "$(stafd_journal_count 'Failed to connect')" "A: connect failures logged"
log "A: refetched after the kernel's reconnect ($((SECONDS - t0))s)"

# ---------------------------------------------------------------- B
log "B: port removed for longer than ctrl-loss-tmo"
t0=$SECONDS
nvmet_port_remove 1
wait_for 20 not_live || fail "B: $dev still live after the port was removed"
snap=$(stafd_dlp_subnqns 8009)
gone() { [ ! -e "/sys/class/nvme/$dev" ]; }
wait_for 40 gone || fail "B: the kernel did not remove $dev after ctrl-loss-tmo (state $(state))"
log "B: kernel removed $dev after $((SECONDS - t0))s"
attempts() { stafd_dc_field 8009 'connect attempts'; }
attempts_ge() { [ "$(attempts)" -ge "$1" ]; }
# Reconnect 3 s after the removal, then (failures) 3 s later, then every 60 s.
wait_for 20 attempts_ge 1 ||
	{ stafctl ls -d; fail "B: stafd did not try to reconnect after the removal"; }
log "B: first reconnect attempt failed after $((SECONDS - t0))s"
wait_for 15 attempts_ge 2 ||
	{ stafctl ls -d; fail "B: stafd did not retry 3 s after its first failure"; }
log "B: second attempt failed after $((SECONDS - t0))s: attempts=$(attempts)," \
	"retry timer $(stafd_dc_field 8009 'retry connect timer')"
assert_eq nvme? "$(stafd_dc_field 8009 device)" "B: device while disconnected"
assert_eq False "$(stafd_dc_field 8009 connected)" "B: connected"
assert_contains "$(stafd_dc_field 8009 'retry connect timer')" "60.0s [" "B: retry timer"
assert_contains "$(stafd_journal)" "Kernel controller removed" "B: stafd journal"
assert_contains "$snap" "$STAFD_DISC_NQN" "B: cached DLPEs when the DC went away"
assert_eq "$snap" "$(stafd_dlp_subnqns 8009)" "B: cached DLPEs after the kernel removed $dev"
while read -r n; do
	grep -qF "\"$n\"" "$CACHE" || fail "B: $CACHE lost $n"
done <<<"$snap"
log "B: $(grep -c . <<<"$snap") cached DLPEs still served and in $CACHE"
assert_eq 1 "$(stafd_journal_count 'Failed to connect')" "B: connect failures logged"
# Back, with one more subsystem; stafd's next retry (60 s) reconnects.
port_up "$SUB_B" "$SUB_C"
t1=$SECONDS
wait_for 75 has_sub "$SUB_C" || { stafctl ls -d; fail "B: stafd did not reconnect and refetch"; }
log "B: stafd reconnected and refetched $((SECONDS - t1))s after the port came back"
assert_eq 0 "$(attempts)" "B: connect attempts after reconnecting"
assert_eq 1 "$(stafd_journal_count 'Failed to connect')" "B: connect failures logged (once per streak)"
assert_contains "$(stafd_journal)" "Connected after earlier failures" "B: stafd journal"
dev=$(stafd_dc_field 8009 device)
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8009)" "B: kernel controllers to 127.0.0.1:8009"

# ---------------------------------------------------------------- C
log "C: stop/start with persistent connections (device $dev)"
stafd_stop
[ -e "/sys/class/nvme/$dev" ] || fail "C: $dev disconnected by a stop with persistent-connections=true"
grep -q "$SUB_C" "$CACHE" || fail "C: $CACHE lacks the DLPEs after stop"
t0=$(date +%s%N)
stafd_start
# Served from the cache at once, whatever the connection is doing.
got=$(stafd_dlp_subnqns 8009)
log "C: first get_log_pages $(( ($(date +%s%N) - t0) / 1000000 )) ms after start: $(echo $got)"
assert_contains "$got" "$SUB_C" "C: log pages right after restart"
assert_contains "$(stafd_journal)" "Restored 1 controllers from $CACHE" "C: stafd journal"
wait_for 20 dc_connected_is True || fail "C: not connected after restart"
assert_eq "$dev" "$(stafd_dc_field 8009 device)" "C: device after restart"
assert_eq 1 "$(nvme_ctrl_count 127.0.0.1 8009)" "C: kernel controllers to 127.0.0.1:8009"
assert_contains "$(stafd_journal)" "| $dev - Adopted the existing kernel controller" "C: stafd journal"
log "C: $dev adopted, no second controller"

# ---------------------------------------------------------------- D
log "D: persistent-connections=false, reload, stop"
conf false
stafd_reload
stafd_stop
wait_for 10 gone || fail "D: $dev still there after stop with persistent-connections=false"
assert_eq 0 "$(nvme_ctrl_count 127.0.0.1 8009)" "D: kernel controllers to 127.0.0.1:8009"
log "D: $dev disconnected on stop"
log "PASS"
