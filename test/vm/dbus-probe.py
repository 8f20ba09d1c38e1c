#!/usr/bin/env python3
# Latency probe for stafd on the system bus, with ONE connection kept open
# (a busctl per call would measure exec under TCG, not stafd): calls
# list_controllers(false) every PERIOD s until STOPFILE exists, each after
# a control call to dbus-daemon itself (GetId: the bus and the VM's own
# hiccups); writes "worst_ms errors worst_control_ms" to OUT and
# "uptime ms (control ms)" lines for calls slower than 500 ms to OUT.slow.
# Plain D-Bus wire protocol: no binding needed.
# Usage: dbus-probe.py OUT STOPFILE [PERIOD]
import os
import socket
import struct
import sys
import time

out, stopfile = sys.argv[1], sys.argv[2]
period = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2


def pad(b, n):
    return b + b'\0' * (-len(b) % n)


def s_str(v):
    e = v.encode()
    return struct.pack('<I', len(e)) + e + b'\0'


def s_sig(v):
    return bytes([len(v)]) + v.encode() + b'\0'


def message(serial, path, iface, member, dest, sig='', body=b''):
    fields = b''
    for code, t, val in ((1, 'o', path), (2, 's', iface), (3, 's', member), (6, 's', dest), (8, 'g', sig)):
        if t == 'g' and not val:
            continue
        fields = pad(fields, 8) + bytes([code]) + s_sig(t)
        if t == 'g':
            fields += s_sig(val)
        else:
            fields = pad(fields, 4) + s_str(val)
    head = struct.pack('<cBBBIII', b'l', 1, 0, 1, len(body), serial, len(fields)) + fields
    return pad(head, 8) + body


class Bus:
    def __init__(self, path='/run/dbus/system_bus_socket'):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.s.sendall(b'\0AUTH EXTERNAL ' + str(os.getuid()).encode().hex().encode() + b'\r\n')
        line = b''
        while not line.endswith(b'\r\n'):
            line += self.s.recv(1)
        if not line.startswith(b'OK'):
            raise RuntimeError(line)
        self.s.sendall(b'BEGIN\r\n')
        self.buf = b''
        self.serial = 0
        self.call('/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello', 'org.freedesktop.DBus')

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError('bus closed')
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def read_message(self):
        fixed = self.recv_exact(16)
        _, mtype, _, _, blen, _, flen = struct.unpack('<cBBBIII', fixed)
        fields = self.recv_exact(flen + (-(16 + flen) % 8))[:flen]
        self.recv_exact(blen)
        reply_serial = None
        i = 0
        while i < len(fields):
            i += -i % 8
            code = fields[i]
            slen = fields[i + 1]
            sig = fields[i + 2:i + 2 + slen].decode()
            i += 3 + slen
            if sig == 'u':
                i += -i % 4
                v = struct.unpack_from('<I', fields, i)[0]
                i += 4
                if code == 5:
                    reply_serial = v
            elif sig in ('s', 'o'):
                i += -i % 4
                n = struct.unpack_from('<I', fields, i)[0]
                i += 4 + n + 1
            elif sig == 'g':
                n = fields[i]
                i += 1 + n + 1
            else:
                break
        return mtype, reply_serial

    def call(self, path, iface, member, dest, sig='', body=b''):
        self.serial += 1
        self.s.sendall(message(self.serial, path, iface, member, dest, sig, body))
        while True:
            mtype, rs = self.read_message()
            if rs == self.serial and mtype in (2, 3):
                return mtype


def uptime():
    with open('/proc/uptime') as f:
        return f.read().split()[0]


bus = Bus()
worst = worst_ctl = 0.0
errors = 0
with open(out + '.slow', 'a') as slow:
    while not os.path.exists(stopfile):
        # The control: dbus-daemon's own GetId, same connection, same bus.
        t0 = time.monotonic()
        bus.call('/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', 'org.freedesktop.DBus')
        ctl = (time.monotonic() - t0) * 1000
        t0 = time.monotonic()
        up = uptime()
        r = bus.call('/org/nvmexpress/staf', 'org.nvmexpress.staf', 'list_controllers', 'org.nvmexpress.staf',
                     'b', struct.pack('<I', 0))
        dt = (time.monotonic() - t0) * 1000
        if r != 2:
            errors += 1
        if dt > 500 or ctl > 500:
            slow.write('%s %.0f ms (control %.0f ms)\n' % (up, dt, ctl))
            slow.flush()
        worst = max(worst, dt)
        worst_ctl = max(worst_ctl, ctl)
        with open(out + '.tmp', 'w') as f:
            f.write('%d %d %d\n' % (round(worst), errors, round(worst_ctl)))
        os.replace(out + '.tmp', out)
        time.sleep(period)
