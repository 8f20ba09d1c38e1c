#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stafd and the files it reads and writes, tested with the real thing: FIFOs,
symlinks, bytes that are not UTF-8, leftovers of killed saves.  stafd runs as
a real process on a private dbus-daemon (test/dbus/harness.py)."""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'dbus'))
from harness import with_env as harness_with_env  # noqa: E402
from harness import (IFACE, STAFD, Env, Failure, check, check_eq, main, wait_for)  # noqa: E402

CONF = '[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid=8009\n'

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def with_env(conf=CONF, start=True, **kw):
    return harness_with_env(conf, start, **kw)


def run_stafd(env, args, timeout=20):
    """stafd in the foreground; a hang is a failure, not a stuck test."""
    try:
        return subprocess.run([STAFD] + args, env=env.env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure('stafd %s hung for %ss' % (' '.join(args), timeout))


def fifo(env, name):
    path = os.path.join(env.dir, name)
    os.mkfifo(path)
    return path


def traddrs(env):
    return sorted(c['traddr'] for c in env.list_controllers())


@case
@with_env(start=False)
def fifo_conf_file(env):
    f = fifo(env, 'stafd.fifo')
    link = os.path.join(env.dir, 'link.conf')
    os.symlink(f, link)
    for path in (f, link):
        p = run_stafd(env, ['-f', path, '--sys-conf=' + env.sysconf, '--dump-config'])
        check_eq(p.returncode, 1, '-f FIFO exit code')
        check(path in p.stderr and 'not a regular file' in p.stderr, 'clear message: %r' % p.stderr)
        # And as the daemon, not just --dump-config.
        p = run_stafd(env, ['-f', path, '--sys-conf=' + env.sysconf])
        check_eq(p.returncode, 1, 'daemon with -f FIFO exit code')
        check(path in p.stderr and 'not a regular file' in p.stderr, 'clear message: %r' % p.stderr)


@case
@with_env(start=False)
def fifo_sys_conf_nqn(env):
    f = fifo(env, 'hostnqn.fifo')
    with open(env.sysconf, 'w') as fh:
        fh.write('[Host]\nnqn=file://%s\nid=11111111-2222-3333-4444-555555555555\n' % f)
    p = run_stafd(env, ['-f', env.conf, '--sys-conf=' + env.sysconf, '--dump-config'])
    check_eq(p.returncode, 0, '--dump-config with nqn=file://FIFO')
    check(f in p.stderr + p.stdout and 'not a regular file' in p.stderr + p.stdout,
          'the FIFO is named: %r' % (p.stderr + p.stdout))
    env.start()
    check_eq(traddrs(env), ['127.0.0.1'], 'stafd answers')


@case
@with_env(start=False)
def fifo_cache(env):
    os.mkfifo(env.cache)
    env.start()
    check_eq(traddrs(env), ['127.0.0.1'], 'stafd answers with a FIFO at the cache path')
    check('not a regular file' in env.read_log(), 'logged: %r' % env.read_log())


@case
@with_env()
def sighup_fifo_conf(env):
    os.unlink(env.conf)
    os.mkfifo(env.conf)
    env.stafd.send_signal(signal.SIGHUP)
    wait_for(lambda: 'keeping the current configuration' in env.read_log(), 10, 'reload refused')
    check('not a regular file' in env.read_log(), 'reason logged')
    # Still serving, with the configuration it had.
    check_eq(traddrs(env), ['127.0.0.1'], 'state kept after SIGHUP with a FIFO')
    check(env.stafd.poll() is None, 'stafd alive')


@case
@with_env(start=False)
def stale_temp_files_removed(env):
    stale = [os.path.join(env.rundir, '.last-known-config.json.' + s) for s in ('AbC123', 'x1y2z3')]
    for p in stale:
        with open(p, 'w') as fh:
            fh.write('{"format": "stafd-last-known-config", "version": 1, "contr')
    other = os.path.join(env.rundir, 'unrelated.json')
    with open(other, 'w') as fh:
        fh.write('{}')
    env.start()
    wait_for(lambda: not any(os.path.exists(p) for p in stale), 10, 'stale temp files removed')
    check(os.path.exists(other), 'other files kept')
    check('Removed 2 temporary file(s)' in env.read_log(), 'removal logged')


DISC = 'nqn.2014-08.org.nvmexpress.discovery'
HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'


def cache_entry(traddr, subnqn=DISC, dlpe_subnqn='nqn.2024-01.io.example:sub1'):
    return ('{"tid": {"transport": "tcp", "traddr": "%s", "trsvcid": "8009", "subsysnqn": "%s", '
            '"host-traddr": "", "host-iface": "", "host-nqn": "%s"}, "origin": "configured", '
            '"log-pages": [{"trtype": "tcp", "adrfam": "ipv4", "traddr": "%s", "trsvcid": "4420", '
            '"subnqn": "%s", "subtype": "nvme", "treq": "not specified", "portid": "1", "cntlid": "1", '
            '"asqsz": "32", "eflags": "0"}]}' % (traddr, subnqn, HOSTNQN, traddr, dlpe_subnqn))


@case
@with_env(start=False)
def non_utf8_conf_and_cache(env):
    """A byte that is not UTF-8, in stafd.conf or in the cache, never reaches
    D-Bus nor the cache written back."""
    with open(env.conf, 'wb') as f:
        f.write(b'[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid=8009\n'
                b'controller=transport=tcp;traddr=127.0.0.2;trsvcid=8009;nqn=nqn.bad\xff\xfe\n')
    doc = ('{"format": "stafd-last-known-config", "version": 1, "controllers": [%s, %s, %s]}' % (
        cache_entry('127.0.0.1'),
        cache_entry('127.0.0.3', subnqn='nqn.raw-\udcff'),
        cache_entry('127.0.0.4', dlpe_subnqn='nqn.escape-\\ud800'))).encode('utf-8', 'surrogateescape')
    with open(env.cache, 'wb') as f:
        f.write(doc)
    env.start()
    # Every answer works for every caller.
    ls = env.list_controllers()
    check('127.0.0.2' not in [c['traddr'] for c in ls], 'the bad controller= is refused')
    check('127.0.0.3' not in [c['traddr'] for c in ls], 'the bad cache entry is refused')
    env.list_controllers(detailed=True)
    env.get_all(detailed=True)
    env.list_controllers(user='nobody')
    log = env.read_log()
    check('not valid UTF-8' in log and '\\xff' in log, 'warning with the bytes escaped: %r' % log[-2000:])
    check(b'\xff' not in open(env.log, 'rb').read(), 'no raw byte in the log')
    check_eq(env.stop(), 0, 'clean exit')
    with open(env.cache, 'rb') as f:
        saved = f.read()
    saved.decode('utf-8')  # raises if not UTF-8
    check(b'\xff' not in saved and b'127.0.0.3' not in saved, 'nothing bad written back')
    for c in json.loads(saved)['controllers']:
        for e in c['log-pages']:
            e['subnqn'].encode('utf-8')  # no lone surrogate survived


@case
@with_env(start=False, sysconf='[Host]\nnqn=file:///nonexistent/hostnqn\nid=11111111-2222-3333-4444-555555555555\n')
def stable_generated_hostnqn(env):
    """No host NQN configured: the same derived one at every start, and the log says so."""
    nqns = []
    for _ in range(2):
        env.start()
        info = env.process_info()
        check('derived from the machine id' in env.read_log(), 'logged: %r' % env.read_log())
        nqns.append(info['hostnqn'])
        check_eq(env.stop(), 0, 'clean exit')
    check(nqns[0].startswith('nqn.2014-08.org.nvmexpress:uuid:'), 'NQN form: %r' % nqns[0])
    check_eq(nqns[1], nqns[0], 'host NQN after a restart')
    with open('/etc/machine-id') as f:
        check(f.read().strip()[:8] not in nqns[0].replace('-', ''), 'the machine id itself is not shown')


if __name__ == '__main__':
    main(CASES)
