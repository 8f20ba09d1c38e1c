/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_CONSOLE;
static int log_max_level = LOG_INFO;

void log_set_target(LogTarget t) {
        log_target = t;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_internal(int level, int error, const char *tid, const char *device,
                 const char *file, int line, const char *func,
                 const char *fmt, ...) {
        char msg[2048];
        va_list ap;

        /* %m expands to the error we were given, not whatever errno holds. */
        errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_target == LOG_TARGET_JOURNAL) {
                char lbuf[16];

                (void) snprintf(lbuf, sizeof(lbuf), "%d", line);
                if (tid)
                        (void) sd_journal_send("MESSAGE=%s | %s - %s", tid, device ?: "nvme?", msg,
                                               "PRIORITY=%d", level,
                                               "SYSLOG_IDENTIFIER=stafd",
                                               "NVME_TID=%s", tid,
                                               "NVME_DEVICE=%s", device ?: "",
                                               "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf,
                                               "CODE_FUNC=%s", func,
                                               error ? "ERRNO=%d" : NULL, abs(error),
                                               NULL);
                else
                        (void) sd_journal_send("MESSAGE=%s", msg,
                                               "PRIORITY=%d", level,
                                               "SYSLOG_IDENTIFIER=stafd",
                                               "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf,
                                               "CODE_FUNC=%s", func,
                                               error ? "ERRNO=%d" : NULL, abs(error),
                                               NULL);
        } else {
                FILE *f = level <= LOG_WARNING ? stderr : stdout;

                if (tid)
                        (void) fprintf(f, "%s | %s - %s\n", tid, device ?: "nvme?", msg);
                else
                        (void) fprintf(f, "%s\n", msg);
                (void) fflush(f);
        }

        return -abs(error);
}
