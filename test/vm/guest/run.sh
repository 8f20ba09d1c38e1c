#!/bin/bash
# Runs in the guest as the stafd-vm-scenario.service: run the scenario with
# lib.sh sourced, record its output, exit status and the journal in the
# results share, then let the unit's SuccessAction power the VM off.
set -uo pipefail
# Exported: scenarios see STAFD_VM_STAGE, STAFD_VM_SCENARIO, … too.
set -a
# shellcheck source=/dev/null
. /stafd-vm/vm.conf
set +a
# shellcheck source=/dev/null
. /stafd-vm/args.bash # STAFD_VM_ARGS=(…)

R=/stafd-vm
echo "stafd-vm: scenario starting at $(cut -d' ' -f1 /proc/uptime)s after boot" | tee "$R/timing"

cd "$STAFD_VM_WORKDIR" 2>/dev/null || cd /
export STAFD_VM_RESULTS=$R STAFD_VM_LIB=$STAFD_VM_HARNESS/lib.sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# The host also enforces a (larger) timeout; this one leaves time to save the
# journal when a scenario hangs.
rc=0
BASH_ENV=$STAFD_VM_LIB timeout --kill-after=5 "${STAFD_VM_GUEST_TIMEOUT:-240}" \
	/bin/bash "$STAFD_VM_SCENARIO" "${STAFD_VM_ARGS[@]}" >"$R/scenario.log" 2>&1 || rc=$?
if [ "$rc" = 124 ]; then
	echo "stafd-vm: scenario timed out after ${STAFD_VM_GUEST_TIMEOUT:-240}s (in the guest)" >>"$R/scenario.log"
fi

echo "stafd-vm: scenario exited $rc at $(cut -d' ' -f1 /proc/uptime)s after boot" | tee -a "$R/timing"
journalctl -b --no-pager -o short-monotonic >"$R/journal.txt" 2>&1 || true
echo "$rc" >"$R/exit-code"
sync
exit 0
