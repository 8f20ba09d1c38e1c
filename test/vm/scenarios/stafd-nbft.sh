#!/bin/bash
# A discovery controller named by the firmware's NVMe Boot Firmware Table:
# QEMU hands the guest an NBFT (built by test/nbft-build.py) whose HFI has
# the MAC of a dummy interface made here, and whose DC is an nvmet port on
# that interface's address.  The table's host NQN and ID are "configured"
# and differ from the system's.
#  A. stafd with no controller= line finds the DC in the NBFT, connects on
#     the HFI's interface with the table's host NQN and ID, caches the log
#     page, and says where the DC came from (origin configured, key nbft);
#  B. the DC is already connected (as the initramfs would have left it,
#     here with nvme-cli): stafd adopts it, never a second connection.
#
# vm-acpitable: ../../nbft-build.py -o "$ACPITABLE" --hostnqn nqn.2014-08.org.nvmexpress:uuid:4e424654-5354-4146-8000-000000000001 --hostid 4e424654-5354-4146-8000-000000000001 --mac 52:54:00:4e:42:01 --uri nvme+tcp://10.77.0.1:8009/

TABLE=/sys/firmware/acpi/tables/NBFT
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:4e424654-5354-4146-8000-000000000001
HOSTID=4e424654-5354-4146-8000-000000000001
MAC=52:54:00:4e:42:01
IFACE=nbft0
ADDR=10.77.0.1
SUB=nqn.2024-01.io.example.stafd-vm:nbft-boot
CACHE=/run/stafd/last-known-config.json

stafd_require
[ -r "$TABLE" ] || fail "no $TABLE in the guest (tables: $(ls /sys/firmware/acpi/tables 2>&1 | tr '\n' ' '))"
log "$TABLE: $(stat -c %s "$TABLE") bytes"

# The HFI: an interface with the table's MAC, and the DC on its address.
ip link add "$IFACE" type dummy
on_exit ip link del "$IFACE"
ip link set dev "$IFACE" address "$MAC"
ip addr add "$ADDR/24" dev "$IFACE"
ip link set dev "$IFACE" up

nvmet_setup
on_exit nvmet_cleanup
nvmet_subsys "$SUB"
nvmet_port 1 "$ADDR" 8009
nvmet_link 1 "$SUB"

stafd_install_conf /dev/stdin <<CONF
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=disabled
CONF

# The subnqns stafd serves for the NBFT DC (its host-nqn is the table's).
nbft_subnqns() {
	busctl --system --json=short call org.nvmexpress.staf /org/nvmexpress/staf \
		org.nvmexpress.staf get_log_pages sssssss tcp "$ADDR" 8009 "$STAFD_DISC_NQN" "" "$IFACE" "$HOSTNQN" |
		python3 -c 'import json,sys; print("\n".join(sorted(e["subnqn"] for e in json.load(sys.stdin)["data"][0])))'
}
has_sub() { nbft_subnqns | grep -qx "$SUB"; }
ctrl_info() { # KEY
	busctl --system --json=short call org.nvmexpress.staf /org/nvmexpress/staf \
		org.nvmexpress.staf.debug controller_info sssssss tcp "$ADDR" 8009 "$STAFD_DISC_NQN" "" "$IFACE" "$HOSTNQN" |
		python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["data"][0]).get(sys.argv[1], ""))' "$1"
}

# ---------------------------------------------------------------- A
log "A: stafd finds the NBFT DC"
stafd_start
wait_for 40 has_sub || { stafctl ls -d || true; fail "A: stafd did not connect to and cache the NBFT DC"; }
assert_contains "$(stafd_journal)" "$TABLE: discovery controller (tcp, $ADDR, 8009, $STAFD_DISC_NQN, $IFACE)" \
	"A: stafd's start-up log"
dev=$(nvme_ctrl_find "$ADDR" 8009)
[ -n "$dev" ] || fail "A: no kernel controller to $ADDR:8009"
assert_eq 1 "$(nvme_ctrl_count "$ADDR" 8009)" "A: kernel controllers to $ADDR:8009"
assert_eq "$HOSTNQN" "$(nvme_ctrl_attr "$dev" hostnqn)" "A: $dev hostnqn (the table's)"
assert_eq "$HOSTID" "$(nvme_ctrl_attr "$dev" hostid)" "A: $dev hostid (the table's)"
address=$(nvme_ctrl_attr "$dev" address)
log "A: $dev address: $address"
case ",$address," in
*,host_iface=*) assert_contains ",$address," ",host_iface=$IFACE," "A: $dev connected on the HFI's interface" ;;
*) log "A: this kernel does not show host_iface in the address" ;;
esac
assert_eq "$dev" "$(ctrl_info device)" "A: controller_info device"
assert_eq configured "$(ctrl_info origin)" "A: origin"
assert_eq "$TABLE" "$(ctrl_info nbft)" "A: nbft key"
assert_eq "$IFACE" "$(ctrl_info host-iface)" "A: host-iface"
wait_for 10 grep -q "$SUB" "$CACHE" || fail "A: $SUB not in $CACHE"

# ---------------------------------------------------------------- B
log "B: the controller exists before stafd starts: adopted"
stafd_stop
# Persistent connections: stafd left it connected.
assert_eq "$dev" "$(nvme_ctrl_find "$ADDR" 8009)" "B: $dev after stafd stopped"
# Make it a controller stafd never saw: as the initramfs would, with nvme-cli.
nvme disconnect -d "$dev" >/dev/null
wait_for 10 test -z "$(nvme_ctrl_find "$ADDR" 8009)" || fail "B: $dev did not go away"
nvme connect -t tcp -a "$ADDR" -s 8009 -n "$STAFD_DISC_NQN" --hostnqn="$HOSTNQN" --hostid="$HOSTID" \
	--host-iface="$IFACE" >/dev/null || fail "B: nvme connect failed"
wait_for 10 test -n "$(nvme_ctrl_find "$ADDR" 8009)" || fail "B: nvme-cli did not connect"
dev=$(nvme_ctrl_find "$ADDR" 8009)
log "B: nvme-cli connected $dev"
# A log page change while stafd is away: seen only by a fetch on the adopted controller.
nvmet_subsys "$SUB-2"
nvmet_link 1 "$SUB-2"
stafd_start
has_sub2() { nbft_subnqns | grep -qx "$SUB-2"; }
wait_for 40 has_sub2 || fail "B: stafd did not fetch from the adopted controller"
assert_eq 1 "$(stafd_journal_count 'Adopted the existing kernel controller')" "B: adoptions logged"
assert_eq 1 "$(nvme_ctrl_count "$ADDR" 8009)" "B: kernel controllers to $ADDR:8009"
assert_eq "$dev" "$(ctrl_info device)" "B: stafd uses nvme-cli's $dev"
log "B: $dev adopted, no duplicate"
