#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stafd's D-Bus face, tested from outside: a real dbus-daemon with our policy
file, stafd as a real process, busctl/stafctl/dasbus as clients."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

from harness import with_env as harness_with_env  # noqa: E402
from harness import (BUSNAME, IFACE, IFACE_DBG, OBJPATH, STAFD, WRAPPER, Env, Failure, check, check_eq, holds,
                     main, wait_for)

HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'
DISC = 'nqn.2014-08.org.nvmexpress.discovery'

CONF = '''# test configuration
[Global]
tron=false
kato = 45   # an inline comment
ip-family=ipv4+ipv6

[Controllers]
controller = transport=tcp ; traddr=127.0.0.1 ; trsvcid=8009 ; dhchap-secret=DHHC-1:00:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0:  ; kato=20
controller=transport=tcp;traddr=::1;trsvcid=8010;nqn=nqn.2024-01.io.example:disc
exclude=transport=tcp;traddr=127.0.0.9
controller=transport=tcp;traddr=127.0.0.9;trsvcid=8009
'''

ID_KEYS = ['transport', 'traddr', 'trsvcid', 'subsysnqn', 'host-traddr', 'host-iface', 'host-nqn', 'device']
DETAIL_KEYS = ['origin', 'connected', 'connect attempts', 'retry connect timer', 'hostid', 'hostnqn',
               'model', 'serial', 'dctype', 'cntrltype']
DLPE_KEYS = ['trtype', 'adrfam', 'traddr', 'trsvcid', 'subnqn', 'subtype', 'treq', 'portid', 'cntlid',
             'asqsz', 'eflags']


def dlpe(traddr, subnqn, subtype='nvme', trsvcid='4420', portid='1'):
    return {'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': traddr, 'trsvcid': trsvcid, 'subnqn': subnqn,
            'subtype': subtype, 'treq': 'not specified', 'portid': portid, 'cntlid': '65535',
            'asqsz': '32', 'eflags': '0'}


def tid(traddr, trsvcid='8009', nqn=DISC, iface=''):
    return {'transport': 'tcp', 'traddr': traddr, 'trsvcid': trsvcid, 'subsysnqn': nqn,
            'host-traddr': '', 'host-iface': iface, 'host-nqn': HOSTNQN}


def seed_cache(env, entries):
    with open(env.cache, 'w') as f:
        json.dump({'format': 'stafd-last-known-config', 'version': 1, 'controllers': entries}, f)


SEED = [{'tid': tid('127.0.0.1'), 'origin': 'configured',
         'log-pages': [dlpe('127.0.0.1', 'nqn.2024-01.io.example:sub1'),
                       dlpe('127.0.0.1', 'nqn.2024-01.io.example:sub2', portid='2')]}]

ARGS_A = ['tcp', '127.0.0.1', '8009', DISC, '', '', HOSTNQN]


def with_env(conf=CONF, seed=None, start=True, **kw):
    return harness_with_env(conf, start, prepare=(lambda env: seed_cache(env, seed)) if seed is not None else None,
                            **kw)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
@with_env()
def introspection(env):
    p = env.run(['busctl', '--system', 'introspect', '--xml-interface', BUSNAME, OBJPATH])
    root = ET.fromstring(p.stdout)
    ifaces = {i.get('name'): i for i in root.findall('interface')}
    for name in [IFACE, IFACE_DBG, 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Properties',
                 'org.freedesktop.DBus.Peer']:
        check(name in ifaces, 'interface %s missing' % name)

    def sig(iface, kind, member):
        el = [e for e in ifaces[iface].findall(kind) if e.get('name') == member]
        check(len(el) == 1, '%s %s.%s missing' % (kind, iface, member))
        return [(a.get('name'), a.get('type'), a.get('direction')) for a in el[0].findall('arg')]

    tid_in = [(n, 's', 'in') for n in ['transport', 'traddr', 'trsvcid', 'subsysnqn', 'host_traddr',
                                       'host_iface', 'host_nqn']]
    check_eq(sig(IFACE, 'method', 'list_controllers'),
             [('detailed', 'b', 'in'), ('controller_list', 'aa{ss}', 'out')], 'list_controllers')
    check_eq(sig(IFACE, 'method', 'get_log_pages'), tid_in + [('log_pages', 'aa{ss}', 'out')], 'get_log_pages')
    check_eq(sig(IFACE, 'method', 'get_all_log_pages'),
             [('detailed', 'b', 'in'), ('log_pages_json', 's', 'out')], 'get_all_log_pages')
    check_eq([(n, t) for n, t, _ in sig(IFACE, 'signal', 'log_pages_changed')],
             [(n, 's') for n, _, _ in tid_in] + [('device', 's')], 'log_pages_changed')
    check_eq(sig(IFACE, 'signal', 'dc_removed'), [], 'dc_removed')
    check_eq(sig(IFACE_DBG, 'method', 'process_info'), [('info_json', 's', 'out')], 'process_info')
    check_eq(sig(IFACE_DBG, 'method', 'controller_info'), tid_in + [('info_json', 's', 'out')],
             'controller_info')
    props = {p.get('name'): (p.get('type'), p.get('access')) for p in ifaces[IFACE_DBG].findall('property')}
    check_eq(props, {'tron': ('b', 'readwrite'), 'log_level': ('s', 'read')}, 'properties')
    # Peer works like on any sd-bus object.
    env.busctl('call', BUSNAME, OBJPATH, 'org.freedesktop.DBus.Peer', 'Ping')


@case
@with_env()
def idl_equals_introspection(env):
    out = os.path.join(env.dir, 'staf.idl')
    p = subprocess.run([STAFD, '--idl=' + out], capture_output=True, text=True)
    check_eq(p.returncode, 0, 'stafd --idl exit code')
    with open(out) as f:
        idl = f.read()
    live = env.call('org.freedesktop.DBus.Introspectable', 'Introspect')[0]
    check_eq(idl, live, '--idl output vs. live introspection')


@case
@with_env(seed=SEED)
def list_controllers(env):
    lst = env.list_controllers(False)
    by_addr = {c['traddr']: c for c in lst}
    check_eq(sorted(by_addr), ['127.0.0.1', '::1'], 'configured DCs (127.0.0.9 is excluded)')
    a = by_addr['127.0.0.1']
    for k in ID_KEYS:
        check(k in a, 'key %s missing in %r' % (k, a))
    check_eq(a['device'], 'nvme?', 'device of an unconnected DC')
    check_eq(a['host-nqn'], HOSTNQN, 'host-nqn defaults to sys.conf')
    check_eq(a['kato'], '20', 'per-DC kato from controller=')
    check_eq(by_addr['::1']['subsysnqn'], 'nqn.2024-01.io.example:disc', 'nqn=')
    for k in DETAIL_KEYS:
        check(k not in a, 'detailed key %s in a non-detailed answer' % k)
    det = {c['traddr']: c for c in env.list_controllers(True)}['127.0.0.1']
    for k in DETAIL_KEYS:
        check(k in det, 'detailed key %s missing' % k)
    check_eq(det['origin'], 'configured', 'origin')
    check_eq(det['connected'], 'False', 'connected')
    check(det['retry connect timer'].endswith(']'), 'timer format: %r' % det['retry connect timer'])
    check(all(isinstance(v, str) for c in lst for v in c.values()), 'every value is a string')


@case
@with_env(seed=SEED)
def get_log_pages(env):
    pages = env.call(IFACE, 'get_log_pages', 'sssssss', *ARGS_A)[0]
    check_eq(len(pages), 2, 'cached DLPEs of a known DC')
    check_eq(list(pages[0].keys())[:len(DLPE_KEYS)], DLPE_KEYS, 'DLPE keys and order')
    check_eq(pages[1]['subnqn'], 'nqn.2024-01.io.example:sub2', 'DLPE value')
    # Empty host_nqn means "this host".
    check_eq(len(env.call(IFACE, 'get_log_pages', 'sssssss', 'tcp', '127.0.0.1', '8009', DISC, '', '', '')[0]),
             2, 'empty host_nqn')
    # An address spelled differently is the same DC.
    check_eq(len(env.call(IFACE, 'get_log_pages', 'sssssss', 'TCP', '::ffff:127.0.0.1', '8009', DISC, '', '',
                          HOSTNQN)[0]), 2, 'IPv4-mapped spelling')
    # Unknown and empty.
    check_eq(env.call(IFACE, 'get_log_pages', 'sssssss', 'tcp', '127.0.0.5', '8009', DISC, '', '', '')[0], [],
             'unknown DC')
    check_eq(env.call(IFACE, 'get_log_pages', 'sssssss', '', '', '', '', '', '', '')[0], [], 'empty args')
    # Malformed: too long, wrong signature.
    p = env.call_raw(IFACE, 'get_log_pages', 'sssssss', 'tcp', 'x' * 5000, '8009', DISC, '', '', '')
    check(p.returncode != 0 and 'too long' in p.stderr, 'overlong argument: %r' % p.stderr)
    p = env.call_raw(IFACE, 'get_log_pages', 'ss', 'tcp', '127.0.0.1')
    check(p.returncode != 0, 'wrong signature must fail')
    p = env.call_raw(IFACE, 'list_controllers', 's', 'yes')
    check(p.returncode != 0, 'wrong signature must fail')
    check(env.stafd.poll() is None, 'stafd still running')


@case
@with_env(seed=SEED)
def get_all_log_pages(env):
    for detailed in (False, True):
        data = env.get_all(detailed)
        check_eq(len(data), 2, 'one element per DC')
        for el in data:
            check_eq(sorted(el.keys()), ['discovery-controller', 'log-pages'], 'element keys')
            check(('origin' in el['discovery-controller']) == detailed, 'detailed flag honoured')
        a = [el for el in data if el['discovery-controller']['traddr'] == '127.0.0.1'][0]
        check_eq([e['subnqn'] for e in a['log-pages']],
                 ['nqn.2024-01.io.example:sub1', 'nqn.2024-01.io.example:sub2'], 'log pages')


@case
@with_env(seed=SEED)
def process_and_controller_info(env):
    info = env.process_info()
    for k in ['tron', 'log-level', 'hostnqn', 'hostid', 'symname', 'last known config file',
              'config soak timer', 'kernel support', 'avahi']:
        check(k in info, 'process_info lacks %s' % k)
    check_eq(info['hostnqn'], HOSTNQN, 'hostnqn')
    check_eq(info['symname'], 'test-host', 'symname')
    check_eq(info['last known config file'], env.cache, 'cache path')
    check('service types' in info['avahi'] and 'services' in info['avahi'], 'avahi block')
    ci = json.loads(env.call(IFACE_DBG, 'controller_info', 'sssssss', *ARGS_A)[0])
    check_eq(ci['origin'], 'configured', 'controller_info origin')
    check_eq(ci['traddr'], '127.0.0.1', 'controller_info traddr')
    check_eq(json.loads(env.call(IFACE_DBG, 'controller_info', 'sssssss', 'tcp', '127.0.0.7', '1', '', '', '',
                                 '')[0]), {}, 'unknown controller_info')
    p = env.call_raw(IFACE_DBG, 'controller_info', 'sssssss', 'tcp', '127.0.0.1', '8009', 'n' * 3000, '', '', '')
    check(p.returncode != 0 and 'too long' in p.stderr, 'overlong nqn')


@case
@with_env(conf=CONF + '[Service Discovery]\nzeroconf=disabled\n',
          sysconf='[Host]\nnqn=%s\nid=11111111-2222-3333-4444-555555555555\n' % HOSTNQN)
def process_info_shape(env):
    """process_info as the Python daemon writes it (existing clients parse
    it): tron a JSON boolean, the flat kernel support keys, null for an
    unset hostkey/symname, no service types with zeroconf disabled."""
    for user in (None, 'nobody'):
        info = env.process_info(user=user)
        check(info['tron'] is False, 'tron is a JSON boolean: %r' % info['tron'])
        for k in ('kernel support.TP8013', 'kernel support.host_iface'):
            check(info.get(k) in ('True', 'False'), '%s: %r' % (k, info.get(k)))
        check(info['hostkey'] is None and info['symname'] is None,
              'unset hostkey/symname are null: %r %r' % (info['hostkey'], info['symname']))
        check_eq(info['avahi']['service types'], [], 'service types with zeroconf disabled')
        check_eq(info['avahi']['services'], {}, 'services with zeroconf disabled')
        # stafd's own keys stay.
        for k in ('version', 'log-level', 'hostnqn', 'hostid', 'config file', 'last known config file',
                  'config soak timer', 'kernel support', 'zeroconf', 'controllers'):
            check(k in info, 'process_info lacks %s' % k)
        check_eq(info['hostnqn'], HOSTNQN, 'hostnqn')
    env.busctl('set-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron', 'b', 'true')
    check(env.process_info()['tron'] is True, 'tron true after set')


class Monitor:
    """busctl monitor in the background, collecting messages as JSON."""

    def __init__(self, env):
        self.path = os.path.join(env.dir, 'monitor-%d.json' % time.monotonic_ns())
        self.f = open(self.path, 'w')
        self.p = subprocess.Popen(['busctl', '--system', 'monitor', '--json=short', BUSNAME],
                                  env=env.env, stdout=self.f, stderr=subprocess.DEVNULL)

        # Listening once it sees our own ping go by (no fixed sleep).
        def sees_ping():
            env.busctl('call', BUSNAME, OBJPATH, 'org.freedesktop.DBus.Peer', 'Ping')
            return any(m.get('member') == 'Ping' for m in self.messages())
        wait_for(sees_ping, 10, 'busctl monitor listening')

    def messages(self):
        out = []
        with open(self.path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def signals(self, member):
        return [m for m in self.messages() if m.get('type') == 'signal' and m.get('member') == member]

    def close(self):
        self.p.terminate()
        self.p.wait()
        self.f.close()


@case
@with_env()
def tron_property(env):
    mon = Monitor(env)
    try:
        env.busctl('set-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron', 'b', 'true')
        v = json.loads(env.busctl('get-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron').stdout)
        check_eq(v['data'], True, 'tron after set')
        v = json.loads(env.busctl('get-property', BUSNAME, OBJPATH, IFACE_DBG, 'log_level').stdout)
        check_eq(v['data'], 'DEBUG', 'log_level follows tron')
        wait_for(lambda: any(m['payload']['data'][0] == IFACE_DBG and 'tron' in m['payload']['data'][1]
                             for m in mon.signals('PropertiesChanged')), 5, 'PropertiesChanged(tron)')
        env.busctl('set-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron', 'b', 'false')
        v = json.loads(env.busctl('get-property', BUSNAME, OBJPATH, IFACE_DBG, 'log_level').stdout)
        check_eq(v['data'], 'INFO', 'log_level after troff')
        r = env.stafctl('tron')
        check_eq(r.returncode, 0, 'stafctl tron')
        check('true' in r.stdout.lower(), 'stafctl tron prints the value: %r' % r.stdout)
        r = env.stafctl('troff')
        check('false' in r.stdout.lower(), 'stafctl troff prints the value: %r' % r.stdout)
    finally:
        mon.close()


@case
@with_env(seed=SEED)
def non_root_caller(env):
    p = env.busctl('set-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron', 'b', 'true', user='nobody',
                   check_rc=False)
    check(p.returncode != 0, 'nobody must not set tron')
    v = json.loads(env.busctl('get-property', BUSNAME, OBJPATH, IFACE_DBG, 'tron', user='nobody').stdout)
    check_eq(v['data'], False, 'tron unchanged; nobody may read it')
    lst = {c['traddr']: c for c in env.list_controllers(False, user='nobody')}
    check_eq(lst['127.0.0.1']['dhchap-secret'], '<redacted>', 'secret redacted for nobody')
    lst = {c['traddr']: c for c in env.list_controllers(False)}
    check(lst['127.0.0.1']['dhchap-secret'].startswith('DHHC-1:00:'), 'root sees the secret')
    check_eq(env.process_info(user='nobody')['hostkey'], '<redacted>', 'hostkey redacted')
    check(env.process_info()['hostkey'].startswith('DHHC-1'), 'root sees the host key')
    a = [e for e in env.get_all(True, user='nobody') if e['discovery-controller']['traddr'] == '127.0.0.1'][0]
    check_eq(a['discovery-controller']['dhchap-secret'], '<redacted>', 'redacted in get_all_log_pages')
    check_eq(len(env.call(IFACE, 'get_log_pages', 'sssssss', *ARGS_A, user='nobody')[0]), 2, 'nobody may call')


# "At once" for a caller: far below sd-bus's 25 s call timeout, with room
# for valgrind's slowdown when stafd runs under it.
FAST = 2.0 * (5 if WRAPPER else 1)


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


# One DC with 1000 DLPEs: each get_all_log_pages answer is ~300 kB.
BIG_SEED = [{'tid': tid('127.0.0.1'), 'origin': 'configured',
             'log-pages': [dlpe('127.0.0.1', 'nqn.2024-01.io.example:sub%d' % i, portid=str(i))
                           for i in range(1000)]}]


class Flood:
    """flood.py as nobody: N calls of member, never reading a reply."""

    def __init__(self, env, n, member, pause_ms=0):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'flood.py')
        self.p = subprocess.Popen(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                                   sys.executable, script, env.sock, str(n), member, str(pause_ms)],
                                  env=env.env, stdout=subprocess.PIPE, text=True)

    def wait_sent(self, timeout):
        line = [None]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.p.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        check(line[0] and line[0].startswith('sent'), 'flooding client could not send: %r' % line[0])

    def close(self):
        self.p.kill()
        self.p.wait()
        self.p.stdout.close()


@case
@with_env(seed=SEED)
def flooding_client(env):
    """The issue's case: an unprivileged client sends 10 000 calls and never
    reads a reply; everyone else is still answered at once."""
    flood = Flood(env, 10000, 'list_controllers')
    try:
        flood.wait_sent(60)
        for _ in range(5):
            # root, and a new unprivileged sender whose uid stafd has not seen
            for user in (None, 'nobody'):
                dt = timed(lambda: env.list_controllers(user=user))
                check(dt < FAST, 'list_controllers as %s took %.1fs while a client floods' % (user or 'root', dt))
            dt = timed(lambda: env.process_info(user='nobody'))
            check(dt < FAST, 'process_info took %.1fs while a client floods' % dt)
            time.sleep(0.2)
        check(env.stafd.poll() is None, 'stafd still running')
    finally:
        flood.close()
    env.list_controllers(user='nobody')
    # Callers that are gone are forgotten (NameOwnerChanged): 60 one-shot
    # clients, and the flooder, leave no trace.
    for _ in range(20):
        env.list_controllers(user='nobody')
        env.list_controllers()
        env.process_info(user='nobody')
    wait_for(lambda: int(env.process_info()['bus peers']) <= 2, 5, 'gone callers forgotten')


@case
@with_env(seed=BIG_SEED)
def flooding_client_loop(env):
    """Clients that keep asking for big answers and never read them: left
    alone, stafd's answers pile up in dbus-daemon until it stops reading
    stafd (its 127 MB quota), and everyone starves.  stafd stops answering
    a client that does not read (it does not answer a ping), so the others
    are still answered at once, and the loop never waits on the bus (a
    synchronous credentials query froze it for 25 s per call here)."""
    # 10 connections of one user: the budget is per user, not per connection.
    floods = [Flood(env, 30000, 'get_all_log_pages', pause_ms=1) for _ in range(10)]
    others = []
    try:
        time.sleep(4)   # ~300 kB answers at ~1 kHz each: 127 MB within a second
        for _ in range(3):
            # Other users: answered at once.
            for user in (None, 'daemon'):
                dt = timed(lambda: env.list_controllers(user=user))
                check(dt < FAST, 'list_controllers as %s took %.1fs with 10 clients not reading'
                      % (user or 'root', dt))
            dt = timed(lambda: env.get_all(True, user='daemon'))
            check(dt < FAST, 'get_all_log_pages took %.1fs with 10 clients not reading' % dt)
            # The flooders' own user: a clear error at once, not a hang.
            t0 = time.monotonic()
            p = env.call_raw(IFACE, 'list_controllers', 'b', 'false', user='nobody')
            check(time.monotonic() - t0 < FAST and p.returncode != 0 and 'not read yet' in p.stderr,
                  'the flooding user gets LimitsExceeded: %r' % p.stderr)
        wait_for(lambda: 'does not read its answers' in env.read_log(), 10, 'a deaf client logged')
        # Calls that need the caller's uid while the flood goes on.
        others = [subprocess.Popen(['busctl', '--system', 'call', BUSNAME, OBJPATH, IFACE, 'list_controllers',
                                    'b', 'false'], env=env.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(3)]
        n = env.read_log().count('Reloaded')
        env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: env.read_log().count('Reloaded') > n, FAST, 'a reload while clients flood')
        check_eq(env.stop(timeout=2.5 * FAST), 0, 'prompt, clean stop while clients flood')
    finally:
        for f in floods:
            f.close()
        for p in others:
            p.kill()
            p.wait()


@case
@with_env(seed=SEED)
def bus_restarted(env):
    """dbus-daemon goes away and comes back on the same socket: stafd exits
    non-zero (so Restart=on-failure restarts it) after saving its cache, and
    a new stafd owns the name on the new bus."""
    env.list_controllers()
    cfg = env.bus.args[-1].split('=', 1)[1]
    env.bus.kill()
    env.bus.wait()
    try:
        rc = env.stafd.wait(10)
    except subprocess.TimeoutExpired:
        raise Failure('stafd keeps running deaf after losing the bus')
    check_eq(rc, 1, 'exit status after losing the bus')
    check('Lost the connection to the system bus' in env.read_log(), 'the loss is logged')
    env.stop()
    with open(env.cache) as f:
        check_eq(len(json.load(f)['controllers']), 2, 'cache saved on the way out')
    os.unlink(env.sock)
    env.bus = subprocess.Popen(['dbus-daemon', '--nofork', '--nopidfile', '--config-file=' + cfg],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(env.sock), 10, 'new dbus-daemon socket')
    os.chmod(env.sock, 0o777)
    env.start()
    check_eq(sorted(c['traddr'] for c in env.list_controllers()), ['127.0.0.1', '::1'], 'served again')


def rchar(pid):
    try:
        with open('/proc/%d/io' % pid) as f:
            return int(f.read().split('rchar:')[1].split()[0])
    except (OSError, IndexError):
        return -1


@case
@with_env(conf=CONF + '# a long configuration takes a while to read\n' * 200000, start=False)
def early_sighup(env):
    """A SIGHUP while stafd reads its configuration, in its first
    milliseconds, is a reload like any other, not death."""
    if WRAPPER:
        return  # valgrind reads megabytes itself before stafd's main() runs
    for _ in range(3):
        p = env.start(wait=False)
        # rchar passes 1 MB only while the 9 MB stafd.conf is being read.
        wait_for(lambda: rchar(p.pid) > 1 << 20 or p.poll() is not None, 10, 'stafd reading its configuration')
        n = env.read_log().count('Reloaded')
        p.send_signal(signal.SIGHUP)
        wait_for(lambda: env.name_owned() or p.poll() is not None, 30, 'stafd on the bus')
        check(p.poll() is None, 'stafd died of a SIGHUP sent while it read its configuration (status %s)'
              % p.returncode)
        wait_for(lambda: env.read_log().count('Reloaded') > n, 10, 'the early SIGHUP handled as a reload')
        check_eq(env.stop(), 0, 'clean exit')


def cached_traddrs(env):
    try:
        with open(env.cache) as f:
            return sorted(c['tid']['traddr'] for c in json.load(f)['controllers'])
    except (OSError, ValueError, KeyError):
        return None


@case
@with_env(start=False)
def cache_saves_coalesced(env):
    """A burst of changes costs one cache rewrite per second, not one each;
    the last state is on disk within the bound; a stop right after a change
    saves every DC (never the emptied set)."""
    env.start(['--tron'])
    extra = CONF + 'controller=transport=tcp;traddr=127.0.0.3;trsvcid=4420\n'
    wait_for(lambda: cached_traddrs(env) == ['127.0.0.1', '::1'], 5, 'first save')
    saves0 = env.read_log().count('Saved ')
    t0 = time.monotonic()
    for i in range(40):
        env.write_conf(extra if i % 2 == 0 else CONF)
        n = env.read_log().count('Reloaded')
        env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: env.read_log().count('Reloaded') > n, 10, 'reload %d' % i)
        # Each reload adds or removes 127.0.0.3: a change to save.
        want = ['127.0.0.1', '127.0.0.3', '::1'] if i % 2 == 0 else ['127.0.0.1', '::1']
        wait_for(lambda: sorted(c['traddr'] for c in env.list_controllers()) == want, 10, 'state %d' % i)
    dt = time.monotonic() - t0
    wait_for(lambda: cached_traddrs(env) == ['127.0.0.1', '::1'], 2.5, 'the last state saved within the bound')
    saves = env.read_log().count('Saved ') - saves0
    check(saves <= dt + 2, '%d cache saves for 40 changes in %.1fs' % (saves, dt))
    # A change, then at once a stop: the stop's save has every DC.
    env.write_conf(extra)
    n = env.read_log().count('Reloaded')
    env.stafd.send_signal(signal.SIGHUP)
    wait_for(lambda: env.read_log().count('Reloaded') > n, 10, 'last reload')
    wait_for(lambda: len(env.list_controllers()) == 3, 10, 'third DC')
    env.stafd.send_signal(signal.SIGTERM)
    env.stafd.send_signal(signal.SIGHUP)   # during the stop: ignored
    check_eq(env.stop(), 0, 'clean exit')
    check_eq(cached_traddrs(env), ['127.0.0.1', '127.0.0.3', '::1'], 'cache after a stop right after a change')


@case
@with_env(start=False)
def invalid_utf8(env):
    """A byte that is not UTF-8 in a controller= field and a "\\ud800" escape
    in a cache entry: every method keeps answering everyone, with valid
    UTF-8, and the cache stafd writes back is valid UTF-8."""
    with open(env.conf, 'wb') as f:
        f.write(CONF.encode() + b'controller=transport=tcp;traddr=127.0.0.4;trsvcid=8009;nqn=nqn.2024-01.io.ex:\xff\xfe\n')
    with open(env.cache, 'w') as f:
        f.write('{"format": "stafd-last-known-config", "version": 1, "controllers": [{"tid": {"transport": "tcp", '
                '"traddr": "127.0.0.1", "trsvcid": "8009", "subsysnqn": "%s", "host-traddr": "", '
                '"host-iface": "", "host-nqn": "%s"}, "origin": "discovered", "log-pages": [{"trtype": "tcp", '
                '"adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "4420", "subnqn": "nqn.x:\\ud800\\udfff", '
                '"subtype": "nvme", "treq": "not specified", "portid": "1", "cntlid": "65535", "asqsz": "32", '
                '"eflags": "0"}]}]}' % (DISC, HOSTNQN))
    env.start()
    for user in (None, 'nobody'):
        for detailed in (False, True):
            lst = env.list_controllers(detailed, user=user)
            check('127.0.0.1' in [c['traddr'] for c in lst], 'list_controllers answers (%s)' % user)
            env.get_all(detailed, user=user)
        pages = env.call(IFACE, 'get_log_pages', 'sssssss', *ARGS_A, user=user)[0]
        check_eq(len(pages), 1, 'get_log_pages of the DC with the bad cache entry')
        check(pages[0]['subnqn'].startswith('nqn.x:'), 'subnqn kept, repaired: %r' % pages[0]['subnqn'])
        json.loads(env.call(IFACE_DBG, 'controller_info', 'sssssss', *ARGS_A, user=user)[0])
        env.process_info(user=user)
    for args in (['ls'], ['ls', '-d'], ['adlp', '-d'], ['status']):
        r = env.stafctl(*args)
        check_eq(r.returncode, 0, 'stafctl %s' % ' '.join(args))
    check_eq(env.stop(), 0, 'clean exit')
    with open(env.cache, 'rb') as f:
        raw = f.read()
    raw.decode('utf-8')     # strict: raises on anything invalid
    check(b'\\ud800' not in raw, 'the surrogate escape is not written back')


@case
@with_env()
def reload(env):
    mon = Monitor(env)
    try:
        env.write_conf(CONF + 'controller=transport=tcp;traddr=127.0.0.3;trsvcid=4420\n')
        env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: '127.0.0.3' in [c['traddr'] for c in env.list_controllers()], 10,
                 'new controller after SIGHUP')
        # Drop one: it goes, and dc_removed is emitted.
        env.write_conf(CONF.replace('controller=transport=tcp;traddr=::1;trsvcid=8010;'
                                    'nqn=nqn.2024-01.io.example:disc\n', ''))
        env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: '::1' not in [c['traddr'] for c in env.list_controllers()], 10, 'DC removed')
        wait_for(lambda: mon.signals('dc_removed'), 5, 'dc_removed signal')
        # A malformed file keeps the daemon running, with warnings.
        env.write_conf('[Global]\nkato=banana\nthis is not ini\n[Controllers]\ncontroller=nonsense\n')
        env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: 'banana' in env.read_log(), 10, 'warning naming the bad value')
        holds(lambda: env.stafd.poll() is None, 1, 'stafd survives a malformed file')
        env.list_controllers()

        def reloads():
            return env.read_log().count('Reloaded ')
        # 100 SIGHUPs, each one a reload.
        env.write_conf(CONF)
        for i in range(100):
            n = reloads()
            env.stafd.send_signal(signal.SIGHUP)
            wait_for(lambda: reloads() == n + 1, 10, 'reload %d of 100' % (i + 1))
        # A burst: signals that arrive while one is pending merge, but at
        # least one reload happens and the daemon takes them all.
        n = reloads()
        for _ in range(100):
            env.stafd.send_signal(signal.SIGHUP)
        wait_for(lambda: reloads() > n, 10, 'a reload after a burst of 100 SIGHUPs')
        check(reloads() - n <= 100, 'no more reloads than SIGHUPs')
        wait_for(lambda: sorted(c['traddr'] for c in env.list_controllers()) == ['127.0.0.1', '::1'], 10,
                 'state after the SIGHUPs')
        holds(lambda: env.stafd.poll() is None, 1, 'stafd survives 200 SIGHUPs')
    finally:
        mon.close()


@case
@with_env(seed=SEED)
def cache_survives_restart(env):
    check_eq(len(env.call(IFACE, 'get_log_pages', 'sssssss', *ARGS_A)[0]), 2, 'seeded cache served')
    check_eq(env.stop(), 0, 'clean exit on SIGTERM')
    with open(env.cache) as f:
        saved = json.load(f)
    check_eq(len(saved['controllers']), 2, 'cache holds both configured DCs')
    env.start()
    check_eq(len(env.call(IFACE, 'get_log_pages', 'sssssss', *ARGS_A)[0]), 2, 'DLPEs after restart')


@case
@with_env(start=False)
def corrupt_cache_ignored(env):
    for junk in [b'{"format": "stafd-last-known-config", "version": 1, "controllers": [', b'not json at all',
                 b'{"some": "other program"}', b'\x00\xff' * 100, b'\xff\xfe{"format": "\xc0\xaf"}']:
        with open(env.cache, 'wb') as f:
            f.write(junk)
        env.start()
        check_eq(sorted(c['traddr'] for c in env.list_controllers()), ['127.0.0.1', '::1'],
                 'configured DCs despite a corrupt cache')
        check_eq(env.stop(), 0, 'clean exit')
    check('Ignoring the last-known configuration' in env.read_log(), 'corrupt cache is logged')


@case
@with_env(conf='[Global]\nip-family=ipv4\n[Controllers]\ncontroller=transport=tcp;traddr=localhost;trsvcid=8020\n'
              'controller=transport=tcp;traddr=localhost;trsvcid=8021\nexclude=traddr=localhost;trsvcid=8021\n')
def host_name_resolution(env):
    """A host name in controller= is resolved off the loop; exclusions apply by name too."""
    wait_for(lambda: [(c['traddr'], c['trsvcid']) for c in env.list_controllers()] == [('127.0.0.1', '8020')],
             10, 'localhost resolved to 127.0.0.1')
    check('Resolved localhost to 127.0.0.1' in env.read_log(), 'resolution is logged')


@case
@with_env()
def name_already_owned(env):
    p = subprocess.run([STAFD, '-f', env.conf, '--sys-conf=' + env.sysconf], env=env.env,
                       capture_output=True, text=True, timeout=20)
    check_eq(p.returncode, 1, 'second stafd exit code')
    check('already owned' in (p.stdout + p.stderr), 'one clear line: %r' % (p.stdout + p.stderr))


@case
@with_env(start=False)
def command_line(env):
    p = subprocess.run([STAFD, '--version'], capture_output=True, text=True)
    check(p.returncode == 0 and p.stdout.startswith('stafd ') and 'libnvme' in p.stdout, '--version')
    p = subprocess.run([STAFD, '--bogus'], capture_output=True, text=True)
    check_eq(p.returncode, 2, 'unknown option')
    p = subprocess.run([STAFD, '-f', '/nonexistent/stafd.conf', '--dump-config'], capture_output=True, text=True)
    check_eq(p.returncode, 1, 'unreadable -f')
    p = subprocess.run([STAFD, '-f', env.conf, '--sys-conf=' + env.sysconf, '--dump-config'],
                       capture_output=True, text=True)
    check_eq(p.returncode, 0, '--dump-config')
    json.loads(p.stdout)
    p = subprocess.run([STAFD, '-f', '/nonexistent/stafd.conf'], env=env.env, capture_output=True, text=True)
    check_eq(p.returncode, 1, 'daemon with an unreadable -f')


@case
@with_env(start=False)
def dump_config_tricky(env):
    """stafd --dump-config on a file with everything that bites: inline
    comments, ';' with spaces, a 223-byte NQN, a 4000-character line, repeated
    keys, bad values, continuation lines, an unknown section."""
    nqn = 'nqn.2024-01.io.example:' + 'x' * 200
    secret = 'DHHC-1:00:' + 'A' * 4000 + '=:'
    env.write_conf('[Global]\nKATO = 45   # inline comment\nkato=50\nqueue-size=4096\n'
                   'ip-family = ipv6\n[Controllers]\n'
                   'controller = transport=tcp ; traddr=127.0.0.1 ; trsvcid=8009 ; nqn=%s ; host-iface=lo   # DDC\n'
                   'controller=transport=tcp;traddr=::1;dhchap-secret=%s\n'
                   'exclude=transport=tcp;traddr=127.0.0.9\n    transport=tcp;traddr=127.0.0.10\n'
                   '[Bogus]\nx=1\n' % (nqn, secret))
    p = subprocess.run([STAFD, '-f', env.conf, '--sys-conf=' + env.sysconf, '--dump-config'],
                       capture_output=True, text=True)
    check_eq(p.returncode, 0, 'exit code')
    d = json.loads(p.stdout)['stafd.conf']
    check_eq(d['Global']['kato'], 50, 'last kato wins, inline comment stripped')
    check_eq(d['Global']['queue-size'], None, 'out-of-range queue-size falls back to the driver default')
    check_eq(d['Global']['ip-family'], 'ipv6', 'ip-family')
    c = d['Controllers']['controller']
    check_eq(len(c), 2, 'both controllers kept')
    check_eq((c[0]['traddr'], c[0]['trsvcid'], c[0]['nqn'], c[0]['host-iface']),
             ('127.0.0.1', '8009', nqn, 'lo'), 'fields around spaced ";" and a 223-byte NQN')
    check_eq(c[1]['dhchap-secret'], '<set>', 'a 4000-character line is read whole; secret not printed')
    check_eq([e['traddr'] for e in d['Controllers']['exclude']], ['127.0.0.9', '127.0.0.10'], 'continuation')
    check('queue-size' in p.stderr and '4096' in p.stderr and ':4:' in p.stderr, 'warning names line/key/value')
    check('Bogus' in p.stderr, 'unknown section warned')
    check(secret not in p.stdout + p.stderr, 'the secret is never printed')
    check_eq(json.loads(p.stdout)['sys.conf']['hostnqn'], HOSTNQN, 'host NQN from sys.conf')


@case
@with_env(start=False)
def sd_notify(env):
    path = os.path.join(env.dir, 'notify')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(15)
    env.env['NOTIFY_SOCKET'] = path
    env.start(wait=False)
    msgs = []

    def expect(word):
        while True:
            m = s.recv(4096).decode()
            msgs.append(m)
            if word in m.split('\n'):
                return
    expect('READY=1')
    check(env.name_owned(), 'READY=1 only once the name is owned')
    env.stafd.send_signal(signal.SIGHUP)
    expect('RELOADING=1')
    expect('READY=1')
    env.stafd.send_signal(signal.SIGTERM)
    expect('STOPPING=1')
    check_eq(env.stafd.wait(15), 0, 'exit status')
    s.close()


@case
@with_env(seed=SEED)
def stafctl_output(env):
    r = env.stafctl('ls')
    check_eq(r.returncode, 0, 'stafctl ls')
    check('127.0.0.1' in r.stdout and '::1' in r.stdout, 'ls lists DCs: %r' % r.stdout)
    r = env.stafctl('--json', 'ls')
    check_eq(sorted(c['traddr'] for c in json.loads(r.stdout)), ['127.0.0.1', '::1'], 'ls --json')
    r = env.stafctl('ls', '-d')
    check('configured' in r.stdout, 'ls -d shows origin: %r' % r.stdout)
    r = env.stafctl('adlp')
    check('nqn.2024-01.io.example:sub2' in r.stdout, 'adlp shows DLPEs')
    r = env.stafctl('--json', 'adlp', '-d')
    check_eq(len(json.loads(r.stdout)), 2, 'adlp --json')
    r = env.stafctl('dlp', '-t', 'tcp', '-a', '127.0.0.1', '-s', '8009')
    check_eq(r.returncode, 0, 'stafctl dlp')
    check('nqn.2024-01.io.example:sub1' in r.stdout, 'dlp shows DLPEs: %r' % r.stdout)
    r = env.stafctl('--json', 'dlp', '-a', '127.0.0.1', '-s', '8009')
    check_eq(len(json.loads(r.stdout)), 2, 'dlp --json with defaults')
    r = env.stafctl('status')
    check_eq(r.returncode, 0, 'stafctl status')
    check(HOSTNQN in r.stdout and 'nqn.2024-01.io.example:sub1' in r.stdout, 'status content')
    r = env.stafctl('frobnicate')
    check_eq(r.returncode, 2, 'usage error')
    env.stop()
    r = env.stafctl('ls')
    check_eq(r.returncode, 1, 'stafd absent')
    check_eq(r.stderr.strip(), 'stafctl: cannot reach stafd on the system bus (is it running?)', 'message')


@case
@with_env(seed=SEED)
def legacy_dasbus_client(env):
    """The way nvme-stas's own clients (stacd, stafctl) talk to stafd."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'legacy_client.py')
    p = env.run(['/usr/bin/python3', script], check_rc=False)
    check_eq(p.returncode, 0, 'legacy client: %s %s' % (p.stdout, p.stderr))


if __name__ == '__main__':
    main(CASES)
