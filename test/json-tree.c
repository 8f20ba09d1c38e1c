/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: json-c trees of DLPs and TIDs (see json-tree.h). */
#include <errno.h>

#include "json.h"
#include "json-tree.h"
#include "macro.h"

struct json_object *json_dlpe(const DlpEntry *e) {
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                const char *v = dlpe_get(e, k);

                if (k >= _DLPE_N_BASE && isempty(v))
                        continue;
                if (json_add_string(o, dlp_key_name(k), v) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

struct json_object *json_dlp(const Dlp *d) {
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; d && i < d->n; i++) {
                struct json_object *e = json_dlpe(d->entries[i]);

                if (!e)
                        return NULL;
                if (json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        return NULL;
                }
        }
        return TAKE_PTR(a);
}

int json_add_tid(struct json_object *obj, const Tid *t) {
        int r;

        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                r = json_add_string(obj, tid_field_names[i], tid_field_const(t, i));
                if (r < 0)
                        return r;
        }
        return 0;
}
