/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus-ping: one system-bus connection that calls Peer.Ping on a name every
 * INTERVAL ms for SECONDS and prints every round trip to stdout, one a line:
 * "<CLOCK_MONOTONIC seconds at the call> <round trip ms>" (the monotonic
 * time matches journalctl -o short-monotonic), then "max N" on stderr.  Measures how long a daemon's loop can keep
 * it from answering, without a process start per sample (busctl under TCG
 * costs seconds).  A call that fails or times out (25 s) prints "fail".
 * With "list" as the fourth argument it calls stafd's list_controllers(false)
 * instead of Peer.Ping (the same answer a client waits for).
 *
 *   bus-ping NAME SECONDS [INTERVAL_MS [list]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        double end, worst = 0;
        long interval;
        int list;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: bus-ping NAME SECONDS [INTERVAL_MS [list]]\n");
                return 2;
        }
        interval = argc > 3 ? atol(argv[3]) : 100;
        list = argc > 4 && strcmp(argv[4], "list") == 0;
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bus-ping: cannot connect to the system bus: %d\n", r);
                return 1;
        }
        end = now_ms() + atof(argv[2]) * 1e3;
        while (now_ms() < end) {
                sd_bus_error err = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                struct timespec nap = { interval / 1000, (interval % 1000) * 1000000L };
                double t = now_ms();

                if (list)
                        r = sd_bus_call_method(bus, argv[1], "/org/nvmexpress/staf", "org.nvmexpress.staf",
                                               "list_controllers", &err, &reply, "b", 0);
                else
                        r = sd_bus_call_method(bus, argv[1], "/", "org.freedesktop.DBus.Peer", "Ping", &err,
                                               &reply, "");
                t = now_ms() - t;
                if (r < 0)
                        printf("%.3f fail\n", (now_ms() - t) / 1e3);
                else {
                        printf("%.3f %.1f\n", (now_ms() - t) / 1e3, t);
                        if (t > worst)
                                worst = t;
                }
                fflush(stdout);
                sd_bus_error_free(&err);
                sd_bus_message_unref(reply);
                nanosleep(&nap, NULL);
        }
        fprintf(stderr, "max %.1f\n", worst);
        sd_bus_flush_close_unref(bus);
        return 0;
}
