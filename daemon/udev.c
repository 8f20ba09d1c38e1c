/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uevent monitor: sd-device events of subsystem nvme turned into plain
 * UdevEvent structs (action, device, NVME_AEN, NVME_EVENT) for the manager.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "udev.h"

struct Udev {
        sd_device_monitor *monitor;
        UdevEventFn cb;
        void *userdata;
};

static const char *action_name(sd_device *d) {
        const char *a = NULL;

        (void) sd_device_get_property_value(d, "ACTION", &a);
        return a;
}

static int on_device(sd_device_monitor *monitor, sd_device *d, void *userdata) {
        Udev *u = userdata;
        UdevEvent ev = { .device = d };

        ev.action = action_name(d);
        if (!ev.action || sd_device_get_sysname(d, &ev.sysname) < 0)
                return 0;
        /* Only controllers (nvmeN), not namespaces or the fabrics misc device. */
        if (strncmp(ev.sysname, "nvme", 4) != 0 || ev.sysname[4] < '0' || ev.sysname[4] > '9' ||
            strchr(ev.sysname + 4, 'n'))
                return 0;
        (void) sd_device_get_property_value(d, "NVME_AEN", &ev.aen);
        (void) sd_device_get_property_value(d, "NVME_EVENT", &ev.nvme_event);

        log_debug("uevent: %s %s%s%s%s%s", ev.action, ev.sysname, ev.aen ? " NVME_AEN=" : "",
                  strempty(ev.aen), ev.nvme_event ? " NVME_EVENT=" : "", strempty(ev.nvme_event));
        u->cb(u, &ev, u->userdata);
        return 0;
}

int udev_new(Udev **ret, sd_event *event, UdevEventFn cb, void *userdata) {
        _cleanup_free_ Udev *u = NULL;
        int r;

        u = calloc(1, sizeof(Udev));
        if (!u)
                return -ENOMEM;
        u->cb = cb;
        u->userdata = userdata;

        r = sd_device_monitor_new(&u->monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to create the udev monitor: %m");
        r = sd_device_monitor_filter_add_match_subsystem_devtype(u->monitor, "nvme", NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(u->monitor, event);
        if (r >= 0)
                r = sd_device_monitor_start(u->monitor, on_device, u);
        if (r < 0) {
                sd_device_monitor_unref(u->monitor);
                return log_error_errno(r, "Failed to start the udev monitor: %m");
        }
        (void) sd_device_monitor_set_description(u->monitor, "nvme-uevents");

        *ret = TAKE_PTR(u);
        return 0;
}

Udev *udev_free(Udev *u) {
        if (!u)
                return NULL;
        sd_device_monitor_unref(u->monitor);
        free(u);
        return NULL;
}
