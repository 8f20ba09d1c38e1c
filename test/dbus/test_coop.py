#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host cooperation as seen on D-Bus: the system exclusion list
(STAFD_NVME_CONF_DIR stands in for /etc/nvme) applies to configured and
referral DCs, is re-read when it changes without a reload, and names
file:line; the owner key is there.  The kernel side (registry entries of
real connections, mDNS) is the VM scenarios stafd-registry and
stafd-exclusions."""

import json
import os
import shutil

from harness import Env, Failure, check, check_eq, holds, main, wait_for

DISC = 'nqn.2014-08.org.nvmexpress.discovery'
HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def tid(traddr):
    return {'transport': 'tcp', 'traddr': traddr, 'trsvcid': '8009', 'subsysnqn': DISC,
            'host-traddr': '', 'host-iface': '', 'host-nqn': HOSTNQN}


def referral(traddr, portid):
    return {'trtype': 'tcp', 'adrfam': 'ipv4', 'traddr': traddr, 'trsvcid': '8009', 'subnqn': DISC,
            'subtype': 'referral', 'treq': 'not specified', 'portid': str(portid), 'cntlid': '65535',
            'asqsz': '32', 'eflags': '0'}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)


def dcs(env):
    return {c['traddr']: c['origin'] for c in env.list_controllers(detailed=True)}


@case
def system_exclusions():
    """Configured and referral DCs named by the exclusion list are left out;
    several groups of referrals (two parents) with one excluded in the
    first; edits apply without a reload; the log names file:line once."""
    conf = ('[Global]\nip-family=ipv4\n[Service Discovery]\nzeroconf=disabled\n[Controllers]\n'
            'controller=transport=tcp;traddr=127.0.0.2;trsvcid=8009\n'
            'controller=transport=tcp;traddr=127.0.0.3;trsvcid=8009\n'
            'controller=transport=tcp;traddr=127.0.0.4;trsvcid=8009\n')
    env = Env(conf)
    try:
        with open(env.cache, 'w') as f:
            json.dump({'format': 'stafd-last-known-config', 'version': 1, 'controllers': [
                {'tid': tid('127.0.0.2'), 'origin': 'configured',
                 'log-pages': [referral('127.0.0.7', 1), referral('127.0.0.8', 2)]},
                {'tid': tid('127.0.0.4'), 'origin': 'configured',
                 'log-pages': [referral('127.0.0.9', 1)]}]}, f)
        main_file = os.path.join(env.nvme_conf_dir, 'exclusions.conf')
        write(main_file, '[exclusions]\n'
                         'exclusion = transport=tcp;traddr=127.0.0.3\n'
                         'exclusion = traddr=::ffff:127.0.0.7;trsvcid=8009\n'
                         'exclusion = bogus\n')
        env.start()
        want = {'127.0.0.2': 'configured', '127.0.0.4': 'configured',
                '127.0.0.8': 'referral', '127.0.0.9': 'referral'}
        wait_for(lambda: dcs(env) == want, 10, 'excluded DCs left out: %s' % want)
        log = env.read_log()
        check('(tcp, 127.0.0.3, 8009, %s) excluded by %s:2' % (DISC, main_file) in log, 'file:line of .3')
        check('(tcp, 127.0.0.7, 8009, %s) excluded by %s:3' % (DISC, main_file) in log, 'file:line of .7')
        check('%s:4: invalid exclusion' % main_file in log, 'invalid entry logged')
        check('owner' in env.list_controllers(detailed=True)[0], 'owner key in detailed DCs')

        # A drop-in (and its directory) appear while stafd runs.
        dropin = os.path.join(env.nvme_conf_dir, 'exclusions.conf.d', 'a.conf')
        write(dropin, '[exclusions]\nexclusion = traddr=127.0.0.8\n')
        want.pop('127.0.0.8')
        wait_for(lambda: dcs(env) == want, 10, 'referral .8 dropped after the drop-in appeared')
        check('excluded by %s:2' % dropin in env.read_log(), 'file:line of the drop-in')
        check('Reloaded' not in env.read_log(), 'no reload needed')

        # Warned once per DC while the list stays the same.
        holds(lambda: env.read_log().count('127.0.0.3, 8009, %s) excluded' % DISC) == 2, 2,
              'one warning per DC and version of the list')

        # Everything goes: all DCs are back.
        shutil.rmtree(env.nvme_conf_dir)
        want = {'127.0.0.2': 'configured', '127.0.0.3': 'configured', '127.0.0.4': 'configured',
                '127.0.0.7': 'referral', '127.0.0.8': 'referral', '127.0.0.9': 'referral'}
        wait_for(lambda: dcs(env) == want, 10, 'all DCs back after /etc/nvme went away')

        # /etc/nvme comes back with an exclusion: watched through its parent.
        write(main_file, '[exclusions]\nexclusion = traddr=127.0.0.9\n')
        want.pop('127.0.0.9')
        wait_for(lambda: dcs(env) == want, 10, 'referral .9 dropped after /etc/nvme reappeared')
        check_eq(env.stop(), 0, 'clean exit')
    except Failure as e:
        raise Failure('%s\n--- stafd log ---\n%s' % (e, env.read_log()[-4000:]))
    finally:
        env.close()


@case
def registry_leftovers():
    """At start, stafd purges the hidden directories a crashed stafd left in
    the registry, and nothing else; with no connection it writes nothing."""
    env = Env('[Service Discovery]\nzeroconf=disabled\n')
    try:
        mine = os.path.join(env.registry, '.stafd-new.nvme3.abcdef')
        other = os.path.join(env.registry, '.someone-else')
        entry = os.path.join(env.registry, 'nvme1')
        for d in (mine, other, entry):
            os.makedirs(d)
        write(os.path.join(mine, 'owner'), 'stas\n')
        write(os.path.join(entry, 'owner'), 'nbft\n')
        env.start()
        check(not os.path.exists(mine), 'leftover purged')
        check(os.path.isdir(other), "another program's hidden directory kept")
        with open(os.path.join(entry, 'owner')) as f:
            check_eq(f.read(), 'nbft\n', 'entries of others untouched')
        check_eq(sorted(os.listdir(env.registry)), ['.someone-else', 'nvme1'], 'nothing written')
        check_eq(env.stop(), 0, 'clean exit')
    except Failure as e:
        raise Failure('%s\n--- stafd log ---\n%s' % (e, env.read_log()[-4000:]))
    finally:
        env.close()


if __name__ == '__main__':
    main(CASES)
