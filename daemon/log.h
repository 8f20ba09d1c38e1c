/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Logging: stdout/stderr by default, the journal (identifier "stafd",
 * structured fields) with --syslog.  The helpers that take an error code
 * log it (%m works) and return it negated, so "return log_error_errno(r, ...)"
 * gives up and reports in one line.
 */

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_set_target(LogTarget t);
void log_set_max_level(int level); /* LOG_INFO or LOG_DEBUG */
int log_get_max_level(void);

/* Copy s into buf with control characters and bytes that are not valid
 * UTF-8 written as \xNN; truncated at a character boundary.
 * log_internal does this to every message and TID, so strings from the
 * network or from files can be logged as they are.  Returns the length. */
size_t log_escape_to(const char *s, char *buf, size_t size);

/* tid/device may be NULL.  Returns -abs(error) (or 0 when error is 0). */
int log_internal(int level, int error, const char *tid, const char *device, const char *file, int line,
                 const char *func, const char *fmt, ...) _printf_(8, 9);

#define log_full_errno(level, error, ...)                                                             \
        ({                                                                                            \
                int _l = (level), _e = (error);                                                       \
                (log_get_max_level() >= _l)                                                           \
                        ? log_internal(_l, _e, NULL, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e);                                                                   \
        })
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* DC messages: "(tcp, 10.0.0.5, 8009, ...) | nvme3 - text", with the TID and
 * device also as journal fields NVME_TID= and NVME_DEVICE=. */
#define log_dc_errno(level, error, tid, dev, ...)                                                       \
        ({                                                                                              \
                int _l = (level), _e = (error);                                                         \
                (log_get_max_level() >= _l)                                                             \
                        ? log_internal(_l, _e, (tid), (dev), __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e);                                                                     \
        })
#define log_dc(level, tid, dev, ...) (void) log_dc_errno(level, 0, tid, dev, __VA_ARGS__)
