/* SPDX-License-Identifier: Apache-2.0 */
/* stafd.conf parser on arbitrary bytes, then --dump-config rendering. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "json.h"
#include "macro.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *text = NULL;

        if (size > 256 * 1024)
                return 0;
        if (conf_parse_string("fuzz.conf", (const char *) data, size, &c) < 0)
                return 0;
        for (size_t i = 0; i < c->n_controllers; i++) {
                ConfController copy;

                const ConfController *e = &c->controllers[i];

                if (!e->transport || !e->traddr)
                        abort(); /* accepted controller= entries must have both */
                /* Everything of an accepted entry can reach D-Bus. */
                if (!utf8_is_valid(e->transport) || !utf8_is_valid(e->traddr) || !utf8_is_valid(e->trsvcid) ||
                    !utf8_is_valid(e->nqn) || !utf8_is_valid(e->host_traddr) || !utf8_is_valid(e->host_iface) ||
                    !utf8_is_valid(e->host_nqn))
                        abort();
                if (conf_controller_copy(&copy, &c->controllers[i]) == 0)
                        conf_controller_done(&copy);
        }
        /* Warnings are journal text: valid UTF-8, no control characters,
         * and a bounded number of them. */
        for (char **w = c->warnings; w && *w; w++) {
                if (!utf8_is_valid(*w) || w - c->warnings > 60)
                        abort();
                for (const char *p = *w; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                abort();
        }
        if (c->zeroconf_persistence_sec > CONF_TIMESPAN_MAX_SEC)
                abort();
        o = json_conf(c);
        text = json_to_string_dup(o, true);
        return 0;
}
