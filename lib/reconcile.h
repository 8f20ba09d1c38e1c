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
        DC_ORIGIN_CONFIGURED,   /* highest priority */
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
        const ConfController *conf;   /* the controller= entry (configured only) */
} Candidate;

typedef struct CandidateSet {
        Candidate *items;
        size_t n;
        char **messages;   /* why candidates were dropped: for the log */
} CandidateSet;

/* An mDNS-discovered service, as the zeroconf module reports it. */
typedef struct DiscoveredService {
        const char *transport, *traddr, *trsvcid, *subsysnqn, *host_iface;
} DiscoveredService;

/* A referral: a DLPE of subtype referral, inheriting its parent DC's
 * host_traddr, host_iface and host_nqn. */
typedef struct ReferralSource {
        const DlpEntry *entry;
        const Tid *parent;
} ReferralSource;

/* Build the candidate set: configured ∪ referrals ∪ discovered, each
 * normalised (tid_init), minus excluded, minus bad/filtered addresses,
 * de-duplicated keeping the highest-priority origin. */
int candidates_build(CandidateSet *ret, const Conf *conf, const char *hostnqn,
                     const ReferralSource *refs, size_t n_refs,
                     const DiscoveredService *disc, size_t n_disc);
void candidates_done(CandidateSet *s);
/* Index of the candidate equal to tid, or -1. */
long candidates_find(const CandidateSet *s, const Tid *tid);

typedef struct CurrentDc {
        const Tid *tid;
        DcOrigin origin;
        bool expired;   /* discovered DC unresponsive for longer than the persistence period */
} CurrentDc;

typedef struct ReconcilePlan {
        size_t *add;        /* indices into the candidate set */
        size_t n_add;
        size_t *del;        /* indices into the current set */
        size_t n_del;
        size_t *reorigin;   /* current DCs whose origin changes (index into current) */
        DcOrigin *new_origin;
        size_t n_reorigin;
} ReconcilePlan;

/* Current DCs not among the candidates are deleted, except discovered ones,
 * which stay until excluded or invalid (checked with conf) or expired. */
int reconcile(const CandidateSet *cand, const CurrentDc *cur, size_t n_cur,
              const Conf *conf, ReconcilePlan *ret);
void reconcile_plan_done(ReconcilePlan *p);
