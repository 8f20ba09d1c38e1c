# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the system tests: a private system-like dbus-daemon with
our policy file, and stafd running on it as a real process."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

STAFD = os.environ.get('STAFD', 'stafd')
STAFCTL = os.environ.get('STAFCTL', 'stafctl')
# e.g. "valgrind --error-exitcode=99 ...": stafd runs under it in every case.
WRAPPER = os.environ.get('STAFD_WRAPPER', '').split()
WRAPPER_ERROR = 99
POLICY = os.environ['STAF_POLICY']
BUSNAME = 'org.nvmexpress.staf'
OBJPATH = '/org/nvmexpress/staf'
IFACE = 'org.nvmexpress.staf'
IFACE_DBG = 'org.nvmexpress.staf.debug'

BUS_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bus-config')


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def check_eq(a, b, msg=''):
    if a != b:
        raise Failure('%s: expected %r, got %r' % (msg, b, a))


def wait_for(pred, timeout=10.0, what='condition'):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Failure('timed out waiting for ' + what)


def holds(pred, seconds, what='condition'):
    """pred stays true for the whole time (an absence or survival check that
    can fail, unlike a fixed sleep followed by one look)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not pred():
            raise Failure('no longer true: ' + what)
        time.sleep(0.05)

def with_env(conf='', start=True, prepare=None, **kw):
    """Decorator: run the case in a fresh Env (prepare(env) first, then
    stafd started unless start=False); a failure carries stafd's log."""
    def deco(fn):
        def run():
            env = Env(conf, **kw)
            try:
                if prepare is not None:
                    prepare(env)
                if start:
                    env.start()
                fn(env)
            except Failure as e:
                raise Failure('%s\n--- stafd log ---\n%s' % (e, env.read_log()[-4000:]))
            finally:
                env.close()
        run.__name__ = fn.__name__
        return run
    return deco


class Env:
    """A temp dir with a private bus and (optionally) a running stafd."""

    def __init__(self, conf='', sysconf=None):
        self.dir = tempfile.mkdtemp(prefix='stafd-test-')
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, 'system_bus_socket')
        self.conf = os.path.join(self.dir, 'stafd.conf')
        self.sysconf = os.path.join(self.dir, 'sys.conf')
        self.rundir = os.path.join(self.dir, 'run')
        os.mkdir(self.rundir)
        self.cache = os.path.join(self.rundir, 'last-known-config.json')
        self.log = os.path.join(self.dir, 'stafd.log')
        self.write_conf(conf)
        if sysconf is None:
            sysconf = ('[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555\n'
                       'id=11111111-2222-3333-4444-555555555555\nkey=DHHC-1:00:c2VjcmV0aG9zdGtleXNlY3JldGhvc3RrZXk=:\n'
                       'symname=test-host\n')
        with open(self.sysconf, 'w') as f:
            f.write(sysconf)
        cfg = os.path.join(self.dir, 'bus.conf')
        with open(cfg, 'w') as f:
            f.write(subprocess.run([BUS_CONFIG, self.sock, POLICY], check=True, capture_output=True,
                                   text=True).stdout)
        self.bus = subprocess.Popen(['dbus-daemon', '--nofork', '--nopidfile', '--config-file=' + cfg],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.address = 'unix:path=' + self.sock
        wait_for(lambda: os.path.exists(self.sock), 10, 'dbus-daemon socket')
        os.chmod(self.sock, 0o777)
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, RUNTIME_DIRECTORY=self.rundir)
        # The host's exclusion list and ownership registry stay out of tests.
        self.nvme_conf_dir = os.path.join(self.dir, 'etc-nvme')
        self.registry = os.path.join(self.dir, 'run-nvme', 'registry')
        self.env['STAFD_NVME_CONF_DIR'] = self.nvme_conf_dir
        self.env['STAFD_NVME_REGISTRY'] = self.registry
        self.env.pop('NOTIFY_SOCKET', None)
        self.stafd = None
        self.logf = None

    def write_conf(self, text):
        with open(self.conf, 'w') as f:
            f.write(text)

    def start(self, args=(), wait=True):
        self.logf = open(self.log, 'a')
        self.stafd = subprocess.Popen(WRAPPER + [STAFD, '-f', self.conf, '--sys-conf=' + self.sysconf] + list(args),
                                      env=self.env, stdout=self.logf, stderr=subprocess.STDOUT)
        if wait:
            wait_for(lambda: self.name_owned() or self.stafd.poll() is not None, 15, 'stafd on the bus')
            check(self.stafd.poll() is None, 'stafd exited early:\n' + self.read_log())
        return self.stafd

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.stafd and self.stafd.poll() is None:
            self.stafd.send_signal(sig)
            try:
                self.stafd.wait(timeout)
            except subprocess.TimeoutExpired:
                self.stafd.kill()
                self.stafd.wait()
                raise Failure('stafd did not stop within %ss' % timeout)
        rc = self.stafd.returncode if self.stafd else None
        self.stafd = None
        if self.logf:
            self.logf.close()
            self.logf = None
        return rc

    def read_log(self):
        try:
            with open(self.log, errors='backslashreplace') as f:
                return f.read()
        except OSError:
            return ''

    def close(self):
        rc = None
        try:
            rc = self.stop()
        except Failure:
            pass
        self.bus.terminate()
        self.bus.wait()
        if os.environ.get('KEEP_TEST_DIR'):
            print('kept', self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if WRAPPER and rc == WRAPPER_ERROR:
            raise Failure('%s reported errors in stafd' % WRAPPER[0])

    # ---- bus helpers ----
    def run(self, argv, user=None, check_rc=True, timeout=30):
        if user:
            argv = ['setpriv', '--reuid=' + user, '--regid=nogroup', '--clear-groups'] + argv
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Failure('%s failed (%d): %s %s' % (' '.join(argv), p.returncode, p.stdout, p.stderr))
        return p

    def busctl(self, *args, user=None, check_rc=True):
        return self.run(['busctl', '--system', '--json=short'] + list(args), user=user, check_rc=check_rc)

    def call(self, iface, method, sig='', *args, user=None):
        argv = ['call', BUSNAME, OBJPATH, iface, method]
        if sig:
            argv += [sig] + [str(a) for a in args]
        p = self.busctl(*argv, user=user)
        return json.loads(p.stdout)['data']

    def call_raw(self, iface, method, sig='', *args, user=None):
        argv = ['call', BUSNAME, OBJPATH, iface, method]
        if sig:
            argv += [sig] + [str(a) for a in args]
        return self.busctl(*argv, user=user, check_rc=False)

    def name_owned(self):
        p = subprocess.run(['busctl', '--system', 'status', BUSNAME], env=self.env,
                           capture_output=True, text=True)
        return p.returncode == 0

    def list_controllers(self, detailed=False, user=None):
        return self.call(IFACE, 'list_controllers', 'b', 'true' if detailed else 'false', user=user)[0]

    def get_all(self, detailed=False, user=None):
        return json.loads(self.call(IFACE, 'get_all_log_pages', 'b', 'true' if detailed else 'false',
                                    user=user)[0])

    def process_info(self, user=None):
        return json.loads(self.call(IFACE_DBG, 'process_info', user=user)[0])

    def stafctl(self, *args, user=None, check_rc=False):
        return self.run([STAFCTL] + list(args), user=user, check_rc=check_rc)


def main(cases):
    """Run one named case (argv[1]) or all; exit 0/1 like a meson test."""
    names = sys.argv[1:] or list(cases)
    failed = 0
    for n in names:
        t0 = time.monotonic()
        try:
            cases[n]()
            print('ok   %s (%.2fs)' % (n, time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 - report any failure
            failed += 1
            print('FAIL %s: %s' % (n, e))
    sys.exit(1 if failed else 0)
