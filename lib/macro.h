/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Small helpers shared by lib/ and daemon/.  libsystemd 252 does not export
 * _cleanup_ or DEFINE_TRIVIAL_CLEANUP_FUNC, so we define our own.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        *p = func(*p);          \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Hand a pointer out and forget it locally, so a cleanup handler does not free it. */
#define TAKE_PTR(p)                      \
        ({                               \
                __typeof__(p) _tp = (p); \
                (p) = NULL;              \
                _tp;                     \
        })
#define TAKE_FD(fd)             \
        ({                      \
                int _tf = (fd); \
                (fd) = -EBADF;  \
                _tf;            \
        })

/* Make room in *(T **)arr, holding n elements of size sz, for one more: the
 * capacity doubles at every power of two, so appending N elements costs
 * O(N) (100 000 controller= lines, a cache of 100 000 DCs).  0 or -ENOMEM. */
static inline int array_grow(void *arr, size_t n, size_t sz) {
        void **p = arr;
        size_t cap;
        void *t;

        if (n != 0 && (n & (n - 1)) != 0)
                return 0; /* not a power of two: room left */
        cap = n ? n * 2 : 4;
        if (cap > SIZE_MAX / sz)
                return -ENOMEM;
        t = realloc(*p, cap * sz);
        if (!t)
                return -ENOMEM;
        *p = t;
        return 0;
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* Replace *p with a copy of s (NULL stays NULL). Returns 0 or -ENOMEM. */
static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)
#define USEC_INFINITY ((uint64_t) UINT64_MAX)

/* Seconds (a configured time span) to microseconds, and a deadline from a
 * time and a span, saturating at USEC_INFINITY instead of wrapping.  Negative
 * seconds ("never") give USEC_INFINITY too. */
static inline uint64_t usec_from_sec(int64_t sec) {
        if (sec < 0 || (uint64_t) sec > USEC_INFINITY / USEC_PER_SEC)
                return USEC_INFINITY;
        return (uint64_t) sec * USEC_PER_SEC;
}

static inline uint64_t usec_add(uint64_t a, uint64_t b) {
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}
