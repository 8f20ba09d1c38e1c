/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Reconciliation as a function: the candidate discovery controllers (from
 * configuration, referrals and mDNS) and the current set in, what to create
 * and what to delete out.  No I/O, no clock: the caller says which current
 * discovered DCs have outlived their persistence period.
 */

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "dlp.h"
#include "tid.h"

typedef enum DcOrigin {
        DC_ORIGIN_CONFIGURED, /* highest priority */
        DC_ORIGIN_REFERRAL,
        DC_ORIGIN_DISCOVERED,
        _DC_ORIGIN_MAX,
        _DC_ORIGIN_INVALID = -1,
} DcOrigin;

const char *dc_origin_to_string(DcOrigin o);
DcOrigin dc_origin_from_string(const char *s);

typedef struct Candidate {
        Tid tid;
        DcOrigin origin;
        const ConfController *conf; /* the controller= entry (configured only) */
} Candidate;

/* What became of one input of candidates_build. */
typedef enum CandidateVerdict {
        CANDIDATE_ADDED, /* a new candidate */
        CANDIDATE_DUPLICATE, /* the same DC as an earlier candidate */
        CANDIDATE_EXCLUDED, /* by an exclude= entry */
        CANDIDATE_FILTERED, /* by ip-family */
        CANDIDATE_INVALID, /* failed tid_validate (see field, reason) */
        CANDIDATE_UNSUPPORTED, /* referral with a trtype stafd cannot connect */
        CANDIDATE_OVER_DC_CAP, /* referral past max-referrals-per-dc of its DC */
        CANDIDATE_OVER_TOTAL_CAP, /* referral/mDNS DC past max-dcs */
} CandidateVerdict;

typedef struct CandidateOutcome {
        unsigned char verdict; /* CandidateVerdict */
        unsigned char field; /* CANDIDATE_INVALID: index in tid_field_names */
        const char *reason; /* CANDIDATE_INVALID: static text */
} CandidateOutcome;

typedef struct CandidateSet {
        Candidate *items;
        size_t n;
        TidIndex *index; /* tid -> position + 1 (as a pointer-sized integer) */
        char **messages; /* exclusions and ip-family drops: for the log */
        /* One outcome per input, in input order (NULL when that input was
         * empty): configured controllers, referrals, discovered services. */
        CandidateOutcome *conf_out, *ref_out, *disc_out;
} CandidateSet;

/* An mDNS-discovered service, as the zeroconf module reports it. */
typedef struct DiscoveredService {
        const char *transport, *traddr, *trsvcid, *subsysnqn, *host_iface;
} DiscoveredService;

/* A referral: a DLPE of subtype referral, inheriting its parent DC's
 * host_traddr, host_iface and host_nqn.  Referrals of one parent must be
 * consecutive, in log page order (that is the order caps keep). */
typedef struct ReferralSource {
        const DlpEntry *entry;
        const Tid *parent;
} ReferralSource;

/* Build the candidate set: configured ∪ referrals ∪ discovered, each
 * normalised (tid_init) and validated (tid_validate), minus excluded, minus
 * filtered addresses, de-duplicated keeping the highest-priority origin.
 * Bounds: at most conf->max_referrals_per_dc new candidates from one
 * parent's referrals, and referral/discovered candidates only while the set
 * holds fewer than conf->max_dcs; configured controllers are always
 * admitted.  Which inputs are kept is deterministic: input order.  Runs in
 * time linear in the inputs. */
int candidates_build(CandidateSet *ret, const Conf *conf, const char *hostnqn, const ReferralSource *refs,
                     size_t n_refs, const DiscoveredService *disc, size_t n_disc);
void candidates_done(CandidateSet *s);
/* Index (>= 0) of the candidate equal to tid, or -ENOENT. */
long candidates_find(const CandidateSet *s, const Tid *tid);

typedef struct CurrentDc {
        const Tid *tid;
        DcOrigin origin;
        bool expired; /* discovered DC unresponsive for longer than the persistence period */
} CurrentDc;

typedef struct ReconcilePlan {
        size_t *add; /* indices into the candidate set */
        size_t n_add;
        size_t *del; /* indices into the current set */
        size_t n_del;
        size_t *reorigin; /* current DCs whose origin changes (index into current) */
        DcOrigin *new_origin;
        size_t n_reorigin;
} ReconcilePlan;

/* Current DCs not among the candidates are deleted, except discovered ones,
 * which stay until excluded or invalid (checked with conf) or expired.
 * Linear in the number of candidates and current DCs. */
int reconcile(const CandidateSet *cand, const CurrentDc *cur, size_t n_cur, const Conf *conf,
              ReconcilePlan *ret);
void reconcile_plan_done(ReconcilePlan *p);
