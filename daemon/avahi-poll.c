/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AvahiPoll on sd-event.
 *
 * Re-entrancy: Avahi calls watch_free()/timeout_free() (and _update()) from
 * inside the callback of the very object being freed, and frees other
 * objects whose events may already be pending in the same epoll batch.
 * Both are safe here because:
 *  - libsystemd (sd-event.c, event_source_free) does not free a source that
 *    is being dispatched: it unregisters it from epoll and disconnects it
 *    from the loop, and releases the memory after the handler returns.  A
 *    disconnected source is never dispatched again, so pending events of a
 *    freed object are dropped, never delivered to freed memory.
 *  - our handlers touch the AvahiWatch/AvahiTimeout only BEFORE calling the
 *    Avahi callback, never after (the callback may have freed it).
 * So an object's memory and its sd_event_source are released immediately
 * in *_free(); no deferred garbage collection is needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "avahi-poll.h"
#include "macro.h"

struct AvahiWatch {
        AvahiSdPoll *poll;
        AvahiWatch *prev, *next;
        sd_event_source *source;
        int fd;
        AvahiWatchEvent events; /* requested */
        AvahiWatchEvent revents; /* seen by the callback being dispatched */
        AvahiWatchCallback callback;
        void *userdata;
};

struct AvahiTimeout {
        AvahiSdPoll *poll;
        AvahiTimeout *prev, *next;
        sd_event_source *source;
        AvahiTimeoutCallback callback;
        void *userdata;
};

struct AvahiSdPoll {
        AvahiPoll api;
        sd_event *event;
        AvahiWatch *watches;
        AvahiTimeout *timeouts;
};

#define LIST_PREPEND(head, item)               \
        do {                                   \
                (item)->prev = NULL;           \
                (item)->next = (head);         \
                if (head)                      \
                        (head)->prev = (item); \
                (head) = (item);               \
        } while (0)
#define LIST_REMOVE(head, item)                            \
        do {                                               \
                if ((item)->next)                          \
                        (item)->next->prev = (item)->prev; \
                if ((item)->prev)                          \
                        (item)->prev->next = (item)->next; \
                else                                       \
                        (head) = (item)->next;             \
                (item)->prev = (item)->next = NULL;        \
        } while (0)

static uint32_t avahi_to_epoll(AvahiWatchEvent ev) {
        return (ev & AVAHI_WATCH_IN ? EPOLLIN : 0) | (ev & AVAHI_WATCH_OUT ? EPOLLOUT : 0) |
               (ev & AVAHI_WATCH_ERR ? EPOLLERR : 0) | (ev & AVAHI_WATCH_HUP ? EPOLLHUP : 0);
}

static AvahiWatchEvent epoll_to_avahi(uint32_t ev) {
        return (ev & EPOLLIN ? AVAHI_WATCH_IN : 0) | (ev & EPOLLOUT ? AVAHI_WATCH_OUT : 0) |
               (ev & EPOLLERR ? AVAHI_WATCH_ERR : 0) | (ev & EPOLLHUP ? AVAHI_WATCH_HUP : 0);
}

static int watch_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AvahiWatch *w = userdata;

        w->revents = epoll_to_avahi(revents);
        /* Last use of w: the callback may free it. */
        w->callback(w, fd, epoll_to_avahi(revents), w->userdata);
        return 0;
}

/* Events 0 means "not interested": switch the source off, otherwise epoll
 * would keep reporting HUP/ERR that nobody consumes. */
static int watch_apply(AvahiWatch *w, AvahiWatchEvent events) {
        int r;

        w->events = events;
        if (events == 0)
                return sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        r = sd_event_source_set_io_events(w->source, avahi_to_epoll(events));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(w->source, SD_EVENT_ON);
}

static AvahiWatch *watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent events,
                             AvahiWatchCallback callback, void *userdata) {
        AvahiSdPoll *p = api->userdata;
        AvahiWatch *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->poll = p;
        w->fd = fd;
        w->callback = callback;
        w->userdata = userdata;

        r = sd_event_add_io(p->event, &w->source, fd, avahi_to_epoll(events), watch_handler, w);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(w->source, "avahi-watch");
        r = watch_apply(w, events);
        if (r < 0)
                goto fail;

        LIST_PREPEND(p->watches, w);
        return w;
fail:
        sd_event_source_disable_unref(w->source);
        free(w);
        errno = -r;
        return NULL;
}

static void watch_update(AvahiWatch *w, AvahiWatchEvent events) {
        (void) watch_apply(w, events);
}

/* Avahi asks this from inside the callback: what fired (events of the
 * latest dispatch; 0 before the first). */
static AvahiWatchEvent watch_get_events(AvahiWatch *w) {
        return w->revents;
}

static void watch_free(AvahiWatch *w) {
        if (!w)
                return;
        LIST_REMOVE(w->poll->watches, w);
        (void) sd_event_source_disable_unref(w->source);
        free(w);
}

static uint64_t timespec_usec(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * USEC_PER_SEC + (uint64_t) ts->tv_nsec / 1000;
}

/* Absolute CLOCK_REALTIME timeval -> absolute CLOCK_MONOTONIC usec. */
static uint64_t realtime_tv_to_monotonic(const struct timeval *tv) {
        struct timespec rt, mono;
        uint64_t now_rt, now_mono, when;

        (void) clock_gettime(CLOCK_REALTIME, &rt);
        (void) clock_gettime(CLOCK_MONOTONIC, &mono);
        now_rt = timespec_usec(&rt);
        now_mono = timespec_usec(&mono);

        if (tv->tv_sec < 0)
                return now_mono;
        when = (uint64_t) tv->tv_sec * USEC_PER_SEC + (uint64_t) tv->tv_usec;
        if (when <= now_rt)
                return now_mono; /* in the past: as soon as possible */
        if (when - now_rt > UINT64_MAX / 2)
                return USEC_INFINITY - 1;
        return now_mono + (when - now_rt);
}

static int timeout_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        AvahiTimeout *t = userdata;

        /* The source was ONESHOT and is off now; the callback may re-arm
         * (timeout_update) or free t: do not touch t afterwards. */
        t->callback(t, t->userdata);
        return 0;
}

static int timeout_apply(AvahiTimeout *t, const struct timeval *tv) {
        int r;

        if (!tv)
                return sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
        r = sd_event_source_set_time(t->source, realtime_tv_to_monotonic(tv));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

static AvahiTimeout *timeout_new(const AvahiPoll *api, const struct timeval *tv,
                                 AvahiTimeoutCallback callback, void *userdata) {
        AvahiSdPoll *p = api->userdata;
        AvahiTimeout *t;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->poll = p;
        t->callback = callback;
        t->userdata = userdata;

        /* 1 ms accuracy: Avahi's timeouts are short protocol timers, the
         * default 250 ms slack of sd-event would be noticeable. */
        r = sd_event_add_time(p->event, &t->source, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                              timeout_handler, t);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(t->source, "avahi-timeout");
        r = timeout_apply(t, tv);
        if (r < 0)
                goto fail;

        LIST_PREPEND(p->timeouts, t);
        return t;
fail:
        sd_event_source_disable_unref(t->source);
        free(t);
        errno = -r;
        return NULL;
}

static void timeout_update(AvahiTimeout *t, const struct timeval *tv) {
        (void) timeout_apply(t, tv);
}

static void timeout_free(AvahiTimeout *t) {
        if (!t)
                return;
        LIST_REMOVE(t->poll->timeouts, t);
        (void) sd_event_source_disable_unref(t->source);
        free(t);
}

int avahi_sd_poll_new(AvahiSdPoll **ret, sd_event *e) {
        AvahiSdPoll *p;

        if (!ret || !e)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->api = (AvahiPoll){
                .userdata = p,
                .watch_new = watch_new,
                .watch_update = watch_update,
                .watch_get_events = watch_get_events,
                .watch_free = watch_free,
                .timeout_new = timeout_new,
                .timeout_update = timeout_update,
                .timeout_free = timeout_free,
        };
        *ret = p;
        return 0;
}

const AvahiPoll *avahi_sd_poll_get(AvahiSdPoll *p) {
        return p ? &p->api : NULL;
}

AvahiSdPoll *avahi_sd_poll_free(AvahiSdPoll *p) {
        if (!p)
                return NULL;
        while (p->watches)
                watch_free(p->watches);
        while (p->timeouts)
                timeout_free(p->timeouts);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
