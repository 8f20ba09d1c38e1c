#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A D-Bus client that misbehaves: it sends N method calls to stafd and
never reads a single reply, so its queue in dbus-daemon fills up.
Usage: flood.py SOCKET N [MEMBER [PAUSE_MS]].  Prints 'sent N' once every call is
written, then sleeps until killed.  Raw protocol (no D-Bus library) so
nothing reads the socket behind our back."""

import os
import socket
import struct
import sys
import time


def pad(buf, n):
    return buf + b'\0' * (-len(buf) % n)


def string(buf, s):
    b = s.encode()
    buf = pad(buf, 4)
    return buf + struct.pack('<I', len(b)) + b + b'\0'


def field(buf, code, sig, value):
    buf = pad(buf, 8)
    buf += struct.pack('<B', code) + struct.pack('<B', len(sig)) + sig.encode() + b'\0'
    if sig in ('s', 'o'):
        return string(buf, value)
    b = value.encode()   # 'g'
    return buf + struct.pack('<B', len(b)) + b + b'\0'


def method_call(serial, dest, path, iface, member, sig='', body=b''):
    # Header fields are laid out as if the array started at offset 16.
    start = b'\0' * 16
    fields = field(start, 1, 'o', path)
    if iface:
        fields = field(fields, 2, 's', iface)
    fields = field(fields, 3, 's', member)
    if dest:
        fields = field(fields, 6, 's', dest)
    if sig:
        fields = field(fields, 8, 'g', sig)
    fields = fields[16:]
    head = struct.pack('<cBBBII', b'l', 1, 0, 1, len(body), serial) + struct.pack('<I', len(fields)) + fields
    return pad(head, 8) + body


def main():
    sock_path, n = sys.argv[1], int(sys.argv[2])
    member = sys.argv[3] if len(sys.argv) > 3 else 'list_controllers'
    pause = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(b'\0AUTH EXTERNAL ' + str(os.geteuid()).encode().hex().encode() + b'\r\n')
    line = b''
    while not line.endswith(b'\r\n'):
        line += s.recv(1)
    if not line.startswith(b'OK'):
        sys.exit('auth failed: %r' % line)
    s.sendall(b'BEGIN\r\n')
    s.sendall(method_call(1, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello'))
    body = struct.pack('<I', 0)  # detailed = false
    sig = 'b' if member in ('list_controllers', 'get_all_log_pages') else ''
    if not sig:
        body = b''
    for i in range(n):
        s.sendall(method_call(i + 2, 'org.nvmexpress.staf', '/org/nvmexpress/staf',
                              'org.nvmexpress.staf' if sig else 'org.nvmexpress.staf.debug', member, sig, body))
        if pause:
            time.sleep(pause)
    print('sent', n, flush=True)
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
