/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker pool (daemon/pool.c) with plain blocking functions: lanes that
 * never wait for each other, the per-lane bound, drop, free with jobs in
 * flight; and fabric.c's synchronous checks (argument errors, the option
 * separator guard, error texts).  Every wait has a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "fabric.h"
#include "macro.h"
#include "pool.h"

#define DEADLINE_MS 10000

static uint64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

/* Poll *v until it reaches want; fail after DEADLINE_MS. */
static void wait_for(atomic_int *v, int want) {
        uint64_t end = now_ms() + DEADLINE_MS;

        while (atomic_load(v) < want) {
                if (now_ms() > end)
                        fail_msg("timed out waiting for %d (have %d)", want, atomic_load(v));
                sleep_ms(1);
        }
}

/* *v stays at want for ms (the "holds" pattern for an absence). */
static void holds(atomic_int *v, int want, unsigned ms) {
        uint64_t end = now_ms() + ms;

        while (now_ms() < end) {
                assert_int_equal(atomic_load(v), want);
                sleep_ms(1);
        }
}

/* A gate jobs block on until the test opens it. */
typedef struct Gate {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool open;
        atomic_int started, finished;
} Gate;

static Gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0 };

static void gate_reset(void) {
        gate.open = false;
        atomic_store(&gate.started, 0);
        atomic_store(&gate.finished, 0);
}

static void gate_open(void) {
        pthread_mutex_lock(&gate.lock);
        gate.open = true;
        pthread_cond_broadcast(&gate.cond);
        pthread_mutex_unlock(&gate.lock);
}

static int job_gate(void *arg) {
        atomic_fetch_add(&gate.started, 1);
        pthread_mutex_lock(&gate.lock);
        while (!gate.open)
                pthread_cond_wait(&gate.cond, &gate.lock);
        pthread_mutex_unlock(&gate.lock);
        atomic_fetch_add(&gate.finished, 1);
        return 0;
}

static int job_value(void *arg) {
        sleep_ms((unsigned) ((intptr_t) arg % 3));
        return (int) (intptr_t) arg;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        fail_msg("event loop timed out");
        return 0;
}

static sd_event *new_loop(void) {
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, DEADLINE_MS * USEC_PER_MSEC, 0,
                                                    on_timeout, NULL), 0);
        return e;
}

static const PoolLaneSpec two_lanes[] = { { "slow", 1 }, { "fast", 2 } };

/* ---- 100 jobs over two lanes, each delivered once ---- */

typedef struct Count {
        int n, want;
        bool seen[100];
        sd_event *event;
} Count;

static Count count;

static void on_value_done(void *data, int result) {
        assert_true(result >= 0 && result < 100);
        assert_int_equal(result, (int) (intptr_t) data);
        assert_false(count.seen[result]);
        count.seen[result] = true;
        if (++count.n == count.want)
                (void) sd_event_exit(count.event, 0);
}

static void test_hundred_jobs(void **state) {
        sd_event *e = new_loop();
        Pool *p = NULL;

        count = (Count) { .want = 100, .event = e };
        assert_int_equal(pool_new(&p, e, "t", two_lanes, 2), 0);
        for (intptr_t i = 0; i < 100; i++)
                assert_int_equal(pool_submit(p, (unsigned) i % 2, job_value, on_value_done, (void *) i, NULL), 0);
        assert_int_equal(pool_n_pending(p), 100);
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(count.n, 100);
        assert_int_equal(pool_n_pending(p), 0);
        pool_free(p);
        sd_event_unref(e);
}

/* ---- a blocked lane does not hold up another ---- */

static sd_event *lane_event;
static int fast_done, slow_done;

static void on_fast(void *data, int result) {
        fast_done++;
        if (fast_done == 3)
                (void) sd_event_exit(lane_event, 0);
}

static void on_slow(void *data, int result) {
        slow_done++;
        assert_int_equal(result, -ECANCELED);   /* never ran: freed while queued */
}

static void on_gate_done(void *data, int result) {
        slow_done++;
}

static void test_lanes_independent(void **state) {
        sd_event *e = new_loop();
        Pool *p = NULL;

        gate_reset();
        lane_event = e;
        fast_done = slow_done = 0;
        assert_int_equal(pool_new(&p, e, "t", two_lanes, 2), 0);
        /* The slow lane's only worker blocks; more work queues behind it. */
        assert_int_equal(pool_submit(p, 0, job_gate, on_gate_done, NULL, NULL), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(pool_submit(p, 0, job_value, on_slow, (void *) 1, NULL), 0);
        wait_for(&gate.started, 1);
        /* The fast lane completes while the slow one is stuck. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(pool_submit(p, 1, job_value, on_fast, (void *) 2, NULL), 0);
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(fast_done, 3);
        assert_int_equal(slow_done, 0);
        assert_int_equal(pool_n_running(p), 1);
        gate_open();
        /* Free: the running gate job finishes (done once), the 5 queued
         * never run and get -ECANCELED. */
        pool_free(p);
        assert_int_equal(slow_done, 6);
        assert_int_equal(atomic_load(&gate.finished), 1);
        sd_event_unref(e);
}

/* ---- the lane's worker count bounds concurrent jobs ---- */

static int bound_done;

static void on_bound_done(void *data, int result) {
        bound_done++;
}

static void test_bound(void **state) {
        static const PoolLaneSpec lane[] = { { "connect", 2 } };
        sd_event *e = new_loop();
        Pool *p = NULL;
        PoolJob *jobs[5];

        gate_reset();
        bound_done = 0;
        assert_int_equal(pool_new(&p, e, "t", lane, 1), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(pool_submit(p, 0, job_gate, on_bound_done, NULL, &jobs[i]), 0);
        wait_for(&gate.started, 2);
        holds(&gate.started, 2, 50);
        assert_int_equal(pool_n_running(p), 2);

        /* Queued work can be dropped; running work cannot. */
        assert_false(pool_job_drop(jobs[0]));
        assert_true(pool_job_drop(jobs[4]));
        assert_int_equal(pool_n_pending(p), 4);

        gate_open();
        wait_for(&gate.finished, 4);
        while (bound_done < 4)
                assert_true(sd_event_run(e, DEADLINE_MS * USEC_PER_MSEC) > 0);
        assert_int_equal(bound_done, 4);
        assert_int_equal(atomic_load(&gate.started), 4);
        pool_free(p);
        sd_event_unref(e);
}

static void test_pool_errors(void **state) {
        static const PoolLaneSpec zero[] = { { "z", 0 } };
        sd_event *e = new_loop();
        Pool *p = NULL;

        assert_int_equal(pool_new(&p, e, "t", zero, 1), -EINVAL);
        assert_int_equal(pool_new(&p, NULL, "t", two_lanes, 2), -EINVAL);
        assert_int_equal(pool_new(&p, e, "t", two_lanes, 0), -EINVAL);
        assert_int_equal(pool_new(&p, e, "t", two_lanes, 2), 0);
        assert_int_equal(pool_submit(p, 2, job_value, on_bound_done, NULL, NULL), -EINVAL);
        assert_int_equal(pool_submit(p, 0, NULL, on_bound_done, NULL, NULL), -EINVAL);
        assert_false(pool_job_drop(NULL));
        assert_null(pool_free(p));
        assert_null(pool_free(NULL));
        sd_event_unref(e);
}

/* ---- fabric.c's synchronous side ---- */

static void on_must_not_run(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        fail_msg("callback called");
}

static void test_fabric_errors(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;
        char buf[128];

        assert_int_equal(fabric_new(&f, e, &(FabricLanes) { 0, 1 }), -EINVAL);
        assert_int_equal(fabric_new(&f, NULL, &(FabricLanes) { 1, 1 }), -EINVAL);
        assert_int_equal(fabric_new(&f, e, &(FabricLanes) { 1, 1 }), 0);
        assert_int_equal(fabric_get_dlp(f, "../../etc", true, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(fabric_disconnect(f, "eth0", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(fabric_connect(f, NULL, NULL, NULL, NULL, NULL), -EINVAL);
        assert_string_equal(fabric_strerror(-ENOENT, 0, buf, sizeof(buf)), strerror(ENOENT));
        assert_non_null(strstr(fabric_strerror(-EREMOTEIO, 0x6002, buf, sizeof(buf)), "0x6002"));
        assert_string_equal(fabric_strerror(-EREMOTEIO, 0, buf, sizeof(buf)), strerror(EREMOTEIO));
        assert_string_equal(fabric_strerror(0, 0, buf, sizeof(buf)), "Success");
        assert_false(fabric_is_owned(f, "nvme3"));
        fabric_set_owned(f, "nvme3", true);
        assert_true(fabric_is_owned(f, "nvme3"));
        assert_false(fabric_is_owned(f, "nvme30"));
        fabric_set_owned(f, "nvme3", false);
        assert_false(fabric_is_owned(f, "nvme3"));
        fabric_free(f);
        assert_null(fabric_free(NULL));
        sd_event_unref(e);
}

/* The last guard before libnvme: a field that would add connect options
 * is refused synchronously, nothing is queued. */
static void test_connect_separator(void **state) {
        static const char * const bad_trsvcid[] = { "8011,traddr=127.0.0.3", "8009 ", "80\n09", "8009=1" };
        sd_event *e = new_loop();
        Fabric *f = NULL;
        FabricHost host = { .hostnqn = "nqn.2014-08.org.nvmexpress:uuid:1" };

        assert_int_equal(fabric_new(&f, e, &(FabricLanes) { 1, 1 }), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad_trsvcid); i++) {
                Tid t = { .transport = (char *) "tcp", .traddr = (char *) "127.0.0.1",
                          .trsvcid = (char *) bad_trsvcid[i] };
                FabricConnectParams cp = { .tid = &t };

                assert_int_equal(fabric_connect(f, &host, &cp, on_must_not_run, NULL, NULL), -EINVAL);
        }
        {
                Tid t = { .transport = (char *) "tcp", .traddr = (char *) "127.0.0.1", .trsvcid = (char *) "8009",
                          .subsysnqn = (char *) "nqn.x,hostnqn=nqn.y" };
                FabricConnectParams cp = { .tid = &t };

                assert_int_equal(fabric_connect(f, &host, &cp, on_must_not_run, NULL, NULL), -EINVAL);
        }
        {
                /* A secret may end in '=' (base64) but not carry a ','. */
                Tid t = { .transport = (char *) "tcp", .traddr = (char *) "127.0.0.1", .trsvcid = (char *) "8009" };
                FabricConnectParams cp = { .tid = &t, .dhchap_secret = "DHHC-1:00:abc=,traddr=1.2.3.4:" };

                assert_int_equal(fabric_connect(f, &host, &cp, on_must_not_run, NULL, NULL), -EINVAL);
        }
        assert_int_equal(fabric_n_running(f), 0);
        fabric_free(f);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hundred_jobs),
                cmocka_unit_test(test_lanes_independent),
                cmocka_unit_test(test_bound),
                cmocka_unit_test(test_pool_errors),
                cmocka_unit_test(test_fabric_errors),
                cmocka_unit_test(test_connect_separator),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
