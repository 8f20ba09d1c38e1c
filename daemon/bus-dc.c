/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One discovery controller as the bus shows it: its identity, per-DC
 * settings and (detailed) state as a{ss} or JSON, and its cached log page.
 * The method handlers in bus-manager.c put these pieces together.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-dc.h"
#include "coop.h"
#include "macro.h"
#include "utf8.h"

/* Longest string argument we accept: an NQN is at most 223 bytes, a host
 * name 253; anything far beyond is a client bug or an attack. */
#define ARG_MAX_LEN 1024

int bus_append_string(sd_bus_message *msg, const char *s) {
        _cleanup_free_ char *fixed = NULL;

        s = strempty(s);
        /* sd-bus refuses the whole message for one invalid string: repair. */
        if (!utf8_is_valid(s)) {
                fixed = utf8_sanitize(s);
                if (!fixed)
                        return -ENOMEM;
                s = fixed;
        }
        return sd_bus_message_append_basic(msg, 's', s);
}

/* Where a DC's description goes: straight into a D-Bus message (a{ss}) or a
 * JSON writer, with no intermediate copies.  The first failure sticks. */
typedef struct Kv {
        sd_bus_message *msg;
        JsonWriter *w;
        int error;
        size_t bytes; /* about what the entries weigh in the message */
} Kv;

static void kv_add(Kv *kv, const char *k, const char *v) {
        int r;

        if (kv->error < 0)
                return;
        if (kv->w) {
                json_writer_kv(kv->w, k, v);
                return;
        }
        kv->bytes += strlen(k) + strlen(strempty(v)) + 16;
        /* The basic calls skip sd_bus_message_append()'s format parsing:
         * a quarter of the instructions of a 100-DC list_controllers. */
        r = sd_bus_message_open_container(kv->msg, 'e', "ss");
        if (r >= 0)
                r = sd_bus_message_append_basic(kv->msg, 's', k);
        if (r >= 0)
                r = bus_append_string(kv->msg, v);
        if (r >= 0)
                r = sd_bus_message_close_container(kv->msg);
        if (r < 0)
                kv->error = r;
}

static void kv_addf(Kv *kv, const char *k, const char *fmt, ...) _printf_(3, 4);
static void kv_addf(Kv *kv, const char *k, const char *fmt, ...) {
        char v[128];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        kv_add(kv, k, v);
}

/* Per-DC settings: only those the controller= line gives. */
static void kv_add_opt(Kv *kv, const char *k, int v) {
        if (v != CONF_UNSET)
                kv_addf(kv, k, "%d", v);
}

static void kv_add_bool_opt(Kv *kv, const char *k, int v) {
        if (v != CONF_UNSET)
                kv_add(kv, k, v ? "True" : "False");
}

/* The D-Bus dictionary / JSON object of one DC (the caller opens and closes
 * the container). */
static void dc_describe(Manager *m, Dc *dc, bool detailed, bool redact, Kv *kv) {
        char timer[64];

        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                kv_add(kv, tid_field_names[i], tid_field_const(&dc->tid, i));
        kv_add(kv, "device", dc_device(dc));

        if (dc->conf) {
                const ConfController *c = dc->conf;

                if (c->dhchap_secret)
                        kv_add(kv, "dhchap-secret", redact ? BUS_REDACTED : c->dhchap_secret);
                if (c->dhchap_ctrl_secret)
                        kv_add(kv, "dhchap-ctrl-secret", redact ? BUS_REDACTED : c->dhchap_ctrl_secret);
                kv_add_bool_opt(kv, "hdr-digest", c->opts.hdr_digest);
                kv_add_bool_opt(kv, "data-digest", c->opts.data_digest);
                kv_add_opt(kv, "kato", c->opts.kato);
                kv_add_opt(kv, "queue-size", c->opts.queue_size);
                kv_add_opt(kv, "reconnect-delay", c->opts.reconnect_delay);
                kv_add_opt(kv, "ctrl-loss-tmo", c->opts.ctrl_loss_tmo);
                kv_add_bool_opt(kv, "disable-sqflow", c->opts.disable_sqflow);
        }

        if (!detailed)
                return;

        dc_format_timer(dc->timers[DC_TIMER_CONNECT], dc->intervals[DC_TIMER_CONNECT], timer, sizeof(timer));
        kv_add(kv, "origin", dc_origin_to_string(dc->origin));
        if (dc->nbft)
                kv_add(kv, "nbft", dc->nbft); /* found in this NVMe Boot Firmware Table */
        kv_add(kv, "connected", dc_is_connected(dc) ? "True" : "False");
        kv_add(kv, "owner", coop_owner(m->coop, dc)); /* registry owner, "" = none */
        kv_addf(kv, "connect attempts", "%u", dc->connect_attempts);
        kv_addf(kv, "rejected referrals", "%u", dc->n_rejected);
        kv_addf(kv, "referrals over limits", "%u", dc->n_capped);
        kv_add(kv, "retry connect timer", timer);
        kv_add(kv, "hostid", dc->info.hostid);
        kv_add(kv, "hostnqn", dc->info.hostnqn);
        kv_add(kv, "model", dc->info.model);
        kv_add(kv, "serial", dc->info.serial);
        kv_add(kv, "dctype", dc->info.dctype);
        kv_add(kv, "cntrltype", dc->info.cntrltype);
        if (dc->origin == DC_ORIGIN_DISCOVERED) {
                int64_t p = m->conf->zeroconf_persistence_sec;
                uint64_t now = 0;

                dc_format_timer(dc->unresponsive_timer, p < 0 ? 0 : usec_from_sec(p), timer, sizeof(timer));
                (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                kv_add(kv, "unresponsive timer", timer);
                kv_addf(kv, "unresponsive timeout", "%llds", (long long) p);
                kv_addf(kv, "unresponsive time", "%.1fs",
                        dc->unresponsive_since && now > dc->unresponsive_since
                                ? (double) (now - dc->unresponsive_since) / USEC_PER_SEC
                                : 0.0);
        }
}

int bus_dc_append(sd_bus_message *msg, Manager *m, Dc *dc, bool detailed, bool redact, size_t *bytes) {
        Kv kv = { .msg = msg };

        dc_describe(m, dc, detailed, redact, &kv);
        *bytes += kv.bytes;
        return kv.error;
}

void bus_dc_write_json(JsonWriter *w, Manager *m, Dc *dc, bool detailed, bool redact) {
        Kv kv = { .w = w };

        json_writer_begin_object(w);
        dc_describe(m, dc, detailed, redact, &kv);
        json_writer_end_object(w);
}

int bus_dc_append_dlp(sd_bus_message *reply, const Dlp *d, size_t *bytes) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "a{ss}");
        for (size_t i = 0; r >= 0 && d && i < d->n; i++) {
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
                for (int k = 0; r >= 0 && k < _DLPE_N_KEYS; k++) {
                        const char *v = dlpe_get(d->entries[i], k);

                        if (k >= _DLPE_N_BASE && isempty(v))
                                continue;
                        *bytes += strlen(dlp_key_name(k)) + strlen(strempty(v)) + 16;
                        r = sd_bus_message_open_container(reply, 'e', "ss");
                        if (r >= 0)
                                r = sd_bus_message_append_basic(reply, 's', dlp_key_name(k));
                        if (r >= 0)
                                r = bus_append_string(reply, v);
                        if (r >= 0)
                                r = sd_bus_message_close_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int bus_dc_read_tid(sd_bus_message *msg, Manager *m, sd_bus_error *error, Dc **ret) {
        const char *a[TID_N_FIELDS];
        Tid tid;
        int r;

        r = sd_bus_message_read(msg, "sssssss", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                if (strlen(a[i]) > ARG_MAX_LEN)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Argument %s is too long (%zu bytes, at most %d)",
                                                 tid_field_names[i], strlen(a[i]), ARG_MAX_LEN);
        *ret = NULL;
        if (isempty(a[0]) || isempty(a[1]))
                return 0; /* no such DC: empty answer */

        r = tid_init(&tid, a[0], a[1], a[2], a[3], a[4], a[5], a[6], m->sys->hostnqn, m->conf->ignore_iface);
        if (r < 0)
                return r;
        *ret = manager_find_dc(m, &tid);
        tid_done(&tid);
        return 0;
}
