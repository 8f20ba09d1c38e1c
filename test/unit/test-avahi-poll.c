/* SPDX-License-Identifier: Apache-2.0 */
/* AvahiPoll on sd-event: a private loop, a pipe, and Avahi's contract. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "avahi-poll.h"
#include "macro.h"

typedef struct Ctx {
        sd_event *e;
        AvahiSdPoll *p;
        const AvahiPoll *api;
        int pipe[2];
        unsigned calls;
        AvahiWatchEvent seen, seen_get;
        bool free_in_cb, rearm_in_cb;
        AvahiWatch *w;
        AvahiTimeout *t;
} Ctx;

static int setup(void **state) {
        Ctx *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        assert_int_equal(sd_event_new(&c->e), 0);
        assert_int_equal(avahi_sd_poll_new(&c->p, c->e), 0);
        c->api = avahi_sd_poll_get(c->p);
        assert_non_null(c->api);
        assert_int_equal(pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK), 0);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        Ctx *c = *state;

        avahi_sd_poll_free(c->p);
        sd_event_unref(c->e);
        close(c->pipe[0]);
        close(c->pipe[1]);
        free(c);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Run the loop for about `usec`, dispatching whatever comes. */
static void run_for(Ctx *c, uint64_t usec) {
        uint64_t end = now_usec() + usec;

        for (;;) {
                uint64_t n = now_usec();

                if (n >= end)
                        break;
                assert_true(sd_event_run(c->e, end - n) >= 0);
        }
}

/* Run until calls reaches n or `usec` passed; returns elapsed usec. */
static uint64_t run_until(Ctx *c, unsigned n, uint64_t usec) {
        uint64_t start = now_usec(), end = start + usec;

        while (c->calls < n && now_usec() < end)
                assert_true(sd_event_run(c->e, end - now_usec()) >= 0);
        return now_usec() - start;
}

static void tv_in(struct timeval *tv, int64_t usec) {
        gettimeofday(tv, NULL);
        int64_t t = (int64_t) tv->tv_sec * 1000000 + tv->tv_usec + usec;
        tv->tv_sec = t / 1000000;
        tv->tv_usec = t % 1000000;
}

static void watch_cb(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata) {
        Ctx *c = userdata;
        char buf[16];

        c->calls++;
        c->seen = ev;
        c->seen_get = c->api->watch_get_events(w);
        if (ev & AVAHI_WATCH_IN)
                (void) read(fd, buf, sizeof(buf));
        if (c->free_in_cb) {
                c->api->watch_free(w);
                c->w = NULL;
        }
}

static void test_io_readiness(void **state) {
        Ctx *c = *state;

        c->w = c->api->watch_new(c->api, c->pipe[0], AVAHI_WATCH_IN, watch_cb, c);
        assert_non_null(c->w);
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);

        assert_int_equal(write(c->pipe[1], "x", 1), 1);
        run_until(c, 1, USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_true(c->seen & AVAHI_WATCH_IN);
        assert_int_equal(c->seen_get, c->seen);

        /* Drained: no more calls. */
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 1);
        c->api->watch_free(c->w);
}

static void test_update_events(void **state) {
        Ctx *c = *state;

        /* The write end is always writable: 0 events = quiet. */
        c->w = c->api->watch_new(c->api, c->pipe[1], 0, watch_cb, c);
        assert_non_null(c->w);
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);

        c->api->watch_update(c->w, AVAHI_WATCH_OUT);
        run_until(c, 1, USEC_PER_SEC);
        assert_true(c->calls >= 1);
        assert_true(c->seen & AVAHI_WATCH_OUT);
        assert_true(c->api->watch_get_events(c->w) & AVAHI_WATCH_OUT);

        c->api->watch_update(c->w, 0);
        c->calls = 0;
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);

        /* IN on a write end never fires; back to OUT fires again. */
        c->api->watch_update(c->w, AVAHI_WATCH_IN);
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);
        c->api->watch_update(c->w, AVAHI_WATCH_OUT);
        run_until(c, 1, USEC_PER_SEC);
        assert_true(c->calls >= 1);
        c->api->watch_free(c->w);
}

static void test_hup(void **state) {
        Ctx *c = *state;

        c->w = c->api->watch_new(c->api, c->pipe[0], AVAHI_WATCH_IN, watch_cb, c);
        close(c->pipe[1]);
        c->pipe[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
        c->free_in_cb = true;
        run_until(c, 1, USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_true(c->seen & AVAHI_WATCH_HUP);
        assert_null(c->w);
}

static void test_free_in_callback(void **state) {
        Ctx *c = *state;

        c->free_in_cb = true;
        c->w = c->api->watch_new(c->api, c->pipe[0], AVAHI_WATCH_IN, watch_cb, c);
        assert_int_equal(write(c->pipe[1], "xy", 2), 2);
        run_until(c, 1, USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_null(c->w);
        assert_int_equal(write(c->pipe[1], "z", 1), 1);
        run_for(c, 30 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 1);
}

/* Two watches ready in the same epoll batch; the first frees the second. */
static AvahiWatch *victim;
static unsigned victim_calls;
static void victim_cb(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata) {
        victim_calls++;
}
static void killer_cb(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata) {
        Ctx *c = userdata;

        c->calls++;
        if (victim) {
                c->api->watch_free(victim);
                victim = NULL;
        }
        c->api->watch_free(w);
}

static void test_free_other_in_callback(void **state) {
        Ctx *c = *state;
        int p2[2];

        assert_int_equal(pipe2(p2, O_CLOEXEC), 0);
        assert_int_equal(write(c->pipe[1], "a", 1), 1);
        assert_int_equal(write(p2[1], "b", 1), 1);
        victim_calls = 0;
        /* Whichever runs first frees the other (or itself): at most one call in all. */
        victim = c->api->watch_new(c->api, p2[0], AVAHI_WATCH_IN, victim_cb, c);
        assert_non_null(c->api->watch_new(c->api, c->pipe[0], AVAHI_WATCH_IN, killer_cb, c));
        run_for(c, 30 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 1);
        assert_true(victim_calls <= 1);
        assert_null(victim);
        close(p2[0]);
        close(p2[1]);
}

static void timeout_cb(AvahiTimeout *t, void *userdata) {
        Ctx *c = userdata;
        struct timeval tv;

        c->calls++;
        if (c->rearm_in_cb && c->calls < 3) {
                tv_in(&tv, 10 * USEC_PER_MSEC);
                c->api->timeout_update(t, &tv);
        }
        if (c->free_in_cb) {
                c->api->timeout_free(t);
                c->t = NULL;
        }
}

static void test_timeout_fires(void **state) {
        Ctx *c = *state;
        struct timeval tv;
        uint64_t el;

        tv_in(&tv, 50 * USEC_PER_MSEC);
        c->t = c->api->timeout_new(c->api, &tv, timeout_cb, c);
        assert_non_null(c->t);
        el = run_until(c, 1, 2 * USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_true(el >= 45 * USEC_PER_MSEC);
        assert_true(el < 500 * USEC_PER_MSEC);
        /* One-shot. */
        run_for(c, 80 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 1);
        c->api->timeout_free(c->t);
}

static void test_timeout_update_disable(void **state) {
        Ctx *c = *state;
        struct timeval tv;
        uint64_t el;

        /* Created disabled. */
        c->t = c->api->timeout_new(c->api, NULL, timeout_cb, c);
        assert_non_null(c->t);
        run_for(c, 30 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);

        /* Armed, then disabled before it fires. */
        tv_in(&tv, 30 * USEC_PER_MSEC);
        c->api->timeout_update(c->t, &tv);
        c->api->timeout_update(c->t, NULL);
        run_for(c, 80 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 0);

        /* Pushed later: fires at the new time, not the old one. */
        tv_in(&tv, 20 * USEC_PER_MSEC);
        c->api->timeout_update(c->t, &tv);
        tv_in(&tv, 120 * USEC_PER_MSEC);
        c->api->timeout_update(c->t, &tv);
        el = run_until(c, 1, 2 * USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_true(el >= 100 * USEC_PER_MSEC);

        /* Re-armed from inside its own callback. */
        c->calls = 0;
        c->rearm_in_cb = true;
        tv_in(&tv, 5 * USEC_PER_MSEC);
        c->api->timeout_update(c->t, &tv);
        run_until(c, 3, 2 * USEC_PER_SEC);
        assert_int_equal(c->calls, 3);
        run_for(c, 40 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 3);
        c->api->timeout_free(c->t);
}

static void test_timeout_past(void **state) {
        Ctx *c = *state;
        struct timeval tv;
        uint64_t el;

        tv_in(&tv, -10 * (int64_t) USEC_PER_SEC);
        c->t = c->api->timeout_new(c->api, &tv, timeout_cb, c);
        el = run_until(c, 1, 2 * USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_true(el < 50 * USEC_PER_MSEC);

        /* Epoch 0 and far future. */
        tv = (struct timeval) { 0, 0 };
        c->api->timeout_update(c->t, &tv);
        run_until(c, 2, 2 * USEC_PER_SEC);
        assert_int_equal(c->calls, 2);
        tv_in(&tv, 3600 * (int64_t) USEC_PER_SEC);
        c->api->timeout_update(c->t, &tv);
        run_for(c, 20 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 2);
        c->api->timeout_free(c->t);
}

static void test_timeout_free_in_callback(void **state) {
        Ctx *c = *state;
        struct timeval tv;

        c->free_in_cb = true;
        tv_in(&tv, 5 * USEC_PER_MSEC);
        c->t = c->api->timeout_new(c->api, &tv, timeout_cb, c);
        run_until(c, 1, USEC_PER_SEC);
        assert_int_equal(c->calls, 1);
        assert_null(c->t);
        run_for(c, 30 * USEC_PER_MSEC);
        assert_int_equal(c->calls, 1);
}

/* Objects Avahi left behind are released by avahi_sd_poll_free (ASan checks). */
static void test_leftovers(void **state) {
        Ctx *c = *state;
        struct timeval tv;

        tv_in(&tv, USEC_PER_SEC);
        assert_non_null(c->api->watch_new(c->api, c->pipe[0], AVAHI_WATCH_IN, watch_cb, c));
        assert_non_null(c->api->timeout_new(c->api, &tv, timeout_cb, c));
        assert_non_null(c->api->timeout_new(c->api, NULL, timeout_cb, c));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_io_readiness, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_other_in_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_fires, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_update_disable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_past, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_free_in_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
