/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool: worker threads in lanes, completing into sd-event.  See pool.h.
 *
 * Locking: one mutex protects every lane queue, the done list, job states
 * and the stop flag; each lane has its own condition variable so a wake-up
 * only concerns that lane's workers.  The loop thread alone touches
 * Pool.n_pending and calls done().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "macro.h"
#include "pool.h"

typedef enum JobState {
        JOB_QUEUED,
        JOB_RUNNING,
        JOB_DONE,
} JobState;

struct PoolJob {
        Pool *pool;
        unsigned lane;
        PoolJob *prev, *next; /* lane queue, or done list (next only) */
        JobState state;
        PoolRunFn run;
        PoolDoneFn done;
        void *data;
        int result;
};

typedef struct Lane {
        Pool *pool;
        char name[16];
        pthread_cond_t cond;
        PoolJob *head, *tail;
        pthread_t *threads;
        unsigned n_threads;
        unsigned n_running; /* under the lock */
} Lane;

struct Pool {
        sd_event *event;
        sd_event_source *efd_source;
        int efd;
        char name[16];

        pthread_mutex_t lock;
        Lane *lanes;
        unsigned n_lanes;
        PoolJob *done; /* LIFO; reversed when drained */
        bool stop;

        unsigned n_pending; /* loop thread */
};

static void lane_unlink(Lane *l, PoolJob *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                l->head = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                l->tail = j->prev;
        j->prev = j->next = NULL;
}

static void *worker_main(void *arg) {
        Lane *l = arg;
        Pool *p = l->pool;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                PoolJob *j;

                while (!p->stop && !l->head)
                        pthread_cond_wait(&l->cond, &p->lock);
                if (p->stop)
                        break;
                j = l->head;
                lane_unlink(l, j);
                j->state = JOB_RUNNING;
                l->n_running++;
                pthread_mutex_unlock(&p->lock);

                j->result = j->run(j->data);

                pthread_mutex_lock(&p->lock);
                l->n_running--;
                j->state = JOB_DONE;
                j->next = p->done;
                p->done = j;
                /* Wake the loop; the counter value does not matter. */
                (void) eventfd_write(p->efd, 1);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static void job_finish(PoolJob *j, int result) {
        Pool *p = j->pool;

        p->n_pending--;
        j->done(j->data, result);
        free(j);
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Pool *p = userdata;
        PoolJob *list, *rev = NULL;
        eventfd_t v;

        (void) eventfd_read(p->efd, &v);

        pthread_mutex_lock(&p->lock);
        list = p->done;
        p->done = NULL;
        pthread_mutex_unlock(&p->lock);

        /* Completion order */
        while (list) {
                PoolJob *n = list->next;

                list->next = rev;
                rev = list;
                list = n;
        }
        while (rev) {
                PoolJob *n = rev->next;

                job_finish(rev, rev->result);
                rev = n;
        }
        return 0;
}

int pool_new(Pool **ret, sd_event *event, const char *name, const PoolLaneSpec *lanes, unsigned n_lanes) {
        _cleanup_(pool_freep) Pool *p = NULL;
        sigset_t all, old;
        int r = 0;

        if (!ret || !event || !lanes || n_lanes == 0)
                return -EINVAL;
        for (unsigned i = 0; i < n_lanes; i++)
                if (lanes[i].n_workers == 0)
                        return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->efd = -EBADF;
        pthread_mutex_init(&p->lock, NULL);
        p->event = sd_event_ref(event);
        (void) snprintf(p->name, sizeof(p->name), "%s", name ?: "pool");

        p->lanes = calloc(n_lanes, sizeof(Lane));
        if (!p->lanes)
                return -ENOMEM;
        p->n_lanes = n_lanes;
        for (unsigned i = 0; i < n_lanes; i++) {
                p->lanes[i].pool = p;
                pthread_cond_init(&p->lanes[i].cond, NULL);
                (void) snprintf(p->lanes[i].name, sizeof(p->lanes[i].name), "%s", lanes[i].name ?: p->name);
                p->lanes[i].threads = calloc(lanes[i].n_workers, sizeof(pthread_t));
                if (!p->lanes[i].threads)
                        return -ENOMEM;
        }

        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->efd_source, p->efd, EPOLLIN, on_efd, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->efd_source, p->name);

        /* Workers never take signals: the loop owns them (signalfd). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (unsigned i = 0; i < n_lanes && r >= 0; i++) {
                Lane *l = &p->lanes[i];

                for (unsigned k = 0; k < lanes[i].n_workers; k++) {
                        r = -pthread_create(&l->threads[k], NULL, worker_main, l);
                        if (r < 0)
                                break;
                        (void) pthread_setname_np(l->threads[k], l->name);
                        l->n_threads++;
                }
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

/* Take every job the workers will not deliver: queued, and done but not
 * yet dispatched.  Caller holds the lock; returns a list (next-linked). */
static PoolJob *take_undelivered(Pool *p) {
        PoolJob *list = p->done;

        p->done = NULL;
        for (unsigned i = 0; i < p->n_lanes; i++) {
                Lane *l = &p->lanes[i];

                while (l->head) {
                        PoolJob *j = l->head;

                        lane_unlink(l, j);
                        j->next = list;
                        list = j;
                }
        }
        return list;
}

static void cancel_list(PoolJob *list) {
        while (list) {
                PoolJob *n = list->next;

                job_finish(list, -ECANCELED);
                list = n;
        }
}

Pool *pool_free(Pool *p) {
        PoolJob *list;

        if (!p)
                return NULL;

        pthread_mutex_lock(&p->lock);
        p->stop = true;
        for (unsigned i = 0; i < p->n_lanes; i++)
                pthread_cond_broadcast(&p->lanes[i].cond);
        pthread_mutex_unlock(&p->lock);
        /* Running jobs finish; queued ones never start. */
        for (unsigned i = 0; p->lanes && i < p->n_lanes; i++)
                for (unsigned k = 0; k < p->lanes[i].n_threads; k++)
                        (void) pthread_join(p->lanes[i].threads[k], NULL);

        pthread_mutex_lock(&p->lock);
        list = take_undelivered(p);
        pthread_mutex_unlock(&p->lock);
        cancel_list(list);

        for (unsigned i = 0; p->lanes && i < p->n_lanes; i++) {
                pthread_cond_destroy(&p->lanes[i].cond);
                free(p->lanes[i].threads);
        }
        free(p->lanes);
        sd_event_source_disable_unref(p->efd_source);
        safe_close(p->efd);
        sd_event_unref(p->event);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

void pool_abandon(Pool *p) {
        PoolJob *list, *keep = NULL;

        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        for (unsigned i = 0; i < p->n_lanes; i++) {
                Lane *l = &p->lanes[i];

                pthread_cond_broadcast(&l->cond);
                while (l->head) {
                        PoolJob *j = l->head;

                        lane_unlink(l, j);
                        j->next = keep;
                        keep = j;
                }
        }
        list = keep;
        pthread_mutex_unlock(&p->lock);
        /* Running jobs still write into their data: only queued ones are
         * given back. */
        cancel_list(list);
        (void) sd_event_source_set_enabled(p->efd_source, SD_EVENT_OFF);
        for (unsigned i = 0; i < p->n_lanes; i++)
                for (unsigned k = 0; k < p->lanes[i].n_threads; k++)
                        (void) pthread_detach(p->lanes[i].threads[k]);
}

int pool_submit(Pool *p, unsigned lane, PoolRunFn run, PoolDoneFn done, void *data, PoolJob **ret_job) {
        PoolJob *j;
        Lane *l;

        if (!p || !run || !done || lane >= p->n_lanes)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (PoolJob){ .pool = p, .lane = lane, .run = run, .done = done, .data = data };
        l = &p->lanes[lane];

        pthread_mutex_lock(&p->lock);
        if (p->stop) {
                pthread_mutex_unlock(&p->lock);
                free(j);
                return -ESHUTDOWN;
        }
        j->prev = l->tail;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&p->lock);

        p->n_pending++;
        if (ret_job)
                *ret_job = j;
        return 0;
}

bool pool_job_drop(PoolJob *j) {
        Pool *p;
        bool dropped = false;

        if (!j)
                return false;
        p = j->pool;
        pthread_mutex_lock(&p->lock);
        if (j->state == JOB_QUEUED) {
                lane_unlink(&p->lanes[j->lane], j);
                dropped = true;
        }
        pthread_mutex_unlock(&p->lock);
        if (dropped) {
                p->n_pending--;
                free(j);
        }
        return dropped;
}

unsigned pool_n_pending(const Pool *p) {
        return p ? p->n_pending : 0;
}

unsigned pool_n_running(Pool *p) {
        unsigned n = 0;

        if (!p)
                return 0;
        pthread_mutex_lock(&p->lock);
        for (unsigned i = 0; i < p->n_lanes; i++)
                n += p->lanes[i].n_running;
        pthread_mutex_unlock(&p->lock);
        return n;
}
