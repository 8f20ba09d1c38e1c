/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stand-in for lib/dlp.c while fabric is built on its own (the meson file
 * uses it only when lib/dlp.c is absent): the fabric unit tests never fetch
 * a log, they only need the symbols.
 */
#include <errno.h>
#include <stdlib.h>

#include "dlp.h"

int dlp_fetch(DlpReadFn read, void *ud, unsigned max_retries, size_t max_entries, Dlp **ret,
              unsigned *ret_retries, size_t *ret_dropped) {
        return -EOPNOTSUPP;
}

Dlp *dlp_free(Dlp *d) {
        free(d);
        return NULL;
}
