#!/bin/bash
# The main job, shown: a small NVMe-oF storage fabric on the real kernel's
# nvmet, stafd under systemd finding all of it, and what an administrator
# looks at.  Run by test/vm/demo (the README's first command).
#
#   127.0.0.1:8009  DDC named in stafd.conf (controller=), 2 subsystems,
#                   and a referral to 127.0.0.1:8010
#   127.0.0.1:8010  DC known only through that referral, 1 subsystem
#   127.0.0.1:8011  DC announced over mDNS (avahi, _nvme-disc._tcp), 1 subsystem
stafd_require

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

nvmet_setup
on_exit nvmet_cleanup
nvmet_port 1 127.0.0.1 8009
nvmet_port 2 127.0.0.1 8010
nvmet_port 3 127.0.0.1 8011
nvmet_subsys nqn.2024-01.io.example.demo:volumes-a
nvmet_subsys nqn.2024-01.io.example.demo:volumes-b
nvmet_subsys nqn.2024-01.io.example.demo:archive
nvmet_subsys nqn.2024-01.io.example.demo:scratch
nvmet_link 1 nqn.2024-01.io.example.demo:volumes-a
nvmet_link 1 nqn.2024-01.io.example.demo:volumes-b
nvmet_referral 1 to-archive 127.0.0.1 8010
nvmet_link 2 nqn.2024-01.io.example.demo:archive
nvmet_link 3 nqn.2024-01.io.example.demo:scratch

# mDNS on the guest's loopback: avahi-daemon limited to lo, and the
# announcement of the third DC (TP8009 TXT: p=tcp).
mkdir -p /etc/avahi
cat >/etc/avahi/avahi-daemon.conf <<'AVAHI'
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[publish]
publish-hinfo=no
publish-workstation=no
AVAHI
ip link set lo multicast on
systemctl restart avahi-daemon.service
avahi-publish -s "demo-dc" _nvme-disc._tcp 8011 p=tcp >/dev/null 2>&1 &
on_exit "kill $! 2>/dev/null"

stafd_install_conf /dev/stdin <<'CONF'
[Global]
ip-family=ipv4
[Service Discovery]
zeroconf=enabled
[Controllers]
controller = transport=tcp ; traddr=127.0.0.1 ; trsvcid=8009   # our DDC
CONF

say "systemctl start stafd"
stafd_start
systemctl --no-pager status stafd.service | head -n 5

# Wait for the three DCs to be connected with their log pages cached.
ready() {
	stafctl --json ls -d | /usr/bin/python3 -c '
import json, sys
l = json.load(sys.stdin)
origins = {c["origin"] for c in l if c["connected"] == "True"}
sys.exit(0 if {"configured", "referral", "discovered"} <= origins else 1)'
}
wait_for 45 ready || log "not everything connected in time; showing what there is"

say "stafctl ls -d"
stafctl ls -d
say "stafctl status"
stafctl status
say "stafctl adlp"
stafctl adlp
say "busctl introspect org.nvmexpress.staf /org/nvmexpress/staf"
busctl --system introspect org.nvmexpress.staf /org/nvmexpress/staf
say "journalctl -u stafd"
stafd_journal
ready || fail "the demo fabric was not fully discovered"
