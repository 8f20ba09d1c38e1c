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
        self.last_error = None
        self.call('/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello', 'org.freedesktop.DBus')
        self.unique_name = self.body[4:4 + struct.unpack_from('<I', self.body)[0]].decode()

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError('bus closed')
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def read_message(self):
        """(type, serial, {field code: value}) of the next message."""
        fixed = self.recv_exact(16)
        _, mtype, _, _, blen, serial, flen = struct.unpack('<cBBBIII', fixed)
        fields = self.recv_exact(flen + (-(16 + flen) % 8))[:flen]
        self.body = self.recv_exact(blen)
        values = {}
        i = 0
        while i < len(fields):
            i += -i % 8
            code = fields[i]
            slen = fields[i + 1]
            sig = fields[i + 2:i + 2 + slen].decode()
            i += 3 + slen
            if sig == 'u':
                i += -i % 4
                values[code] = struct.unpack_from('<I', fields, i)[0]
                i += 4
            elif sig in ('s', 'o'):
                i += -i % 4
                n = struct.unpack_from('<I', fields, i)[0]
                values[code] = fields[i + 4:i + 4 + n].decode(errors='replace')
                i += 4 + n + 1
            elif sig == 'g':
                n = fields[i]
                values[code] = fields[i + 1:i + 1 + n].decode()
                i += 1 + n + 1
            else:
                break
        return mtype, serial, values

    def answer(self, serial, values):
        """Answer a method call to us the way every D-Bus library does:
        Peer.Ping with an empty return (stafd pings clients it sends a lot
        to, and treats one that never answers as deaf), others with an error."""
        self.serial += 1
        dest = values.get(7, '')
        ping = values.get(2) == 'org.freedesktop.DBus.Peer' and values.get(3) == 'Ping'
        # REPLY_SERIAL (u), DESTINATION (s), and for an error ERROR_NAME (s)
        fields = bytes([5]) + s_sig('u') + struct.pack('<I', serial)
        fields = pad(fields, 8) + bytes([6]) + s_sig('s')
        fields = pad(fields, 4) + s_str(dest)
        if not ping:
            fields = pad(fields, 8) + bytes([4]) + s_sig('s')
            fields = pad(fields, 4) + s_str('org.freedesktop.DBus.Error.UnknownMethod')
        head = struct.pack('<cBBBIII', b'l', 2 if ping else 3, 1, 1, 0, self.serial, len(fields)) + fields
        self.s.sendall(pad(head, 8))

    def call(self, path, iface, member, dest, sig='', body=b''):
        self.serial += 1
        mine = self.serial
        self.s.sendall(message(mine, path, iface, member, dest, sig, body))
        while True:
            mtype, serial, values = self.read_message()
            if mtype == 1:
                self.answer(serial, values)
            elif values.get(5) == mine and mtype in (2, 3):
                if mtype == 3:
                    self.last_error = values.get(4, '?')
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
            with open(out + '.err', 'a') as e:
                e.write('%s %s\n' % (up, bus.last_error))
        if dt > 500 or ctl > 500:
            slow.write('%s %.0f ms (control %.0f ms)\n' % (up, dt, ctl))
            slow.flush()
        worst = max(worst, dt)
        worst_ctl = max(worst_ctl, ctl)
        with open(out + '.tmp', 'w') as f:
            f.write('%d %d %d\n' % (round(worst), errors, round(worst_ctl)))
        os.replace(out + '.tmp', out)
        time.sleep(period)
