/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: console or journal target, the level, and the helpers that log
 * an error code and return it negated (log_*_errno), incl. the per-DC
 * prefixes (log_dc).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "utf8.h"

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

size_t log_escape_to(const char *s, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) strempty(s);
        size_t o = 0;

        if (size == 0)
                return 0;
        while (*p) {
                size_t n = utf8_char_len((const char *) p);
                char esc[5];
                const char *src;
                size_t len;

                if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
                        (void) snprintf(esc, sizeof(esc), "\\x%02x", *p);
                        src = esc;
                        len = strlen(esc);
                        n = 1;
                } else {
                        src = (const char *) p;
                        len = n;
                }
                if (o + len >= size)
                        break; /* truncate at a character boundary */
                memcpy(buf + o, src, len);
                o += len;
                p += n;
        }
        buf[o] = 0;
        return o;
}

int log_internal(int level, int error, const char *tid, const char *device, const char *file, int line,
                 const char *func, const char *fmt, ...) {
        char raw[2048], msg[4 * 2048 + 1], tidbuf[1024];
        va_list ap;

        /* %m expands to the error we were given, not whatever errno holds. */
        errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        /* Messages carry strings from the network and from files: no control
         * characters (a forged line), no invalid UTF-8 (journal blobs). */
        (void) log_escape_to(raw, msg, sizeof(msg));
        if (tid) {
                (void) log_escape_to(tid, tidbuf, sizeof(tidbuf));
                tid = tidbuf;
        }

        if (log_target == LOG_TARGET_JOURNAL) {
                char lbuf[16];

                (void) snprintf(lbuf, sizeof(lbuf), "%d", line);
                if (tid)
                        (void) sd_journal_send("MESSAGE=%s | %s - %s", tid, device ?: "nvme?", msg,
                                               "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=stafd",
                                               "NVME_TID=%s", tid, "NVME_DEVICE=%s", device ?: "",
                                               "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf, "CODE_FUNC=%s",
                                               func, error ? "ERRNO=%d" : NULL, abs(error), NULL);
                else
                        (void) sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level,
                                               "SYSLOG_IDENTIFIER=stafd", "CODE_FILE=%s", file,
                                               "CODE_LINE=%s", lbuf, "CODE_FUNC=%s", func,
                                               error ? "ERRNO=%d" : NULL, abs(error), NULL);
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
