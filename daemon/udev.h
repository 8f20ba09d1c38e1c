/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* sd-device monitor of subsystem nvme -> plain event structs. */

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Udev Udev;

typedef struct UdevEvent {
        const char *action; /* "add", "change", "remove", ... */
        const char *sysname; /* "nvme3" */
        const char *aen; /* NVME_AEN or NULL */
        const char *nvme_event; /* NVME_EVENT or NULL */
        sd_device *device; /* for further properties (NVME_TRTYPE, ...) */
} UdevEvent;

typedef void (*UdevEventFn)(Udev *u, const UdevEvent *ev, void *userdata);

int udev_new(Udev **ret, sd_event *event, UdevEventFn cb, void *userdata);
Udev *udev_free(Udev *u);

DEFINE_TRIVIAL_CLEANUP_FUNC(Udev *, udev_free);
