/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dlp.h"
#include "macro.h"
#include "reconcile.h"

#define HOST "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001"

static Conf *parse(const char *text) {
        Conf *c = NULL;

        assert_int_equal(conf_parse_string("test.conf", text, strlen(text), &c), 0);
        assert_non_null(c);
        return c;
}

static DlpEntry *referral(const char *traddr, const char *trsvcid) {
        const char *v[_DLPE_N_KEYS] = {
                [DLPE_TRTYPE] = "tcp", [DLPE_ADRFAM] = "ipv4", [DLPE_TRADDR] = traddr,
                [DLPE_TRSVCID] = trsvcid, [DLPE_SUBNQN] = DISC_NQN, [DLPE_SUBTYPE] = "referral",
                [DLPE_TREQ] = "not specified", [DLPE_PORTID] = "2", [DLPE_CNTLID] = "65535",
                [DLPE_ASQSZ] = "32", [DLPE_EFLAGS] = "0",
        };
        DlpEntry *e = NULL;

        assert_int_equal(dlpe_new(&e, v), 0);
        return e;
}

static void test_origin_names(void **state) {
        assert_string_equal(dc_origin_to_string(DC_ORIGIN_CONFIGURED), "configured");
        assert_string_equal(dc_origin_to_string(DC_ORIGIN_REFERRAL), "referral");
        assert_string_equal(dc_origin_to_string(DC_ORIGIN_DISCOVERED), "discovered");
        assert_int_equal(dc_origin_from_string("referral"), DC_ORIGIN_REFERRAL);
        assert_int_equal(dc_origin_from_string("bogus"), _DC_ORIGIN_INVALID);
        assert_int_equal(dc_origin_from_string(NULL), _DC_ORIGIN_INVALID);
        assert_null(dc_origin_to_string(_DC_ORIGIN_MAX));
}

static void test_configured_excluded_filtered(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Global]\nip-family=ipv4\n"
                "[Controllers]\n"
                "controller=transport=tcp;traddr=127.0.0.1\n"
                "controller=transport=tcp;traddr=127.0.0.2;trsvcid=4420\n"
                "controller=transport=tcp;traddr=::1\n"            /* filtered: ipv6 */
                "controller=transport=tcp;traddr=not-an-ip\n"      /* invalid for tcp */
                "controller=transport=tcp;traddr=127.0.0.1\n"      /* duplicate */
                "exclude=traddr=127.0.0.2\n");
        CandidateSet s = {};

        assert_int_equal(candidates_build(&s, c, HOST, NULL, 0, NULL, 0), 0);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.items[0].tid.traddr, "127.0.0.1");
        assert_string_equal(s.items[0].tid.trsvcid, "8009");
        assert_string_equal(s.items[0].tid.host_nqn, HOST);
        assert_int_equal(s.items[0].origin, DC_ORIGIN_CONFIGURED);
        assert_non_null(s.items[0].conf);
        /* One message each for the excluded and filtered ones; the invalid
         * one is an outcome naming the field (the daemon logs it once). */
        assert_non_null(s.messages);
        assert_non_null(s.messages[0]);
        assert_non_null(s.messages[1]);
        assert_null(s.messages[2]);
        assert_int_equal(s.conf_out[0].verdict, CANDIDATE_ADDED);
        assert_int_equal(s.conf_out[1].verdict, CANDIDATE_EXCLUDED);
        assert_int_equal(s.conf_out[2].verdict, CANDIDATE_FILTERED);
        assert_int_equal(s.conf_out[3].verdict, CANDIDATE_INVALID);
        assert_string_equal(tid_field_names[s.conf_out[3].field], "traddr");
        assert_non_null(s.conf_out[3].reason);
        assert_int_equal(s.conf_out[4].verdict, CANDIDATE_DUPLICATE);
        candidates_done(&s);
}

static void test_referral_and_discovered_priority(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;host-iface=lo\n"
                "exclude=transport=tcp;traddr=127.0.0.66\n");
        Tid parent;
        DlpEntry *r1 = referral("127.0.0.5", "8009"), *r2 = referral("127.0.0.66", "8009"),
                 *r3 = referral("0::ffff:127.0.0.1", "8009");
        ReferralSource refs[3];
        DiscoveredService disc[] = {
                { "tcp", "127.0.0.5", "8009", NULL, "lo" },   /* same as the referral: referral wins */
                { "tcp", "127.0.0.7", "8009", NULL, "lo" },
        };
        CandidateSet s = {};

        assert_int_equal(tid_init(&parent, "tcp", "127.0.0.1", NULL, NULL, NULL, "lo", NULL, HOST, false), 0);
        refs[0] = (ReferralSource) { r1, &parent };
        refs[1] = (ReferralSource) { r2, &parent };
        refs[2] = (ReferralSource) { r3, &parent };   /* refers back to the configured DC */

        assert_int_equal(candidates_build(&s, c, HOST, refs, 3, disc, 2), 0);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.items[0].origin, DC_ORIGIN_CONFIGURED);
        assert_string_equal(s.items[1].tid.traddr, "127.0.0.5");
        assert_int_equal(s.items[1].origin, DC_ORIGIN_REFERRAL);
        /* inherited from the parent */
        assert_string_equal(s.items[1].tid.host_iface, "lo");
        assert_string_equal(s.items[2].tid.traddr, "127.0.0.7");
        assert_int_equal(s.items[2].origin, DC_ORIGIN_DISCOVERED);

        candidates_done(&s);
        tid_done(&parent);
        dlpe_free(r1);
        dlpe_free(r2);
        dlpe_free(r3);
}

/* Issue 11: a TRSVCID carrying ",traddr=" never becomes a candidate, even
 * when the smuggled address is excluded (the check comes first). */
static void test_referral_smuggling(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("[Controllers]\nexclude=transport=tcp;traddr=127.0.0.3\n");
        DlpEntry *r1 = referral("127.0.0.2", "8011,traddr=127.0.0.3"), *r2 = referral("127.0.0.2", "8011");
        ReferralSource refs[2];
        CandidateSet s = {};
        Tid parent;

        assert_int_equal(tid_init(&parent, "tcp", "127.0.0.1", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        refs[0] = (ReferralSource) { r1, &parent };
        refs[1] = (ReferralSource) { r2, &parent };
        assert_int_equal(candidates_build(&s, c, HOST, refs, 2, NULL, 0), 0);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.items[0].tid.trsvcid, "8011");
        assert_int_equal(s.ref_out[0].verdict, CANDIDATE_INVALID);
        assert_string_equal(tid_field_names[s.ref_out[0].field], "trsvcid");
        assert_int_equal(s.ref_out[1].verdict, CANDIDATE_ADDED);
        candidates_done(&s);
        tid_done(&parent);
        dlpe_free(r1);
        dlpe_free(r2);
}

/* Caps: per DC in log order, in total; configured DCs always admitted. */
static void test_caps(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\ncontroller=transport=tcp;traddr=10.0.0.1\n"
                "controller=transport=tcp;traddr=10.0.0.2\ncontroller=transport=tcp;traddr=10.0.0.3\n");
        enum { N = 20 };
        DlpEntry *e[2 * N];
        ReferralSource refs[2 * N];
        DiscoveredService disc[] = { { "tcp", "10.9.9.9", "8009", NULL, "lo" } };
        CandidateSet s = {};
        Tid p1, p2;
        char a[32];

        assert_int_equal(tid_init(&p1, "tcp", "10.0.0.1", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        assert_int_equal(tid_init(&p2, "tcp", "10.0.0.2", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        for (unsigned i = 0; i < 2 * N; i++) {
                (void) snprintf(a, sizeof(a), "10.1.%u.%u", i / N, i % N);
                e[i] = referral(a, "8009");
                refs[i] = (ReferralSource) { e[i], i < N ? &p1 : &p2 };
        }
        /* The first referral of p2 refers to a configured DC: a duplicate
         * uses no slot. */
        dlpe_free(e[N]);
        e[N] = referral("10.0.0.3", "8009");
        refs[N].entry = e[N];

        c->max_referrals_per_dc = 5;
        c->max_dcs = 12;
        assert_int_equal(candidates_build(&s, c, HOST, refs, 2 * N, disc, 1), 0);
        /* 3 configured + 5 from p1 + 4 from p2 (total cap 12) */
        assert_int_equal(s.n, 12);
        for (unsigned i = 0; i < 5; i++)
                assert_int_equal(s.ref_out[i].verdict, CANDIDATE_ADDED);
        for (unsigned i = 5; i < N; i++)
                assert_int_equal(s.ref_out[i].verdict, CANDIDATE_OVER_DC_CAP);
        assert_string_equal(s.items[3].tid.traddr, "10.1.0.0");
        assert_string_equal(s.items[7].tid.traddr, "10.1.0.4");
        assert_int_equal(s.ref_out[N].verdict, CANDIDATE_DUPLICATE);
        for (unsigned i = N + 1; i < N + 5; i++)
                assert_int_equal(s.ref_out[i].verdict, CANDIDATE_ADDED);
        assert_int_equal(s.ref_out[N + 5].verdict, CANDIDATE_OVER_TOTAL_CAP);
        assert_int_equal(s.disc_out[0].verdict, CANDIDATE_OVER_TOTAL_CAP);
        candidates_done(&s);

        /* max-dcs below the configured count: configured all kept, nothing else. */
        c->max_dcs = 1;
        assert_int_equal(candidates_build(&s, c, HOST, refs, 2 * N, disc, 1), 0);
        assert_int_equal(s.n, 3);
        candidates_done(&s);

        /* 0 = follow no referral. */
        c->max_dcs = 100;
        c->max_referrals_per_dc = 0;
        assert_int_equal(candidates_build(&s, c, HOST, refs, 2 * N, disc, 1), 0);
        assert_int_equal(s.n, 4);
        assert_int_equal(s.disc_out[0].verdict, CANDIDATE_ADDED);
        candidates_done(&s);

        for (unsigned i = 0; i < 2 * N; i++)
                dlpe_free(e[i]);
        tid_done(&p1);
        tid_done(&p2);
}

static void test_reconcile_plan(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1\n"
                "controller=transport=tcp;traddr=127.0.0.2\n"
                "exclude=traddr=127.0.0.9\n");
        CandidateSet s = {};
        Tid t[6];
        CurrentDc cur[6];
        ReconcilePlan p = {};

        assert_int_equal(candidates_build(&s, c, HOST, NULL, 0, NULL, 0), 0);
        assert_int_equal(s.n, 2);

        assert_int_equal(tid_init(&t[0], "tcp", "127.0.0.1", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        assert_int_equal(tid_init(&t[1], "tcp", "127.0.0.3", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        assert_int_equal(tid_init(&t[2], "tcp", "127.0.0.4", NULL, NULL, NULL, "lo", NULL, HOST, false), 0);
        assert_int_equal(tid_init(&t[3], "tcp", "127.0.0.5", NULL, NULL, NULL, "lo", NULL, HOST, false), 0);
        assert_int_equal(tid_init(&t[4], "tcp", "127.0.0.9", NULL, NULL, NULL, "lo", NULL, HOST, false), 0);
        assert_int_equal(tid_init(&t[5], "tcp", "127.0.0.6", NULL, NULL, NULL, NULL, NULL, HOST, false), 0);
        cur[0] = (CurrentDc) { &t[0], DC_ORIGIN_REFERRAL, false };    /* stays, becomes configured */
        cur[1] = (CurrentDc) { &t[1], DC_ORIGIN_CONFIGURED, false };  /* left the config: deleted */
        cur[2] = (CurrentDc) { &t[2], DC_ORIGIN_DISCOVERED, false };  /* not announced: kept */
        cur[3] = (CurrentDc) { &t[3], DC_ORIGIN_DISCOVERED, true };   /* expired: deleted */
        cur[4] = (CurrentDc) { &t[4], DC_ORIGIN_DISCOVERED, false };  /* excluded: deleted */
        cur[5] = (CurrentDc) { &t[5], DC_ORIGIN_REFERRAL, false };    /* referral gone: deleted */

        assert_int_equal(reconcile(&s, cur, 6, c, &p), 0);
        assert_int_equal(p.n_add, 1);
        assert_string_equal(s.items[p.add[0]].tid.traddr, "127.0.0.2");
        assert_int_equal(p.n_del, 4);
        assert_int_equal(p.del[0], 1);
        assert_int_equal(p.del[1], 3);
        assert_int_equal(p.del[2], 4);
        assert_int_equal(p.del[3], 5);
        assert_int_equal(p.n_reorigin, 1);
        assert_int_equal(p.reorigin[0], 0);
        assert_int_equal(p.new_origin[0], DC_ORIGIN_CONFIGURED);

        reconcile_plan_done(&p);
        candidates_done(&s);
        for (unsigned i = 0; i < 6; i++)
                tid_done(&t[i]);
}

static void test_reconcile_empty(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("");
        CandidateSet s = {};
        ReconcilePlan p = {};

        assert_int_equal(candidates_build(&s, c, HOST, NULL, 0, NULL, 0), 0);
        assert_int_equal(reconcile(&s, NULL, 0, c, &p), 0);
        assert_int_equal(p.n_add + p.n_del + p.n_reorigin, 0);
        reconcile_plan_done(&p);
        candidates_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_origin_names),
                cmocka_unit_test(test_configured_excluded_filtered),
                cmocka_unit_test(test_referral_and_discovered_priority),
                cmocka_unit_test(test_referral_smuggling),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_reconcile_plan),
                cmocka_unit_test(test_reconcile_empty),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
