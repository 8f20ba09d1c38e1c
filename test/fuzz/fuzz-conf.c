/* SPDX-License-Identifier: Apache-2.0 */
/* stafd.conf parser on arbitrary bytes, then --dump-config rendering. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "json.h"
#include "macro.h"

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

                if (!c->controllers[i].transport || !c->controllers[i].traddr)
                        abort(); /* accepted controller= entries must have both */
                if (conf_controller_copy(&copy, &c->controllers[i]) == 0)
                        conf_controller_done(&copy);
        }
        o = json_conf(c);
        text = json_to_string_dup(o, true);
        return 0;
}
