/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * stafctl output for people.  Pure functions: they take the JSON stafd
 * answered (aa{ss} answers already converted to arrays of objects) and
 * write text to a FILE.  No bus, no globals, so they are unit-tested.
 */

#include <json-c/json.h>
#include <stdio.h>

/* Columns of the tables, NULL-terminated. */
extern const char *const render_ls_columns[];
extern const char *const render_ls_detailed_columns[];
extern const char *const render_dlpe_columns[];

/* String value of key in obj: "" if obj is not an object or key is missing. */
const char *render_get(struct json_object *obj, const char *key);

/* Aligned table of the array of objects rows, one column per key in
 * columns.  Empty and missing values print as "-".  An empty array prints
 * only the header. */
int render_table(FILE *f, struct json_object *rows, const char *const *columns);

/* The DC's printable identity: "(tcp, 192.168.1.10, 8009, nqn..., eth0,
 * 10.0.0.1) | nvme3"; optional fields are left out when empty, and the
 * device part when the object has no "device". */
int render_dc_id(FILE *f, struct json_object *dc);

/* Indented "key: value" lines of any JSON value (objects and arrays nest). */
int render_tree(FILE *f, struct json_object *o, unsigned indent);

/* One block per element of a get_all_log_pages answer:
 * id line, the DC's other keys when detailed, then its DLPEs as a table. */
int render_all_log_pages(FILE *f, struct json_object *adlp, int detailed);
