#!/bin/bash
# Runs in the guest, chrooted into the new (overlay) root, before systemd
# starts: hide the container markers, mask what interferes, install the test
# units and copy the staged install of our build into the root.
# Everything written here lands in the tmpfs upper layer, never on the host.
set -euo pipefail
# shellcheck source=/dev/null
. /stafd-vm/vm.conf

echo "prepare: start"

# systemd treats a root with these as a container and then ignores
# systemd.unit= (and much more).
rm -f /.dockerenv /run/.containerenv /.containerenv

mask() {
	local dir=$1
	shift
	mkdir -p "$dir"
	for u in "$@"; do
		ln -sfn /dev/null "$dir/$u"
	done
}
# Not wanted in a 30 s test VM, or actively interfering: nvme-cli's
# autoconnect would connect to every discovery controller we create.
mask /etc/systemd/system \
	getty@.service serial-getty@.service getty.target \
	systemd-timesyncd.service \
	nvmf-autoconnect.service nvmefc-boot-connections.service \
	apt-daily.timer apt-daily-upgrade.timer man-db.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
	postgresql.service packagekit.service systemd-pstore.service
mask /etc/udev/rules.d 70-nvmf-autoconnect.rules
# Debian's tmp.conf has "D /tmp", which would empty /tmp (the host's /tmp,
# seen through the overlay) at boot: scenarios and builds may live there.
mask /etc/tmpfiles.d tmp.conf

# A fresh machine: no stale nvme host identity is required, but nvme-cli
# wants one; keep the host's if present, else make one up.
if [ ! -s /etc/nvme/hostnqn ] && command -v nvme >/dev/null; then
	mkdir -p /etc/nvme
	nvme gen-hostnqn >/etc/nvme/hostnqn 2>/dev/null || true
fi
if [ ! -s /etc/nvme/hostid ] && [ -r /proc/sys/kernel/random/uuid ]; then
	mkdir -p /etc/nvme
	cat /proc/sys/kernel/random/uuid >/etc/nvme/hostid 2>/dev/null || true
fi

# The test target and the scenario service.
cat >/etc/systemd/system/stafd-vm.target <<UNIT
[Unit]
Description=stafd VM test
Requires=basic.target
Wants=stafd-vm-scenario.service dbus.service systemd-udevd.service systemd-udev-trigger.service avahi-daemon.service systemd-logind.service
After=basic.target
AllowIsolate=yes
UNIT

cat >/etc/systemd/system/stafd-vm-scenario.service <<UNIT
[Unit]
Description=stafd VM test scenario
After=basic.target dbus.service systemd-udevd.service systemd-udev-trigger.service avahi-daemon.service systemd-logind.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
# Not oneshot: the scenario may wait for the boot to finish
# (systemctl is-system-running --wait), which would then never happen.
Type=exec
ExecStart=/bin/bash $STAFD_VM_HARNESS/guest/run.sh
StandardOutput=journal+console
StandardError=journal+console
UNIT

# Staged install (DESTDIR=… meson install). Copied file by file so that the
# root's own symlinked directories (/lib -> usr/lib, …) stay symlinks.
if [ -n "${STAFD_VM_STAGE:-}" ]; then
	[ -d "$STAFD_VM_STAGE" ] || { echo "prepare: no stage dir $STAFD_VM_STAGE"; exit 1; }
	cd "$STAFD_VM_STAGE"
	n=0
	while IFS= read -r -d '' f; do
		f=${f#./}
		mkdir -p "/$(dirname "$f")"
		rm -f "/$f"
		cp -a "$f" "/$f"
		echo "prepare: staged /$f"
		n=$((n + 1))
	done < <(find . ! -type d -print0)
	echo "prepare: staged $n files from $STAFD_VM_STAGE"
	cd /
fi

echo "prepare: done"
