/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One discovery controller's state machine: connect (or adopt), DIM
 * registration, log page fetches, retry timers, uevents for its device,
 * mDNS persistence, and deletion.  It sees the rest of the daemon only
 * through its DcContext (loop, fabric, coop, the manager's callbacks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coop.h"
#include "dc.h"
#include "log.h"
#include "macro.h"
#include "sysfs.h"

/* Retry schedule of the spec (section 5). */
#define CONNECT_RETRY_FIRST_USEC (3 * USEC_PER_SEC)
#define CONNECT_RETRY_USEC (60 * USEC_PER_SEC)
#define REGISTER_RETRY_USEC (5 * USEC_PER_SEC)
#define DLP_RETRY_USEC (20 * USEC_PER_SEC)
#define RECONNECT_AFTER_REMOVE_USEC (3 * USEC_PER_SEC)
#define LIVE_POLL_USEC (5 * USEC_PER_SEC)
#define NVME_EVENT_PAIR_USEC (5 * USEC_PER_SEC)

#define dc_log(dc, level, ...) log_dc(level, (dc)->name, dc_device(dc), __VA_ARGS__)
#define dc_log_errno(dc, level, e, ...) log_dc_errno(level, e, (dc)->name, dc_device(dc), __VA_ARGS__)

static void dc_kick(Dc *dc);

/* The current configuration (a reload replaces it). */
static const Conf *dc_conf(const Dc *dc) {
        return dc->ctx->cb->conf(dc->ctx->userdata);
}

const char *dc_device(const Dc *dc) {
        return dc->device[0] ? dc->device : "nvme?";
}

int dc_new(Dc **ret, const DcContext *ctx, const Tid *tid, DcOrigin origin, const ConfController *conf) {
        _cleanup_free_ Dc *dc = NULL;
        int r;

        dc = calloc(1, sizeof(Dc));
        if (!dc)
                return -ENOMEM;
        dc->ctx = ctx;
        dc->origin = origin;
        r = tid_copy(&dc->tid, tid);
        if (r < 0)
                return r;
        dc->name = tid_to_string(&dc->tid);
        if (!dc->name) {
                tid_done(&dc->tid);
                return -ENOMEM;
        }
        if (conf) {
                dc->conf = calloc(1, sizeof(ConfController));
                if (!dc->conf || conf_controller_copy(dc->conf, conf) < 0) {
                        free(dc->conf);
                        free(dc->name);
                        tid_done(&dc->tid);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(dc);
        return 0;
}

/* The kernel controller this DC owns ("" = none): adoption by other DCs
 * skips it. */
static void dc_set_device(Dc *dc, const char *device) {
        Fabric *f = dc->ctx->fabric;

        if (dc->device[0] && !streq(dc->device, device))
                fabric_set_owned(f, dc->device, false);
        (void) snprintf(dc->device, sizeof(dc->device), "%s", device);
        if (dc->device[0])
                fabric_set_owned(f, dc->device, true);
}

Dc *dc_free(Dc *dc) {
        if (!dc)
                return NULL;
        if (dc->op && !fabric_op_drop(dc->op))
                fabric_op_cancel(dc->op);
        if (dc->device[0])
                fabric_set_owned(dc->ctx->fabric, dc->device, false);
        for (unsigned i = 0; i < _DC_TIMER_MAX; i++)
                sd_event_source_disable_unref(dc->timers[i]);
        sd_event_source_disable_unref(dc->unresponsive_timer);
        sd_event_source_disable_unref(dc->live_poll_timer);
        dlp_free(dc->dlp);
        if (dc->conf) {
                conf_controller_done(dc->conf);
                free(dc->conf);
        }
        free(dc->name);
        tid_done(&dc->tid);
        free(dc);
        return NULL;
}

void dc_set_conf(Dc *dc, const ConfController *conf) {
        ConfController *c = NULL;

        if (conf) {
                c = calloc(1, sizeof(ConfController));
                if (!c || conf_controller_copy(c, conf) < 0) {
                        free(c);
                        (void) log_oom();
                        return;
                }
        }
        if (dc->conf) {
                conf_controller_done(dc->conf);
                free(dc->conf);
        }
        dc->conf = c;
}

void dc_set_dlp(Dc *dc, Dlp *dlp) {
        dlp_free(dc->dlp);
        dc->dlp = dlp;
}

static void dc_update_unresponsive(Dc *dc);

bool dc_is_connected(const Dc *dc) {
        char state[32];

        if (!dc->device[0])
                return false;
        if (sysfs_attr(dc->device, "state", state, sizeof(state)) < 0)
                return false;
        return streq(state, "live");
}

void dc_format_timer(sd_event_source *s, uint64_t interval, char *buf, size_t size) {
        uint64_t when, now;
        int enabled = SD_EVENT_OFF;

        if (s)
                (void) sd_event_source_get_enabled(s, &enabled);
        if (!s || enabled == SD_EVENT_OFF || sd_event_source_get_time(s, &when) < 0 ||
            sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now) < 0) {
                (void) snprintf(buf, size, "%.1fs [off]", (double) interval / USEC_PER_SEC);
                return;
        }
        (void) snprintf(buf, size, "%.1fs [%.2fs]", (double) interval / USEC_PER_SEC,
                        when > now ? (double) (when - now) / USEC_PER_SEC : 0.0);
}

static unsigned work_timer(DcWork w) {
        return w == DC_WORK_CONNECT    ? DC_TIMER_CONNECT
               : w == DC_WORK_REGISTER ? DC_TIMER_REGISTER
                                       : DC_TIMER_DLP;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Dc *dc = userdata;

        for (unsigned i = 0; i < _DC_TIMER_MAX; i++)
                if (dc->timers[i] == s) {
                        DcWork w = 1u << i;

                        if (dc->deferred & w) {
                                dc->deferred &= ~w;
                                dc->pending |= w;
                        }
                }
        dc_kick(dc);
        return 0;
}

/* Queue one kind of work and run it after delay (0 = as soon as possible). */
static void dc_schedule(Dc *dc, DcWork work, uint64_t delay) {
        unsigned t = work_timer(work);
        int r;

        if (delay == 0) {
                dc->deferred &= ~work;
                if (dc->timers[t])
                        (void) sd_event_source_set_enabled(dc->timers[t], SD_EVENT_OFF);
                dc->pending |= work;
                dc_kick(dc);
                return;
        }

        dc->pending &= ~work;
        dc->deferred |= work;
        dc->intervals[t] = delay;
        if (dc->timers[t]) {
                r = sd_event_source_set_time_relative(dc->timers[t], delay);
                if (r >= 0)
                        r = sd_event_source_set_enabled(dc->timers[t], SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(dc->ctx->event, &dc->timers[t], CLOCK_MONOTONIC, delay,
                                               100 * USEC_PER_MSEC, on_retry_timer, dc);
        if (r < 0)
                dc_log_errno(dc, LOG_ERR, r, "Failed to arm retry timer: %m");
}

static void dc_timers_stop(Dc *dc) {
        for (unsigned i = 0; i < _DC_TIMER_MAX; i++)
                if (dc->timers[i])
                        (void) sd_event_source_set_enabled(dc->timers[i], SD_EVENT_OFF);
        dc->deferred = 0;
}

static void dc_conn_opts(const Dc *dc, ConfConnOpts *ret) {
        const ConfConnOpts *g = &dc_conf(dc)->conn, *o = dc->conf ? &dc->conf->opts : NULL;

#define PICK(f) ret->f = (o && o->f != CONF_UNSET) ? o->f : g->f
        PICK(hdr_digest);
        PICK(data_digest);
        PICK(kato);
        PICK(queue_size);
        PICK(reconnect_delay);
        PICK(ctrl_loss_tmo);
        PICK(disable_sqflow);
#undef PICK
}

static void dc_host(const Dc *dc, FabricHost *ret) {
        const SysConf *s = dc->ctx->cb->sys(dc->ctx->userdata);

        *ret = (FabricHost){
                .hostnqn = dc->tid.host_nqn,
                .hostid = dc->hostid ?: s->hostid,
                .hostkey = s->hostkey,
                .symname = s->symname,
        };
}

static void dc_connected(Dc *dc, const FabricCtrlInfo *info) {
        bool was_failing = dc->failure_logged;

        if (info)
                dc->info = *info;
        dc_set_device(dc, dc->info.device);
        dc->connect_attempts = 0;
        dc->failure_logged = false;
        dc->last_error = 0;
        dc->pending &= ~DC_WORK_CONNECT;
        dc->deferred &= ~DC_WORK_CONNECT;
        if (dc->timers[DC_TIMER_CONNECT])
                (void) sd_event_source_set_enabled(dc->timers[DC_TIMER_CONNECT], SD_EVENT_OFF);
        dc_update_unresponsive(dc);
        if (dc->info.adopted)
                dc_log(dc, LOG_INFO, "Adopted the existing kernel controller");
        else if (was_failing)
                dc_log(dc, LOG_INFO, "Connected after earlier failures");
        else
                dc_log(dc, LOG_INFO, "Connected");
        coop_dc_connected(dc->ctx->coop, dc); /* coop: ownership registry */
        dc->ctx->cb->save_requested(dc->ctx->userdata);

        /* DIM registration only with DCs that support it. */
        if (streq(dc->info.dctype, "ddc") || streq(dc->info.dctype, "cdc"))
                dc->pending |= DC_WORK_REGISTER;
        dc->pending |= DC_WORK_DLP;
        /* Our own connect makes the kernel announce NVME_EVENT=connected;
         * the fetch above already covers it. */
        dc->own_connect_event_due = !dc->info.adopted;
}

/* A deleted DC whose operation just completed: disconnect if asked, then go. */
static bool dc_reap_if_deleted(Dc *dc, int error, const FabricCtrlInfo *connected) {
        const DcContext *ctx = dc->ctx;

        dc->op = NULL;
        if (!dc->deleted)
                return false;
        if (error == 0 && connected)
                dc_set_device(dc, connected->device);
        dc->deleted = false;
        (void) dc_begin_delete(dc, dc->disconnect_on_free);
        ctx->cb->zombie_done(ctx->userdata, dc);
        return true;
}

static void on_connect_done(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Dc *dc = userdata;
        uint64_t delay;

        if (dc_reap_if_deleted(dc, error, error == 0 ? result : NULL))
                return;
        if (error == 0) {
                dc_connected(dc, result);
                dc_kick(dc);
                return;
        }

        dc->connect_attempts++;
        delay = dc->connect_attempts == 1 ? CONNECT_RETRY_FIRST_USEC : CONNECT_RETRY_USEC;
        if (!dc->failure_logged || error != dc->last_error) {
                char buf[128];

                dc_log(dc, LOG_ERR, "Failed to connect: %s (retrying in %us, then every %us)",
                       fabric_strerror(error, status, buf, sizeof(buf)), (unsigned) (delay / USEC_PER_SEC),
                       (unsigned) (CONNECT_RETRY_USEC / USEC_PER_SEC));
                dc->failure_logged = true;
                dc->last_error = error;
        } else
                dc_log(dc, LOG_DEBUG, "Connect attempt %u failed", dc->connect_attempts);

        /* An unreachable mDNS-discovered DC that is not announced (any more)
         * starts its persistence clock. */
        dc_update_unresponsive(dc);
        dc_schedule(dc, DC_WORK_CONNECT, delay);
}

static void on_register_done(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Dc *dc = userdata;
        char buf[128];

        if (dc_reap_if_deleted(dc, error, NULL))
                return;
        if (error == -EREMOTEIO && status != 0)
                /* The DC answered: retrying would get the same answer. */
                dc_log(dc, LOG_WARNING, "DIM registration: %s",
                       fabric_strerror(error, status, buf, sizeof(buf)));
        else if (error < 0) {
                dc_log(dc, LOG_WARNING, "DIM registration failed: %s (retrying in 5s)",
                       fabric_strerror(error, status, buf, sizeof(buf)));
                dc_schedule(dc, DC_WORK_REGISTER, REGISTER_RETRY_USEC);
                dc_kick(dc);
                return;
        } else
                dc_log(dc, LOG_DEBUG, "Registered (DIM)");
        dc_kick(dc);
}

static void on_dlp_done(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Dc *dc = userdata;
        FabricDlpResult *res = result;
        bool referrals_changed;
        char buf[128];

        if (dc_reap_if_deleted(dc, error, NULL))
                return;
        if (error != 0) {
                dc_log(dc, LOG_ERR, "Failed to get the discovery log page: %s (retrying in 20s)",
                       fabric_strerror(error, status, buf, sizeof(buf)));
                dc_schedule(dc, DC_WORK_DLP, DLP_RETRY_USEC);
                dc_kick(dc);
                return;
        }

        /* A fetch succeeded: an older failure's retry is moot. */
        dc->deferred &= ~DC_WORK_DLP;
        if (dc->timers[DC_TIMER_DLP])
                (void) sd_event_source_set_enabled(dc->timers[DC_TIMER_DLP], SD_EVENT_OFF);
        referrals_changed = dlp_referrals_differ(dc->dlp, res->dlp);
        dlp_free(dc->dlp);
        dc->dlp = TAKE_PTR(res->dlp);
        dc_log(dc, LOG_INFO, "Discovery log page: %zu entries (genctr %llu%s%s)", dc->dlp->n,
               (unsigned long long) dc->dlp->genctr, res->pleo_used ? ", PLEO" : "",
               res->retries ? ", re-read after a generation change" : "");
        if (res->dropped)
                dc_log(dc, LOG_WARNING, "Dropped %zu entries with an empty or wildcard traddr",
                       res->dropped);

        dc->ctx->cb->log_pages_changed(dc->ctx->userdata, dc, referrals_changed);
        dc_kick(dc);
}

/* Run the next pending piece of work, if nothing is in flight. */
static void dc_kick(Dc *dc) {
        const DcContext *ctx = dc->ctx;
        FabricHost host;
        int r;

        if (dc->op || ctx->cb->stopping(ctx->userdata))
                return;

        dc_host(dc, &host);

        if (dc->pending & DC_WORK_CONNECT) {
                FabricConnectParams p = {
                        .tid = &dc->tid,
                        .dhchap_secret = dc->conf ? dc->conf->dhchap_secret : NULL,
                        .dhchap_ctrl_secret = dc->conf ? dc->conf->dhchap_ctrl_secret : NULL,
                };

                dc_conn_opts(dc, &p.opts);
                dc->op_kind = DC_WORK_CONNECT;
                r = fabric_connect(ctx->fabric, &host, &p, on_connect_done, dc, &dc->op);
                if (r < 0)
                        on_connect_done(NULL, r, 0, NULL, dc);
                return;
        }

        if (!dc->device[0])
                return;

        if (dc->pending & DC_WORK_REGISTER) {
                dc->pending &= ~DC_WORK_REGISTER;
                dc->op_kind = DC_WORK_REGISTER;
                r = fabric_register(ctx->fabric, &host, dc->device, false, on_register_done, dc, &dc->op);
                if (r < 0)
                        on_register_done(NULL, r, 0, NULL, dc);
                return;
        }

        if (dc->pending & DC_WORK_DLP) {
                bool pleo = dc_conf(dc)->pleo && !streq(dc->info.dctype, "cdc");

                dc->pending &= ~DC_WORK_DLP;
                dc->op_kind = DC_WORK_DLP;
                r = fabric_get_dlp(ctx->fabric, dc->device, pleo, on_dlp_done, dc, &dc->op);
                if (r < 0)
                        on_dlp_done(NULL, r, 0, NULL, dc);
                return;
        }
}

void dc_start(Dc *dc) {
        dc_schedule(dc, DC_WORK_CONNECT, 0);
}

void dc_on_aen(Dc *dc) {
        dc_log(dc, LOG_INFO, "Received AEN: discovery log page changed");
        dc->pending |= DC_WORK_DLP;
        dc_kick(dc);
}

void dc_on_nvme_event(Dc *dc, const char *event) {
        uint64_t now = 0;

        /* The kernel says "connected" after every (re)connect, our own
         * included: right after ours, the fetch it asks for is already
         * queued or running, and a second one costs a whole log (seconds
         * for a large one). */
        if (dc->own_connect_event_due && streq(event, "connected")) {
                dc->own_connect_event_due = false;
                dc_log(dc, LOG_DEBUG, "Received NVME_EVENT=connected for our own connect");
                return;
        }
        /* A reconnect by the kernel says both "rediscover" and "connected"
         * (in that order since Linux 5.18), one right after the other and
         * both after the controller is live again: the fetch for the first
         * covers the second.  Pair them: the other name within
         * NVME_EVENT_PAIR_USEC is skipped once. */
        (void) sd_event_now(dc->ctx->event, CLOCK_MONOTONIC, &now);
        if (dc->nvme_event_pair_due[0] && streq(event, dc->nvme_event_pair_due) &&
            now - dc->nvme_event_at < NVME_EVENT_PAIR_USEC) {
                dc->nvme_event_pair_due[0] = 0;
                dc_log(dc, LOG_DEBUG, "Received NVME_EVENT=%s of the same reconnect: one fetch covers both",
                       event);
                return;
        }
        (void) snprintf(dc->nvme_event_pair_due, sizeof(dc->nvme_event_pair_due), "%s",
                        streq(event, "connected") ? "rediscover" : "connected");
        dc->nvme_event_at = now;
        dc_log(dc, LOG_INFO, "Received NVME_EVENT=%s", event);
        (void) sysfs_read_info(dc->device, &dc->info);
        if (streq(dc->info.dctype, "ddc") || streq(dc->info.dctype, "cdc"))
                dc->pending |= DC_WORK_REGISTER;
        dc->pending |= DC_WORK_DLP;
        dc_kick(dc);
}

void dc_on_remove(Dc *dc) {
        dc_log(dc, LOG_WARNING,
               "Kernel controller removed; keeping the cached log page, reconnecting in 3s");
        dc_set_device(dc, "");
        dc->nvme_event_pair_due[0] = 0;
        dc->own_connect_event_due = false;
        dc->info = (FabricCtrlInfo){};
        dc->pending &= ~(DC_WORK_REGISTER | DC_WORK_DLP);
        dc->deferred &= ~(DC_WORK_REGISTER | DC_WORK_DLP);
        for (unsigned i = DC_TIMER_REGISTER; i < _DC_TIMER_MAX; i++)
                if (dc->timers[i])
                        (void) sd_event_source_set_enabled(dc->timers[i], SD_EVENT_OFF);
        if (dc->op && dc->op_kind != DC_WORK_CONNECT) {
                /* Its result is meaningless now. */
                fabric_op_cancel(dc->op);
                dc->op = NULL;
        }
        dc_update_unresponsive(dc);
        dc_schedule(dc, DC_WORK_CONNECT, RECONNECT_AFTER_REMOVE_USEC);
        dc->ctx->cb->save_requested(dc->ctx->userdata);
}

static int on_unresponsive_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Dc *dc = userdata;

        dc->unresponsive_since = 0;
        if (dc->announced || dc_is_connected(dc)) {
                /* Responsive again without us being told: nothing expires. */
                dc_update_unresponsive(dc);
                return 0;
        }
        dc_log(dc, LOG_INFO, "Not announced and not connected for the persistence period: removing");
        dc->ctx->cb->expired(dc->ctx->userdata, dc);
        return 0;
}

static int on_live_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        dc_update_unresponsive(userdata);
        return 0;
}

static void dc_live_poll(Dc *dc, bool on) {
        int r;

        if (!on) {
                if (dc->live_poll_timer)
                        (void) sd_event_source_set_enabled(dc->live_poll_timer, SD_EVENT_OFF);
                return;
        }
        if (dc->live_poll_timer) {
                r = sd_event_source_set_time_relative(dc->live_poll_timer, LIVE_POLL_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(dc->live_poll_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(dc->ctx->event, &dc->live_poll_timer, CLOCK_MONOTONIC,
                                               LIVE_POLL_USEC, USEC_PER_SEC, on_live_poll, dc);
        if (r < 0)
                dc_log_errno(dc, LOG_WARNING, r, "Failed to arm the connection state poll: %m");
}

/* Unresponsive = not announced by mDNS AND not connected.  Only then does the
 * persistence clock run; either condition going away stops it (and forgets
 * an expiry not acted upon yet). */
static void dc_update_unresponsive(Dc *dc) {
        bool connected;
        int64_t persist;
        uint64_t now;
        int r;

        if (dc->origin != DC_ORIGIN_DISCOVERED) {
                /* (Also when it just became configured or a referral.) */
                dc->unresponsive_since = 0;
                dc->expired = false;
                dc_live_poll(dc, false);
                if (dc->unresponsive_timer)
                        (void) sd_event_source_set_enabled(dc->unresponsive_timer, SD_EVENT_OFF);
                return;
        }

        connected = dc_is_connected(dc);
        /* Only "not announced" can turn into "unresponsive" silently. */
        dc_live_poll(dc, !dc->announced && connected);
        if (dc->announced || connected) {
                dc->unresponsive_since = 0;
                dc->expired = false;
                if (dc->unresponsive_timer)
                        (void) sd_event_source_set_enabled(dc->unresponsive_timer, SD_EVENT_OFF);
                return;
        }
        if (dc->unresponsive_since || dc->expired)
                return; /* clock already running, or already run out */

        persist = dc_conf(dc)->zeroconf_persistence_sec;
        if (persist < 0)
                return; /* never expire */

        (void) sd_event_now(dc->ctx->event, CLOCK_MONOTONIC, &now);
        dc->unresponsive_since = now ?: 1;
        if (dc->unresponsive_timer) {
                r = sd_event_source_set_time(dc->unresponsive_timer, usec_add(now, usec_from_sec(persist)));
                if (r >= 0)
                        r = sd_event_source_set_enabled(dc->unresponsive_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(dc->ctx->event, &dc->unresponsive_timer, CLOCK_MONOTONIC,
                                      usec_add(now, usec_from_sec(persist)), USEC_PER_SEC,
                                      on_unresponsive_timer, dc);
        if (r < 0)
                dc_log_errno(dc, LOG_ERR, r, "Failed to arm the unresponsive timer: %m");
}

void dc_set_announced(Dc *dc, bool announced) {
        dc->announced = announced;
        dc_update_unresponsive(dc);
}

bool dc_begin_delete(Dc *dc, bool disconnect) {
        const DcContext *ctx = dc->ctx;

        dc_timers_stop(dc);
        if (dc->unresponsive_timer)
                (void) sd_event_source_set_enabled(dc->unresponsive_timer, SD_EVENT_OFF);
        if (dc->live_poll_timer)
                (void) sd_event_source_set_enabled(dc->live_poll_timer, SD_EVENT_OFF);
        dc->pending = 0;

        /* Work that has not started yet is simply dropped: nothing to wait
         * for (on stop, only operations blocked in the kernel are). */
        if (dc->op && fabric_op_drop(dc->op))
                dc->op = NULL;
        if (dc->op) {
                /* A fetch need not read on for a DC that is going. */
                if (dc->op_kind == DC_WORK_DLP)
                        fabric_op_abort(dc->op);
                /* The kernel may be connecting right now: disconnect only
                 * after that finishes, or it would stay connected to a DC we
                 * no longer track.  The manager polls zombies. */
                dc->disconnect_on_free = disconnect;
                dc->deleted = true;
                return false;
        }

        /* coop: never disconnect a controller another orchestrator owns. */
        if (disconnect && dc->device[0] && coop_may_disconnect(ctx->coop, dc)) {
                dc_log(dc, LOG_INFO, "Disconnecting");
                /* The device stays owned until the disconnect completes. */
                ctx->cb->disconnect(ctx->userdata, dc->device, dc->name);
                dc->device[0] = 0;
        }
        dc_set_device(dc, "");
        return true;
}
