#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A client written for the Python stafd (dasbus, as nvme-stas uses it),
run unchanged against ours."""

import json
import sys

from dasbus.connection import SystemMessageBus

bus = SystemMessageBus()
staf = bus.get_proxy('org.nvmexpress.staf', '/org/nvmexpress/staf')

ctrls = staf.list_controllers(False)
assert isinstance(ctrls, list) and ctrls, ctrls
for c in ctrls:
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in c.items()), c
    pages = staf.get_log_pages(c['transport'], c['traddr'], c['trsvcid'], c['subsysnqn'], c['host-traddr'],
                               c['host-iface'], c['host-nqn'])
    assert isinstance(pages, list), pages
    for p in pages:
        assert 'subnqn' in p and 'traddr' in p, p

allpages = json.loads(staf.get_all_log_pages(True))
assert len(allpages) == len(ctrls), (allpages, ctrls)

dbg = bus.get_proxy('org.nvmexpress.staf', '/org/nvmexpress/staf', interface_name='org.nvmexpress.staf.debug')
info = json.loads(dbg.process_info())
assert 'hostnqn' in info, info
# The Python daemon's shape: tron a boolean, the flat kernel support keys.
assert isinstance(info['tron'], bool), info
assert info['kernel support.TP8013'] in ('True', 'False'), info
assert info['kernel support.host_iface'] in ('True', 'False'), info
assert dbg.log_level in ('INFO', 'DEBUG')
assert dbg.tron in (True, False)
dbg.tron = True
assert dbg.tron is True and dbg.log_level == 'DEBUG'
dbg.tron = False
print('legacy client ok: %d controllers' % len(ctrls))
sys.exit(0)
