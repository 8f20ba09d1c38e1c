#!/bin/bash
# A discovery log larger than 1 MB: 1000 subsystems on one nvmet port. stafd
# caches every entry, the same set `nvme discover` sees; then 50 more are
# linked one by one while stafd is running (AENs, generation changes during
# a fetch): the cache converges to all 1050 (+ the DC's own entry).

PREFIX=nqn.2024-01.io.example.stafd-vm:big-
N1=1000
N2=50

stafd_require
nvmet_setup
on_exit nvmet_cleanup

# Plain configfs, as few execs as possible (each costs tens of ms under
# TCG): one mkdir for all, builtin writes, one ln per batch.
subsys_dirs() { # FIRST LAST
	local i n
	for ((i = $1; i <= $2; i++)); do
		printf -v n %04d "$i"
		printf '%s\n' "$NVMET/subsystems/$PREFIX$n"
	done
}
fast_cleanup() {
	nvme disconnect-all >/dev/null 2>&1 || true
	rm -f "$NVMET"/ports/1/subsystems/"$PREFIX"*
	rmdir "$NVMET"/subsystems/"$PREFIX"* 2>/dev/null || true
}
on_exit fast_cleanup

t0=$SECONDS
mapfile -t dirs < <(subsys_dirs 1 $((N1 + N2)))
mkdir "${dirs[@]}"
for d in "${dirs[@]}"; do echo 1 >"$d/attr_allow_any_host"; done
nvmet_port 1 127.0.0.1 8009
(cd "$NVMET/ports/1/subsystems" && ln -s "${dirs[@]:0:N1}" .)
log "created $((N1 + N2)) subsystems, linked $N1 to port 1 in $((SECONDS - t0))s"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
[Controllers]
controller=transport=tcp;traddr=127.0.0.1;trsvcid=8009
CONF

# The DC's own entry (subtype "current discovery subsystem") comes on top.
n_entries() { stafd_dlp_subnqns 8009 | grep -c . || true; }
has_n() { [ "$(n_entries)" -ge "$1" ]; }

stafd_start
wait_for 60 has_n "$N1" || { stafctl ls -d; fail "stafd's cache has $(n_entries) entries, not >= $N1"; }
got=$(stafd_dlp_subnqns 8009)
want=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json |
	python3 -c 'import json,sys; print("\n".join(sorted(r["subnqn"] for r in json.load(sys.stdin)["records"])))')
assert_eq "$(grep -c . <<<"$want")" "$(grep -c . <<<"$got")" "number of entries, nvme discover vs. stafd"
[ "$want" = "$got" ] || fail "stafd's cache differs from nvme discover: $(diff <(echo "$want") <(echo "$got") | head)"
n0=$(grep -c . <<<"$got")
log "stafd cached $n0 entries = nvme discover"
grep -q "${PREFIX}1000" /run/stafd/last-known-config.json || fail "the cache file lacks the last entry"
log "cache file: $(stat -c %s /run/stafd/last-known-config.json) bytes"

# Monotonic time (s) of stafd's journal lines matching an ERE, one a line.
jtimes() {
	journalctl -b -u stafd.service --no-pager -o short-monotonic |
		awk -v re="$1" '$0 ~ re { t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t); print t }'
}
tc=$(jtimes 'Connected' | head -n1)
tf=$(jtimes "Discovery log page: $((n0)) entries" | head -n1)
log "first fetch of the $((n0 * 1024 + 1024))-byte log: $(awk -v a="$tc" -v b="$tf" 'BEGIN { printf "%.2f", b - a }')s after connecting (journal)"

# -- 50 more in batches of 10 while stafd fetches (each link changes the
# generation counter, an AEN follows, and fetches in progress see the log
# move under them)
t0=$SECONDS
for ((i = N1; i < N1 + N2; i += 10)); do
	ln -s "${dirs[@]:i:10}" "$NVMET/ports/1/subsystems/"
	_nap
done
log "linked $N2 more in $((SECONDS - t0))s"
want_n=$((n0 + N2))
t0=$SECONDS
wait_for 90 has_n "$want_n" || fail "stafd's cache did not converge: $(n_entries) entries, want $want_n"
log "cache converged to $want_n entries $((SECONDS - t0))s after the last link"
want=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 -o json |
	python3 -c 'import json,sys; print("\n".join(sorted(r["subnqn"] for r in json.load(sys.stdin)["records"])))')
got=$(stafd_dlp_subnqns 8009)
[ "$want" = "$got" ] || fail "after the changes, stafd's cache differs from nvme discover: $(diff <(echo "$want") <(echo "$got") | head)"
assert_eq "$want_n" "$(grep -c . <<<"$got")" "entries after the changes"

j=$(stafd_journal)
log "journal: $(grep -c 'Received AEN' <<<"$j") AENs, $(grep -c 'Discovery log page:' <<<"$j") fetches," \
	"$(grep -c 're-read after a generation change' <<<"$j") re-read after a generation change"
journalctl -b -u stafd.service --no-pager -o short-monotonic | grep -E 'Received AEN|Discovery log page:' | tail -n 8
assert_not_contains "$j" "Failed to get the discovery log page" "stafd journal"
log "PASS"
