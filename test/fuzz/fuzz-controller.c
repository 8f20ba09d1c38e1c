/* SPDX-License-Identifier: Apache-2.0 */
/* One controller=/exclude= string; also timespan_parse on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *s = NULL;
        ConfController c;
        int64_t t;

        if (size > 64 * 1024)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        if (conf_parse_controller(s, &c, &warnings, "fuzz", 1, "controller") == 0) {
                ConfController copy;

                if (conf_controller_copy(&copy, &c) == 0)
                        conf_controller_done(&copy);
                conf_controller_done(&c);
        }
        if (timespan_parse(s, &t) == 0 && t < -1)
                abort();
        return 0;
}
