#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""NBFT discovery controllers as seen on D-Bus: stafd reads the tables of
STAFD_NBFT_DIR (tables built by test/nbft-build.py), makes their DCs
configured candidates, applies exclude=, and ignores broken tables.  The
real kernel side (HFI interface, connection, adoption) is the VM scenario
stafd-nbft."""

import importlib.util
import json
import os
import uuid

from harness import IFACE_DBG, Env, Failure, check, check_eq, main, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('nbft_build', os.path.join(HERE, '..', 'nbft-build.py'))
nbft_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbft_build)

DISC = 'nqn.2014-08.org.nvmexpress.discovery'
SYS_HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'
TABLE_HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
TABLE_HOSTID = uuid.UUID('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee')
# No interface has this MAC: the DCs come without host-iface (and a warning).
MAC = nbft_build.parse_mac('02:00:5e:00:53:99')
DC_NQN = 'nqn.2024-01.io.example:bootdc'

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def by_traddr(controllers):
    return {c['traddr']: c for c in controllers}


def run_env(conf, fill, check_fn):
    env = Env(conf)
    try:
        tables = os.path.join(env.dir, 'tables')
        os.mkdir(tables)
        fill(tables)
        env.env['STAFD_NBFT_DIR'] = tables
        env.start()
        check_fn(env, tables)
    except Failure as e:
        raise Failure('%s\n--- stafd log ---\n%s' % (e, env.read_log()[-4000:]))
    finally:
        env.close()


@case
def nbft_dcs():
    """Valid DCs become configured candidates with the table's host NQN;
    exclude= applies; broken and non-regular table files are skipped."""
    conf = ('[Controllers]\n'
            'controller=transport=tcp;traddr=127.0.0.5;trsvcid=8009\n'
            'exclude=transport=tcp;traddr=127.0.0.3\n')

    def fill(tables):
        write(os.path.join(tables, 'NBFT'), nbft_build.build(
            TABLE_HOSTNQN, TABLE_HOSTID, [MAC],
            [{'uri': 'nvme+tcp://127.0.0.2:8009/'},
             {'uri': 'nvme+tcp://127.0.0.3:8009/'},
             {'uri': 'nvme+tcp://[::1]:8010/', 'nqn': DC_NQN},
             {'uri': 'nvme+tcp://127.0.0.4/', 'hfi': 5}]))
        bad = nbft_build.build(TABLE_HOSTNQN, TABLE_HOSTID, [MAC], [{'uri': 'nvme+tcp://127.0.0.6/'}])
        bad[70] ^= 1
        write(os.path.join(tables, 'NBFT1'), bad)
        os.mkdir(os.path.join(tables, 'NBFT2'))
        # Host NQN not "configured": its DC uses the system's NQN.
        write(os.path.join(tables, 'NBFT3'), nbft_build.build(
            TABLE_HOSTNQN, None, [MAC], [{'uri': 'nvme+tcp://127.0.0.7/'}], host_flags=0x1))
        # Not an NBFT at all.
        write(os.path.join(tables, 'SSDT'), b'x' * 100)

    def check_fn(env, tables):
        wait_for(lambda: len(env.list_controllers()) == 4, 10, 'four controllers')
        plain = by_traddr(env.list_controllers())
        detailed = by_traddr(env.list_controllers(detailed=True))
        check_eq(sorted(plain), ['127.0.0.2', '127.0.0.5', '127.0.0.7', '::1'], 'controllers')

        a = detailed['127.0.0.2']
        check_eq(a['origin'], 'configured', 'origin of an NBFT DC')
        check_eq(a['nbft'], os.path.join(tables, 'NBFT'), 'nbft key')
        check_eq(a['host-nqn'], TABLE_HOSTNQN, 'host-nqn from the table')
        check_eq(a['subsysnqn'], DISC, 'empty NQN = the discovery NQN')
        check_eq(a['host-iface'], '', 'no interface has the MAC')
        check('nbft' not in plain['127.0.0.2'], 'plain list has no nbft key')

        v6 = detailed['::1']
        check_eq((v6['trsvcid'], v6['subsysnqn'], v6['nbft']), ('8010', DC_NQN, os.path.join(tables, 'NBFT')),
                 'IPv6 DC')
        check_eq(detailed['127.0.0.7']['host-nqn'], SYS_HOSTNQN, 'unconfigured host NQN not used')
        check_eq(detailed['127.0.0.7']['nbft'], os.path.join(tables, 'NBFT3'), 'second table')
        check('nbft' not in detailed['127.0.0.5'], 'stafd.conf DC has no nbft key')

        info = json.loads(env.call(IFACE_DBG, 'controller_info', 'sssssss', 'tcp', '127.0.0.2', '8009', DISC, '',
                                   '', TABLE_HOSTNQN)[0])
        check_eq(info.get('nbft'), os.path.join(tables, 'NBFT'), 'controller_info nbft key')

        log = env.read_log()
        for want in ('NBFT1: bad checksum', 'NBFT2: not a regular file', 'HFI index 5 names no valid HFI',
                     'excluded by exclude=', 'no interface has the MAC address 02:00:5e:00:53:99 of HFI 1',
                     'discovery controller (tcp, 127.0.0.2, 8009'):
            check(want in log, 'log says %r' % want)
        check('SSDT' not in log, 'other tables are not read')

    run_env(conf, fill, check_fn)


@case
def nbft_reload_keeps_dcs():
    """The tables are read once: a reload keeps the NBFT DCs, and an
    exclude= added by the reload drops them."""
    def fill(tables):
        write(os.path.join(tables, 'NBFT'), nbft_build.build(
            TABLE_HOSTNQN, TABLE_HOSTID, [MAC], [{'uri': 'nvme+tcp://127.0.0.2:8009/'}]))

    def check_fn(env, tables):
        wait_for(lambda: len(env.list_controllers()) == 1, 10, 'the NBFT controller')
        os.unlink(os.path.join(tables, 'NBFT'))
        env.write_conf('[Global]\nkato=20\n')
        env.stafd.send_signal(1)
        wait_for(lambda: 'Reloaded' in env.read_log(), 10, 'reload')
        check_eq([c['traddr'] for c in env.list_controllers()], ['127.0.0.2'], 'kept after reload')
        env.write_conf('[Controllers]\nexclude=traddr=127.0.0.2\n')
        env.stafd.send_signal(1)
        wait_for(lambda: env.list_controllers() == [], 10, 'excluded after reload')

    run_env('', fill, check_fn)


@case
def nbft_missing_dir():
    """No table directory (most hosts): nothing happens."""
    env = Env('')
    try:
        env.env['STAFD_NBFT_DIR'] = os.path.join(env.dir, 'nope')
        env.start()
        check_eq(env.list_controllers(), [], 'no controllers')
        check('NBFT' not in env.read_log(), 'nothing logged about the NBFT')
    finally:
        env.close()


if __name__ == '__main__':
    main(CASES)
