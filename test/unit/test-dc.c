/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DC state machine (daemon/dc.c) on its own: the fabric and the manager
 * are fakes linked in place of the real modules, operations complete when
 * the test says so, and time is fast-forwarded by firing armed timers after
 * checking their deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "coop.h"
#include "dc.h"
#include "fabric.h"
#include "macro.h"
#include "manager.h"

/* ---- fake fabric ---- */

typedef enum { OP_NONE, OP_CONNECT, OP_REGISTER, OP_DLP, OP_DISCONNECT } OpKind;

struct FabricOp {
        OpKind kind;
        FabricDoneFn cb;
        void *userdata;
        bool cancelled;
        bool aborted;
        bool try_pleo;
};

static struct FabricOp ops[64];
static unsigned n_ops;
static char existing_dctype[16];
static char disconnected[32];
static unsigned n_disconnects;

static FabricOp *new_op(OpKind k, FabricDoneFn cb, void *ud) {
        assert_true(n_ops < ELEMENTSOF(ops));
        ops[n_ops] = (struct FabricOp) { .kind = k, .cb = cb, .userdata = ud };
        return &ops[n_ops++];
}

static FabricOp *last_op(void) {
        assert_true(n_ops > 0);
        return &ops[n_ops - 1];
}

static void complete(FabricOp *op, int error, void *result) {
        assert_false(op->cancelled);
        op->cb(op, error, 0, result, op->userdata);
}

int fabric_connect(Fabric *f, const FabricHost *host, const FabricConnectParams *p,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        *ret_op = new_op(OP_CONNECT, cb, userdata);
        return 0;
}

int fabric_register(Fabric *f, const FabricHost *host, const char *device, bool deregister,
                    FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        *ret_op = new_op(OP_REGISTER, cb, userdata);
        return 0;
}

int fabric_get_dlp(Fabric *f, const char *device, bool try_pleo,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        *ret_op = new_op(OP_DLP, cb, userdata);
        (*ret_op)->try_pleo = try_pleo;
        return 0;
}


void fabric_op_cancel(FabricOp *op) {
        op->cancelled = true;
}

void fabric_op_abort(FabricOp *op) {
        op->aborted = true;
}

/* Operations of the fake are "running" at once: nothing to drop. */
bool fabric_op_drop(FabricOp *op) {
        return false;
}

static char owned[8][32];

void fabric_set_owned(Fabric *f, const char *device, bool on) {
        for (unsigned i = 0; i < ELEMENTSOF(owned); i++)
                if (on ? !owned[i][0] : streq(owned[i], device)) {
                        (void) snprintf(owned[i], sizeof(owned[i]), "%s", on ? device : "");
                        return;
                }
}

static bool is_owned(const char *device) {
        for (unsigned i = 0; i < ELEMENTSOF(owned); i++)
                if (streq(owned[i], device))
                        return true;
        return false;
}

const char *fabric_strerror(int error, unsigned status, char *buf, size_t size) {
        (void) snprintf(buf, size, "error %d status %u", error, status);
        return buf;
}

int sysfs_attr(const char *device, const char *attr, char *buf, size_t size) {
        buf[0] = 0;
        return -ENOENT;
}

int sysfs_read_info(const char *device, FabricCtrlInfo *ret) {
        *ret = (FabricCtrlInfo) {};
        (void) snprintf(ret->device, sizeof(ret->device), "%s", device);
        (void) snprintf(ret->dctype, sizeof(ret->dctype), "%s", existing_dctype);
        return 0;
}

/* ---- fake manager ---- */

static unsigned n_saves, n_changed, n_expired, n_zombies_done;
static bool last_referrals_changed;

void manager_schedule_save(Manager *m) {
        n_saves++;
}

void manager_dc_log_pages_changed(Manager *m, Dc *dc, bool referrals_changed) {
        n_changed++;
        last_referrals_changed = referrals_changed;
}

void manager_dc_expired(Manager *m, Dc *dc) {
        n_expired++;
}

void manager_zombie_done(Manager *m, Dc *dc) {
        n_zombies_done++;
        dc_free(dc);
}

void manager_schedule_reconcile(Manager *m, const char *why) {
}

void manager_disconnect(Manager *m, const char *device, const char *name) {
        (void) snprintf(disconnected, sizeof(disconnected), "%s", device);
        n_disconnects++;
}

/* ---- fake host cooperation (daemon/coop) ---- */

static unsigned n_registered;
static bool owned_by_other;

void coop_dc_connected(Coop *c, Dc *dc) {
        n_registered++;
}

bool coop_may_disconnect(Coop *c, Dc *dc) {
        return !owned_by_other;
}

/* ---- fixtures ---- */

static Manager mgr;
static Conf *conf;
static SysConf sys = { .hostnqn = (char *) "nqn.2014-08.org.nvmexpress:uuid:test" };

static int setup(void **state) {
        n_ops = 0;
        memset(owned, 0, sizeof(owned));
        existing_dctype[0] = 0;
        disconnected[0] = 0;
        n_disconnects = n_saves = n_changed = n_expired = n_zombies_done = n_registered = 0;
        assert_int_equal(conf_new_default(&conf), 0);
        mgr = (Manager) { .conf = conf, .sys = &sys };
        assert_int_equal(sd_event_new(&mgr.event), 0);
        return 0;
}

static int teardown(void **state) {
        mgr.event = sd_event_unref(mgr.event);
        conf = conf_free(conf);
        return 0;
}

static Dc *make_dc(DcOrigin origin) {
        Tid t;
        Dc *dc;

        assert_int_equal(tid_init(&t, "tcp", "127.0.0.1", NULL, NULL, NULL, NULL, NULL, sys.hostnqn, false), 0);
        assert_int_equal(dc_new(&dc, &mgr, &t, origin, NULL), 0);
        tid_done(&t);
        return dc;
}

/* The deadline of an armed timer, relative to now, in seconds. */
static double timer_in(sd_event_source *s) {
        uint64_t when, now;
        int enabled;

        assert_non_null(s);
        assert_true(sd_event_source_get_enabled(s, &enabled) >= 0);
        if (enabled == SD_EVENT_OFF)
                return -1;
        assert_int_equal(sd_event_source_get_time(s, &when), 0);
        assert_true(sd_event_now(mgr.event, CLOCK_MONOTONIC, &now) >= 0);
        return (double) (when - now) / USEC_PER_SEC;
}

/* Fast-forward: make the timer due and dispatch it. */
static void fire(sd_event_source *s) {
        int r = 0;

        assert_int_equal(sd_event_source_set_time(s, 1), 0);
        for (unsigned i = 0; i < 100 && r == 0; i++)
                r = sd_event_run(mgr.event, 10 * USEC_PER_MSEC);
        assert_true(r > 0);
}

static FabricCtrlInfo info(const char *dev, const char *dctype) {
        FabricCtrlInfo i = {};

        (void) snprintf(i.device, sizeof(i.device), "%s", dev);
        (void) snprintf(i.dctype, sizeof(i.dctype), "%s", dctype);
        return i;
}

static Dlp *dlp_with(unsigned n, bool referral) {
        Dlp *d = dlp_new_empty();

        for (unsigned i = 0; i < n; i++) {
                char addr[32];
                const char *v[_DLPE_N_KEYS] = {
                        [DLPE_TRTYPE] = "tcp", [DLPE_TRADDR] = addr, [DLPE_TRSVCID] = "4420",
                        [DLPE_SUBNQN] = "nqn.x", [DLPE_SUBTYPE] = referral && i == 0 ? "referral" : "nvme",
                };
                DlpEntry *e;

                (void) snprintf(addr, sizeof(addr), "127.0.0.%u", i + 1);
                assert_int_equal(dlpe_new(&e, v), 0);
                assert_int_equal(dlp_append(d, e), 0);
        }
        return d;
}

/* ---- cases ---- */

static void test_connect_retry_schedule(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);

        dc_start(dc);
        assert_int_equal(n_ops, 1);
        assert_int_equal(last_op()->kind, OP_CONNECT);

        complete(last_op(), -ECONNREFUSED, NULL);
        assert_int_equal(dc->connect_attempts, 1);
        assert_true(dc->failure_logged);
        assert_in_range((long) (timer_in(dc->timers[DC_TIMER_CONNECT]) * 10), 29, 30);   /* 3 s */
        assert_int_equal(n_ops, 1);   /* nothing until the timer fires */

        fire(dc->timers[DC_TIMER_CONNECT]);
        assert_int_equal(n_ops, 2);
        complete(last_op(), -ECONNREFUSED, NULL);
        assert_int_equal(dc->connect_attempts, 2);
        assert_in_range((long) timer_in(dc->timers[DC_TIMER_CONNECT]), 59, 60);             /* then 60 s */

        fire(dc->timers[DC_TIMER_CONNECT]);
        assert_int_equal(n_ops, 3);
        complete(last_op(), -ETIMEDOUT, NULL);
        assert_in_range((long) timer_in(dc->timers[DC_TIMER_CONNECT]), 59, 60);

        /* Success resets the streak and goes on to the log page. */
        fire(dc->timers[DC_TIMER_CONNECT]);
        {
                FabricCtrlInfo i = info("nvme4", "");

                complete(last_op(), 0, &i);
        }
        assert_int_equal(dc->connect_attempts, 0);
        assert_false(dc->failure_logged);
        assert_string_equal(dc_device(dc), "nvme4");
        assert_int_equal(last_op()->kind, OP_DLP);
        assert_true(last_op()->try_pleo);   /* pleo enabled, not a CDC */
        dc_free(dc);
}

static void test_register_then_dlp(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme1", "cdc");
        FabricDlpResult res = { .dlp = dlp_with(3, false) };

        dc_start(dc);
        complete(last_op(), 0, &i);
        assert_int_equal(last_op()->kind, OP_REGISTER);

        /* A failed exchange retries in 5 s; the log page does not wait. */
        complete(last_op(), -EIO, NULL);
        assert_in_range((long) timer_in(dc->timers[DC_TIMER_REGISTER]), 4, 5);
        assert_int_equal(last_op()->kind, OP_DLP);
        assert_false(last_op()->try_pleo);  /* never PLEO with a CDC */

        complete(last_op(), 0, &res);
        assert_int_equal(n_changed, 1);
        assert_int_equal(dc->dlp->n, 3);

        fire(dc->timers[DC_TIMER_REGISTER]);
        assert_int_equal(last_op()->kind, OP_REGISTER);
        /* An NVMe status is a warning, nothing is retried. */
        complete(last_op(), 0x4002, NULL);
        assert_true(timer_in(dc->timers[DC_TIMER_REGISTER]) < 0);
        assert_null(dc->op);
        dc_free(dc);
}

static void test_dlp_retry_and_aen(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme2", "ddc");
        FabricDlpResult r1 = { .dlp = dlp_with(2, false) }, r2 = { .dlp = dlp_with(3, true) };
        unsigned before;

        conf->pleo = false;
        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, NULL);             /* register */
        assert_int_equal(last_op()->kind, OP_DLP);
        assert_false(last_op()->try_pleo);        /* pleo=disabled */

        complete(last_op(), -EIO, NULL);
        assert_in_range((long) timer_in(dc->timers[DC_TIMER_DLP]), 19, 20);
        fire(dc->timers[DC_TIMER_DLP]);
        assert_int_equal(last_op()->kind, OP_DLP);

        /* An AEN while the fetch is in flight: fetched again afterwards. */
        before = n_ops;
        dc_on_aen(dc);
        assert_int_equal(n_ops, before);
        complete(last_op(), 0, &r1);
        assert_int_equal(n_ops, before + 1);
        assert_int_equal(last_op()->kind, OP_DLP);
        assert_false(last_referrals_changed);
        complete(last_op(), 0, &r2);
        assert_true(last_referrals_changed);   /* a referral appeared */
        assert_int_equal(n_changed, 2);
        assert_int_equal(dc->dlp->n, 3);
        dc_free(dc);
}

static void test_own_connect_event_skipped(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme6", "");
        unsigned before;

        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        /* The uevent of our own connect arrives after the first fetch. */
        before = n_ops;
        dc_on_nvme_event(dc, "connected");
        assert_int_equal(n_ops, before);
        /* A later reconnect by the kernel is followed. */
        dc_on_nvme_event(dc, "connected");
        assert_int_equal(n_ops, before + 1);
        assert_int_equal(last_op()->kind, OP_DLP);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        /* ... and its "rediscover" twin is covered by that fetch. */
        before = n_ops;
        dc_on_nvme_event(dc, "rediscover");
        assert_int_equal(n_ops, before);
        dc_free(dc);
}

/* A kernel reconnect says "rediscover" then "connected": one fetch, even
 * when the second arrives while the first fetch runs. */
static void test_reconnect_one_fetch(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme6", "");
        unsigned before;

        i.adopted = true;       /* no own-connect event to skip */
        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        assert_true(is_owned("nvme6"));

        before = n_ops;
        dc_on_nvme_event(dc, "rediscover");
        assert_int_equal(n_ops, before + 1);
        assert_int_equal(last_op()->kind, OP_DLP);
        dc_on_nvme_event(dc, "connected");      /* fetch still in flight */
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        assert_int_equal(n_ops, before + 1);    /* no second fetch */

        /* The next reconnect fetches again. */
        dc_on_nvme_event(dc, "rediscover");
        assert_int_equal(n_ops, before + 2);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        dc_on_nvme_event(dc, "connected");
        assert_int_equal(n_ops, before + 2);

        /* Removal gives the device up: another DC may adopt it. */
        dc_on_remove(dc);
        assert_false(is_owned("nvme6"));
        dc_free(dc);
}

static void test_remove_keeps_cache(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme3", "");
        FabricDlpResult r = { .dlp = dlp_with(4, false) };
        FabricOp *inflight;

        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, &r);
        dc_on_aen(dc);
        inflight = last_op();
        assert_int_equal(inflight->kind, OP_DLP);

        dc_on_remove(dc);
        assert_true(inflight->cancelled);       /* its result is meaningless now */
        assert_string_equal(dc_device(dc), "nvme?");
        assert_int_equal(dc->dlp->n, 4);         /* cache kept */
        assert_in_range((long) (timer_in(dc->timers[DC_TIMER_CONNECT]) * 10), 29, 30);
        fire(dc->timers[DC_TIMER_CONNECT]);
        assert_int_equal(last_op()->kind, OP_CONNECT);
        dc_free(dc);
}

static void test_adopt_existing(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme7", "");

        /* The connect operation found a matching kernel controller. */
        i.adopted = true;
        dc_start(dc);
        assert_int_equal(last_op()->kind, OP_CONNECT);
        complete(last_op(), 0, &i);
        assert_int_equal(n_ops, 2);
        assert_int_equal(last_op()->kind, OP_DLP);
        assert_string_equal(dc_device(dc), "nvme7");
        assert_true(dc->info.adopted);
        dc_free(dc);
}

static void test_delete_while_connecting(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_REFERRAL);
        FabricCtrlInfo i = info("nvme9", "");

        dc_start(dc);
        assert_false(dc_begin_delete(dc, true));   /* must wait */
        assert_int_equal(n_disconnects, 0);
        /* The connect completes after the delete: disconnect it then. */
        complete(last_op(), 0, &i);
        assert_int_equal(n_disconnects, 1);
        assert_string_equal(disconnected, "nvme9");
        assert_int_equal(n_zombies_done, 1);       /* freed by the manager */
}

/* Deleted during a fetch: the fetch is told to stop early, and the DC goes
 * once it reports back. */
static void test_delete_while_fetching(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_REFERRAL);
        FabricCtrlInfo i = info("nvme8", "");
        FabricOp *fetch;

        dc_start(dc);
        complete(last_op(), 0, &i);
        fetch = last_op();
        assert_int_equal(fetch->kind, OP_DLP);
        assert_false(dc_begin_delete(dc, true));
        assert_true(fetch->aborted);
        assert_false(fetch->cancelled);
        complete(fetch, -ECANCELED, NULL);
        assert_int_equal(n_disconnects, 1);
        assert_string_equal(disconnected, "nvme8");
        assert_int_equal(n_zombies_done, 1);
}

static void test_delete_idle(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme5", "");
        FabricDlpResult r = { .dlp = dlp_with(1, false) };

        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, &r);
        assert_true(dc_begin_delete(dc, false));   /* persistent: keep the kernel connection */
        assert_int_equal(n_disconnects, 0);
        dc_free(dc);

        dc = make_dc(DC_ORIGIN_CONFIGURED);
        dc_start(dc);
        complete(last_op(), 0, &i);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        assert_true(dc_begin_delete(dc, true));
        assert_int_equal(n_disconnects, 1);
        dc_free(dc);
}

/* A controller another orchestrator owns is never disconnected, on
 * deletion or on a deletion that waited for an operation. */
static void test_delete_owned_by_other(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        FabricCtrlInfo i = info("nvme4", "");

        dc_start(dc);
        complete(last_op(), 0, &i);
        assert_int_equal(n_registered, 1);
        complete(last_op(), 0, &(FabricDlpResult) { .dlp = dlp_with(1, false) });
        owned_by_other = true;
        assert_true(dc_begin_delete(dc, true));
        assert_int_equal(n_disconnects, 0);
        dc_free(dc);

        dc = make_dc(DC_ORIGIN_REFERRAL);
        dc_start(dc);
        assert_false(dc_begin_delete(dc, true));
        complete(last_op(), 0, &i);
        assert_int_equal(n_disconnects, 0);
        assert_int_equal(n_zombies_done, 1);
        owned_by_other = false;
}

static void test_discovered_expiry(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_DISCOVERED);

        conf->zeroconf_persistence_sec = 120;
        dc_start(dc);
        complete(last_op(), -EHOSTUNREACH, NULL);
        /* Unreachable: the persistence clock runs. */
        assert_in_range((long) timer_in(dc->unresponsive_timer), 119, 120);
        dc_set_announced(dc, true);              /* announced again: stopped */
        assert_true(timer_in(dc->unresponsive_timer) < 0);
        dc_set_announced(dc, false);
        fire(dc->unresponsive_timer);
        assert_int_equal(n_expired, 1);
        dc_free(dc);

        /* -1 = never expire */
        conf->zeroconf_persistence_sec = -1;
        dc = make_dc(DC_ORIGIN_DISCOVERED);
        dc_set_announced(dc, false);
        assert_null(dc->unresponsive_timer);
        dc_free(dc);
}

static void test_timer_format(void **state) {
        Dc *dc = make_dc(DC_ORIGIN_CONFIGURED);
        char buf[64];

        dc_format_timer(NULL, 60 * USEC_PER_SEC, buf, sizeof(buf));
        assert_string_equal(buf, "60.0s [off]");
        dc_start(dc);
        complete(last_op(), -EIO, NULL);
        dc_format_timer(dc->timers[DC_TIMER_CONNECT], dc->intervals[DC_TIMER_CONNECT], buf, sizeof(buf));
        assert_true(strncmp(buf, "3.0s [", 6) == 0);
        assert_true(strstr(buf, "s]") != NULL);
        dc_free(dc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_connect_retry_schedule, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_then_dlp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dlp_retry_and_aen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_own_connect_event_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconnect_one_fetch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_keeps_cache, setup, teardown),
                cmocka_unit_test_setup_teardown(test_adopt_existing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_while_connecting, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_while_fetching, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_idle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_owned_by_other, setup, teardown),
                cmocka_unit_test_setup_teardown(test_discovered_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timer_format, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
