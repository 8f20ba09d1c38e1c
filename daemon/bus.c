/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus.h"
#include "config.h"
#include "fabric.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "zeroconf.h"

/* Longest string argument we accept: an NQN is at most 223 bytes, a host
 * name 253; anything far beyond is a client bug or an attack. */
#define ARG_MAX_LEN 1024
#define REDACTED "<redacted>"

static bool caller_is_root(sd_bus_message *msg) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (!msg)
                return true;  /* internal use (--idl) */
        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds) < 0)
                return false;
        if (sd_bus_creds_get_euid(creds, &uid) < 0)
                return false;
        return uid == 0;
}

/* ---- key/value descriptions, rendered as a{ss} or JSON ---- */

/* Where a DC's description goes: straight into a D-Bus message (a{ss}) or a
 * JSON writer, with no intermediate copies.  The first failure sticks. */
typedef struct Kv {
        sd_bus_message *msg;
        JsonWriter *w;
        int error;
} Kv;

static void kv_add(Kv *kv, const char *k, const char *v) {
        int r;

        if (kv->error < 0)
                return;
        if (kv->w) {
                json_writer_kv(kv->w, k, v);
                return;
        }
        /* The basic calls skip sd_bus_message_append()'s format parsing:
         * a quarter of the instructions of a 100-DC list_controllers. */
        r = sd_bus_message_open_container(kv->msg, 'e', "ss");
        if (r >= 0)
                r = sd_bus_message_append_basic(kv->msg, 's', k);
        if (r >= 0)
                r = sd_bus_message_append_basic(kv->msg, 's', strempty(v));
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
                        kv_add(kv, "dhchap-secret", redact ? REDACTED : c->dhchap_secret);
                if (c->dhchap_ctrl_secret)
                        kv_add(kv, "dhchap-ctrl-secret", redact ? REDACTED : c->dhchap_ctrl_secret);
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
                kv_add(kv, "nbft", dc->nbft);   /* found in this NVMe Boot Firmware Table */
        kv_add(kv, "connected", dc_is_connected(dc) ? "True" : "False");
        kv_addf(kv, "connect attempts", "%u", dc->connect_attempts);
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

                dc_format_timer(dc->unresponsive_timer, p < 0 ? 0 : usec_from_sec(p),
                                timer, sizeof(timer));
                (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                kv_add(kv, "unresponsive timer", timer);
                kv_addf(kv, "unresponsive timeout", "%llds", (long long) p);
                kv_addf(kv, "unresponsive time", "%.1fs",
                        dc->unresponsive_since && now > dc->unresponsive_since
                        ? (double) (now - dc->unresponsive_since) / USEC_PER_SEC : 0.0);
        }
}

/* One DC as a JSON object, into w. */
static void dc_write_json(Manager *m, Dc *dc, bool detailed, bool redact, JsonWriter *w) {
        Kv kv = { .w = w };

        json_writer_begin_object(w);
        dc_describe(m, dc, detailed, redact, &kv);
        json_writer_end_object(w);
}

static int append_dlp(sd_bus_message *reply, const Dlp *d) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "a{ss}");
        for (size_t i = 0; r >= 0 && d && i < d->n; i++) {
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
                for (int k = 0; r >= 0 && k < _DLPE_N_KEYS; k++) {
                        const char *v = dlpe_get(d->entries[i], k);

                        if (k >= _DLPE_N_BASE && isempty(v))
                                continue;
                        r = sd_bus_message_append(reply, "{ss}", dlp_key_name(k), v);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Read the seven TID strings and look the DC up.  *ret = NULL if unknown. */
static int read_tid_args(Manager *m, sd_bus_message *msg, sd_bus_error *error, Dc **ret) {
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
                return 0;  /* no such DC: empty answer */

        r = tid_init(&tid, a[0], a[1], a[2], a[3], a[4], a[5], a[6], m->sys->hostnqn, m->conf->ignore_iface);
        if (r < 0)
                return r;
        *ret = manager_find_dc(m, &tid);
        tid_done(&tid);
        return 0;
}

/* ---- org.nvmexpress.staf ---- */

static int method_list_controllers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        bool redact = !caller_is_root(msg);
        int detailed, r;

        r = sd_bus_message_read(msg, "b", &detailed);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "a{ss}");
        for (size_t i = 0; r >= 0 && i < m->n_dcs; i++) {
                Kv kv = { .msg = reply };

                r = sd_bus_message_open_container(reply, 'a', "{ss}");
                if (r < 0)
                        break;
                dc_describe(m, m->dcs[i], detailed, redact, &kv);
                r = kv.error;
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_log_pages(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        Dc *dc;
        int r;

        r = read_tid_args(m, msg, error, &dc);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = append_dlp(reply, dc ? dc->dlp : NULL);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_all_log_pages(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        bool redact = !caller_is_root(msg);
        JsonWriter w = {};
        int detailed, r;

        r = sd_bus_message_read(msg, "b", &detailed);
        if (r < 0)
                return r;

        /* Streamed: with thousands of DLPEs a json-c tree would cost far more
         * memory and time than the answer itself. */
        json_writer_begin_array(&w);
        for (size_t i = 0; i < m->n_dcs; i++) {
                json_writer_begin_object(&w);
                json_writer_key(&w, "discovery-controller");
                dc_write_json(m, m->dcs[i], detailed, redact, &w);
                json_writer_key(&w, "log-pages");
                json_writer_dlp(&w, m->dcs[i]->dlp);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        r = json_writer_take(&w, &s, NULL);
        if (r < 0)
                return r;
        r = sd_bus_reply_method_return(msg, "s", s);
        /* Give the big buffers back now rather than keep them in the heap. */
        s = mfree(s);
        (void) malloc_trim(0);
        return r;
}

/* ---- org.nvmexpress.staf.debug ---- */

static bool module_loaded(const char *name) {
        char p[128];

        (void) snprintf(p, sizeof(p), "/sys/module/%s", name);
        return access(p, F_OK) == 0;
}

static int method_process_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        bool redact = !caller_is_root(msg);
        struct json_object *k, *avahi;
        char timer[64];

        o = json_object_new_object();
        k = json_object_new_object();
        if (!o || !k) {
                json_object_put(k);
                return -ENOMEM;
        }
        (void) json_add_string(o, "version", STAFD_VERSION);
        (void) json_add_string(o, "tron", (m->tron || m->conf->tron) ? "True" : "False");
        (void) json_add_string(o, "log-level", log_get_max_level() >= LOG_DEBUG ? "DEBUG" : "INFO");
        (void) json_add_string(o, "hostnqn", m->sys->hostnqn);
        (void) json_add_string(o, "hostid", m->sys->hostid);
        (void) json_add_string(o, "hostkey", m->sys->hostkey ? (redact ? REDACTED : m->sys->hostkey) : "");
        (void) json_add_string(o, "symname", m->sys->symname);
        (void) json_add_string(o, "config file", m->conf_file);
        (void) json_add_string(o, "system config file", m->sys_conf_file);
        (void) json_add_string(o, "last known config file", m->cache_path);
        dc_format_timer(m->reconcile_timer, m->reconcile_delay_usec, timer, sizeof(timer));
        (void) json_add_string(o, "config soak timer", timer);
        (void) json_add_string(k, "nvme-fabrics", fabric_have_fabrics() ? "True" : "False");
        (void) json_add_string(k, "nvme_tcp", module_loaded("nvme_tcp") ? "True" : "False");
        (void) json_add_string(k, "nvme_rdma", module_loaded("nvme_rdma") ? "True" : "False");
        (void) json_add_string(k, "nvme_fc", module_loaded("nvme_fc") ? "True" : "False");
        (void) json_object_object_add(o, "kernel support", k);
        (void) json_add_string(o, "zeroconf", m->conf->zeroconf ? "enabled" : "disabled");
        avahi = m->zeroconf ? zeroconf_to_json(m->zeroconf) : NULL;
        if (!avahi) {
                avahi = json_object_new_object();
                if (avahi) {
                        (void) json_object_object_add(avahi, "service types", json_object_new_array());
                        (void) json_object_object_add(avahi, "services", json_object_new_object());
                }
        }
        (void) json_object_object_add(o, "avahi", avahi);
        {
                char n[32];

                (void) snprintf(n, sizeof(n), "%zu", m->n_dcs);
                (void) json_add_string(o, "controllers", n);
        }

        s = json_to_string_dup(o, false);
        if (!s)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", s);
}

static int method_controller_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        JsonWriter w = {};
        Dc *dc;
        int r;

        r = read_tid_args(m, msg, error, &dc);
        if (r < 0)
                return r;
        if (dc)
                dc_write_json(m, dc, true, !caller_is_root(msg), &w);
        else {
                json_writer_begin_object(&w);   /* {} for an unknown DC */
                json_writer_end_object(&w);
        }
        r = json_writer_take(&w, &s, NULL);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", s);
}

static int property_get_tron(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", (int) (m->tron || m->conf->tron));
}

static int property_set_tron(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int b, r;

        if (!caller_is_root(sd_bus_get_current_message(bus)))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may set tron");
        r = sd_bus_message_read(value, "b", &b);
        if (r < 0)
                return r;
        /* Emits PropertiesChanged for tron and log_level when they change. */
        (void) manager_set_tron(m, b);
        return 0;
}

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_get_max_level() >= LOG_DEBUG ? "DEBUG" : "INFO");
}

static const sd_bus_vtable vtable_debug[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("tron", "b", property_get_tron, property_set_tron, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("log_level", "s", property_get_log_level, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_NAMES("process_info", "", "", "s", SD_BUS_PARAM(info_json),
                                 method_process_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("controller_info", "sssssss",
                                 SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid)
                                 SD_BUS_PARAM(subsysnqn) SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(host_iface)
                                 SD_BUS_PARAM(host_nqn),
                                 "s", SD_BUS_PARAM(info_json), method_controller_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable vtable_main[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("list_controllers", "b", SD_BUS_PARAM(detailed),
                                 "aa{ss}", SD_BUS_PARAM(controller_list), method_list_controllers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("get_log_pages", "sssssss",
                                 SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid)
                                 SD_BUS_PARAM(subsysnqn) SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(host_iface)
                                 SD_BUS_PARAM(host_nqn),
                                 "aa{ss}", SD_BUS_PARAM(log_pages), method_get_log_pages, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("get_all_log_pages", "b", SD_BUS_PARAM(detailed),
                                 "s", SD_BUS_PARAM(log_pages_json), method_get_all_log_pages, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("log_pages_changed", "ssssssss",
                                 SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid)
                                 SD_BUS_PARAM(subsysnqn) SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(host_iface)
                                 SD_BUS_PARAM(host_nqn) SD_BUS_PARAM(device), 0),
        SD_BUS_SIGNAL("dc_removed", "", 0),
        SD_BUS_VTABLE_END,
};

static int bus_add_object(sd_bus *bus, Manager *m, sd_bus_slot **ret_main, sd_bus_slot **ret_debug) {
        int r;

        r = sd_bus_add_object_vtable(bus, ret_main, STAF_BUS_PATH, STAF_IFACE, vtable_main, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(bus, ret_debug, STAF_BUS_PATH, STAF_IFACE_DBG, vtable_debug, m);
}

int bus_setup(Manager *m) {
        int r;

        r = sd_bus_open_system_with_description(&m->bus, "stafd");
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        r = bus_add_object(m->bus, m, &m->slot_main, &m->slot_debug);
        if (r < 0)
                return log_error_errno(r, "Cannot register the D-Bus object: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = sd_bus_request_name(m->bus, STAF_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "The bus name %s is already owned: is another stafd running?",
                                       STAF_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Cannot own the bus name %s: %m", STAF_BUS_NAME);
        return 0;
}

void bus_teardown(Manager *m) {
        m->slot_main = sd_bus_slot_unref(m->slot_main);
        m->slot_debug = sd_bus_slot_unref(m->slot_debug);
        if (m->bus) {
                (void) sd_bus_flush(m->bus);
                m->bus = sd_bus_close_unref(m->bus);
        }
}

void bus_emit_log_pages_changed(Manager *m, Dc *dc) {
        const Tid *t = &dc->tid;
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_signal(m->bus, STAF_BUS_PATH, STAF_IFACE, "log_pages_changed", "ssssssss",
                               t->transport, t->traddr, t->trsvcid, t->subsysnqn, t->host_traddr,
                               t->host_iface, t->host_nqn, dc_device(dc));
        if (r < 0)
                log_warning_errno(r, "Cannot emit log_pages_changed: %m");
}

void bus_emit_dc_removed(Manager *m) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_signal(m->bus, STAF_BUS_PATH, STAF_IFACE, "dc_removed", "");
        if (r < 0)
                log_warning_errno(r, "Cannot emit dc_removed: %m");
}

/* --idl: serve our object on one end of a socket pair and introspect it from
 * the other, so the file is exactly what a D-Bus peer receives. */
static int on_idl_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        char **out = userdata;
        const char *xml;

        if (sd_bus_message_is_method_error(reply, NULL))
                return -sd_bus_message_get_errno(reply);
        if (sd_bus_message_read(reply, "s", &xml) >= 0)
                *out = strdup(xml);
        return 0;
}

int bus_write_idl(const char *path) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_free_ char *xml = NULL;
        sd_id128_t id;
        int fds[2], r;
        FILE *f;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return -errno;
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&server);
        if (r >= 0)
                r = sd_bus_set_fd(server, fds[0], fds[0]);
        if (r >= 0)
                r = sd_bus_set_server(server, 1, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(server, 1);
        if (r >= 0)
                r = bus_add_object(server, NULL, NULL, NULL);
        if (r >= 0)
                r = sd_bus_start(server);
        if (r >= 0)
                r = sd_bus_new(&client);
        if (r >= 0)
                r = sd_bus_set_fd(client, fds[1], fds[1]);
        if (r >= 0)
                r = sd_bus_set_anonymous(client, 1);
        if (r >= 0)
                r = sd_bus_start(client);
        if (r >= 0)
                r = sd_bus_call_method_async(client, NULL, NULL, STAF_BUS_PATH,
                                             "org.freedesktop.DBus.Introspectable", "Introspect",
                                             on_idl_reply, &xml, NULL);
        for (int i = 0; r >= 0 && !xml && i < 1000; i++) {
                int a = sd_bus_process(server, NULL), b = sd_bus_process(client, NULL);

                if (a < 0 || b < 0)
                        r = a < 0 ? a : b;
                else if (a == 0 && b == 0)
                        r = sd_bus_wait(client, 10 * USEC_PER_MSEC);
        }
        if (r < 0)
                return r;
        if (!xml)
                return -ETIMEDOUT;

        f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(xml, f);
        if (fclose(f) != 0)
                return -errno;
        return 0;
}

int manager_write_idl(const char *path) {
        return bus_write_idl(path);
}
