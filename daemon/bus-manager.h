/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The manager-level methods and properties of /org/nvmexpress/staf:
 * org.nvmexpress.staf (list_controllers, get_log_pages, get_all_log_pages)
 * and org.nvmexpress.staf.debug (process_info, controller_info, tron,
 * log_level).  Check input, ask the manager, shape output with bus-dc. */

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_manager_debug_vtable[];

/* A bus filter: a Properties.Set from a sender whose uid is not known yet
 * waits for it (see bus-creds.h) instead of blocking the loop. */
int bus_manager_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error);
