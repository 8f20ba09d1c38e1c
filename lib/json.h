/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* JSON rendering with json-c, for every JSON stafd produces. */

#include <json-c/json.h>
#include <stdbool.h>

#include "conf.h"
#include "dlp.h"
#include "tid.h"

/* --dump-config: effective configuration (every global with its effective
 * value, every controller/exclude as parsed).  Implemented in json-conf.c. */
struct json_object *json_conf(const Conf *c);
struct json_object *json_sysconf(const SysConf *s);

/* json_dlpe, json_dlp and json_add_tid are implemented in json.c. */
/* One DLPE as an object with the spec's keys in order; extras only when set. */
struct json_object *json_dlpe(const DlpEntry *e);
/* Array of DLPE objects. */
struct json_object *json_dlp(const Dlp *d);
/* Add the 7 TID keys (transport, traddr, ..., host-nqn) to obj. */
int json_add_tid(struct json_object *obj, const Tid *t);
int json_add_string(struct json_object *obj, const char *key, const char *value);

/* Serialise; pretty = 4-space indented.  malloc'd, NULL on OOM. */
char *json_to_string_dup(struct json_object *o, bool pretty);

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
        *o = NULL;
}
#define _cleanup_json_ __attribute__((cleanup(json_object_putp)))
