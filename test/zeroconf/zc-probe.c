/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zc-probe: the zeroconf module alone on sd-event, against whatever
 * avahi-daemon the system bus ($DBUS_SYSTEM_BUS_ADDRESS) offers.  Prints
 * zeroconf_to_json() as one line on stdout at start and whenever the
 * change callback fires, followed by a "reachable" line listing
 * zeroconf_get_services().  Logs go to stdout (info) / stderr (warnings
 * and errors).  Exits 0 on SIGTERM/SIGINT.
 *
 *   zc-probe [--debug] [--toggle]
 *     --toggle: disable and re-enable zeroconf on SIGUSR1 (reload path).
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "zeroconf.h"

static void print_state(Zeroconf *z) {
        ZeroconfService * const *v;
        struct json_object *o = zeroconf_to_json(z), *arr = json_object_new_array();
        size_t n = zeroconf_get_services(z, &v);

        printf("avahi %s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_new_object();

                json_object_object_add(s, "transport", json_object_new_string(v[i]->transport));
                json_object_object_add(s, "traddr", json_object_new_string(v[i]->traddr));
                json_object_object_add(s, "trsvcid", json_object_new_string(v[i]->trsvcid));
                json_object_object_add(s, "subsysnqn", json_object_new_string(v[i]->subsysnqn));
                json_object_object_add(s, "host-iface", json_object_new_string(v[i]->host_iface));
                json_object_object_add(s, "announced", json_object_new_boolean(
                        zeroconf_is_announced(z, v[i]->transport, v[i]->traddr, v[i]->trsvcid)));
                json_object_array_add(arr, s);
        }
        printf("reachable %s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
        json_object_put(o);
        json_object_put(arr);
}

static void changed(Zeroconf *z, void *userdata) {
        print_state(z);
}

static int on_usr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Zeroconf *z = userdata;

        (void) zeroconf_set_enabled(z, false);
        print_state(z);
        (void) zeroconf_set_enabled(z, true);
        return 0;
}

int main(int argc, char **argv) {
        sd_event *e = NULL;
        Zeroconf *z = NULL;
        sigset_t ss;
        int r;

        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--debug") == 0)
                        log_set_max_level(LOG_DEBUG);

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGUSR1);
        sigprocmask(SIG_BLOCK, &ss, NULL);

        r = sd_event_default(&e);
        if (r < 0)
                return log_error_errno(r, "sd_event_default: %m"), 1;
        (void) sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);

        r = zeroconf_new(&z, e, changed, NULL);
        if (r < 0)
                return log_error_errno(r, "zeroconf_new: %m"), 1;
        (void) sd_event_add_signal(e, NULL, SIGUSR1, on_usr1, z);
        r = zeroconf_set_enabled(z, true);
        if (r < 0)
                return log_error_errno(r, "zeroconf_set_enabled: %m"), 1;
        print_state(z);

        r = sd_event_loop(e);
        log_info("zc-probe exiting.");
        zeroconf_free(z);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}
