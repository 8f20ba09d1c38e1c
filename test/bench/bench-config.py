#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scale of the configuration and of the cache (issue 12, "Proof").

Runs the real stafd natively on a private dbus-daemon (test/dbus/harness.py)
and reports:

  * configured DCs (1 000 / 10 000 / 100 000 controller= lines):
    exec -> first answer to org.freedesktop.DBus.Peer.Ping, exec -> first
    list_controllers answer, the longest loop stall of a reload (SIGHUP while
    a client pings in a tight loop: the largest ping latency), and how long
    SIGTERM takes;
  * restoring a cache of 10 000 / 100 000 DCs: exec -> first Ping answer,
    exec -> "Restored" in the log, and the peak RSS (VmHWM).

Every address is 127.0.0.x (loopback; no /dev/nvme-fabrics is needed: a
connect fails at once without it, or is refused on loopback with it).  A
step that does not finish within --timeout seconds is reported as such.

    test/bench/bench-config.py --builddir build [--sizes 1000,10000] [--timeout 120]
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, '..', '..'))

DISC = 'nqn.2014-08.org.nvmexpress.discovery'
HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'


# ---- a minimal D-Bus client: one connection, one call at a time, no library

def _pad(buf, n):
    return buf + b'\0' * ((-len(buf)) % n)


def _string(code, sig, s):
    b = s.encode()
    return bytes([code]) + bytes([1]) + sig.encode() + b'\0', struct.pack('<I', len(b)) + b + b'\0'


class Bus:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.sendall(b'\0AUTH EXTERNAL ' + str(os.getuid()).encode().hex().encode() + b'\r\n')
        line = self._readline()
        if not line.startswith(b'OK'):
            raise RuntimeError('auth: %r' % line)
        self.sock.sendall(b'BEGIN\r\n')
        self.buf = b''
        self.serial = 0
        self.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello')

    def _readline(self):
        out = b''
        while not out.endswith(b'\r\n'):
            c = self.sock.recv(1)
            if not c:
                raise RuntimeError('bus closed')
            out += c
        return out

    def _recv(self, n):
        while len(self.buf) < n:
            c = self.sock.recv(65536)
            if not c:
                raise RuntimeError('bus closed')
            self.buf += c
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def call(self, dest, path, iface, member, arg_bool=None, timeout=None):
        """Returns (ok, seconds)."""
        self.serial += 1
        fields = b''
        for code, sig, val in ((1, 'o', path), (2, 's', iface), (3, 's', member), (6, 's', dest)):
            head, body = _string(code, sig, val)
            fields = _pad(fields, 8) + head + body
        body = b''
        if arg_bool is not None:
            fields = _pad(fields, 8) + bytes([8, 1]) + b'g\0' + bytes([1]) + b'b\0'
            body = struct.pack('<I', 1 if arg_bool else 0)
        msg = struct.pack('<cBBBII', b'l', 1, 0, 1, len(body), self.serial) + struct.pack('<I', len(fields)) + fields
        msg = _pad(msg, 8) + body
        self.sock.settimeout(timeout)
        t0 = time.monotonic()
        self.sock.sendall(msg)
        while True:
            fixed = self._recv(16)
            _, mtype, _, _, blen, _, flen = struct.unpack('<cBBBIII', fixed)
            rest = self._recv(((16 + flen + 7) // 8) * 8 - 16 + blen)
            if mtype in (2, 3):
                return mtype == 2, time.monotonic() - t0

    def close(self):
        self.sock.close()


# ---- stafd under test

class Run:
    def __init__(self, stafd, env, conf, sysconf, log):
        self.logf = open(log, 'w')
        self.log = log
        self.t0 = time.monotonic()
        self.p = __import__('subprocess').Popen([stafd, '-f', conf, '--sys-conf=' + sysconf], env=env,
                                                 stdout=self.logf, stderr=self.logf)

    def read_log(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def vmhwm_kb(self):
        with open('/proc/%d/status' % self.p.pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
        return -1

    def stop(self, timeout):
        t = time.monotonic()
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except Exception:  # noqa: BLE001
                self.p.kill()
                self.p.wait()
                self.logf.close()
                return None
        self.logf.close()
        return time.monotonic() - t


def first_answer(sock, run, deadline, member='Ping'):
    """Seconds from exec to the first successful call, or None."""
    bus = Bus(sock)
    try:
        while time.monotonic() < deadline:
            if run.p.poll() is not None:
                return None
            try:
                if member == 'Ping':
                    ok, _ = bus.call('org.nvmexpress.staf', '/', 'org.freedesktop.DBus.Peer', 'Ping',
                                     timeout=max(0.1, deadline - time.monotonic()))
                else:
                    ok, _ = bus.call('org.nvmexpress.staf', '/org/nvmexpress/staf', 'org.nvmexpress.staf',
                                     'list_controllers', arg_bool=False,
                                     timeout=max(0.1, deadline - time.monotonic()))
            except socket.timeout:
                return None
            if ok:
                return time.monotonic() - run.t0
            time.sleep(0.002)
        return None
    finally:
        bus.close()


class Pinger(threading.Thread):
    """Pings stafd in a tight loop; max_latency is the longest loop stall seen."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.bus = Bus(sock)
        self.stop_flag = False
        self.max_latency = 0.0
        self.count = 0
        self.pending_since = None

    def run(self):
        while not self.stop_flag:
            self.pending_since = time.monotonic()
            try:
                ok, dt = self.bus.call('org.nvmexpress.staf', '/', 'org.freedesktop.DBus.Peer', 'Ping', timeout=600)
            except Exception:  # noqa: BLE001
                break
            self.pending_since = None
            self.count += 1
            self.max_latency = max(self.max_latency, dt)

    def current_max(self):
        p = self.pending_since
        cur = time.monotonic() - p if p else 0.0
        return max(self.max_latency, cur)


def conf_text(n):
    lines = ['[Global]', 'kato=30', '[Discovery controller connection management]', 'max-dcs=1000000',
             '[Controllers]']
    for i in range(n):
        lines.append('controller=transport=tcp;traddr=127.0.0.%d;trsvcid=%d' % (1 + i % 254, 1024 + i // 254))
    return '\n'.join(lines) + '\n'


def cache_doc(n):
    parts = []
    for i in range(n):
        addr, port = '127.0.0.%d' % (1 + i % 254), str(1024 + i // 254)
        parts.append(json.dumps({
            'tid': {'transport': 'tcp', 'traddr': addr, 'trsvcid': port, 'subsysnqn': DISC, 'host-traddr': '',
                    'host-iface': '', 'host-nqn': HOSTNQN},
            'origin': 'discovered',
            'log-pages': [{'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': addr, 'trsvcid': '4420',
                           'subnqn': 'nqn.2024-01.io.example:sub%d' % i, 'subtype': 'nvme',
                           'treq': 'not specified', 'portid': '1', 'cntlid': '65535', 'asqsz': '32',
                           'eflags': '0'}]}))
    return '{"format": "stafd-last-known-config", "version": 1, "controllers": [%s]}\n' % ',\n'.join(parts)


def fmt(v, unit='s'):
    if v is None:
        return 'timed out'
    if unit == 's':
        return '%.2f s' % v if v >= 1 else '%.0f ms' % (v * 1000)
    return '%.1f MB' % (v / 1024)


def bench_conf(harness, stafd, n, timeout):
    env = harness.Env(conf_text(n))
    res = {'n': n}
    try:
        run = Run(stafd, env.env, env.conf, env.sysconf, env.log)
        deadline = run.t0 + timeout
        res['first_ping'] = first_answer(env.sock, run, deadline)
        res['first_list'] = first_answer(env.sock, run, deadline, 'list_controllers') \
            if res['first_ping'] is not None else None
        if res['first_list'] is not None:
            # Let the start-up reconciliation settle, then reload under pings.
            time.sleep(1.0)
            pinger = Pinger(env.sock)
            pinger.start()
            time.sleep(0.5)
            before = run.read_log().count('Reloaded')
            run.p.send_signal(signal.SIGHUP)
            t = time.monotonic()
            end = t + timeout
            while time.monotonic() < end and run.read_log().count('Reloaded') == before:
                time.sleep(0.05)
            reloaded = run.read_log().count('Reloaded') > before
            # The reconciliation that follows the reload: the loop is free
            # again once 50 more pings have been answered.
            c0 = pinger.count
            while time.monotonic() < end and pinger.count < c0 + 50:
                time.sleep(0.05)
            settled = pinger.count >= c0 + 50
            pinger.stop_flag = True
            res['reload_stall'] = pinger.current_max() if reloaded else None
            res['reload_settled'] = reloaded and settled
            res['pings'] = pinger.count
        res['sigterm'] = run.stop(timeout)
    finally:
        env.close()
    return res


def bench_cache(harness, stafd, n, timeout):
    env = harness.Env('')
    res = {'n': n}
    try:
        with open(env.cache, 'w') as f:
            f.write(cache_doc(n))
        res['bytes'] = os.path.getsize(env.cache)
        run = Run(stafd, env.env, env.conf, env.sysconf, env.log)
        deadline = run.t0 + timeout
        res['first_ping'] = first_answer(env.sock, run, deadline)
        restored = None
        while time.monotonic() < deadline and run.p.poll() is None:
            if 'Restored' in run.read_log():
                restored = time.monotonic() - run.t0
                break
            time.sleep(0.01)
        res['restored'] = restored
        res['vmhwm_kb'] = run.vmhwm_kb() if run.p.poll() is None else None
        res['sigterm'] = run.stop(timeout)
    finally:
        env.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--sizes', default='1000,10000,100000', help='configured DCs')
    ap.add_argument('--cache-sizes', default='10000,100000', help='DCs in the cache')
    ap.add_argument('--timeout', type=float, default=120, help='per step, seconds')
    ap.add_argument('--json', action='store_true', help='print the raw results as JSON too')
    args = ap.parse_args()

    stafd = os.path.abspath(os.path.join(args.builddir, 'daemon', 'stafd'))
    os.environ.setdefault('STAF_POLICY', os.path.join(SRC, 'conf', 'org.nvmexpress.staf.conf'))
    os.environ['STAFD'] = stafd
    sys.path.insert(0, os.path.join(SRC, 'test', 'dbus'))
    import harness

    results = {'conf': [], 'cache': []}
    print('configured DCs | first Ping | first list_controllers | longest stall, reload | SIGTERM -> exit')
    for n in [int(x) for x in args.sizes.split(',') if x]:
        r = bench_conf(harness, stafd, n, args.timeout)
        results['conf'].append(r)
        stall = fmt(r.get('reload_stall'))
        if r.get('reload_stall') is not None and not r.get('reload_settled'):
            stall = '>= ' + stall + ' (timed out)'
        print('%14d | %10s | %21s | %21s | %s' % (n, fmt(r['first_ping']), fmt(r.get('first_list')),
                                                 stall, fmt(r.get('sigterm'))), flush=True)
    print()
    print('cached DCs | cache size | first Ping | "Restored" | peak RSS (VmHWM) | SIGTERM -> exit')
    for n in [int(x) for x in args.cache_sizes.split(',') if x]:
        r = bench_cache(harness, stafd, n, args.timeout)
        results['cache'].append(r)
        print('%10d | %7.1f MB | %10s | %10s | %16s | %s' % (
            n, r['bytes'] / 1e6, fmt(r['first_ping']), fmt(r['restored']),
            fmt(r['vmhwm_kb'], 'kb') if r['vmhwm_kb'] else '-', fmt(r.get('sigterm'))), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
