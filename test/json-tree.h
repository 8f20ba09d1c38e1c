/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Test helpers: the DLP and TID shapes as json-c trees, built the plain way
 * to cross-check lib/json.c's streaming writer and lib/cache.c (stafd itself
 * streams everything and never builds these trees). */

#include <json-c/json.h>

#include "dlp.h"
#include "tid.h"

/* One DLPE as an object with the spec's keys in order; extras only when set. */
struct json_object *json_dlpe(const DlpEntry *e);
/* Array of DLPE objects (NULL = []). */
struct json_object *json_dlp(const Dlp *d);
/* Add the 7 TID keys (transport, traddr, ..., host-nqn) to obj. */
int json_add_tid(struct json_object *obj, const Tid *t);
