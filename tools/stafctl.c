/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafctl: a thin client of stafd's D-Bus API.  Each verb is one or two
 * method calls plus rendering (tools/render.c); nothing here reads the
 * configuration, sysfs or talks to the kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "macro.h"
#include "render.h"

#define STAFD_BUS_NAME "org.nvmexpress.staf"
#define STAFD_BUS_PATH "/org/nvmexpress/staf"
#define STAFD_IFACE "org.nvmexpress.staf"
#define STAFD_IFACE_DEBUG "org.nvmexpress.staf.debug"
#define WELL_KNOWN_DISC_NQN "nqn.2014-08.org.nvmexpress.discovery"

/* Exit codes. */
#define EXIT_FAIL 1
#define EXIT_USAGE 2

static bool arg_json;

static inline void json_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
}
#define _cleanup_json_put_ _cleanup_(json_putp)

static void usage(FILE *f) {
        fprintf(f, "Usage: stafctl [--version] [--json] COMMAND [OPTIONS]\n"
                   "Query and control stafd, the STorage Appliance Finder, over D-Bus.\n\n"
                   "Commands:\n"
                   "  tron                     Turn stafd's debug tracing on\n"
                   "  troff                    Turn stafd's debug tracing off\n"
                   "  status                   Show stafd's process info and every DC\n"
                   "  ls [-d|--detailed]       List the discovery controllers\n"
                   "  dlp -a TRADDR -s TRSVCID [-t TRTYPE] [-w HOST_TRADDR]\n"
                   "      [-f HOST_IFACE] [-q HOST_NQN] [-n NQN]\n"
                   "                           Show the discovery log page of one DC\n"
                   "  adlp [-d|--detailed]     Show the discovery log pages of all DCs\n\n"
                   "Options:\n"
                   "  -h --help                Show this help\n"
                   "     --version             Show the version\n"
                   "  -j --json                Print JSON instead of tables\n");
}

/* ---- bus helpers ---- */

/* Errors meaning "there is no stafd to talk to". */
static bool error_is_unreachable(int r, const sd_bus_error *e) {
        if (sd_bus_error_is_set(e))
                return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                              SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_NO_SERVER,
                                              SD_BUS_ERROR_DISCONNECTED);
        switch (-r) {
        case ENOENT:
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case ENXIO:
        case EPIPE:
        case ESHUTDOWN:
        case EHOSTDOWN:
        case EACCES:
                return true;
        }
        return false;
}

/* Print the one-line reason of a failed call; always returns a negative errno. */
static int bus_fail(int r, const sd_bus_error *e) {
        if (r >= 0)
                r = -EIO;
        if (error_is_unreachable(r, e))
                fprintf(stderr, "stafctl: cannot reach stafd on the system bus (is it running?)\n");
        else if (sd_bus_error_is_set(e))
                fprintf(stderr, "stafctl: %s\n", e->message ?: e->name);
        else
                fprintf(stderr, "stafctl: %s\n", strerror(-r));
        return r;
}

static int bus_open(sd_bus **ret) {
        sd_bus *bus;
        int r;

        /* Honours DBUS_SYSTEM_BUS_ADDRESS, which the tests use. */
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return bus_fail(r, NULL);
        *ret = bus;
        return 0;
}

/* Read an aa{ss} reply into a JSON array of objects. */
static int read_dict_array(sd_bus_message *m, struct json_object **ret) {
        _cleanup_json_put_ struct json_object *arr = NULL;
        int r;

        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;

        r = sd_bus_message_enter_container(m, 'a', "a{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'a', "{ss}")) > 0) {
                _cleanup_json_put_ struct json_object *obj = json_object_new_object();

                if (!obj)
                        return -ENOMEM;
                while ((r = sd_bus_message_enter_container(m, 'e', "ss")) > 0) {
                        const char *k, *v;
                        struct json_object *s;

                        r = sd_bus_message_read(m, "ss", &k, &v);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        s = json_object_new_string(v);
                        if (!s)
                                return -ENOMEM;
                        if (json_object_object_add(obj, k, s) < 0) {
                                json_object_put(s);
                                return -ENOMEM;
                        }
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                if (json_object_array_add(arr, obj) < 0)
                        return -ENOMEM;
                obj = NULL;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(arr);
        return 0;
}

static int reply_read_dict_array(sd_bus_message *reply, struct json_object **ret) {
        int r = read_dict_array(reply, ret);

        if (r < 0) {
                fprintf(stderr, "stafctl: cannot parse stafd's reply: %s\n", strerror(-r));
                return r;
        }
        return 0;
}

/* Read a single "s" reply that holds JSON. */
static int reply_read_json(sd_bus_message *reply, struct json_object **ret) {
        const char *s;
        struct json_object *o;
        int r;

        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0) {
                fprintf(stderr, "stafctl: cannot parse stafd's reply: %s\n", strerror(-r));
                return r;
        }
        o = json_tokener_parse(s);
        if (!o) {
                fprintf(stderr, "stafctl: stafd answered invalid JSON\n");
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

static int call(sd_bus *bus, const char *iface, const char *method, sd_bus_message **reply,
                const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, STAFD_BUS_NAME, STAFD_BUS_PATH, iface, method);
        if (r < 0)
                return bus_fail(r, NULL);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return bus_fail(r, NULL);
        }
        /* 0 = sd-bus's default method call timeout (25 s). */
        r = sd_bus_call(bus, m, 0, &error, reply);
        if (r < 0)
                return bus_fail(r, &error);
        return 0;
}

static int process_info(sd_bus *bus, struct json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call(bus, STAFD_IFACE_DEBUG, "process_info", &reply, NULL);
        if (r < 0)
                return r;
        return reply_read_json(reply, ret);
}

static int all_log_pages(sd_bus *bus, bool detailed, struct json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct json_object *o;
        int r;

        r = call(bus, STAFD_IFACE, "get_all_log_pages", &reply, "b", (int) detailed);
        if (r < 0)
                return r;
        r = reply_read_json(reply, &o);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                fprintf(stderr, "stafctl: stafd's get_all_log_pages answer is not a list\n");
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

static int print_json(struct json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        puts(s);
        return 0;
}

/* ---- verbs ---- */

/* Everything the verbs' command lines can say. */
typedef struct Args {
        bool detailed;
        const char *transport, *traddr, *trsvcid, *subsysnqn;
        const char *host_traddr, *host_iface, *host_nqn;
} Args;

typedef struct Verb {
        const char *name;
        /* Short options besides -j; NULL: none. */
        const char *shortopts;
        int (*run)(sd_bus *bus, const Args *a);
} Verb;

static int verb_tron_troff(sd_bus *bus, bool on) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int v, r;

        r = sd_bus_set_property(bus, STAFD_BUS_NAME, STAFD_BUS_PATH, STAFD_IFACE_DEBUG, "tron", &error, "b",
                                (int) on);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED)) {
                /* The bus policy lets only root set properties. */
                fprintf(stderr, "stafctl: permission denied: only root may change tron\n");
                return -EACCES;
        }
        if (r < 0)
                return bus_fail(r, &error);

        /* Read it back: what stafd says is what counts. */
        r = sd_bus_get_property_trivial(bus, STAFD_BUS_NAME, STAFD_BUS_PATH, STAFD_IFACE_DEBUG, "tron",
                                        &error, 'b', &v);
        if (r < 0)
                return bus_fail(r, &error);

        if (arg_json)
                printf("{\n  \"tron\": %s\n}\n", v ? "true" : "false");
        else
                printf("tron = %s\n", v ? "true" : "false");
        return 0;
}

static int verb_tron(sd_bus *bus, const Args *a) {
        return verb_tron_troff(bus, true);
}

static int verb_troff(sd_bus *bus, const Args *a) {
        return verb_tron_troff(bus, false);
}

static int verb_status(sd_bus *bus, const Args *a) {
        _cleanup_json_put_ struct json_object *info = NULL, *dcs = NULL;
        int r;

        r = process_info(bus, &info);
        if (r < 0)
                return r;
        r = all_log_pages(bus, true, &dcs);
        if (r < 0)
                return r;

        if (arg_json) {
                if (!json_object_is_type(info, json_type_object)) {
                        fprintf(stderr, "stafctl: stafd's process_info answer is not an object\n");
                        return -EBADMSG;
                }
                /* One document: process info plus "controllers", each
                 * {"discovery-controller": {...}, "log-pages": [...]}. */
                if (json_object_object_add(info, "controllers", json_object_get(dcs)) < 0)
                        return -ENOMEM;
                return print_json(info);
        }

        r = render_tree(stdout, info, 0);
        if (r < 0)
                return r;
        if (json_object_array_length(dcs) == 0) {
                printf("\nNo discovery controllers.\n");
                return 0;
        }
        printf("\n");
        return render_all_log_pages(stdout, dcs, true);
}

static int verb_ls(sd_bus *bus, const Args *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_put_ struct json_object *dcs = NULL;
        int r;

        r = call(bus, STAFD_IFACE, "list_controllers", &reply, "b", (int) a->detailed);
        if (r < 0)
                return r;
        r = reply_read_dict_array(reply, &dcs);
        if (r < 0)
                return r;

        if (arg_json)
                return print_json(dcs);
        return render_table(stdout, dcs, a->detailed ? render_ls_detailed_columns : render_ls_columns);
}

static int verb_adlp(sd_bus *bus, const Args *a) {
        _cleanup_json_put_ struct json_object *dcs = NULL;
        int r;

        r = all_log_pages(bus, a->detailed, &dcs);
        if (r < 0)
                return r;

        if (arg_json)
                return print_json(dcs);
        if (json_object_array_length(dcs) == 0) {
                printf("No discovery controllers.\n");
                return 0;
        }
        return render_all_log_pages(stdout, dcs, a->detailed);
}

static int json_add_str(struct json_object *o, const char *k, const char *v) {
        struct json_object *s = json_object_new_string(v);

        if (!s)
                return -ENOMEM;
        if (json_object_object_add(o, k, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int verb_dlp(sd_bus *bus, const Args *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_put_ struct json_object *dlpes = NULL, *info = NULL, *id = NULL;
        const char *host_nqn = a->host_nqn;
        int r;

        /* The default host NQN is the one stafd read from sys.conf: ask
         * stafd rather than parse the configuration here. */
        if (!host_nqn) {
                r = process_info(bus, &info);
                if (r < 0)
                        return r;
                host_nqn = render_get(info, "hostnqn");
        }

        r = call(bus, STAFD_IFACE, "get_log_pages", &reply, "sssssss", a->transport, a->traddr, a->trsvcid,
                 a->subsysnqn, a->host_traddr, a->host_iface, host_nqn);
        if (r < 0)
                return r;
        r = reply_read_dict_array(reply, &dlpes);
        if (r < 0)
                return r;

        if (arg_json)
                return print_json(dlpes);

        id = json_object_new_object();
        if (!id)
                return -ENOMEM;
        if (json_add_str(id, "transport", a->transport) < 0 || json_add_str(id, "traddr", a->traddr) < 0 ||
            json_add_str(id, "trsvcid", a->trsvcid) < 0 || json_add_str(id, "subsysnqn", a->subsysnqn) < 0 ||
            json_add_str(id, "host-iface", a->host_iface) < 0 ||
            json_add_str(id, "host-traddr", a->host_traddr) < 0)
                return -ENOMEM;
        r = render_dc_id(stdout, id);
        if (r < 0)
                return r;
        if (json_object_array_length(dlpes) == 0) {
                printf("No discovery log page entries (is this DC known to stafd?)\n");
                return 0;
        }
        return render_table(stdout, dlpes, render_dlpe_columns);
}

static const Verb verbs[] = {
        { "tron", NULL, verb_tron }, { "troff", NULL, verb_troff },         { "status", NULL, verb_status },
        { "ls", "d", verb_ls },      { "dlp", "t:a:s:w:f:q:n:", verb_dlp }, { "adlp", "d", verb_adlp },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* Parse the verb's own options (argv[0] is the verb).  --json is accepted
 * after the verb too, so "stafctl ls --json" works.  -EINVAL on usage errors. */
static int parse_verb_argv(const Verb *v, int argc, char *argv[], Args *a) {
        static const struct option options[] = { { "detailed", no_argument, NULL, 'd' },
                                                 { "transport", required_argument, NULL, 't' },
                                                 { "traddr", required_argument, NULL, 'a' },
                                                 { "trsvcid", required_argument, NULL, 's' },
                                                 { "host-traddr", required_argument, NULL, 'w' },
                                                 { "host-iface", required_argument, NULL, 'f' },
                                                 { "host-nqn", required_argument, NULL, 'q' },
                                                 { "nqn", required_argument, NULL, 'n' },
                                                 { "json", no_argument, NULL, 'j' },
                                                 {} };
        char shortopts[32];
        int c, idx;

        *a = (Args){
                .transport = "tcp",
                .subsysnqn = WELL_KNOWN_DISC_NQN,
                .host_traddr = "",
                .host_iface = "",
        };

        (void) snprintf(shortopts, sizeof(shortopts), "+j%s", strempty(v->shortopts));
        optind = 0; /* glibc: full re-initialisation */
        while ((c = getopt_long(argc, argv, shortopts, options, &idx)) >= 0) {
                /* A long option is only valid if its short form is this verb's. */
                if (c != '?' && c != 'j' && !strchr(strempty(v->shortopts), c)) {
                        fprintf(stderr, "stafctl: %s: option '-%c' does not apply to this command\n",
                                v->name, c);
                        return -EINVAL;
                }
                switch (c) {
                case 'j':
                        arg_json = true;
                        break;
                case 'd':
                        a->detailed = true;
                        break;
                case 't':
                        a->transport = optarg;
                        break;
                case 'a':
                        a->traddr = optarg;
                        break;
                case 's':
                        a->trsvcid = optarg;
                        break;
                case 'w':
                        a->host_traddr = optarg;
                        break;
                case 'f':
                        a->host_iface = optarg;
                        break;
                case 'q':
                        a->host_nqn = optarg;
                        break;
                case 'n':
                        a->subsysnqn = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "stafctl: %s: unexpected argument '%s'\n", v->name, argv[optind]);
                return -EINVAL;
        }
        if (v->run == verb_dlp && (!a->traddr || !a->trsvcid)) {
                fprintf(stderr, "stafctl: dlp: -a TRADDR and -s TRSVCID are required\n");
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, 'V' },
                                                 { "json", no_argument, NULL, 'j' },
                                                 {} };
        const Verb *verb;
        Args args;
        int c, r;

        /* '+': stop at the verb; the verb's options are parsed below. */
        while ((c = getopt_long(argc, argv, "+hj", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                case 'V':
                        printf("stafctl %s\n", STAFD_VERSION);
                        return EXIT_SUCCESS;
                case 'j':
                        arg_json = true;
                        break;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }

        if (optind >= argc) {
                fprintf(stderr, "stafctl: missing command\n");
                usage(stderr);
                return EXIT_USAGE;
        }

        verb = verb_find(argv[optind]);
        if (!verb) {
                fprintf(stderr, "stafctl: unknown command '%s'\n", argv[optind]);
                usage(stderr);
                return EXIT_USAGE;
        }

        /* Usage errors are found before touching the bus. */
        if (parse_verb_argv(verb, argc - optind, argv + optind, &args) < 0) {
                usage(stderr);
                return EXIT_USAGE;
        }

        r = bus_open(&bus);
        if (r < 0)
                return EXIT_FAIL;

        r = verb->run(bus, &args);
        if (r < 0)
                return EXIT_FAIL;

        return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAIL;
}
