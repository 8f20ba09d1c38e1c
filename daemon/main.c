/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafd's entry point: command line, reading the two configuration files,
 * --dump-config and --idl, blocking the signals sd-event handles, then
 * handing over to the manager.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "config.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "manager.h"

static const char *arg_conf_file = STAFD_CONF_FILE;
static const char *arg_sys_conf_file = STAFD_SYS_CONF_FILE;
static bool arg_conf_explicit, arg_sys_conf_explicit;
static bool arg_syslog, arg_tron, arg_dump_config;
static const char *arg_idl;

static void help(FILE *f) {
        fprintf(f,
                "Usage: stafd [OPTIONS]\n"
                "STorage Appliance Finder: finds NVMe-oF discovery controllers,\n"
                "caches their discovery log pages and serves them on D-Bus.\n\n"
                "  -h --help              Show this help\n"
                "     --version           Show the version\n"
                "  -f --conf-file=FILE    Configuration file (default %s)\n"
                "     --sys-conf=FILE     System configuration file (default %s)\n"
                "  -s --syslog            Log to the journal/syslog instead of stdout\n"
                "     --tron              Trace on (debug logging)\n"
                "     --idl=FILE          Write the D-Bus introspection XML to FILE and exit\n"
                "     --dump-config       Print the effective configuration as JSON and exit\n",
                STAFD_CONF_FILE, STAFD_SYS_CONF_FILE);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_TRON,
                ARG_IDL,
                ARG_SYS_CONF,
                ARG_DUMP_CONFIG,
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 { "conf-file", required_argument, NULL, 'f' },
                                                 { "sys-conf", required_argument, NULL, ARG_SYS_CONF },
                                                 { "syslog", no_argument, NULL, 's' },
                                                 { "tron", no_argument, NULL, ARG_TRON },
                                                 { "idl", required_argument, NULL, ARG_IDL },
                                                 { "dump-config", no_argument, NULL, ARG_DUMP_CONFIG },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "hf:s", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("stafd %s\nlibnvme %s\n", STAFD_VERSION, LIBNVME_VERSION);
                        return 0;
                case 'f':
                        arg_conf_file = optarg;
                        arg_conf_explicit = true;
                        break;
                case ARG_SYS_CONF:
                        arg_sys_conf_file = optarg;
                        arg_sys_conf_explicit = true;
                        break;
                case 's':
                        arg_syslog = true;
                        break;
                case ARG_TRON:
                        arg_tron = true;
                        break;
                case ARG_IDL:
                        arg_idl = optarg;
                        break;
                case ARG_DUMP_CONFIG:
                        arg_dump_config = true;
                        break;
                case '?':
                        help(stderr);
                        return -EINVAL;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "stafd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* With no host NQN configured, stafd uses one derived from the machine id:
 * the same at every start (a new one each time would leave another set of
 * persistent connections behind), not revealing the machine id itself. */
#define HOSTNQN_APP_ID SD_ID128_MAKE(f2, 2d, b8, 30, b0, d4, 41, dd, 9e, 52, d8, b5, 09, 29, 34, b0)

static const char *machine_uuid(char buf[static SD_ID128_UUID_STRING_MAX]) {
        sd_id128_t id;
        int r;

        r = sd_id128_get_machine_app_specific(HOSTNQN_APP_ID, &id);
        if (r < 0) {
                fprintf(stderr, "stafd: no machine id (%s), a generated host NQN will be random\n",
                        strerror(-r));
                return NULL;
        }
        return sd_id128_to_uuid_string(id, buf);
}

static int load_confs(Conf **ret_conf, SysConf **ret_sys) {
        char uuid[SD_ID128_UUID_STRING_MAX];
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_(sysconf_freep) SysConf *s = NULL;
        int r;

        r = conf_load(arg_conf_file, &c);
        if (r < 0) {
                if (arg_conf_explicit || r != -ENOENT) {
                        fprintf(stderr, "stafd: cannot read %s: %s\n", arg_conf_file, conf_strerror(r));
                        if (arg_conf_explicit)
                                return r;
                }
                r = conf_new_default(&c);
                if (r < 0)
                        return r;
        }
        r = sysconf_load_full(arg_sys_conf_file, machine_uuid(uuid), &s);
        if (r < 0) {
                fprintf(stderr, "stafd: cannot read %s: %s\n", arg_sys_conf_file, conf_strerror(r));
                return r;
        }

        *ret_conf = TAKE_PTR(c);
        *ret_sys = TAKE_PTR(s);
        return 0;
}

static int dump_config(void) {
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_(sysconf_freep) SysConf *s = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = load_confs(&c, &s);
        if (r < 0)
                return r;

        for (char **w = c->warnings; w && *w; w++)
                fprintf(stderr, "%s\n", *w);
        for (char **w = s->warnings; w && *w; w++)
                fprintf(stderr, "%s\n", *w);

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        (void) json_object_object_add(o, "stafd.conf", json_conf(c));
        (void) json_object_object_add(o, "sys.conf", json_sysconf(s));
        text = json_to_string_dup(o, true);
        if (!text)
                return -ENOMEM;
        printf("%s\n", text);
        return 0;
}

int main(int argc, char *argv[]) {
        sigset_t ss;
        int r;

        /* First thing: a SIGHUP (a reload) or SIGTERM that arrives while
         * the configuration and cache are read must wait for the event loop,
         * not kill the daemon.  The one-shot modes keep the defaults. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);

        r = parse_argv(argc, argv);
        if (r < 0)
                return r == -EINVAL ? 2 : 1;
        if (r == 0)
                return 0;

        if (arg_dump_config || arg_idl)
                (void) sigprocmask(SIG_UNBLOCK, &ss, NULL);
        if (arg_dump_config)
                return dump_config() < 0 ? 1 : 0;

        if (arg_idl) {
                r = manager_write_idl(arg_idl);
                if (r < 0) {
                        fprintf(stderr, "stafd: cannot write %s: %s\n", arg_idl, strerror(-r));
                        return 1;
                }
                return 0;
        }

        log_set_target(arg_syslog ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE);
        if (arg_tron)
                log_set_max_level(LOG_DEBUG);

        {
                _cleanup_(conf_freep) Conf *c = NULL;
                _cleanup_(sysconf_freep) SysConf *s = NULL;
                _cleanup_(manager_freep) Manager *m = NULL;

                r = load_confs(&c, &s);
                if (r < 0)
                        return 1;

                r = manager_new(&m,
                                &(ManagerArgs){
                                        .conf_file = arg_conf_file,
                                        .sys_conf_file = arg_sys_conf_file,
                                        .tron = arg_tron,
                                },
                                TAKE_PTR(c), TAKE_PTR(s));
                if (r < 0)
                        return 1;

                r = manager_run(m);
        }
        /* Non-zero after an error (the bus lost included): Restart=on-failure. */
        return r < 0 ? 1 : 0;
}
