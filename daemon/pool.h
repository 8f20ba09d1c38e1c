/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * pool: blocking functions on worker threads, completed into sd-event
 * through an eventfd.  A pool has one or more LANES; each lane has its own
 * FIFO queue and its own worker threads, so work in one lane never waits
 * behind work in another (fabric: connects in one lane, bounded by its
 * worker count; log-page fetch, DIM, disconnect and identity reads in
 * another).  Nothing here knows about libnvme.
 *
 * Threading: run() executes on a worker with no lock held; done() always
 * runs on the loop thread, in completion order.  The pool owns its PoolJob
 * records; the caller owns data.
 *
 * Life of a job: queued -> running -> done (done() called once, with run()'s
 * result).  pool_job_drop() takes a job that has not started out of its
 * queue (done() is then never called).  pool_free() joins the workers:
 * running jobs finish (a blocking kernel call cannot be interrupted), queued
 * ones never start; done() is called with -ECANCELED for every job that did
 * not complete on the loop, so the owner can free data.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct Pool Pool;
typedef struct PoolJob PoolJob;

typedef int (*PoolRunFn)(void *data);
/* result: run()'s return value, or -ECANCELED from pool_free(). */
typedef void (*PoolDoneFn)(void *data, int result);

typedef struct PoolLaneSpec {
        const char *name; /* for thread names and logs */
        unsigned n_workers; /* >= 1: also the bound on concurrent jobs */
} PoolLaneSpec;

int pool_new(Pool **ret, sd_event *event, const char *name, const PoolLaneSpec *lanes, unsigned n_lanes);
Pool *pool_free(Pool *p);

int pool_submit(Pool *p, unsigned lane, PoolRunFn run, PoolDoneFn done, void *data, PoolJob **ret_job);
/* True if the job had not started: it is gone and done() will not be called.
 * False if it is running or finished (done() will be or was called). */
bool pool_job_drop(PoolJob *j);

/* Jobs not completed on the loop yet, and those running on a worker now. */
unsigned pool_n_pending(const Pool *p);
unsigned pool_n_running(Pool *p);

/* Stop for good without waiting: drop queued jobs (done(-ECANCELED)), tell
 * workers to exit after their current job, and do not join them.  For a
 * process that exits next while a worker is blocked in the kernel: the
 * Pool's memory is deliberately left to the exiting process. */
void pool_abandon(Pool *p);

static inline void pool_freep(Pool **p) {
        if (*p)
                *p = pool_free(*p);
}
