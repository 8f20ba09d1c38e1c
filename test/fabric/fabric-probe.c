/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fabric-probe: drive daemon/fabric against a real discovery controller, on
 * an sd-event loop, the way the manager will.  Not installed; used by the VM
 * scenario test/fabric/fabric-probe-vm.sh.
 *
 *   fabric-probe [--hostnqn NQN] [--hostid ID] [--symname NAME] [--no-pleo]
 *                [--adopt] [--find] [--disconnect] [--debug]
 *                TRANSPORT TRADDR TRSVCID [SUBSYSNQN]
 *
 * --adopt looks for an existing controller first (sysfs_find_existing) and
 * uses it instead of connecting ("adopt: nvmeN" / "adopt: none").
 *
 * Output, one item per line, for the scenario to grep:
 *   connect: ok nvmeN | connect: error TEXT
 *   info: device=… cntrltype=… dctype=… model=… serial=… hostnqn=… hostid=…
 *   find: nvmeN | find: none
 *   register: ok | register: error TEXT
 *   dlp: entries=N retries=R dropped=D pleo=0|1 genctr=G
 *   entry I: key=value …
 *   disconnect: ok | disconnect: error TEXT
 * Exit 0 when connect and the DLP fetch worked (and find/disconnect when
 * asked), 1 otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dlp.h"
#include "fabric.h"
#include "log.h"
#include "macro.h"

typedef struct Probe {
        sd_event *event;
        Fabric *fabric;
        FabricHost host;
        Tid tid;
        bool pleo, find, disconnect, adopt;
        char device[32];
        int status;
} Probe;

static void finish(Probe *p, int status) {
        if (status)
                p->status = status;
        (void) sd_event_exit(p->event, 0);
}

static void print_info(const char *what, const FabricCtrlInfo *i) {
        printf("%s: device=%s cntrltype=%s dctype=%s model=%s serial=%s hostnqn=%s hostid=%s\n",
               what, i->device, i->cntrltype, i->dctype, i->model, i->serial, i->hostnqn, i->hostid);
}

static void on_disconnect(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Probe *p = userdata;
        char buf[256];

        if (error)
                printf("disconnect: error %s\n", fabric_strerror(error, status, buf, sizeof(buf)));
        else
                printf("disconnect: ok\n");
        finish(p, error ? 1 : 0);
}

static void on_dlp(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        _cleanup_(dlp_freep) Dlp *d = NULL;
        Probe *p = userdata;
        FabricDlpResult *res = result;
        char buf[256];
        int r;

        if (error) {
                printf("dlp: error %s\n", fabric_strerror(error, status, buf, sizeof(buf)));
                p->status = 1;
        } else {
                d = TAKE_PTR(res->dlp);
                printf("dlp: entries=%zu retries=%u dropped=%zu pleo=%d genctr=%llu\n",
                       d->n, res->retries, res->dropped, res->pleo_used,
                       (unsigned long long) d->genctr);
                for (size_t i = 0; i < d->n; i++) {
                        printf("entry %zu:", i);
                        for (int k = 0; k < _DLPE_N_KEYS; k++) {
                                const char *v = dlpe_get(d->entries[i], (DlpKey) k);

                                if (!isempty(v))
                                        printf(" %s=%s", dlp_key_name((DlpKey) k), v);
                        }
                        printf("\n");
                }
        }
        fflush(stdout);

        if (!p->disconnect)
                return finish(p, 0);
        r = fabric_disconnect(p->fabric, p->device, on_disconnect, p, NULL);
        if (r < 0)
                finish(p, 1);
}

static void on_register(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Probe *p = userdata;
        char buf[256];
        int r;

        /* nvmet has no DIM: an error here is expected and not fatal. */
        if (error)
                printf("register: error %s\n", fabric_strerror(error, status, buf, sizeof(buf)));
        else
                printf("register: ok\n");
        fflush(stdout);

        r = fabric_get_dlp(p->fabric, p->device, p->pleo, on_dlp, p, NULL);
        if (r < 0)
                finish(p, 1);
}

static void on_info(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Probe *p = userdata;
        char buf[256];
        int r;

        if (error)
                printf("info-async: error %s\n", fabric_strerror(error, status, buf, sizeof(buf)));
        else
                print_info("info-async", result);

        if (p->find) {
                char dev[32];

                r = sysfs_find_existing(&p->tid, p->host.hostnqn, NULL, NULL, dev, sizeof(dev));
                if (r > 0)
                        printf("find: %s\n", dev);
                else if (r == 0)
                        printf("find: none\n");
                else
                        printf("find: error %s\n", fabric_strerror(r, 0, buf, sizeof(buf)));
                if (r <= 0 || !streq(dev, p->device))
                        p->status = 1;
        }
        fflush(stdout);

        r = fabric_register(p->fabric, &p->host, p->device, false, on_register, p, NULL);
        if (r < 0)
                finish(p, 1);
}

static void on_connect(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Probe *p = userdata;
        const FabricCtrlInfo *info = result;
        char buf[256];
        int r;

        if (error) {
                printf("connect: error %s\n", fabric_strerror(error, status, buf, sizeof(buf)));
                return finish(p, 1);
        }
        printf("connect: ok %s\n", info->device);
        print_info("info", info);
        fflush(stdout);
        (void) snprintf(p->device, sizeof(p->device), "%s", info->device);

        r = fabric_ctrl_info(p->fabric, p->device, on_info, p, NULL);
        if (r < 0)
                finish(p, 1);
}

static char *read_first_token(const char *path) {
        char line[512];
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        if (!fgets(line, sizeof(line), f)) {
                fclose(f);
                return NULL;
        }
        fclose(f);
        line[strcspn(line, " \t\r\n")] = 0;
        return line[0] ? strdup(line) : NULL;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "hostnqn", required_argument, NULL, 'q' },
                { "hostid", required_argument, NULL, 'I' },
                { "symname", required_argument, NULL, 'S' },
                { "no-pleo", no_argument, NULL, 'P' },
                { "find", no_argument, NULL, 'F' },
                { "disconnect", no_argument, NULL, 'D' },
                { "debug", no_argument, NULL, 'd' },
                { "adopt", no_argument, NULL, 'A' },
                {}
        };
        _cleanup_free_ char *hostnqn = NULL, *hostid = NULL;
        Probe p = { .pleo = true };
        FabricConnectParams cp = {};
        bool debug = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        hostnqn = strdup(optarg);
                        break;
                case 'I':
                        hostid = strdup(optarg);
                        break;
                case 'S':
                        p.host.symname = optarg;
                        break;
                case 'P':
                        p.pleo = false;
                        break;
                case 'F':
                        p.find = true;
                        break;
                case 'D':
                        p.disconnect = true;
                        break;
                case 'd':
                        debug = true;
                        break;
                case 'A':
                        p.adopt = true;
                        break;
                default:
                        return 2;
                }
        if (argc - optind < 3 || argc - optind > 4) {
                fprintf(stderr, "usage: %s [options] TRANSPORT TRADDR TRSVCID [SUBSYSNQN]\n", argv[0]);
                return 2;
        }
        if (!hostnqn)
                hostnqn = read_first_token("/etc/nvme/hostnqn");
        if (!hostid)
                hostid = read_first_token("/etc/nvme/hostid");
        if (!hostnqn) {
                fprintf(stderr, "no host NQN (--hostnqn or /etc/nvme/hostnqn)\n");
                return 2;
        }
        p.host.hostnqn = hostnqn;
        p.host.hostid = hostid;

        /* Already normalised on the command line: fill the TID directly. */
        p.tid = (Tid) {
                .transport = argv[optind],
                .traddr = argv[optind + 1],
                .trsvcid = argv[optind + 2],
                .subsysnqn = argc - optind > 3 ? argv[optind + 3] : (char *) DISC_NQN,
                .host_traddr = (char *) "",
                .host_iface = (char *) "",
                .host_nqn = hostnqn,
        };
        cp.tid = &p.tid;
        cp.opts = (ConfConnOpts) {
                .hdr_digest = CONF_UNSET, .data_digest = CONF_UNSET, .kato = CONF_UNSET,
                .queue_size = CONF_UNSET, .reconnect_delay = CONF_UNSET,
                .ctrl_loss_tmo = CONF_UNSET, .disable_sqflow = CONF_UNSET,
        };

        if (debug)
                log_set_max_level(LOG_DEBUG);
        printf("fabrics: %s\n", fabric_have_fabrics() ? "yes" : "no");

        r = sd_event_default(&p.event);
        if (r < 0)
                return 1;
        r = fabric_new(&p.fabric, p.event, &(FabricLanes) { 1, 1 });
        if (r < 0)
                return 1;
        fabric_set_debug(p.fabric, debug);

        if (p.adopt) {
                r = sysfs_find_existing(&p.tid, p.host.hostnqn, NULL, NULL, p.device, sizeof(p.device));
                printf("adopt: %s\n", r > 0 ? p.device : "none");
        }
        if (p.adopt && r > 0)
                r = fabric_ctrl_info(p.fabric, p.device, on_info, &p, NULL);
        else
                r = fabric_connect(p.fabric, &p.host, &cp, on_connect, &p, NULL);
        if (r < 0) {
                fprintf(stderr, "fabric_connect: %s\n", strerror(-r));
                return 1;
        }
        r = sd_event_loop(p.event);
        fabric_free(p.fabric);
        sd_event_unref(p.event);
        return r < 0 ? 1 : p.status;
}
