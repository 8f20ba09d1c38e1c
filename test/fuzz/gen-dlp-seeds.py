#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write seed discovery log pages for fuzz-dlp into corpus/fuzz-dlp/."""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'fuzz-dlp')


def header(genctr, numrec):
    return struct.pack('<QQH', genctr, numrec, 0).ljust(1024, b'\0')


def entry(trtype, adrfam, subtype, treq, portid, cntlid, asqsz, eflags, trsvcid, subnqn, traddr, tsas=b''):
    e = struct.pack('<BBBBHHHH', trtype, adrfam, subtype, treq, portid, cntlid, asqsz, eflags).ljust(32, b'\0')
    e += trsvcid[:32].ljust(32, b'\0')
    e = e.ljust(256, b'\0')
    e += subnqn[:256].ljust(256, b'\0')
    e += traddr[:256].ljust(256, b'\0')
    e += tsas[:256].ljust(256, b'\0')
    assert len(e) == 1024
    return e


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    nqn = b'nqn.1988-11.com.dell:SFSS:2:20220208134025e8'
    disc = b'nqn.2014-08.org.nvmexpress.discovery'
    tcp = entry(3, 1, 2, 0, 1, 0xffff, 32, 0, b'4420', nqn, b'192.168.1.20')
    ref = entry(3, 2, 1, 2, 2, 0xffff, 128, 3, b'8009', disc, b'fe80::1', b'\x02')
    rdma = entry(1, 1, 2, 1, 3, 1, 32, 0, b'4420', nqn, b'10.0.0.1', b'\x01\x04\x01\0\0\0\0\0\x34\x12')
    fc = entry(2, 4, 2, 4, 4, 2, 32, 0, b'', nqn, b'nn-0x20000090fa942779:pn-0x10000090fa942779')
    void = entry(3, 1, 2, 0, 1, 1, 32, 0, b'4420', nqn, b'0.0.0.0')
    full = entry(3, 1, 2, 0, 1, 1, 32, 0, b'x' * 32, b'n' * 256, b'a' * 256, b'\xff' * 256)
    write('normal', header(1, 4) + tcp + ref + rdma + fc)
    write('header-only', header(7, 0))
    write('short', header(2, 3) + tcp + ref[:100])
    write('hostile-numrec', header(3, 1 << 63) + tcp)
    write('void-and-full', header(4, 2) + void + full)
    write('fetch-fail', header(5, 1)[:16] + b'\x81' + header(5, 1)[17:] + tcp)
    write('fetch-genctr', header(6, 1)[:16] + b'\x20' + header(6, 1)[17:] + ref)
    return 0


if __name__ == '__main__':
    sys.exit(main())
