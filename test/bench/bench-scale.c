/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-scale: how long the loop-side work of candidate building and
 * reconciliation takes at fabric scale (issue 11).  Pure libstaf, no bus,
 * no kernel: the same functions manager.c runs on the event loop.
 * Prints one line per figure: the CPU time of the calling thread (what the
 * event loop would spend; other processes on a shared machine do not count),
 * best of RUNS runs (noise only adds).
 *
 *   bench-scale [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dlp.h"
#include "macro.h"
#include "reconcile.h"
#include "tid.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void die(const char *what) {
        fprintf(stderr, "bench-scale: %s failed\n", what);
        exit(1);
}

static DlpEntry *entry(const char *subtype, unsigned a, unsigned b, const char *subnqn) {
        char traddr[32], portid[16];
        const char *v[_DLPE_N_KEYS] = {
                [DLPE_TRTYPE] = "tcp",         [DLPE_ADRFAM] = "ipv4",
                [DLPE_TRADDR] = traddr,        [DLPE_TRSVCID] = streq(subtype, "nvme") ? "4420" : "8009",
                [DLPE_SUBNQN] = subnqn,        [DLPE_SUBTYPE] = subtype,
                [DLPE_TREQ] = "not specified", [DLPE_PORTID] = portid,
                [DLPE_CNTLID] = "65535",       [DLPE_ASQSZ] = "32",
                [DLPE_EFLAGS] = "0",           [DLPE_SECTYPE] = "none",
        };
        DlpEntry *e;

        (void) snprintf(traddr, sizeof(traddr), "10.%u.%u.%u", a, b >> 8, b & 255);
        (void) snprintf(portid, sizeof(portid), "%u", b);
        if (dlpe_new(&e, v) < 0)
                die("dlpe_new");
        return e;
}

typedef struct World {
        Tid *tids; /* current DCs */
        Dlp **logs;
        size_t n;
        ReferralSource *refs;
        size_t n_refs;
        CurrentDc *cur;
} World;

static void world_refs(World *w) {
        size_t n = 0;

        for (size_t i = 0; i < w->n; i++)
                n += w->logs[i] ? w->logs[i]->n_referrals : 0;
        free(w->refs);
        w->refs = calloc(n ?: 1, sizeof(ReferralSource));
        if (!w->refs)
                die("calloc");
        w->n_refs = 0;
        for (size_t i = 0; i < w->n; i++)
                for (size_t k = 0; w->logs[i] && k < w->logs[i]->n_referrals; k++)
                        w->refs[w->n_refs++] = (ReferralSource){ w->logs[i]->referrals[k], &w->tids[i] };
}

/* One reconciliation as manager.c runs it (build_and_reconcile): gather referrals, build the
 * candidates, plan.  Returns ms; *ret_add = new DCs planned. */
static double one_reconcile(World *w, const Conf *c, size_t *ret_add) {
        CandidateSet s = {};
        ReconcilePlan p = {};
        double t0 = now_ms(), t;

        world_refs(w);
        if (candidates_build(&s, c, HOSTNQN, w->refs, w->n_refs, NULL, 0) < 0)
                die("candidates_build");
        free(w->cur);
        w->cur = calloc(w->n ?: 1, sizeof(CurrentDc));
        for (size_t i = 0; i < w->n; i++)
                w->cur[i] = (CurrentDc){ &w->tids[i], i == 0 ? DC_ORIGIN_CONFIGURED : DC_ORIGIN_REFERRAL,
                                         false };
        if (reconcile(&s, w->cur, w->n, c, &p) < 0)
                die("reconcile");
        t = now_ms() - t0;
        if (ret_add)
                *ret_add = p.n_add;
        reconcile_plan_done(&p);
        candidates_done(&s);
        return t;
}

static double best(double a, double b) {
        return a < b ? a : b;
}

/* A: one configured DC whose log holds 16 384 referrals, caps raised. */
static void bench_big_log(unsigned runs) {
        _cleanup_(conf_freep) Conf *c = NULL;
        const char *txt = "[Controllers]\ncontroller=transport=tcp;traddr=10.0.0.1\n";
        World w = {};
        double first = 1e9, steady = 1e9, differ = 1e9;
        size_t add = 0;
        Dlp *other;

        if (conf_parse_string("bench", txt, strlen(txt), &c) < 0)
                die("conf");
        c->max_referrals_per_dc = CONF_MAX_REFERRALS_PER_DC_MAX;
        c->max_dcs = CONF_MAX_DCS_MAX;
        w.n = 1;
        w.tids = calloc(16385, sizeof(Tid));
        w.logs = calloc(16385, sizeof(Dlp *));
        if (tid_init(&w.tids[0], "tcp", "10.0.0.1", NULL, NULL, NULL, NULL, NULL, HOSTNQN, false) < 0)
                die("tid");
        w.logs[0] = dlp_new_empty();
        other = dlp_new_empty();
        for (unsigned i = 0; i < 16384; i++) {
                (void) dlp_append(w.logs[0], entry("referral", 1, i, DISC_NQN));
                /* the same set in reverse order, for the set difference */
                (void) dlp_append(other, entry("referral", 1, 16383 - i, DISC_NQN));
        }

        for (unsigned r = 0; r < runs; r++)
                first = best(first, one_reconcile(&w, c, &add));
        printf("reconcile, 1 DC with 16384 referrals, all new (plan %zu adds): %.2f ms\n", add, first);

        /* Steady state: every referral is a current DC already. */
        for (unsigned i = 0; i < 16384; i++) {
                char a[32];

                (void) snprintf(a, sizeof(a), "10.1.%u.%u", i >> 8, i & 255);
                if (tid_init(&w.tids[1 + i], "tcp", a, "8009", DISC_NQN, NULL, NULL, NULL, HOSTNQN, false) <
                    0)
                        die("tid");
        }
        w.n = 16385;
        for (unsigned r = 0; r < runs; r++)
                steady = best(steady, one_reconcile(&w, c, &add));
        printf("reconcile, same log, 16385 current DCs (plan %zu adds): %.2f ms\n", add, steady);

        for (unsigned r = 0; r < runs; r++) {
                double t0 = now_ms();

                if (dlp_referrals_differ(w.logs[0], other))
                        die("differ says differ");
                differ = best(differ, now_ms() - t0);
        }
        printf("dlp_referrals_differ, 16384 vs 16384 referrals (same set, other order): %.2f ms\n", differ);

        for (size_t i = 0; i < 16385; i++)
                tid_done(&w.tids[i]);
        dlp_free(w.logs[0]);
        dlp_free(other);
        free(w.tids);
        free(w.logs);
        free(w.refs);
        free(w.cur);
}

/* B: 1 000 DCs x 1 000 DLPEs (10 referrals each, to each other). */
static void bench_thousand(unsigned runs) {
        _cleanup_(conf_freep) Conf *c = NULL;
        World w = {};
        double t = 1e9, differ = 1e9;
        size_t add = 0;
        Dlp *next;

        if (conf_new_default(&c) < 0)
                die("conf");
        c->max_referrals_per_dc = 1000;
        c->max_dcs = 100000;
        w.n = 1000;
        w.tids = calloc(w.n, sizeof(Tid));
        w.logs = calloc(w.n, sizeof(Dlp *));
        for (unsigned i = 0; i < w.n; i++) {
                char a[32];

                (void) snprintf(a, sizeof(a), "10.2.%u.%u", i >> 8, i & 255);
                if (tid_init(&w.tids[i], "tcp", a, NULL, NULL, NULL, NULL, NULL, HOSTNQN, false) < 0)
                        die("tid");
                w.logs[i] = dlp_new_empty();
                for (unsigned k = 0; k < 10; k++)
                        (void) dlp_append(w.logs[i], entry("referral", 2, (i + k + 1) % 1000, DISC_NQN));
                for (unsigned k = 10; k < 1000; k++)
                        (void) dlp_append(w.logs[i],
                                          entry("nvme", 3, i * 1000 + k, "nqn.2024-01.io.example:sub"));
        }
        for (unsigned r = 0; r < runs; r++)
                t = best(t, one_reconcile(&w, c, &add));
        printf("reconcile, 1000 DCs x 1000 DLPEs (10000 referrals), steady (plan %zu adds): %.2f ms\n", add,
               t);

        /* An AEN: DC 0's log comes back with one nvme entry changed. */
        next = dlp_new_empty();
        for (unsigned k = 0; k < 10; k++)
                (void) dlp_append(next, entry("referral", 2, (0 + k + 1) % 1000, DISC_NQN));
        for (unsigned k = 10; k < 1000; k++)
                (void) dlp_append(next,
                                  entry("nvme", 3, k == 500 ? 999999 : k, "nqn.2024-01.io.example:sub"));
        for (unsigned r = 0; r < runs; r++) {
                double t0 = now_ms();

                if (dlp_referrals_differ(w.logs[0], next))
                        die("referrals differ");
                (void) dlp_equal(w.logs[0], next);
                differ = best(differ, now_ms() - t0);
        }
        printf("AEN refresh, 1000-entry log, nvme entry changed: compare (dlp_equal + referrals): %.3f ms\n",
               differ);
        printf("AEN refresh that changes referrals: + one reconcile as above (%.2f ms)\n", t);

        dlp_free(next);
        for (size_t i = 0; i < w.n; i++) {
                tid_done(&w.tids[i]);
                dlp_free(w.logs[i]);
        }
        free(w.tids);
        free(w.logs);
        free(w.refs);
        free(w.cur);
}

/* C: 100 000 configured DCs, no logs. */
static void bench_configured(unsigned runs, size_t n) {
        _cleanup_(conf_freep) Conf *c = NULL;
        World w = {};
        double t = 1e9;
        size_t add = 0, len = 0;
        char *txt;

        txt = malloc(n * 64 + 32);
        len += (size_t) sprintf(txt, "[Controllers]\n");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(txt + len, "controller=transport=tcp;traddr=10.%zu.%zu.%zu\n",
                                        (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (conf_parse_string("bench", txt, len, &c) < 0)
                die("conf");
        free(txt);
        for (unsigned r = 0; r < runs; r++)
                t = best(t, one_reconcile(&w, c, &add));
        printf("reconcile, %zu configured DCs, none current (plan %zu adds): %.2f ms\n", n, add, t);
        free(w.refs);
        free(w.cur);
}

int main(int argc, char **argv) {
        unsigned runs = argc > 1 ? (unsigned) atoi(argv[1]) : 5;

        if (runs == 0)
                runs = 1;
        bench_big_log(runs);
        bench_thousand(runs);
        bench_configured(runs, 1000);
        bench_configured(runs, 100000);
        return 0;
}
