#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""stafd benchmark, run inside the VM guest (real kernel, nvmet, system bus).

Every figure is the median of several runs.  Prints a Markdown table.
Run as root with the staged stafd installed (test/vm/bench drives it)."""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

STAFD = '/usr/sbin/stafd'
NVMET = '/sys/kernel/config/nvmet'
BUS = 'org.nvmexpress.staf'
PATH = '/org/nvmexpress/staf'
IFACE = 'org.nvmexpress.staf'
RUNS = int(os.environ.get('BENCH_RUNS', '5'))
WORK = tempfile.mkdtemp(prefix='stafd-bench-')

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
sysbus = dbus.SystemBus()
results = []


def log(*a):
    print('bench:', *a, file=sys.stderr, flush=True)


def ms(s):
    return s * 1000.0


# ---------------------------------------------------------------- nvmet

def nvmet_port(pid, addr, svcid):
    d = '%s/ports/%d' % (NVMET, pid)
    if os.path.isdir(d):
        return d
    os.mkdir(d)
    for k, v in (('addr_trtype', 'tcp'), ('addr_adrfam', 'ipv4'), ('addr_traddr', addr),
                 ('addr_trsvcid', str(svcid))):
        with open(os.path.join(d, k), 'w') as f:
            f.write(v)
    return d


def nvmet_subsys(nqn):
    d = '%s/subsystems/%s' % (NVMET, nqn)
    if not os.path.isdir(d):
        os.mkdir(d)
        with open(os.path.join(d, 'attr_allow_any_host'), 'w') as f:
            f.write('1')
    return d


def nvmet_link(pid, nqn):
    os.symlink('%s/subsystems/%s' % (NVMET, nqn), '%s/ports/%d/subsystems/%s' % (NVMET, pid, nqn))


def nvmet_unlink(pid, nqn):
    os.unlink('%s/ports/%d/subsystems/%s' % (NVMET, pid, nqn))


def nvmet_reset():
    subprocess.run(['nvme', 'disconnect-all'], capture_output=True)
    for p in os.listdir(NVMET + '/ports'):
        sd = '%s/ports/%s/subsystems' % (NVMET, p)
        for s in os.listdir(sd):
            os.unlink(os.path.join(sd, s))
        os.rmdir('%s/ports/%s' % (NVMET, p))
    for s in os.listdir(NVMET + '/subsystems'):
        os.rmdir('%s/subsystems/%s' % (NVMET, s))


def controllers():
    return [c for c in os.listdir('/sys/class/nvme')] if os.path.isdir('/sys/class/nvme') else []


# ---------------------------------------------------------------- stafd

class Stafd:
    def __init__(self, conf):
        self.dir = tempfile.mkdtemp(dir=WORK)
        self.conf = os.path.join(self.dir, 'stafd.conf')
        with open(self.conf, 'w') as f:
            f.write(conf)
        self.notify = os.path.join(self.dir, 'notify')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify)
        self.run = os.path.join(self.dir, 'run')
        os.mkdir(self.run)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify, RUNTIME_DIRECTORY=self.run)
        self.log = open(os.path.join(self.dir, 'log'), 'w')
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([STAFD, '-f', self.conf], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=30):
        self.sock.settimeout(timeout)
        while True:
            m = self.sock.recv(4096).decode()
            if 'READY=1' in m.split('\n'):
                return time.monotonic() - self.t0

    def rss_kib(self, key='VmRSS'):
        """VmRSS, or RssAnon (private memory, without shared library pages)."""
        with open('/proc/%d/status' % self.p.pid) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """utime + stime of stafd so far."""
        with open('/proc/%d/stat' % self.p.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.sock.close()
        self.log.close()


def proxy():
    return dbus.Interface(sysbus.get_object(BUS, PATH), IFACE)


class Signals:
    """Counts log_pages_changed signals (on the GLib loop)."""

    def __init__(self):
        self.events = []
        sysbus.add_signal_receiver(self.on_signal, signal_name='log_pages_changed', dbus_interface=IFACE)

    def on_signal(self, *args):
        self.events.append((time.monotonic(), [str(a) for a in args]))

    def wait(self, n, timeout=30.0):
        """Run the loop until at least n signals were seen; the time of the n-th."""
        end = time.monotonic() + timeout
        ctx = GLib.MainContext.default()
        while len(self.events) < n and time.monotonic() < end:
            ctx.iteration(False) or time.sleep(0.001)
        if len(self.events) < n:
            raise RuntimeError('timed out waiting for log_pages_changed #%d' % n)
        return self.events[n - 1][0]

    def drain(self):
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass


def record(name, value, unit, target, ok):
    results.append((name, value, unit, target, 'yes' if ok else 'NO'))
    log('%s: %s %s (target %s)' % (name, value, unit, target))


# ---------------------------------------------------------------- measurements

BASE = '[Global]\nip-family=ipv4\n[Service Discovery]\nzeroconf=disabled\n' \
       '[Discovery controller connection management]\npersistent-connections=false\n'


def bench_ready():
    v = []
    for _ in range(RUNS):
        s = Stafd('')   # shipped defaults: zeroconf enabled, no controllers
        v.append(s.wait_ready())
        s.stop()
    m = ms(statistics.median(v))
    record('exec -> READY (bus name owned)', '%.1f' % m, 'ms', '<= 100 ms', m <= 100)
    # Where it goes: process creation + dynamic loading alone.
    v = []
    for _ in range(RUNS):
        t0 = time.monotonic()
        subprocess.run([STAFD, '--version'], capture_output=True, check=True)
        v.append(time.monotonic() - t0)
    record('  floor: exec -> exit of `stafd --version`', '%.1f' % ms(statistics.median(v)), 'ms', '-', True)


def bench_first_dlp(sig):
    nvmet_port(1, '127.0.0.1', 8009)
    for i in range(2):
        nvmet_link(1, os.path.basename(nvmet_subsys('nqn.2024-01.io.example.bench:first-%d' % i)))
    v = []
    for _ in range(RUNS):
        n = len(sig.events)
        s = Stafd(BASE + '[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid=8009\n')
        t = sig.wait(n + 1)
        v.append(t - s.t0)
        s.stop()
        sig.drain()
        time.sleep(0.5)
    m = ms(statistics.median(v))
    record('exec -> first DLP cached (1 local DC)', '%.1f' % m, 'ms', '<= 500 ms', m <= 500)


def bench_aen(sig):
    s = Stafd(BASE + '[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid=8009\n')
    sig.wait(len(sig.events) + 1)
    time.sleep(2)      # the connected event's refetch settles
    sig.drain()
    v = []
    for i in range(RUNS):
        nqn = os.path.basename(nvmet_subsys('nqn.2024-01.io.example.bench:aen-%d' % i))
        n = len(sig.events)
        t0 = time.monotonic()
        nvmet_link(1, nqn)
        v.append(sig.wait(n + 1) - t0)
        time.sleep(0.3)
        sig.drain()
    m = ms(statistics.median(v))
    record('nvmet subsystem linked -> log_pages_changed (AEN)', '%.1f' % m, 'ms', '<= 200 ms', m <= 200)
    s.stop()


def bench_rss_idle():
    v, a = [], []
    for _ in range(RUNS):
        s = Stafd('')
        s.wait_ready()
        time.sleep(1)
        v.append(s.rss_kib())
        a.append(s.rss_kib('RssAnon'))
        s.stop()
    m = statistics.median(v) / 1024
    record('RSS idle', '%.2f' % m, 'MiB', '<= 4 MB', m * 1.048576 <= 4)
    record('  of which private (RssAnon)', '%.2f' % (statistics.median(a) / 1024), 'MiB', '-', True)


def bench_big(sig):
    """10 DCs x 1000 DLPEs: RSS, and get_all_log_pages(true) round trips."""
    nvmet_reset()
    t0 = time.monotonic()
    nqns = [os.path.basename(nvmet_subsys('nqn.2024-01.io.example.bench:big-%04d' % i)) for i in range(1000)]
    lines = ''
    for p in range(10):
        nvmet_port(10 + p, '127.0.0.1', 8020 + p)
        for n in nqns:
            nvmet_link(10 + p, n)
        lines += 'controller=transport=tcp;traddr=127.0.0.1;trsvcid=%d\n' % (8020 + p)
    log('nvmet: 10 ports x 1000 subsystems in %.1fs' % (time.monotonic() - t0))
    s = Stafd(BASE + '[Controllers]\n' + lines)
    s.wait_ready()
    st = proxy()
    end = time.monotonic() + 240
    total = 0
    while time.monotonic() < end:
        data = json.loads(str(st.get_all_log_pages(True)))
        total = sum(len(e['log-pages']) for e in data)
        if total >= 10 * 1000:
            break
        time.sleep(0.5)
        sig.drain()
    log('cached %d DLPEs after %.1fs' % (total, time.monotonic() - s.t0))
    time.sleep(3)
    sig.drain()
    rss = s.rss_kib() / 1024
    record('RSS with 10 DCs x 1000 DLPEs cached (%d entries)' % total, '%.2f' % rss, 'MiB', '<= 12 MB',
           rss * 1.048576 <= 12)
    record('  of which private (RssAnon)', '%.2f' % (s.rss_kib('RssAnon') / 1024), 'MiB', '-', True)
    v = []
    for _ in range(max(RUNS, 10)):
        t0 = time.monotonic()
        st.get_all_log_pages(True)
        v.append(time.monotonic() - t0)
    m = ms(statistics.median(v))
    record('get_all_log_pages(true) round trip, %d DLPEs' % total, '%.1f' % m, 'ms', '<= 100 ms', m <= 100)
    s.stop()
    nvmet_reset()


def list_latency(st, seconds):
    """p50/p99 of list_controllers(false) over a period, in seconds."""
    v = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        st.list_controllers(False)
        v.append(time.monotonic() - t0)
        time.sleep(0.02)
    v.sort()
    return v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]


def bench_storm():
    """list_controllers round trips while 100 DCs connect to a listener that
    accepts and never answers; first the same 100 DCs with nothing listening
    (connections refused at once, then idle until the 60 s retry)."""
    lines = ''.join('controller=transport=tcp;traddr=127.0.1.%d;trsvcid=4420\n' % (i + 1) for i in range(100))
    s = Stafd(BASE + '[Controllers]\n' + lines)
    s.wait_ready()
    time.sleep(8)
    p50, p99 = list_latency(proxy(), 10)
    record('list_controllers p50 / p99, 100 DCs, no storm', '%.1f / %.1f' % (ms(p50), ms(p99)), 'ms', '-', True)
    s.stop()

    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(('0.0.0.0', 4420))
    lst.listen(1024)
    held = []
    stop = threading.Event()

    def acceptor():
        lst.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = lst.accept()
                held.append(c)
            except socket.timeout:
                pass
    th = threading.Thread(target=acceptor, daemon=True)
    th.start()
    s = Stafd(BASE + '[Controllers]\n' + lines)
    s.wait_ready()
    st = proxy()
    peer = dbus.Interface(sysbus.get_object(BUS, PATH), 'org.freedesktop.DBus.Peer')
    v, ping = [], []
    cpu0 = s.cpu_seconds()
    end = time.monotonic() + 20
    while time.monotonic() < end:
        t0 = time.monotonic()
        st.list_controllers(False)
        t1 = time.monotonic()
        peer.Ping()
        ping.append(time.monotonic() - t1)
        v.append(t1 - t0)
        time.sleep(0.02)
    log('storm: stafd used %.2fs of CPU in 20s' % (s.cpu_seconds() - cpu0))
    ping.sort()
    record('Peer.Ping p99 in the same storm (bus + client floor)', '%.1f' % ms(ping[min(len(ping) - 1,
           int(len(ping) * 0.99))]), 'ms', '-', True)
    v.sort()
    p50 = ms(v[len(v) // 2])
    p99 = ms(v[min(len(v) - 1, int(len(v) * 0.99))])
    log('storm: %d calls, %d TCP connections accepted' % (len(v), len(held)))
    record('list_controllers p50 during a 100-DC connect storm', '%.1f' % p50, 'ms', '-', True)
    record('list_controllers p99 during a 100-DC connect storm', '%.1f' % p99, 'ms', '<= 20 ms', p99 <= 20)
    s.stop()
    stop.set()
    th.join()
    for c in held:
        c.close()
    lst.close()


def main():
    subprocess.run(['modprobe', '-a', 'nvmet', 'nvmet-tcp', 'nvme-tcp', 'nvme-fabrics'], check=True)
    subprocess.run(['systemctl', 'stop', 'stafd.service'], capture_output=True)
    nvmet_reset()
    sig = Signals()
    steps = [bench_ready, lambda: bench_first_dlp(sig), lambda: bench_aen(sig), bench_rss_idle,
             lambda: bench_big(sig), bench_storm]
    only = sys.argv[1:]
    for i, f in enumerate(steps):
        if only and str(i + 1) not in only:
            continue
        try:
            f()
        except Exception as e:  # noqa: BLE001 - report and go on with the next figure
            log('step %d failed: %s' % (i + 1, e))
            results.append(('step %d' % (i + 1), 'failed: %s' % e, '', '', 'NO'))
    nvmet_reset()
    out = ['| measurement | median | unit | target | met |', '|---|---|---|---|---|']
    out += ['| %s | %s | %s | %s | %s |' % r for r in results]
    text = '\n'.join(out)
    print(text)
    res = os.environ.get('STAFD_VM_RESULTS')
    if res:
        with open(os.path.join(res, 'bench.md'), 'w') as f:
            f.write(text + '\n')
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == '__main__':
    main()
