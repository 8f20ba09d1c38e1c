#!/bin/bash
# A misbehaving fabric (issue 11): a configured DC (port 1) whose discovery
# log carries a referral with TRSVCID "8011,traddr=127.0.0.3" (connect-option
# smuggling towards an excluded address) and 1 000 referrals to ports where
# nothing listens; a healthy configured DC (port 2) beside it.
#  - the smuggling referral is never connected; one warning names the DC
#    and the field; counted in controller_info and process_info;
#  - the DC count is held at the cap (max-referrals-per-dc, default 64) and
#    one warning says how many were dropped;
#  - D-Bus answers within 1 s throughout;
#  - the healthy DC's AEN refresh shows within 5 s;
#  - SIGTERM (systemctl stop) takes a bounded time (printed).
# shellcheck disable=SC2154

DISC=nqn.2014-08.org.nvmexpress.discovery
SUB_H=nqn.2024-01.io.example.stafd-vm:hostile-h
SUB_N=nqn.2024-01.io.example.stafd-vm:hostile-new
N_REF=1000
CAP=64

stafd_require
nvmet_setup
on_exit nvmet_cleanup

nvmet_port 1 127.0.0.1 8009
nvmet_port 2 127.0.0.1 8010
nvmet_subsys "$SUB_H"
nvmet_subsys "$SUB_N"
nvmet_link 1 "$SUB_H"
nvmet_link 2 "$SUB_H"

# The smuggler first (log order: it must not cost one of the 64 slots).
nvmet_referral 1 smuggle 127.0.0.2 "8011,traddr=127.0.0.3"
got=$(cat "$NVMET/ports/1/referrals/smuggle/addr_trsvcid")
[ "$got" = "8011,traddr=127.0.0.3" ] || skip "nvmet stores the TRSVCID as '$got'"

# 1 000 referrals to 127.0.0.1:20000-20999 (refused): builtins, one mkdir.
t0=$SECONDS
dirs=()
for ((i = 0; i < N_REF; i++)); do dirs+=("$NVMET/ports/1/referrals/r$i"); done
mkdir "${dirs[@]}"
for ((i = 0; i < N_REF; i++)); do
	d=${dirs[i]}
	echo tcp >"$d/addr_trtype"
	echo ipv4 >"$d/addr_adrfam"
	echo 127.0.0.1 >"$d/addr_traddr"
	echo $((20000 + i)) >"$d/addr_trsvcid"
	echo 1 >"$d/enable"
done
fast_cleanup() { rmdir "${dirs[@]}" 2>/dev/null || true; }
on_exit fast_cleanup
log "created $N_REF referrals on port 1 in $((SECONDS - t0))s"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8009
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8010
exclude=transport=tcp;traddr=127.0.0.3
CONF

# D-Bus latency probe: bus-ping (test/bench, given as the first argument),
# one bus connection pinging stafd every 100 ms.
BUS_PING=${1:-}
[ -x "$BUS_PING" ] || skip "no bus-ping given (vm-run … stafd-hostile.sh BUILD/test/bench/bus-ping)"
probe=$STAFD_VM_RESULTS/ping-ms.txt

t0=$(date +%s%N)
stafd_start
log "stafd ready in $((($(date +%s%N) - t0) / 1000000)) ms"
"$BUS_PING" org.nvmexpress.staf 600 100 >"$probe" 2>/dev/null &
pingpid=$!
on_exit "kill $pingpid 2>/dev/null || true"

# -- the DC fetched its log: the smuggling referral is reported, by field
wait_for 60 sh -c "journalctl -b -u stafd.service -o cat | grep -q 'fail validation'" ||
	fail "no validation warning in stafd's journal"
line=$(stafd_journal | grep 'fail validation' | head -n1)
log "journal: $line"
assert_contains "$line" "127.0.0.1, 8009" "the warning names the DC"
assert_contains "$line" "trsvcid" "the warning names the field"
assert_eq 1 "$(stafd_journal_count 'fail validation')" "validation warnings (once per DC)"

# -- the cap: 2 configured + 64 referral DCs, one warning with the count
n_dcs() { stafctl --json ls | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
wait_for 60 sh -c "journalctl -b -u stafd.service -o cat | grep -q 'max-referrals-per-dc=$CAP reached'" ||
	fail "no cap warning"
log "journal: $(stafd_journal | grep "max-referrals-per-dc=$CAP reached" | head -n1)"
assert_eq 1 "$(stafd_journal_count "max-referrals-per-dc=$CAP reached")" "cap warnings"
wait_for 30 sh -c "[ \"\$(stafctl --json ls | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = $((CAP + 2)) ]" ||
	fail "DC count is $(n_dcs), not $((CAP + 2))"
log "DC count held at $(n_dcs)"

# -- counters
# dbg_json METHOD [SIG ARGS…] | key: a value of a debug method's JSON answer.
dbg_field() { # KEY METHOD [SIG ARGS…]
	local key=$1
	shift
	busctl --system --json=short call org.nvmexpress.staf /org/nvmexpress/staf org.nvmexpress.staf.debug "$@" |
		python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["data"][0]).get(sys.argv[1], "?"))' "$key"
}
assert_eq 1 "$(dbg_field 'rejected referrals' controller_info sssssss tcp 127.0.0.1 8009 "$DISC" "" "" "")" \
	"controller_info: rejected referrals"
assert_eq $((N_REF - CAP)) "$(dbg_field 'referrals over limits' controller_info sssssss tcp 127.0.0.1 8009 "$DISC" "" "" "")" \
	"controller_info: referrals over limits"
n=$(dbg_field 'rejected transport ids' process_info)
[ "$n" -ge 1 ] 2>/dev/null || fail "process_info: rejected transport ids is '$n'"
log "counters: controller_info rejected referrals 1, over limits $((N_REF - CAP)); process_info rejected $n"

# -- never connected: nothing to 127.0.0.2 or 127.0.0.3
for a in 127.0.0.2 127.0.0.3; do
	for c in /sys/class/nvme/nvme*; do
		grep -q "traddr=$a" "$c/address" 2>/dev/null && fail "a controller to $a exists: $(cat "$c/address")"
	done
done
log "no controller to 127.0.0.2/127.0.0.3"

# -- the healthy DC's AEN refresh while the referral DCs keep failing:
# from the subsystem link to the new entry on D-Bus (polled), and from the
# AEN to the fetched log in stafd's journal.
failures=()
sleep 5
t0=$(date +%s%N)
nvmet_link 2 "$SUB_N"
export -f stafd_dlp_subnqns
export STAFD_DISC_NQN
if wait_for 30 bash -c "stafd_dlp_subnqns 8010 | grep -q '$SUB_N'"; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	log "healthy DC's AEN refresh on D-Bus after $ms ms"
	[ "$ms" -le 5000 ] || failures+=("healthy DC's AEN refresh took $ms ms (> 5 s)")
else
	failures+=("healthy DC's AEN refresh not seen within 30 s")
fi
jt() { # ERE: monotonic time of the last matching journal line
	journalctl -b -u stafd.service --no-pager -o short-monotonic |
		awk -v re="$1" '$0 ~ re { t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t) } END { print t }'
}
ta=$(jt '8010.*Received AEN')
tf=$(jt '8010.*Discovery log page: 3 entries')
[ -n "$ta" ] && [ -n "$tf" ] && log "journal: AEN -> log page fetched: $(awk -v a="$ta" -v b="$tf" 'BEGIN { printf "%.2f", b - a }') s"
sleep 3

kill "$pingpid" 2>/dev/null
worst=$(grep -v fail "$probe" | sort -k2 -n | tail -n1 | cut -d' ' -f2)
log "Peer.Ping: $(wc -l <"$probe") samples, worst ${worst} ms (at $(sort -k2 -n "$probe" | tail -n1 | cut -d' ' -f1)s), $(grep -c fail "$probe") failed"
grep -q fail "$probe" && failures+=("a Peer.Ping failed")
[ -n "$worst" ] && awk -v w="$worst" 'BEGIN { exit !(w < 1000) }' || failures+=("D-Bus answered after ${worst} ms (> 1 s)")

# -- SIGTERM
t0=$(date +%s%N)
stafd_stop
log "systemctl stop took $((($(date +%s%N) - t0) / 1000000)) ms"
[ ${#failures[@]} = 0 ] || fail "${failures[*]}"
