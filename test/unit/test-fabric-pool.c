/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fabric worker pool, with plain blocking functions instead of libnvme
 * calls: completion through sd-event, cancel, busy, free with jobs in flight.
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

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

/* A gate a job blocks on until the test opens it. */
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
        return (int) (intptr_t) arg;
}

static int job_sleep(void *arg) {
        atomic_fetch_add(&gate.started, 1);
        sleep_ms((unsigned) (intptr_t) arg);
        atomic_fetch_add(&gate.finished, 1);
        return 0;
}

static int job_value(void *arg) {
        sleep_ms((unsigned) ((intptr_t) arg % 5));
        return (int) (intptr_t) arg;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        fail_msg("event loop timed out");
        return 0;
}

static sd_event *new_loop(void) {
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 10 * USEC_PER_SEC, 0,
                                                    on_timeout, NULL), 0);
        return e;
}

/* ---- 100 jobs ---- */

typedef struct Count {
        int n, want;
        bool seen[100];
        sd_event *event;
} Count;

static void on_value_done(FabricOp *op, int error, void *result, void *userdata) {
        Count *c = userdata;

        assert_null(result);
        assert_true(error >= 0 && error < 100);
        assert_false(c->seen[error]);
        c->seen[error] = true;
        if (++c->n == c->want)
                (void) sd_event_exit(c->event, 0);
}

static void test_hundred_jobs(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;
        Count c = { .want = 100, .event = e };

        assert_int_equal(fabric_new(&f, e, 4), 0);
        for (intptr_t i = 0; i < 100; i++)
                assert_int_equal(fabric_submit(f, NULL, job_value, (void *) i,
                                                        on_value_done, &c, NULL), 0);
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(c.n, 100);
        fabric_free(f);
        sd_event_unref(e);
}

/* ---- cancel ---- */

static void on_must_not_run(FabricOp *op, int error, void *result, void *userdata) {
        fail_msg("callback of a cancelled/freed operation was called");
}

static sd_event *cancel_event;

static void on_after_cancel(FabricOp *op, int error, void *result, void *userdata) {
        int *called = userdata;

        (*called)++;
        assert_int_equal(error, 7);
        (void) sd_event_exit(cancel_event, 0);
}

static void test_cancel(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;
        FabricOp *op = NULL;
        int called = 0;

        gate_reset();
        cancel_event = e;
        /* One worker: jobs complete in submission order. */
        assert_int_equal(fabric_new(&f, e, 1), 0);
        assert_int_equal(fabric_submit(f, "nvme5", job_gate, (void *) 3,
                                                on_must_not_run, NULL, &op), 0);
        assert_int_equal(fabric_submit(f, NULL, job_value, (void *) 7,
                                                on_after_cancel, &called, NULL), 0);
        fabric_op_cancel(op);
        /* Still busy: the job itself runs to its end. */
        assert_true(fabric_busy(f, "nvme5"));
        gate_open();
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(called, 1);
        assert_int_equal(atomic_load(&gate.finished), 1);
        assert_false(fabric_busy(f, "nvme5"));
        fabric_free(f);
        sd_event_unref(e);
}

/* ---- busy ---- */

typedef struct BusyCtx {
        Fabric *f;
        sd_event *event;
        int called;
} BusyCtx;

static void on_busy_done(FabricOp *op, int error, void *result, void *userdata) {
        BusyCtx *b = userdata;

        /* The op is finished when its callback runs: the manager may
         * disconnect right here. */
        assert_false(fabric_busy(b->f, "nvme3"));
        b->called++;
        (void) sd_event_exit(b->event, 0);
}

static void test_busy(void **state) {
        sd_event *e = new_loop();
        BusyCtx b = { .event = e };

        gate_reset();
        assert_int_equal(fabric_new(&b.f, e, 2), 0);
        assert_false(fabric_busy(b.f, "nvme3"));
        assert_int_equal(fabric_submit(b.f, "nvme3", job_gate, (void *) 0,
                                                on_busy_done, &b, NULL), 0);
        assert_true(fabric_busy(b.f, "nvme3"));
        assert_false(fabric_busy(b.f, "nvme30"));
        assert_false(fabric_busy(b.f, "nvme4"));
        assert_false(fabric_busy(b.f, NULL));
        gate_open();
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(b.called, 1);
        assert_false(fabric_busy(b.f, "nvme3"));
        fabric_free(b.f);
        sd_event_unref(e);
}

/* ---- free with jobs in flight ---- */

static void test_free_in_flight(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;
        int started;

        gate_reset();
        assert_int_equal(fabric_new(&f, e, 2), 0);
        for (int i = 0; i < 10; i++)
                assert_int_equal(fabric_submit(f, "nvme1", job_sleep, (void *) 50,
                                                        on_must_not_run, NULL, NULL), 0);
        /* Let both workers pick a job. */
        while (atomic_load(&gate.started) < 2)
                sleep_ms(1);
        fabric_free(f);
        /* Running jobs completed, queued ones never started; no callback
         * (on_must_not_run), no leak (ASan). */
        started = atomic_load(&gate.started);
        assert_int_equal(atomic_load(&gate.finished), started);
        assert_true(started >= 2 && started < 10);
        sd_event_unref(e);
}

/* Completed on the worker but not yet dispatched on the loop when freed. */
static void test_free_completed_undispatched(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;

        gate_reset();
        assert_int_equal(fabric_new(&f, e, 2), 0);
        for (int i = 0; i < 4; i++)
                assert_int_equal(fabric_submit(f, NULL, job_sleep, (void *) 0,
                                                        on_must_not_run, NULL, NULL), 0);
        while (atomic_load(&gate.finished) < 4)
                sleep_ms(1);
        fabric_free(f);
        sd_event_unref(e);
}

static void test_errors(void **state) {
        sd_event *e = new_loop();
        Fabric *f = NULL;
        char buf[128];

        assert_int_equal(fabric_new(&f, e, 0), -EINVAL);
        assert_int_equal(fabric_new(&f, NULL, 1), -EINVAL);
        assert_int_equal(fabric_new(&f, e, 1), 0);
        assert_int_equal(fabric_submit(f, "eth0", job_value, NULL, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(fabric_submit(f, "nvme1/../x", job_value, NULL, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(fabric_get_dlp(f, "../../etc", true, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(fabric_connect(f, NULL, NULL, NULL, NULL, NULL), -EINVAL);
        assert_string_equal(fabric_strerror(-ENOENT, buf, sizeof(buf)), strerror(ENOENT));
        assert_non_null(strstr(fabric_strerror(0x6002, buf, sizeof(buf)), "0x6002"));
        assert_string_equal(fabric_strerror(0, buf, sizeof(buf)), "Success");
        fabric_free(f);
        assert_null(fabric_free(NULL));
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hundred_jobs),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_busy),
                cmocka_unit_test(test_free_in_flight),
                cmocka_unit_test(test_free_completed_undispatched),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
