/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconciliation as a pure function: candidate DCs (configuration,
 * referrals, mDNS, NBFT) and the current set in, the plan (create, delete,
 * re-origin) out.  No I/O, no clock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "macro.h"
#include "reconcile.h"
#include "strv.h"
#include "validate.h"

static const char *const origin_names[_DC_ORIGIN_MAX] = {
        [DC_ORIGIN_CONFIGURED] = "configured",
        [DC_ORIGIN_REFERRAL] = "referral",
        [DC_ORIGIN_DISCOVERED] = "discovered",
};

const char *dc_origin_to_string(DcOrigin o) {
        if (o < 0 || o >= _DC_ORIGIN_MAX)
                return NULL;
        return origin_names[o];
}

DcOrigin dc_origin_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(origin_names); i++)
                if (streq(s, origin_names[i]))
                        return (DcOrigin) i;
        return _DC_ORIGIN_INVALID;
}

void candidates_done(CandidateSet *s) {
        for (size_t i = 0; i < s->n; i++)
                tid_done(&s->items[i].tid);
        free(s->items);
        s->items = NULL;
        s->n = 0;
        s->index = tid_index_free(s->index);
        s->messages = strv_free(s->messages);
        s->conf_out = mfree(s->conf_out);
        s->ref_out = mfree(s->ref_out);
        s->disc_out = mfree(s->disc_out);
}

long candidates_find(const CandidateSet *s, const Tid *tid) {
        uintptr_t v = (uintptr_t) tid_index_get(s->index, tid);

        return v > 0 ? (long) (v - 1) : -ENOENT;
}

/* Validation, exclusions, ip-family: the checks that do not depend on what
 * is already in the set. */
static CandidateVerdict candidate_check(CandidateSet *s, const Conf *conf, const Tid *tid, DcOrigin origin,
                                        CandidateOutcome *out) {
        unsigned field = 0;
        const char *reason = NULL;
        FilterVerdict v;
        long i;

        if (tid_validate(tid, &field, &reason) < 0) {
                out->field = (unsigned char) field;
                out->reason = reason;
                return CANDIDATE_INVALID;
        }

        i = filter_excluded(conf->excludes, conf->n_excludes, tid);
        if (i >= 0) {
                _cleanup_free_ char *p = tid_to_string(tid);

                (void) strv_extendf(&s->messages, "%s: %s DC excluded by exclude= on line %u", strempty(p),
                                    dc_origin_to_string(origin), conf->excludes[i].line);
                return CANDIDATE_EXCLUDED;
        }

        v = filter_address(tid->transport, tid->traddr, conf->ip_family);
        if (v != FILTER_OK) {
                _cleanup_free_ char *p = tid_to_string(tid);

                (void) strv_extendf(&s->messages, "%s: %s DC dropped: %s", strempty(p),
                                    dc_origin_to_string(origin), filter_verdict_to_string(v));
                return CANDIDATE_FILTERED;
        }
        return CANDIDATE_ADDED;
}

/* Check and add one candidate; tid is consumed in every case.  *budget
 * (NULL = unlimited) counts the new candidates its source may still add. */
static int candidate_add(CandidateSet *s, const Conf *conf, Tid *tid, DcOrigin origin,
                         const ConfController *cc, size_t *budget, CandidateOutcome *out) {
        CandidateVerdict v;
        long i;
        int r;

        v = candidate_check(s, conf, tid, origin, out);
        if (v != CANDIDATE_ADDED)
                goto done;

        i = candidates_find(s, tid);
        if (i >= 0) {
                /* Keep the highest-priority origin (lowest enum value). */
                if (origin < s->items[i].origin) {
                        s->items[i].origin = origin;
                        s->items[i].conf = cc;
                }
                v = CANDIDATE_DUPLICATE;
                goto done;
        }

        if (origin != DC_ORIGIN_CONFIGURED) {
                if (budget && *budget == 0) {
                        v = CANDIDATE_OVER_DC_CAP;
                        goto done;
                }
                if (s->n >= conf->max_dcs) {
                        v = CANDIDATE_OVER_TOTAL_CAP;
                        goto done;
                }
        }

        /* items[] was sized for every input: no realloc, the index's key
         * pointers stay valid. */
        s->items[s->n] = (Candidate){
                .tid = *tid,
                .origin = origin,
                .conf = cc,
        };
        r = tid_index_put(s->index, &s->items[s->n].tid, (void *) (uintptr_t) (s->n + 1));
        if (r < 0) {
                s->items[s->n] = (Candidate){};
                tid_done(tid);
                return r;
        }
        s->n++;
        if (budget)
                (*budget)--;
        out->verdict = CANDIDATE_ADDED;
        return 0;
done:
        out->verdict = (unsigned char) v;
        tid_done(tid);
        return 0;
}

static const char *transport_from_trtype(const char *trtype) {
        /* DLPE trtype names double as transport names, except unknown numbers. */
        if (streq(trtype, "tcp") || streq(trtype, "rdma") || streq(trtype, "fc") || streq(trtype, "loop"))
                return trtype;
        return NULL;
}

int candidates_build(CandidateSet *ret, const Conf *conf, const char *hostnqn, const ReferralSource *refs,
                     size_t n_refs, const DiscoveredService *disc, size_t n_disc) {
        CandidateSet s = {};
        const Tid *parent = NULL;
        size_t budget = 0, total;
        int r;

        total = conf->n_controllers + n_refs + n_disc;
        s.items = calloc(total ?: 1, sizeof(Candidate));
        s.conf_out = calloc(conf->n_controllers ?: 1, sizeof(CandidateOutcome));
        s.ref_out = calloc(n_refs ?: 1, sizeof(CandidateOutcome));
        s.disc_out = calloc(n_disc ?: 1, sizeof(CandidateOutcome));
        if (!s.items || !s.conf_out || !s.ref_out || !s.disc_out) {
                r = -ENOMEM;
                goto fail;
        }
        r = tid_index_new(&s.index);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < conf->n_controllers; i++) {
                const ConfController *cc = &conf->controllers[i];
                Tid tid;

                r = tid_init(&tid, cc->transport, cc->traddr, cc->trsvcid, cc->nqn, cc->host_traddr,
                             cc->host_iface, cc->host_nqn, hostnqn, conf->ignore_iface);
                if (r < 0)
                        goto fail;
                r = candidate_add(&s, conf, &tid, DC_ORIGIN_CONFIGURED, cc, NULL, &s.conf_out[i]);
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < n_refs; i++) {
                const DlpEntry *e = refs[i].entry;
                const Tid *p = refs[i].parent;
                const char *transport;
                Tid tid;

                if (p != parent) {
                        parent = p;
                        budget = conf->max_referrals_per_dc;
                }
                transport = transport_from_trtype(dlpe_get(e, DLPE_TRTYPE));
                if (!transport) {
                        s.ref_out[i].verdict = CANDIDATE_UNSUPPORTED;
                        continue;
                }
                r = tid_init(&tid, transport, dlpe_get(e, DLPE_TRADDR), dlpe_get(e, DLPE_TRSVCID),
                             dlpe_get(e, DLPE_SUBNQN), p->host_traddr, p->host_iface, p->host_nqn, hostnqn,
                             conf->ignore_iface);
                if (r < 0)
                        goto fail;
                r = candidate_add(&s, conf, &tid, DC_ORIGIN_REFERRAL, NULL, &budget, &s.ref_out[i]);
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < n_disc; i++) {
                const DiscoveredService *d = &disc[i];
                Tid tid;

                r = tid_init(&tid, d->transport, d->traddr, d->trsvcid, d->subsysnqn, NULL, d->host_iface,
                             NULL, hostnqn, conf->ignore_iface);
                if (r < 0)
                        goto fail;
                r = candidate_add(&s, conf, &tid, DC_ORIGIN_DISCOVERED, NULL, NULL, &s.disc_out[i]);
                if (r < 0)
                        goto fail;
        }

        *ret = s;
        return 0;
fail:
        candidates_done(&s);
        return r;
}

void reconcile_plan_done(ReconcilePlan *p) {
        free(p->add);
        free(p->del);
        free(p->reorigin);
        free(p->new_origin);
        *p = (ReconcilePlan){};
}

static bool current_must_go(const CurrentDc *c, const Conf *conf) {
        if (c->origin != DC_ORIGIN_DISCOVERED)
                return true;
        if (c->expired)
                return true;
        if (filter_excluded(conf->excludes, conf->n_excludes, c->tid) >= 0)
                return true;
        if (filter_address(c->tid->transport, c->tid->traddr, conf->ip_family) != FILTER_OK)
                return true;
        /* mDNS stopped announcing it or it went unreachable: kept until expiry. */
        return false;
}

int reconcile(const CandidateSet *cand, const CurrentDc *cur, size_t n_cur, const Conf *conf,
              ReconcilePlan *ret) {
        ReconcilePlan p = {};
        bool *matched = NULL;

        matched = calloc(cand->n ?: 1, sizeof(bool));
        p.add = calloc(cand->n ?: 1, sizeof(size_t));
        p.del = calloc(n_cur ?: 1, sizeof(size_t));
        p.reorigin = calloc(n_cur ?: 1, sizeof(size_t));
        p.new_origin = calloc(n_cur ?: 1, sizeof(DcOrigin));
        if (!matched || !p.add || !p.del || !p.reorigin || !p.new_origin) {
                free(matched);
                reconcile_plan_done(&p);
                return -ENOMEM;
        }

        for (size_t i = 0; i < n_cur; i++) {
                long k = candidates_find(cand, cur[i].tid);

                if (k < 0) {
                        if (current_must_go(&cur[i], conf))
                                p.del[p.n_del++] = i;
                        continue;
                }
                matched[k] = true;
                if (cand->items[k].origin != cur[i].origin) {
                        p.reorigin[p.n_reorigin] = i;
                        p.new_origin[p.n_reorigin++] = cand->items[k].origin;
                }
        }

        for (size_t k = 0; k < cand->n; k++)
                if (!matched[k])
                        p.add[p.n_add++] = k;

        free(matched);
        *ret = p;
        return 0;
}
