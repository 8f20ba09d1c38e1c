#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write an NVMe Boot Firmware Table (ACPI "NBFT") for tests.

Same layout as test/unit/nbft-build.h: header (64) | control (64) | host (32)
| HFI list | discovery list | heap (one 128-byte TCP info record per HFI, then
the strings); little-endian; the checksum makes the byte sum 0.

  nbft-build.py -o TABLE --hostnqn NQN [--hostid UUID] [--host-flags N]
                --mac 52:54:00:12:34:56 [--mac ...]
                --uri nvme+tcp://10.0.0.1:8009/ [--nqn NQN] [--hfi N] [--uri ...]

Each --mac adds an HFI (index 1, 2, ...); each --uri adds a discovery
descriptor, and the --nqn/--hfi that follow it apply to it (default: no NQN,
i.e. the well-known discovery NQN, and HFI 1).

  nbft-build.py --seeds DIR   writes fuzzing seeds (good and broken tables)
"""

import argparse
import os
import struct
import sys
import uuid


def checksum(table):
    table[9] = 0
    table[9] = (0x100 - sum(table) % 0x100) % 0x100


def build(hostnqn, hostid, macs, dcs, host_flags=0x7, hfi_elen=32, disc_elen=32):
    """dcs: list of dicts {uri, nqn (or None), hfi}. Returns a bytearray."""
    host_off = 128
    hfi_off = host_off + 32
    disc_off = hfi_off + hfi_elen * len(macs)
    heap_off = disc_off + disc_elen * len(dcs)
    heap = bytearray()

    def put(data):
        off = heap_off + len(heap)
        heap.extend(data)
        return off, len(data)

    hfis = bytearray()
    for i, mac in enumerate(macs):
        ti = bytearray(128)
        ti[0:4] = bytes([7, 1, 3, 1])
        struct.pack_into("<HB", ti, 4, i + 1, 1)
        ti[11:17] = mac
        off, length = put(ti)
        h = bytearray(hfi_elen)
        h[0:4] = bytes([3, i + 1, 1, 3])
        struct.pack_into("<IH", h, 16, off, length)
        hfis.extend(h)

    discs = bytearray()
    for i, dc in enumerate(dcs):
        d = bytearray(disc_elen)
        d[0:4] = bytes([6, 1, i + 1, dc.get("hfi", 1)])
        off, length = put(dc["uri"].encode())
        struct.pack_into("<IH", d, 6, off, length)
        if dc.get("nqn"):
            off, length = put(dc["nqn"].encode())
            struct.pack_into("<IH", d, 12, off, length)
        discs.extend(d)

    host = bytearray(32)
    host[0] = 2
    host[1] = host_flags
    host[2:18] = hostid.bytes if hostid else bytes(16)
    if hostnqn:
        off, length = put(hostnqn.encode())
        struct.pack_into("<IH", host, 18, off, length)

    control = bytearray(64)
    control[0:3] = bytes([1, 1, 0])
    struct.pack_into("<HB", control, 4, 64, 1)
    struct.pack_into("<IHB", control, 8, host_off, 32, 1)
    if macs:
        struct.pack_into("<IHBB", control, 16, hfi_off, hfi_elen, 1, len(macs))
    if dcs:
        struct.pack_into("<IHBB", control, 40, disc_off, disc_elen, 1, len(dcs))

    total = heap_off + len(heap)
    header = bytearray(64)
    header[0:4] = b"NBFT"
    struct.pack_into("<IBB6s8s", header, 4, total, 1, 0, b"STAFD ", b"NBFTTEST")
    struct.pack_into("<II", header, 36, heap_off, len(heap))

    table = header + control + host + hfis + discs + heap
    assert len(table) == total
    checksum(table)
    return table


def parse_mac(s):
    parts = s.split(":")
    if len(parts) != 6:
        raise ValueError(f"bad MAC address {s!r}")
    return bytes(int(p, 16) for p in parts)


def write_seeds(directory):
    os.makedirs(directory, exist_ok=True)
    nqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
    hid = uuid.UUID("11111111-2222-3333-4444-555555555555")
    macs = [parse_mac("52:54:00:12:34:56"), parse_mac("52:54:00:12:34:57")]
    seeds = {
        "one": build(nqn, hid, macs[:1], [{"uri": "nvme+tcp://192.168.100.1:8009/"}]),
        "several": build(nqn, hid, macs, [
            {"uri": "nvme+tcp://10.0.0.1/", "nqn": "nqn.1988-11.com.example:dc"},
            {"uri": "nvme+tcp://[fe80::1%25eth0]:4420", "hfi": 2},
            {"uri": "nvme+tcp://dc.example.com:8010/", "hfi": 3},
        ]),
        "large-elements": build(nqn, None, macs, [
            {"uri": "nvme+tcp://10.0.0.1:8009/"}, {"uri": "nvme+tcp://10.0.0.2/", "hfi": 2}],
            host_flags=0x1, hfi_elen=48, disc_elen=64),
        "empty": build(None, None, [], []),
    }
    bad = build(nqn, hid, macs[:1], [{"uri": "nvme+tcp://192.168.100.1:8009/"}])
    bad[100] ^= 0xFF   # checksum
    seeds["bad-checksum"] = bad
    bad = build(nqn, hid, macs[:1], [{"uri": "nvme+tcp://192.168.100.1:8009/"}])
    struct.pack_into("<I", bad, 64 + 40, len(bad) - 8)   # discovery list past the end
    checksum(bad)
    seeds["bad-list"] = bad
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output")
    p.add_argument("--hostnqn")
    p.add_argument("--hostid", type=uuid.UUID)
    p.add_argument("--host-flags", type=lambda s: int(s, 0), default=0x7,
                   help="host descriptor flags (default 0x7: valid, host ID and NQN configured)")
    p.add_argument("--mac", action="append", type=parse_mac, default=[])
    p.add_argument("--seeds", metavar="DIR")
    # --uri/--nqn/--hfi are order-dependent: handled below.
    args, rest = p.parse_known_args()

    if args.seeds:
        write_seeds(args.seeds)
        return 0

    dcs = []
    it = iter(rest)
    for a in it:
        key, _, val = a.partition("=")
        if not val:
            val = next(it, None)
            if val is None:
                p.error(f"{key} needs a value")
        if key == "--uri":
            dcs.append({"uri": val, "nqn": None, "hfi": 1})
        elif key in ("--nqn", "--hfi"):
            if not dcs:
                p.error(f"{key} must follow a --uri")
            dcs[-1][key[2:]] = int(val) if key == "--hfi" else val
        else:
            p.error(f"unknown argument {a}")
    if not args.output:
        p.error("-o/--output is required")
    if not args.mac:
        p.error("at least one --mac is required")

    table = build(args.hostnqn, args.hostid, args.mac, dcs, host_flags=args.host_flags)
    with open(args.output, "wb") as f:
        f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
