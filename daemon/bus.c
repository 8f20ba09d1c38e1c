/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafd on the system bus: the connection, the bus name, the object and its
 * signals, the loss of the bus, and --idl.  The methods live in
 * bus-manager.c, the shape of one DC in bus-dc.c, the callers' uids in
 * bus-creds.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "bus.h"
#include "bus-creds.h"
#include "bus-dc.h"
#include "bus-manager.h"
#include "log.h"
#include "macro.h"

#define BUS_FLUSH_USEC (1 * USEC_PER_SEC)

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int bus_add_object(sd_bus *bus, Manager *m, sd_bus_slot **ret_main, sd_bus_slot **ret_debug) {
        int r;

        r = sd_bus_add_object_vtable(bus, ret_main, STAF_BUS_PATH, STAF_IFACE, bus_manager_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(bus, ret_debug, STAF_BUS_PATH, STAF_IFACE_DBG,
                                        bus_manager_debug_vtable, m);
}

/* Sees every incoming message before dispatch.  sd-bus synthesises
 * Local.Disconnected when the connection breaks (dbus-daemon stopped or
 * restarted): the name is gone for good, and a daemon nobody can reach is
 * useless, so stafd exits with an error and the service manager restarts
 * it (Restart=on-failure) on the new bus. */
static int bus_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (sd_bus_message_is_signal(msg, "org.freedesktop.DBus.Local", "Disconnected")) {
                log_error("Lost the connection to the system bus: exiting to be restarted");
                manager_bus_lost(m);
                return 1;
        }
        return bus_manager_filter(msg, m, error);
}

/* Send what is queued (last replies and signals), but never wait long:
 * sd_bus_flush() blocks for as long as dbus-daemon does not read us, which
 * a client that never reads its replies can cause.  Called with the object
 * and filter gone, so processing dispatches nothing of ours. */
static void bus_flush_bounded(sd_bus *bus, uint64_t usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + usec;

        for (;;) {
                uint64_t n = 0, t = now_usec(CLOCK_MONOTONIC);
                int r;

                if (sd_bus_get_n_queued_write(bus, &n) < 0 || n == 0 || t >= deadline)
                        return;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return;
                if (r == 0 && sd_bus_wait(bus, deadline - t) < 0)
                        return;
        }
}

/* Runs before sd-bus's own exit handler, whose sd_bus_flush() has no time
 * limit: flush for a bounded time and detach, so stopping never hangs on a
 * bus that does not read us. */
static int on_event_exit(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        if (m->bus) {
                bus_flush_bounded(m->bus, BUS_FLUSH_USEC);
                (void) sd_bus_detach_event(m->bus);
        }
        return 0;
}

int bus_setup(Manager *m) {
        int r;

        r = sd_bus_open_system_with_description(&m->bus, "stafd");
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        r = bus_creds_new(&m->bus_creds, m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot watch bus peers: %m");
        r = sd_bus_add_filter(m->bus, &m->slot_filter, bus_filter, m);
        if (r < 0)
                return log_error_errno(r, "Cannot install the bus filter: %m");
        r = bus_add_object(m->bus, m, &m->slot_main, &m->slot_debug);
        if (r < 0)
                return log_error_errno(r, "Cannot register the D-Bus object: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        {
                _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;

                r = sd_event_add_exit(m->event, &s, on_event_exit, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
                if (r >= 0)
                        r = sd_event_source_set_floating(s, true);
                if (r < 0)
                        return log_error_errno(r, "Cannot install the bus exit handler: %m");
        }
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
        m->slot_filter = sd_bus_slot_unref(m->slot_filter);
        m->bus_creds = bus_creds_free(m->bus_creds);
        if (m->bus) {
                bus_flush_bounded(m->bus, BUS_FLUSH_USEC);
                m->bus = sd_bus_close_unref(m->bus);
        }
}

void bus_emit_log_pages_changed(Manager *m, Dc *dc) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        const Tid *t = &dc->tid;
        int r;

        if (!m->bus)
                return;
        r = sd_bus_message_new_signal(m->bus, &sig, STAF_BUS_PATH, STAF_IFACE, "log_pages_changed");
        for (unsigned i = 0; r >= 0 && i < TID_N_FIELDS; i++)
                r = bus_append_string(sig, tid_field_const(t, i));
        if (r >= 0)
                r = bus_append_string(sig, dc_device(dc));
        if (r >= 0)
                r = sd_bus_send(m->bus, sig, NULL);
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
