/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* sd-bus vtables of org.nvmexpress.staf and org.nvmexpress.staf.debug:
 * check input, ask the manager, shape output.  No decisions live here. */

#include "dc.h"
#include "manager.h"

#define STAF_BUS_NAME "org.nvmexpress.staf"
#define STAF_BUS_PATH "/org/nvmexpress/staf"
#define STAF_IFACE "org.nvmexpress.staf"
#define STAF_IFACE_DBG "org.nvmexpress.staf.debug"

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured), register
 * the object and take the bus name.  Fails if the name is owned. */
int bus_setup(Manager *m);
void bus_teardown(Manager *m);

void bus_emit_log_pages_changed(Manager *m, Dc *dc);
void bus_emit_dc_removed(Manager *m);

/* Write the introspection XML of our object (as a peer would receive it). */
int bus_write_idl(const char *path);
