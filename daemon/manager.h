/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "conf.h"

typedef struct Manager Manager;

typedef struct ManagerArgs {
        const char *conf_file;
        const char *sys_conf_file;
        bool tron;
} ManagerArgs;

/* Takes ownership of conf and sys. */
int manager_new(Manager **ret, const ManagerArgs *args, Conf *conf, SysConf *sys);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);
int manager_write_idl(const char *path);

static inline void manager_freep(Manager **m) {
        if (*m)
                *m = manager_free(*m);
}
