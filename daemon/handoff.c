/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handoff: nvme-cli hand-off of discovery controllers stafd does not
 * manage.  See handoff.h.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "handoff.h"
#include "log.h"
#include "macro.h"

extern char **environ;

typedef struct Recent {
        unsigned num; /* device number */
        uint64_t last; /* CLOCK_MONOTONIC usec of the last hand-off */
        unsigned suppressed;
} Recent;

struct Handoff {
        sd_event *event;
        Recent *recent;
        size_t n_recent;
};

int handoff_new(Handoff **ret, sd_event *event) {
        Handoff *h;

        if (!ret || !event)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        *ret = h;
        return 0;
}

Handoff *handoff_free(Handoff *h) {
        if (!h)
                return NULL;
        free(h->recent);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

char *handoff_unit_escape(const char *s) {
        char *r = malloc(strlen(s) * 4 + 1), *p = r;

        if (!r)
                return NULL;
        for (const char *c = s; *c; c++) {
                if (*c == '/')
                        *p++ = '-';
                else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                         *c == ':' || *c == '_' || (*c == '.' && c != s))
                        *p++ = *c;
                else
                        p += sprintf(p, "\\x%02x", (unsigned char) *c);
        }
        *p = 0;
        return r;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("systemctl for the nvme-cli hand-off failed (status %d)", si->si_status);
        sd_event_source_unref(s);
        return 0;
}

/* The entry of device number num, or a new one; pruned of stale entries so
 * the table stays as small as the set of busy devices. */
static Recent *recent_get(Handoff *h, unsigned num, uint64_t now) {
        size_t k = 0;
        Recent *t;

        for (size_t i = 0; i < h->n_recent; i++)
                if (h->recent[i].num == num || now - h->recent[i].last < HANDOFF_INTERVAL_USEC)
                        h->recent[k++] = h->recent[i];
        h->n_recent = k;
        for (size_t i = 0; i < h->n_recent; i++)
                if (h->recent[i].num == num)
                        return &h->recent[i];
        t = reallocarray(h->recent, h->n_recent + 1, sizeof(Recent));
        if (!t)
                return NULL;
        h->recent = t;
        h->recent[h->n_recent] = (Recent){ .num = num };
        return &h->recent[h->n_recent++];
}

int handoff_ratelimit(Handoff *h, const char *sysname, uint64_t now, unsigned *ret_suppressed) {
        Recent *rec;

        rec = recent_get(h, (unsigned) strtoul(sysname + 4, NULL, 10), now);
        if (!rec)
                return -ENOMEM;
        if (rec->last != 0 && now - rec->last < HANDOFF_INTERVAL_USEC) {
                *ret_suppressed = ++rec->suppressed;
                return 0;
        }
        *ret_suppressed = rec->suppressed;
        rec->last = now ?: 1;
        rec->suppressed = 0;
        return 1;
}

int handoff_nvmecli(Handoff *h, sd_device *device, const char *sysname) {
        const char *trtype = NULL, *traddr = NULL, *trsvcid = NULL, *host_traddr = NULL, *host_iface = NULL;
        const char *cntrltype = NULL;
        _cleanup_free_ char *instance = NULL, *escaped = NULL, *unit = NULL;
        char *argv[] = { (char *) "systemctl", (char *) "--no-block", (char *) "restart", NULL, NULL };
        sd_event_source *child = NULL;
        posix_spawnattr_t attr;
        unsigned suppressed = 0;
        sigset_t none;
        uint64_t now = 0;
        pid_t pid;
        int r;

        if (!h || !device || !sysname || strncmp(sysname, "nvme", 4) != 0)
                return -EINVAL;
        (void) sd_device_get_property_value(device, "NVME_TRTYPE", &trtype);
        (void) sd_device_get_property_value(device, "NVME_TRADDR", &traddr);
        (void) sd_device_get_property_value(device, "NVME_TRSVCID", &trsvcid);
        (void) sd_device_get_property_value(device, "NVME_HOST_TRADDR", &host_traddr);
        (void) sd_device_get_property_value(device, "NVME_HOST_IFACE", &host_iface);
        if (!trtype || !traddr || !trsvcid)
                return 0;
        if (sd_device_get_sysattr_value(device, "cntrltype", &cntrltype) >= 0 &&
            !streq(cntrltype, "discovery"))
                return 0;

        (void) sd_event_now(h->event, CLOCK_MONOTONIC, &now);
        r = handoff_ratelimit(h, sysname, now, &suppressed);
        if (r < 0)
                return log_oom();
        if (r == 0) {
                log_debug("%s: nvme-cli hand-off rate-limited (%u suppressed)", sysname, suppressed);
                return 0;
        }

        if (asprintf(&instance,
                     "--device=%s\t--transport=%s\t--traddr=%s\t--trsvcid=%s\t--host-traddr=%s\t--host-"
                     "iface=%s",
                     sysname, trtype, traddr, trsvcid, host_traddr ?: "none", host_iface ?: "none") < 0)
                return log_oom();
        escaped = handoff_unit_escape(instance);
        if (!escaped || asprintf(&unit, "nvmf-connect@%s.service", escaped) < 0)
                return log_oom();
        argv[3] = unit;

        if (suppressed)
                log_info("%s is not managed by stafd: handing it to nvme-cli (%s; %u events rate-limited "
                         "since the last hand-off)",
                         sysname, unit, suppressed);
        else
                log_info("%s is not managed by stafd: handing it to nvme-cli (%s)", sysname, unit);

        /* Our blocked signals must not leak into the child. */
        sigemptyset(&none);
        (void) posix_spawnattr_init(&attr);
        (void) posix_spawnattr_setsigmask(&attr, &none);
        (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        r = posix_spawnp(&pid, "systemctl", NULL, &attr, argv, environ);
        (void) posix_spawnattr_destroy(&attr);
        if (r != 0)
                return log_warning_errno(r, "Cannot run systemctl: %m");
        r = sd_event_add_child(h->event, &child, pid, WEXITED, on_child_exit, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot watch systemctl: %m");
        return 1;
}
