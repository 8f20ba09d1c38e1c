#!/bin/bash
# Smoke test of the VM harness itself: the guest's systemd, system bus and
# udev work, and the real kernel's NVMe/TCP host and target (nvmet) talk to
# each other over loopback, including discovery log change AENs.
# Needs no stafd (checks the staged install only when there is one).

NQN_A=nqn.2024-01.io.example.stafd-vm:smoke-a
NQN_B=nqn.2024-01.io.example.stafd-vm:smoke-b
NQN_C=nqn.2024-01.io.example.stafd-vm:smoke-c
DISC_NQN=nqn.2014-08.org.nvmexpress.discovery

log "kernel $(uname -r)"

# -- systemd and the system bus
state=$(systemctl is-system-running --wait || true)
case $state in
running) ;;
degraded) systemctl --failed --no-legend --no-pager || true ;;
*) fail "systemctl is-system-running: $state" ;;
esac
log "system state: $state"

busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus GetId >/dev/null || fail "busctl cannot talk to the system bus"
names=$(busctl --system list --no-legend --no-pager)
assert_contains "$names" org.freedesktop.systemd1 "bus names"
log "system bus answers"

assert_eq active "$(systemctl is-active systemd-udevd.service)" "systemd-udevd"
if systemctl cat avahi-daemon.service >/dev/null 2>&1; then
	assert_eq active "$(systemctl is-active avahi-daemon.service)" "avahi-daemon"
	assert_contains "$names" org.freedesktop.Avahi "bus names"
	log "avahi-daemon is running"
fi

# -- the staged install, when there is one
if [ -n "${STAFD_VM_STAGE:-}" ]; then
	for f in /usr/sbin/stafd /usr/bin/stafctl /etc/stas/stafd.conf; do
		[ -e "$f" ] || fail "staged $f missing in the guest"
	done
	systemctl cat stafd.service >/dev/null || fail "stafd.service not known to systemd"
	log "staged install present"
fi

# -- nvmet target + nvme-tcp host over loopback
nvmet_setup
on_exit nvmet_cleanup
nvmet_subsys "$NQN_A"
nvmet_subsys "$NQN_B"
nvmet_subsys "$NQN_C"
nvmet_port 1 127.0.0.1 8009
nvmet_link 1 "$NQN_A"
nvmet_link 1 "$NQN_B"

out=$(nvme discover -t tcp -a 127.0.0.1 -s 8009) || fail "nvme discover failed"
assert_contains "$out" "$NQN_A" "discovery log"
assert_contains "$out" "$NQN_B" "discovery log"
assert_not_contains "$out" "$NQN_C" "discovery log"
log "nvme discover lists both subsystems"
# A one-shot discover must not leave a controller behind.
assert_eq "" "$(nvme_ctrl_find 127.0.0.1 8009)" "controller after a one-shot discover"

mon=$STAFD_VM_RESULTS/udev-nvme.txt
udev_monitor_start "$mon"

nvme discover -t tcp -a 127.0.0.1 -s 8009 --persistent >/dev/null ||
	fail "nvme discover --persistent failed"
dev=$(nvme_ctrl_find 127.0.0.1 8009 "$DISC_NQN")
[ -n "$dev" ] || fail "no persistent discovery controller in /sys/class/nvme"
on_exit "nvme disconnect -d $dev >/dev/null 2>&1"
[ -c "/dev/$dev" ] || wait_for 5 test -c "/dev/$dev" || fail "/dev/$dev missing"
assert_eq live "$(nvme_ctrl_attr "$dev" state)" "$dev state"
assert_eq "$DISC_NQN" "$(nvme_ctrl_attr "$dev" subsysnqn)" "$dev subsysnqn"
if [ -e "/sys/class/nvme/$dev/cntrltype" ]; then
	assert_eq discovery "$(nvme_ctrl_attr "$dev" cntrltype)" "$dev cntrltype"
fi
log "persistent discovery controller $dev: $(nvme_ctrl_attr "$dev" address)"

# udev knows the device.
udevadm info "/dev/$dev" >/dev/null || fail "udevadm info /dev/$dev"

# A new subsystem on the port changes the discovery log: the target sends
# an AEN, the kernel turns it into a change uevent.
t0=$(awk '{ print $1 }' /proc/uptime)
nvmet_link 1 "$NQN_C"
wait_for 5 grep -q '^NVME_AEN=0x70f002' "$mon" ||
	fail "no change uevent with NVME_AEN=0x70f002; udev saw:"$'\n'"$(cat "$mon")"
t1=$(awk '{ print $1 }' /proc/uptime)
# The whole event (blank-line separated block) carrying the AEN.
ev=$(awk -v RS= '/NVME_AEN=0x70f002/ { print; exit }' "$mon")
assert_contains "$ev" "ACTION=change" "AEN uevent"
assert_contains "$ev" "DEVNAME=/dev/$dev" "AEN uevent"
log "AEN uevent for $dev after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s"

out=$(nvme discover -d "$dev") || fail "nvme discover -d $dev failed"
assert_contains "$out" "$NQN_C" "discovery log after the change"

nvme disconnect -d "$dev" >/dev/null || fail "nvme disconnect -d $dev"
wait_for 5 test ! -e "/sys/class/nvme/$dev" || fail "$dev still there after disconnect"
log "disconnected $dev"

nvmet_cleanup
assert_eq "" "$(ls "$NVMET/ports")" "nvmet ports after clean-up"
log "smoke test passed"
