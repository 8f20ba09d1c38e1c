/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The per-DC face of the bus: one discovery controller described as a D-Bus
 * dictionary (a{ss}) or a JSON object, its log page as aa{ss}, and the DC a
 * method's seven TID arguments name.  Every string is valid UTF-8 on the
 * way out, whatever the configuration, the cache or the fabric gave. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "dc.h"
#include "json.h"
#include "manager.h"

/* Shown instead of a secret to callers other than root. */
#define BUS_REDACTED "<redacted>"

/* Append the {ss} entries of dc to msg (inside an open a{ss}); *bytes grows
 * by about their size. */
int bus_dc_append(sd_bus_message *msg, Manager *m, Dc *dc, bool detailed, bool redact, size_t *bytes);
/* dc as one JSON object, into w. */
void bus_dc_write_json(JsonWriter *w, Manager *m, Dc *dc, bool detailed, bool redact);
/* The log page as aa{ss} (d may be NULL: an empty array). */
int bus_dc_append_dlp(sd_bus_message *msg, const Dlp *d, size_t *bytes);
/* Read the seven TID arguments of msg and look the DC up: *ret = NULL if
 * there is none.  An argument that is too long is an InvalidArgs error. */
int bus_dc_read_tid(sd_bus_message *msg, Manager *m, sd_bus_error *error, Dc **ret);
/* Append a string, replacing any invalid UTF-8 (the last line of defence). */
int bus_append_string(sd_bus_message *msg, const char *s);
