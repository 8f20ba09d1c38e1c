#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench-daemon: a real stafd on a private system-like dbus-daemon (the
test/dbus harness), natively, at configuration and cache scale (issue 11).
Prints figures; it is not a test.

  STAFD=$PWD/build/daemon/stafd STAF_POLICY=$PWD/conf/org.nvmexpress.staf.conf \\
  BUS_PING=$PWD/build/test/bench/bus-ping test/bench/bench-daemon.py [--dcs 1000] [--dlpes 1000] [--configured 1000] [--big 100000]

Loop time is the CPU time of stafd's main (event loop) thread, from
/proc/PID/task/PID/schedstat; round trips include busctl's own start-up
(the idle Peer.Ping round trip is printed as the floor)."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'dbus'))
import harness  # noqa: E402

HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'
DISC = 'nqn.2014-08.org.nvmexpress.discovery'


def out(name, value, unit=''):
    print('%-72s %10s %s' % (name, value, unit), flush=True)


def addr(i, net=10):
    return '%d.%d.%d.%d' % (net, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def dlpe(i, k):
    return {'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': addr(i * 1000 + k, 11), 'trsvcid': '4420',
            'subnqn': 'nqn.2024-01.io.example:sub%d' % k, 'subtype': 'nvme', 'treq': 'not specified',
            'portid': str(k), 'cntlid': '65535', 'asqsz': '32', 'eflags': '0', 'sectype': 'none'}


def write_cache(path, n_dcs, n_dlpes):
    with open(path, 'w') as f:
        f.write('{"format": "stafd-last-known-config", "version": 1, "controllers": [')
        for i in range(n_dcs):
            e = {'tid': {'transport': 'tcp', 'traddr': addr(i, 12), 'trsvcid': '8009', 'subsysnqn': DISC,
                         'host-traddr': '', 'host-iface': '', 'host-nqn': HOSTNQN},
                 'origin': 'discovered', 'log-pages': [dlpe(i, k) for k in range(n_dlpes)]}
            f.write((',' if i else '') + json.dumps(e))
        f.write(']}')
    return os.path.getsize(path)


def write_conf(env, n):
    lines = ['[Global]', 'ip-family=ipv4', 'tron=' + os.environ.get('BENCH_TRON', 'false'), '[Discovery controller connection management]',
             'max-dcs=1000000', '[Controllers]']
    lines += ['controller=transport=tcp;traddr=%s' % addr(i) for i in range(n)]
    env.write_conf('\n'.join(lines) + '\n')


def loop_ns(pid):
    with open('/proc/%d/task/%d/schedstat' % (pid, pid)) as f:
        return int(f.read().split()[0])


def rss_mb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Notify:
    """NOTIFY_SOCKET listener: the time READY=1 arrives."""

    def __init__(self, d):
        self.path = os.path.join(d, 'notify')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.ready = None
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while self.ready is None:
            msg = self.sock.recv(4096).decode(errors='replace')
            if 'READY=1' in msg:
                self.ready = time.monotonic()


def start(env, notify):
    env.logf = open(env.log, 'a')
    e = dict(env.env, NOTIFY_SOCKET=notify.path)
    t0 = time.monotonic()
    p = subprocess.Popen([harness.STAFD, '-f', env.conf, '--sys-conf=' + env.sysconf], env=e,
                         stdout=env.logf, stderr=subprocess.STDOUT)
    env.stafd = p
    return t0, p


def ping(env):
    t = time.monotonic()
    r = env.busctl('call', harness.BUSNAME, harness.OBJPATH, 'org.freedesktop.DBus.Peer', 'Ping',
                   check_rc=False)
    return (time.monotonic() - t) * 1000.0, r.returncode == 0


def first_answer(env, t0, p, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end and p.poll() is None:
        _, ok = ping(env)
        if ok:
            return (time.monotonic() - t0) * 1000.0
        time.sleep(0.005)
    return None


def stop_time(env, p):
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None
    return (time.monotonic() - t) * 1000.0


def bench_cache(a):
    env = harness.Env()
    try:
        size = write_cache(env.cache, a.dcs, a.dlpes)
        write_conf(env, a.configured)
        notify = Notify(env.dir)
        t0, p = start(env, notify)
        fa = first_answer(env, t0, p, 120)
        harness.wait_for(lambda: notify.ready, 30, 'READY')
        out('cache %d DCs x %d DLPEs (%.1f MB) + %d configured: exec -> READY' %
            (a.dcs, a.dlpes, size / 1e6, a.configured), '%.1f' % ((notify.ready - t0) * 1000.0), 'ms')
        out('  exec -> first Peer.Ping answered', '%.1f' % fa if fa else 'never', 'ms')
        n = len(env.list_controllers())
        out('  DCs listed', n)
        time.sleep(2)    # let the first slices of starts and connect failures settle
        floor = min(ping(env)[0] for _ in range(10))
        out('  Peer.Ping round trip (busctl floor)', '%.1f' % floor, 'ms')
        for detailed in (False, True):
            lst = []
            c0 = loop_ns(p.pid)
            for _ in range(a.calls):
                t = time.monotonic()
                env.list_controllers(detailed)
                lst.append((time.monotonic() - t) * 1000.0)
            c1 = loop_ns(p.pid)
            lst.sort()
            out('  list_controllers(%s): loop time per call' % str(detailed).lower(),
                '%.2f' % ((c1 - c0) / 1e6 / a.calls), 'ms')
            out('  list_controllers(%s): round trip p50' % str(detailed).lower(), '%.1f' % lst[len(lst) // 2],
                'ms')
        c0 = loop_ns(p.pid)
        env.call(harness.IFACE, 'get_log_pages', 'sssssss', 'tcp', addr(0, 12), '8009', DISC, '', '', HOSTNQN)
        out('  get_log_pages (one DC, %d DLPEs): loop time' % a.dlpes, '%.2f' % ((loop_ns(p.pid) - c0) / 1e6), 'ms')
        out('  RSS', '%.1f' % rss_mb(p.pid), 'MB')
        st = stop_time(env, p)
        out('  SIGTERM -> exit', '%.1f' % st if st else '> 120000', 'ms')
    finally:
        env.close()


def bench_big(n):
    env = harness.Env()
    try:
        write_conf(env, n)
        notify = Notify(env.dir)
        t0, p = start(env, notify)
        fa = first_answer(env, t0, p, 300)
        out('%d configured DCs: exec -> first Peer.Ping answered' % n, '%.1f' % fa if fa else 'never', 'ms')
        # Probe the loop while the DCs start: the worst Ping round trip
        # bounds the longest time the loop was busy.  bus-ping (one
        # connection, no process per sample) when BUS_PING names it.
        if os.environ.get('BUS_PING'):
            pr = subprocess.run([os.environ['BUS_PING'], harness.BUSNAME, '15', '50'], env=env.env,
                                capture_output=True, text=True)
            rtts = [float(l.split()[1]) for l in pr.stdout.splitlines() if not l.endswith('fail')]
            worst, samples = max(rtts or [0.0]), len(rtts)
        else:
            worst, samples, t_end = 0.0, 0, time.monotonic() + 15
            while time.monotonic() < t_end:
                ms, ok = ping(env)
                worst = max(worst, ms)
                samples += 1
        out('  worst Peer.Ping round trip in the 15 s after (%d samples)' % samples, '%.1f' % worst, 'ms')
        out('  DCs listed', len(env.list_controllers()))
        out('  RSS', '%.1f' % rss_mb(p.pid), 'MB')
        st = stop_time(env, p)
        out('  SIGTERM -> exit', '%.1f' % st if st else '> 120000', 'ms')
    finally:
        env.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dcs', type=int, default=1000)
    ap.add_argument('--dlpes', type=int, default=1000)
    ap.add_argument('--configured', type=int, default=1000)
    ap.add_argument('--calls', type=int, default=20)
    ap.add_argument('--big', type=int, nargs='*', default=[100000])
    a = ap.parse_args()
    bench_cache(a)
    for n in a.big:
        bench_big(n)


if __name__ == '__main__':
    main()
