# shellcheck shell=bash
# Helpers for stafd VM test scenarios. vm-run's guest side sources this file
# (through BASH_ENV) before it runs a scenario as root under systemd.
#
# A scenario is a bash script; it exits 0 (pass), 77 (skip) or anything else
# (fail). set -euo pipefail is on. Register clean-up with `on_exit CMD…`
# rather than `trap … EXIT` (which would replace ours).
#
# Environment set by the guest side:
#   STAFD_VM_RESULTS  writable results dir (shared with the host); files put
#                     there survive with `vm-run --keep` / `--results DIR`
#   STAFD_VM_LIB      this file
#   STAFD_VM_STAGE    the staged install the guest root was seeded with ('' if none)

# Sourced through BASH_ENV: do not leak into the scenario's child shells.
unset BASH_ENV
set -euo pipefail

# ------------------------------------------------------------------ basics


# Centiseconds since boot, without forking (every exec costs tens of
# milliseconds in a TCG guest).
_uptime_cs() {
	local up _
	read -r up _ </proc/uptime
	_UPTIME_CS=$((10#${up%.*} * 100 + 10#${up#*.}))
}

# _nap: sleep 0.1 s without an exec: read with a timeout from a pipe nobody
# writes to.
_NAP_FD=
_nap() {
	if [ -z "$_NAP_FD" ]; then
		exec {_NAP_FD}<> <(:) || { sleep 0.1; return 0; }
	fi
	read -r -t 0.1 -u "$_NAP_FD" _ || true
}

# log MSG…: a timestamped line (seconds since boot) on stdout.
log() {
	local up _
	read -r up _ </proc/uptime
	printf '[%8s] %s\n' "$up" "$*"
}

# fail MSG…: log and exit 1.
fail() {
	log "FAIL: $*" >&2
	exit 1
}

# skip MSG…: log and exit 77.
skip() {
	log "SKIP: $*"
	exit 77
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	[ "$1" = "$2" ] ||
		fail "${3:-value}: expected '$1', got '$2'"
}

# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() {
	[ "$1" != "$2" ] ||
		fail "${3:-value}: got '$2', which it must not be"
}

# assert_contains HAYSTACK NEEDLE [WHAT]: fixed-string match.
assert_contains() {
	case $1 in
	*"$2"*) ;;
	*) fail "${3:-text} does not contain '$2'; it is:"$'\n'"$1" ;;
	esac
}

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
	case $1 in
	*"$2"*) fail "${3:-text} contains '$2'; it is:"$'\n'"$1" ;;
	*) ;;
	esac
}

# assert_match HAYSTACK ERE [WHAT]: extended regular expression (grep -E).
assert_match() {
	grep -qE -- "$2" <<<"$1" ||
		fail "${3:-text} does not match /$2/; it is:"$'\n'"$1"
}

# wait_for TIMEOUT_SEC CMD…: run CMD every 0.1 s until it succeeds; return 1
# (with a log line) when TIMEOUT_SEC pass first. Under set -e an unchecked
# timeout therefore ends the scenario. TIMEOUT_SEC may be fractional.
wait_for() {
	local timeout=$1 deadline
	shift
	_uptime_cs
	deadline=$(awk -v t="$_UPTIME_CS" -v d="$timeout" 'BEGIN { printf "%d", t + d * 100 }')
	while :; do
		if "$@"; then
			return 0
		fi
		_uptime_cs
		if [ "$_UPTIME_CS" -ge "$deadline" ]; then
			log "wait_for: timed out after ${timeout}s: $*" >&2
			return 1
		fi
		_nap
	done
}

# wait_for_output TIMEOUT_SEC EXPECTED CMD…: wait until CMD prints EXPECTED,
# fail if it never does.
wait_for_output() {
	local timeout=$1 expected=$2
	shift 2
	# shellcheck disable=SC2317
	_wfo() { [ "$("$@" 2>/dev/null)" = "$expected" ]; }
	wait_for "$timeout" _wfo "$@" ||
		fail "'$*' never printed '$expected' (last: '$("$@" 2>&1 || true)')"
}

# ------------------------------------------------------------------ clean-up

_ON_EXIT=()

# on_exit CMD…: run CMD (eval'ed) when the scenario exits, newest first.
# Failures in clean-up are logged, never change the exit status.
on_exit() {
	_ON_EXIT+=("$*")
}

_lib_exit() {
	local rc=$? i
	set +e
	for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_ON_EXIT[i]}" || log "clean-up failed: ${_ON_EXIT[i]}" >&2
	done
	exit "$rc"
}
trap _lib_exit EXIT
# The guest-side timeout sends TERM: still run the clean-up.
trap 'log "terminated (timeout?)" >&2; exit 143' TERM INT

# ------------------------------------------------------------------ nvmet

NVMET=/sys/kernel/config/nvmet
# Backing files of the namespaces (tmpfs, in the guest).
NVMET_BACKING=/run/stafd-vm-nvmet

# nvmet_setup: load the target and host modules, mount configfs.
nvmet_setup() {
	local m
	for m in nvmet nvmet-tcp nvme-fabrics nvme-tcp; do
		modprobe "$m" || fail "modprobe $m"
	done
	# null_blk without devices: there for scenarios that want one
	# (nvmet_subsys uses small files instead).
	modprobe null_blk nr_devices=0 2>/dev/null || true
	if [ ! -d "$NVMET" ]; then
		mountpoint -q /sys/kernel/config ||
			mount -t configfs configfs /sys/kernel/config
	fi
	[ -d "$NVMET" ] || fail "no $NVMET after loading nvmet"
	[ -c /dev/nvme-fabrics ] || wait_for 5 test -c /dev/nvme-fabrics ||
		fail "no /dev/nvme-fabrics"
	mkdir -p "$NVMET_BACKING"
}

_adrfam_of() {
	case $1 in
	*:*) echo ipv6 ;;
	*) echo ipv4 ;;
	esac
}

_nvmet_addr() { # DIR TRTYPE ADRFAM TRADDR TRSVCID
	echo "$2" >"$1/addr_trtype"
	echo "$3" >"$1/addr_adrfam"
	echo "$4" >"$1/addr_traddr"
	echo "$5" >"$1/addr_trsvcid"
}

# nvmet_port ID ADDR SVCID [ADRFAM [TRTYPE]]: create a port (tcp, the
# address family from ADDR by default). It is enabled (listening) as soon as
# a subsystem is linked to it; a port with subsystems is also a discovery
# controller.
nvmet_port() {
	local id=$1 addr=$2 svcid=$3 adrfam=${4:-} trtype=${5:-tcp} d
	d=$NVMET/ports/$id
	[ -n "$adrfam" ] || adrfam=$(_adrfam_of "$addr")
	mkdir "$d" || fail "nvmet: cannot create port $id"
	_nvmet_addr "$d" "$trtype" "$adrfam" "$addr" "$svcid"
}

# nvmet_subsys NQN [SIZE]: a subsystem any host may use, with namespace 1
# backed by a SIZE (default 16M) file.
nvmet_subsys() {
	local nqn=$1 size=${2:-16M} d f
	d=$NVMET/subsystems/$nqn
	mkdir "$d" || fail "nvmet: cannot create subsystem $nqn"
	echo 1 >"$d/attr_allow_any_host"
	mkdir -p "$NVMET_BACKING"
	f=$NVMET_BACKING/$nqn.img
	truncate -s "$size" "$f"
	mkdir "$d/namespaces/1"
	echo "$f" >"$d/namespaces/1/device_path"
	echo 1 >"$d/namespaces/1/buffered_io" 2>/dev/null || true
	echo 1 >"$d/namespaces/1/enable" || fail "nvmet: cannot enable namespace of $nqn"
}

# nvmet_subsys_remove NQN: unlink from every port, then delete.
nvmet_subsys_remove() {
	local nqn=$1 d l
	d=$NVMET/subsystems/$nqn
	[ -d "$d" ] || return 0
	for l in "$NVMET"/ports/*/subsystems/"$nqn"; do
		[ -L "$l" ] && rm -f "$l"
	done
	for l in "$d"/namespaces/*; do
		[ -d "$l" ] || continue
		echo 0 >"$l/enable" 2>/dev/null || true
		rmdir "$l"
	done
	rmdir "$d"
	rm -f "$NVMET_BACKING/$nqn.img"
}

# nvmet_link PORTID NQN: expose the subsystem on the port (a discovery log
# change: hosts connected to the port's discovery controller get an AEN).
nvmet_link() {
	ln -s "$NVMET/subsystems/$2" "$NVMET/ports/$1/subsystems/$2" ||
		fail "nvmet: cannot link $2 to port $1"
}

# nvmet_unlink PORTID NQN
nvmet_unlink() {
	rm -f "$NVMET/ports/$1/subsystems/$2"
}

# nvmet_referral PORTID NAME ADDR SVCID [ADRFAM [TRTYPE]]: a referral to
# another discovery controller in the port's discovery log.
nvmet_referral() {
	local port=$1 name=$2 addr=$3 svcid=$4 adrfam=${5:-} trtype=${6:-tcp} d
	d=$NVMET/ports/$port/referrals/$name
	[ -n "$adrfam" ] || adrfam=$(_adrfam_of "$addr")
	mkdir "$d" || fail "nvmet: cannot create referral $name on port $port"
	_nvmet_addr "$d" "$trtype" "$adrfam" "$addr" "$svcid"
	echo 1 >"$d/enable"
}

# nvmet_referral_remove PORTID NAME
nvmet_referral_remove() {
	local d=$NVMET/ports/$1/referrals/$2
	[ -d "$d" ] || return 0
	echo 0 >"$d/enable" 2>/dev/null || true
	rmdir "$d"
}

# nvmet_port_remove ID: unlink its subsystems, drop its referrals, delete it.
nvmet_port_remove() {
	local d=$NVMET/ports/$1 l
	[ -d "$d" ] || return 0
	for l in "$d"/subsystems/*; do
		[ -L "$l" ] && rm -f "$l"
	done
	for l in "$d"/referrals/*; do
		[ -d "$l" ] && nvmet_referral_remove "$1" "${l##*/}"
	done
	rmdir "$d"
}

# nvmet_cleanup: disconnect the host from everything, delete every port and
# subsystem.
nvmet_cleanup() {
	local p s
	nvme disconnect-all >/dev/null 2>&1 || true
	[ -d "$NVMET" ] || return 0
	for p in "$NVMET"/ports/*; do
		[ -d "$p" ] && nvmet_port_remove "${p##*/}"
	done
	for s in "$NVMET"/subsystems/*; do
		[ -d "$s" ] && nvmet_subsys_remove "${s##*/}"
	done
	return 0
}

# ------------------------------------------------------------------ host side

# nvme_ctrl_find TRADDR TRSVCID [SUBSYSNQN]: print the nvmeN of a live or
# connecting fabrics controller to that address (first match), or nothing.
nvme_ctrl_find() {
	local c addr
	for c in /sys/class/nvme/nvme*; do
		[ -e "$c/address" ] || continue
		addr=$(cat "$c/address" 2>/dev/null) || continue
		case ",$addr," in
		*",traddr=$1,"*) ;;
		*) continue ;;
		esac
		case ",$addr," in
		*",trsvcid=$2,"*) ;;
		*) continue ;;
		esac
		if [ -n "${3:-}" ] && [ "$(cat "$c/subsysnqn")" != "$3" ]; then
			continue
		fi
		echo "${c##*/}"
		return 0
	done
}

# nvme_ctrl_attr NVMEN ATTR: a sysfs attribute of /sys/class/nvme/NVMEN.
nvme_ctrl_attr() {
	cat "/sys/class/nvme/$1/$2"
}

# udev_monitor_start FILE [SUBSYSTEM]: record udev events with properties
# (subsystem nvme by default) into FILE until udev_monitor_stop.
_UDEV_MON_PID=
udev_monitor_start() {
	local file=$1 subsys=${2:-nvme}
	: >"$file"
	udevadm monitor --udev --property --subsystem-match="$subsys" >"$file" 2>&1 &
	_UDEV_MON_PID=$!
	on_exit udev_monitor_stop
	# It prints a banner once it listens.
	wait_for 5 grep -q 'UDEV' "$file" || fail "udevadm monitor did not start"
}

udev_monitor_stop() {
	[ -n "$_UDEV_MON_PID" ] || return 0
	kill "$_UDEV_MON_PID" 2>/dev/null || true
	wait "$_UDEV_MON_PID" 2>/dev/null || true
	_UDEV_MON_PID=
}

# ------------------------------------------------------------------ stafd

# stafd_available: whether the staged build put a stafd into the guest.
stafd_available() {
	command -v stafd >/dev/null || return 1
	systemctl cat stafd.service >/dev/null 2>&1
}

# stafd_require: skip the scenario when there is no staged stafd.
stafd_require() {
	stafd_available || skip "no stafd in the guest (run vm-run with --stage or --builddir)"
}

# stafd_install_conf FILE: install FILE as /etc/stas/stafd.conf
# (a here-document works: stafd_install_conf /dev/stdin <<EOF … EOF).
stafd_install_conf() {
	mkdir -p /etc/stas
	cat "$1" >/etc/stas/stafd.conf
}

# stafd_install_sys_conf FILE: install FILE as /etc/stas/sys.conf.
stafd_install_sys_conf() {
	mkdir -p /etc/stas
	cat "$1" >/etc/stas/sys.conf
}

# stafd_start: start the unit (Type=notify: returns once stafd is ready);
# its journal is saved to the results at exit.
stafd_start() {
	on_exit stafd_save_journal
	systemctl start stafd.service || {
		journalctl -b -u stafd.service --no-pager | tail -n 30 >&2
		fail "stafd.service did not start"
	}
}

stafd_stop() {
	systemctl stop stafd.service
}

# stafd_reload: SIGHUP through the unit's ExecReload.
stafd_reload() {
	systemctl reload stafd.service
}

# stafd_journal: stafd's log lines of this boot.
stafd_journal() {
	journalctl -b -u stafd.service --no-pager -o cat
}

stafd_save_journal() {
	[ -n "${STAFD_VM_RESULTS:-}" ] || return 0
	journalctl -b -u stafd.service --no-pager -o short-monotonic \
		>"$STAFD_VM_RESULTS/stafd.journal.txt" 2>&1 || true
}

# staf_busctl ARGS…: busctl against stafd's object, e.g.
#   staf_busctl call org.nvmexpress.staf list_controllers b false
staf_busctl() {
	local verb=$1
	shift
	busctl --system "$verb" org.nvmexpress.staf /org/nvmexpress/staf "$@"
}

# ------------------------------------------------------------------ stafd DC views
# (small helpers shared by the engine scenarios; each costs a busctl/stafctl
# and a python3 start, so poll them at a modest pace)

STAFD_DISC_NQN=nqn.2014-08.org.nvmexpress.discovery

# stafd_dlp_subnqns TRSVCID [TRADDR]: the subnqns stafd serves for the tcp
# DC at TRADDR (default 127.0.0.1):TRSVCID, sorted, one a line (nothing for
# an unknown DC).
stafd_dlp_subnqns() {
	busctl --system --json=short call org.nvmexpress.staf /org/nvmexpress/staf \
		org.nvmexpress.staf get_log_pages sssssss tcp "${2:-127.0.0.1}" "$1" \
		"$STAFD_DISC_NQN" "" "" "" |
		python3 -c 'import json,sys; print("\n".join(sorted(e["subnqn"] for e in json.load(sys.stdin)["data"][0])))'
}

# stafd_dc_field TRSVCID KEY: one value of `stafctl --json ls -d` for the DC
# with that trsvcid (empty if there is none).
stafd_dc_field() {
	stafctl --json ls -d |
		python3 -c 'import json,sys; l=[c for c in json.load(sys.stdin) if c["trsvcid"]==sys.argv[1]]; print(l[0].get(sys.argv[2], "") if l else "")' "$1" "$2"
}

# nvme_ctrl_count TRADDR TRSVCID: how many kernel controllers have that
# traddr and trsvcid in their address (any state).
nvme_ctrl_count() {
	local c addr n=0
	for c in /sys/class/nvme/nvme*; do
		addr=$(cat "$c/address" 2>/dev/null) || continue
		case ",$addr," in *",traddr=$1,"*) ;; *) continue ;; esac
		case ",$addr," in *",trsvcid=$2,"*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

# stafd_journal_count PATTERN: lines of stafd's journal (this boot) matching
# the ERE PATTERN.
stafd_journal_count() {
	stafd_journal | grep -cE -- "$1" || true
}
