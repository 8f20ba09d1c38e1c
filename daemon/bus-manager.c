/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The methods and properties of the manager object.  Handlers that show
 * secrets or change state need the caller's uid: they ask bus-creds, and
 * when the answer is not cached yet they return at once and run again when
 * it arrives (the reply is sent then).  Nothing here waits on the bus.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "bus-creds.h"
#include "bus-dc.h"
#include "bus-manager.h"
#include "config.h"
#include "fabric.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "utf8.h"
#include "zeroconf.h"

/* Reply with one string argument that may hold anything (JSON built from
 * the network, the configuration or the cache): repaired if not UTF-8. */
static int reply_string(Manager *m, sd_bus_message *msg, const char *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = bus_append_string(reply, s);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r >= 0)
                bus_creds_charge(m->bus_creds, msg, strlen(s));
        return r;
}

/* First in every method that answers with data: the caller's uid (when it
 * is not cached yet, > 0: self runs again once it is) and its budget of
 * answers not read yet (bus-creds.c).  Non-zero: return it. */
static int method_begin(Manager *m, sd_bus_message *msg, sd_bus_message_handler_t self, uid_t *ret_uid) {
        int r;

        r = bus_creds_get_uid(m->bus_creds, msg, self, m, ret_uid);
        if (r != 0)
                return r;
        return bus_creds_admit(m->bus_creds, msg);
}

/* ---- org.nvmexpress.staf ---- */

static int method_list_controllers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        size_t bytes = 0;
        int detailed, r;
        uid_t uid;

        r = method_begin(m, msg, method_list_controllers, &uid);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "b", &detailed);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "a{ss}");
        for (size_t i = 0; r >= 0 && i < m->n_dcs; i++) {
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
                if (r >= 0)
                        r = bus_dc_append(reply, m, m->dcs[i], detailed, uid != 0, &bytes);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r >= 0)
                bus_creds_charge(m->bus_creds, msg, bytes);
        return r;
}

static int method_get_log_pages(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        size_t bytes = 0;
        uid_t uid;
        Dc *dc;
        int r;

        /* No secrets here, but the answer budget is per user. */
        r = method_begin(m, msg, method_get_log_pages, &uid);
        if (r != 0)
                return r;
        r = bus_dc_read_tid(msg, m, error, &dc);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = bus_dc_append_dlp(reply, dc ? dc->dlp : NULL, &bytes);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r >= 0)
                bus_creds_charge(m->bus_creds, msg, bytes);
        return r;
}

static int method_get_all_log_pages(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        JsonWriter w = {};
        int detailed, r;
        size_t len;
        uid_t uid;

        r = method_begin(m, msg, method_get_all_log_pages, &uid);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "b", &detailed);
        if (r < 0)
                return r;

        /* Streamed: with thousands of DLPEs a json-c tree would cost far more
         * memory and time than the answer itself. */
        json_writer_begin_array(&w);
        for (size_t i = 0; i < m->n_dcs; i++) {
                json_writer_begin_object(&w);
                json_writer_key(&w, "discovery-controller");
                bus_dc_write_json(&w, m, m->dcs[i], detailed, uid != 0);
                json_writer_key(&w, "log-pages");
                json_writer_dlp(&w, m->dcs[i]->dlp);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        r = json_writer_take(&w, &s, &len);
        if (r < 0)
                return r;
        /* The writer's strings are valid UTF-8 already. */
        r = sd_bus_reply_method_return(msg, "s", s);
        if (r >= 0)
                bus_creds_charge(m->bus_creds, msg, len);
        /* Give the big buffers back now rather than keep them in the heap. */
        s = mfree(s);
        (void) malloc_trim(0);
        return r;
}

/* ---- org.nvmexpress.staf.debug ---- */

static const char *true_false(bool b) {
        return b ? "True" : "False";
}

static bool module_loaded(const char *name) {
        char p[128];

        (void) snprintf(p, sizeof(p), "/sys/module/%s", name);
        return access(p, F_OK) == 0;
}

/* Whether the kernel's fabrics connect string knows an option: reading
 * /dev/nvme-fabrics lists them ("instance=%d,cntlid=%d,...,discovery,...").
 * What the Python daemon reports as "kernel support.TP8013" (the discovery
 * option) and "kernel support.host_iface". */
static bool fabrics_option_supported(const char *opt) {
        char buf[1024];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        size_t l = strlen(opt);

        fd = open("/dev/nvme-fabrics", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        for (char *p = buf; *p;) {
                size_t k = strcspn(p, ",\n");

                if ((k == l || (k > l && p[l] == '=')) && strncmp(p, opt, l) == 0)
                        return true;
                p += k;
                p += strspn(p, ",\n");
        }
        return false;
}

static int add_or_null(struct json_object *o, const char *key, const char *value) {
        if (!value)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return json_add_string(o, key, value);
}

static int method_process_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        struct json_object *k, *avahi;
        bool tp8013, host_iface;
        char timer[64], n[32];
        uid_t uid;
        int r;

        r = method_begin(m, msg, method_process_info, &uid);
        if (r != 0)
                return r;

        o = json_object_new_object();
        k = json_object_new_object();
        if (!o || !k) {
                json_object_put(k);
                return -ENOMEM;
        }
        tp8013 = fabrics_option_supported("discovery");
        host_iface = fabrics_option_supported("host_iface");

        /* The Python daemon's shape (existing clients parse it), then ours. */
        (void) json_add_string(o, "version", STAFD_VERSION);
        (void) json_object_object_add(o, "tron", json_object_new_boolean(m->tron || m->conf->tron));
        (void) json_add_string(o, "log-level", log_get_max_level() >= LOG_DEBUG ? "DEBUG" : "INFO");
        (void) add_or_null(o, "hostnqn", m->sys->hostnqn);
        (void) add_or_null(o, "hostid", m->sys->hostid);
        (void) add_or_null(o, "hostkey",
                           m->sys->hostkey ? (uid != 0 ? BUS_REDACTED : m->sys->hostkey) : NULL);
        (void) add_or_null(o, "symname", m->sys->symname);
        (void) json_add_string(o, "config file", m->conf_file);
        (void) json_add_string(o, "system config file", m->sys_conf_file);
        (void) json_add_string(o, "last known config file", m->cache_path);
        dc_format_timer(m->reconcile_timer, m->reconcile_delay_usec, timer, sizeof(timer));
        (void) json_add_string(o, "config soak timer", timer);
        (void) json_add_string(o, "kernel support.TP8013", true_false(tp8013));
        (void) json_add_string(o, "kernel support.host_iface", true_false(host_iface));
        (void) json_add_string(k, "nvme-fabrics", true_false(fabric_have_fabrics()));
        (void) json_add_string(k, "nvme_tcp", true_false(module_loaded("nvme_tcp")));
        (void) json_add_string(k, "nvme_rdma", true_false(module_loaded("nvme_rdma")));
        (void) json_add_string(k, "nvme_fc", true_false(module_loaded("nvme_fc")));
        (void) json_add_string(k, "TP8013", true_false(tp8013));
        (void) json_add_string(k, "host_iface", true_false(host_iface));
        (void) json_object_object_add(o, "kernel support", k);
        (void) json_add_string(o, "zeroconf", m->conf->zeroconf ? "enabled" : "disabled");
        avahi = m->zeroconf ? zeroconf_to_json(m->zeroconf) : NULL;
        if (!avahi) {
                avahi = json_object_new_object();
                if (avahi)
                        (void) json_object_object_add(avahi, "services", json_object_new_object());
        }
        /* Nothing is browsed with zeroconf disabled. */
        if (avahi && !m->conf->zeroconf)
                (void) json_object_object_add(avahi, "service types", json_object_new_array());
        (void) json_object_object_add(o, "avahi", avahi);
        (void) snprintf(n, sizeof(n), "%zu", m->n_dcs);
        (void) json_add_string(o, "controllers", n);
        /* Callers whose uid or answer budget is tracked (bus-creds). */
        (void) snprintf(n, sizeof(n), "%zu", bus_creds_size(m->bus_creds));
        (void) json_add_string(o, "bus peers", n);
        /* Transport ids from outside that failed validation. */
        (void) snprintf(n, sizeof(n), "%u",
                        m->n_rejected_referrals + m->n_rejected_conf + m->n_rejected_cache +
                                (m->zeroconf ? zeroconf_n_rejected(m->zeroconf) : 0));
        (void) json_add_string(o, "rejected transport ids", n);

        s = json_to_string_dup(o, false);
        if (!s)
                return -ENOMEM;
        /* mDNS names come from the network: reply_string repairs them. */
        return reply_string(m, msg, s);
}

static int method_controller_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        Manager *m = userdata;
        JsonWriter w = {};
        Dc *dc;
        uid_t uid;
        int r;

        r = method_begin(m, msg, method_controller_info, &uid);
        if (r != 0)
                return r;
        r = bus_dc_read_tid(msg, m, error, &dc);
        if (r < 0)
                return r;
        if (dc)
                bus_dc_write_json(&w, m, dc, true, uid != 0);
        else {
                json_writer_begin_object(&w); /* {} for an unknown DC */
                json_writer_end_object(&w);
        }
        r = json_writer_take(&w, &s, NULL);
        if (r < 0)
                return r;
        r = sd_bus_reply_method_return(msg, "s", s);
        if (r >= 0)
                bus_creds_charge(m->bus_creds, msg, strlen(s));
        return r;
}

static int property_get_tron(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", (int) (m->tron || m->conf->tron));
}

/* Only reached for a sender whose uid is cached: bus_manager_filter() holds
 * the others back until it is. */
static int property_set_tron(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        sd_bus_message *call = sd_bus_get_current_message(bus);
        uid_t uid = UID_NOBODY;
        int b, r;

        if (!call || bus_creds_get_uid(m->bus_creds, call, NULL, NULL, &uid) < 0 || uid != 0)
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

/* A Set that had to wait for its sender's uid, run now that it is known:
 * the same checks sd-bus makes before calling property_set_tron. */
static int deferred_set(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *iface, *prop;
        uid_t uid;
        int b, r;

        r = bus_creds_get_uid(m->bus_creds, msg, deferred_set, m, &uid);
        if (r != 0)
                return r; /* < 0: error; > 0: answered when the uid is known */
        r = sd_bus_message_read(msg, "ss", &iface, &prop);
        if (r < 0)
                return r;
        if (streq(iface, STAF_IFACE_DBG) && streq(prop, "log_level"))
                return sd_bus_error_set(error, SD_BUS_ERROR_PROPERTY_READ_ONLY, "log_level is read-only");
        if (!streq(iface, STAF_IFACE_DBG) || !streq(prop, "tron"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.%s",
                                         iface, prop);
        if (uid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may set tron");
        r = sd_bus_message_enter_container(msg, 'v', "b");
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "tron is a boolean");
        r = sd_bus_message_read(msg, "b", &b);
        if (r < 0)
                return r;
        (void) manager_set_tron(m, b);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_manager_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uid_t uid;
        int r;

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.Properties", "Set") ||
            !streq_ptr(sd_bus_message_get_path(msg), STAF_BUS_PATH))
                return 0;
        r = bus_creds_get_uid(m->bus_creds, msg, deferred_set, m, &uid);
        if (r < 0)
                return sd_bus_reply_method_errno(msg, r, NULL) < 0 ? r : 1;
        /* Known (0): let sd-bus dispatch it to property_set_tron().  Kept
         * (1): it is ours now, answered by deferred_set(). */
        return r;
}

const sd_bus_vtable bus_manager_debug_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("tron", "b", property_get_tron, property_set_tron, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("log_level", "s", property_get_log_level, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_NAMES("process_info", "", "", "s", SD_BUS_PARAM(info_json), method_process_info,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(
                "controller_info", "sssssss",
                SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid) SD_BUS_PARAM(subsysnqn)
                        SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(host_iface) SD_BUS_PARAM(host_nqn),
                "s", SD_BUS_PARAM(info_json), method_controller_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("list_controllers", "b", SD_BUS_PARAM(detailed), "aa{ss}",
                                 SD_BUS_PARAM(controller_list), method_list_controllers,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(
                "get_log_pages", "sssssss",
                SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid) SD_BUS_PARAM(subsysnqn)
                        SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(host_iface) SD_BUS_PARAM(host_nqn),
                "aa{ss}", SD_BUS_PARAM(log_pages), method_get_log_pages, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("get_all_log_pages", "b", SD_BUS_PARAM(detailed), "s",
                                 SD_BUS_PARAM(log_pages_json), method_get_all_log_pages,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("log_pages_changed", "ssssssss",
                                 SD_BUS_PARAM(transport) SD_BUS_PARAM(traddr) SD_BUS_PARAM(trsvcid)
                                         SD_BUS_PARAM(subsysnqn) SD_BUS_PARAM(host_traddr) SD_BUS_PARAM(
                                                 host_iface) SD_BUS_PARAM(host_nqn) SD_BUS_PARAM(device),
                                 0),
        SD_BUS_SIGNAL("dc_removed", "", 0),
        SD_BUS_VTABLE_END,
};
