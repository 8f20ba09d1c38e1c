/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "macro.h"
#include "strv.h"
#include "utf8.h"

static Conf *parse(const char *text) {
        Conf *c = NULL;

        assert_int_equal(conf_parse_string("stafd.conf", text, strlen(text), &c), 0);
        assert_non_null(c);
        return c;
}

static size_t n_warnings(const Conf *c) {
        return strv_length(c->warnings);
}

static void print_warnings(char **w) {
        for (; w && *w; w++)
                fprintf(stderr, "  warning: %s\n", *w);
}

/* Exactly one warning, and it contains every given fragment. */
static void assert_one_warning(char **w, ...) {
        const char *frag;
        va_list ap;

        if (strv_length(w) != 1)
                print_warnings(w);
        assert_int_equal(strv_length(w), 1);
        va_start(ap, w);
        while ((frag = va_arg(ap, const char *))) {
                if (!strstr(w[0], frag))
                        fprintf(stderr, "'%s' not in '%s'\n", frag, w[0]);
                assert_non_null(strstr(w[0], frag));
        }
        va_end(ap);
}

static void assert_defaults(const Conf *c) {
        assert_false(c->tron);
        assert_int_equal(c->conn.hdr_digest, 0);
        assert_int_equal(c->conn.data_digest, 0);
        assert_int_equal(c->conn.kato, 30);
        assert_int_equal(c->conn.queue_size, CONF_UNSET);
        assert_int_equal(c->conn.reconnect_delay, CONF_UNSET);
        assert_int_equal(c->conn.ctrl_loss_tmo, CONF_UNSET);
        assert_int_equal(c->conn.disable_sqflow, CONF_UNSET);
        assert_false(c->ignore_iface);
        assert_int_equal(c->ip_family, IP_FAMILY_V4 | IP_FAMILY_V6);
        assert_true(c->pleo);
        assert_true(c->zeroconf);
        assert_true(c->persistent_connections);
        assert_int_equal(c->zeroconf_persistence_sec, 72 * 3600);
        assert_int_equal(c->max_referrals_per_dc, 64);
        assert_int_equal(c->max_dcs, 512);
        assert_int_equal(c->n_controllers, 0);
        assert_int_equal(c->n_excludes, 0);
}

static void test_empty(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("");
        _cleanup_(conf_freep) Conf *d = NULL;

        assert_defaults(c);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(conf_new_default(&d), 0);
        assert_defaults(d);
        conf_free(TAKE_PTR(c));
        assert_int_equal(conf_parse_string("x", NULL, 0, &c), 0);
        assert_defaults(c);
}

static void test_only_comments(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("# a comment\n; another\n   # indented\n\n\t; tab\n#[Global]\n#kato=1\n");

        assert_defaults(c);
        assert_int_equal(n_warnings(c), 0);
}

static void test_all_keys(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Global]\n"
                "tron=true\nhdr-digest=yes\ndata-digest=on\nkato=10\nqueue-size=128\n"
                "reconnect-delay=5\nctrl-loss-tmo=-1\ndisable-sqflow=1\nignore-iface=TRUE\n"
                "ip-family=ipv6+ipv4\npleo=disabled\n"
                "[Service Discovery]\nzeroconf=disabled\n"
                "[Discovery controller connection management]\n"
                "persistent-connections=false\nzeroconf-connections-persistence=-1\n");

        assert_int_equal(n_warnings(c), 0);
        assert_true(c->tron);
        assert_int_equal(c->conn.hdr_digest, 1);
        assert_int_equal(c->conn.data_digest, 1);
        assert_int_equal(c->conn.kato, 10);
        assert_int_equal(c->conn.queue_size, 128);
        assert_int_equal(c->conn.reconnect_delay, 5);
        assert_int_equal(c->conn.ctrl_loss_tmo, -1);
        assert_int_equal(c->conn.disable_sqflow, 1);
        assert_true(c->ignore_iface);
        assert_int_equal(c->ip_family, IP_FAMILY_V4 | IP_FAMILY_V6);
        assert_false(c->pleo);
        assert_false(c->zeroconf);
        assert_false(c->persistent_connections);
        assert_int_equal(c->zeroconf_persistence_sec, -1);
}

static void test_booleans(void **state) {
        static const struct {
                const char *v;
                bool b;
        } t[] = {
                { "true", 1 }, { "TRUE", 1 }, { "yes", 1 }, { "Yes", 1 }, { "on", 1 }, { "1", 1 },
                { "false", 0 }, { "False", 0 }, { "no", 0 }, { "NO", 0 }, { "off", 0 }, { "0", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *text = NULL;
                Conf *c;

                assert_true(asprintf(&text, "[Global]\ntron=%s\nignore-iface=%s\n"
                                     "[Discovery controller connection management]\npersistent-connections=%s\n",
                                     t[i].v, t[i].v, t[i].v) > 0);
                c = parse(text);
                assert_int_equal(n_warnings(c), 0);
                assert_int_equal(c->tron, t[i].b);
                assert_int_equal(c->ignore_iface, t[i].b);
                assert_int_equal(c->persistent_connections, t[i].b);
                conf_free(c);
        }
}

static void test_long_lines(void **state) {
        char nqn[NVMF_NQN_MAX + 1], traddr[4200];
        _cleanup_free_ char *text = NULL, *comment = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;

        memcpy(nqn, "nqn.", 4);
        memset(nqn + 4, 'n', sizeof(nqn) - 5);
        nqn[NVMF_NQN_MAX] = '\0';
        /* A host name can't be this long, but the parser must not care. */
        memset(traddr, 'a', sizeof(traddr) - 1);
        traddr[sizeof(traddr) - 1] = '\0';
        comment = malloc(5001);
        assert_non_null(comment);
        memset(comment, '#', 5000);
        comment[5000] = '\0';

        assert_true(asprintf(&text,
                             "%s\n"
                             "[Controllers]\n"
                             "controller = transport=tcp;traddr=%s;trsvcid=4420;nqn=%s;host-nqn=%s;kato=7\n"
                             "controller=transport=tcp;traddr=1.2.3.4;nqn=%s\n"
                             "[Global]\n"
                             "kato=11\n",
                             comment, traddr, nqn, nqn, nqn) > 0);
        assert_true(strlen(text) > 4096 + 5000);
        c = parse(text);
        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->n_controllers, 2);
        assert_string_equal(c->controllers[0].traddr, traddr);
        assert_string_equal(c->controllers[0].nqn, nqn);
        assert_int_equal(strlen(c->controllers[0].nqn), 223);
        assert_string_equal(c->controllers[0].host_nqn, nqn);
        assert_string_equal(c->controllers[0].trsvcid, "4420");
        assert_int_equal(c->controllers[0].opts.kato, 7);
        assert_int_equal(c->controllers[0].line, 3);
        assert_string_equal(c->controllers[1].nqn, nqn);
        assert_int_equal(c->controllers[1].line, 4);
        assert_int_equal(c->conn.kato, 11);
}

static void test_inline_comments(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Global] # the global section\n"
                "kato = 40 # seconds\n"
                "tron=true\t# tab before the hash\n"
                "[Controllers]\n"
                "controller = transport=tcp;traddr=1.2.3.4 # my DC\n"
                "controller = transport=tcp;traddr=1.2.3.5;nqn=nqn.a#b\n");

        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->conn.kato, 40);
        assert_true(c->tron);
        assert_int_equal(c->n_controllers, 2);
        assert_string_equal(c->controllers[0].traddr, "1.2.3.4");
        assert_null(c->controllers[0].nqn);
        /* No blank before '#': part of the value. */
        assert_string_equal(c->controllers[1].nqn, "nqn.a#b");
}

static void test_semicolon_spacing(void **state) {
        static const char * const variants[] = {
                "transport=tcp;traddr=1.2.3.4;trsvcid=8009",
                "transport=tcp ; traddr=1.2.3.4 ; trsvcid=8009",
                "transport=tcp ;traddr=1.2.3.4; trsvcid=8009",
                " transport = tcp ;\ttraddr =1.2.3.4\t; trsvcid= 8009 ;",
                ";;transport=tcp;;traddr=1.2.3.4;;trsvcid=8009;;",
                "Transport=TCP ; TRADDR=1.2.3.4 ; TrSvcId=8009",
        };

        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                _cleanup_free_ char *text = NULL;
                Conf *c;

                assert_true(asprintf(&text, "[Controllers]\ncontroller=%s\nexclude = %s\n",
                                     variants[i], variants[i]) > 0);
                c = parse(text);
                print_warnings(c->warnings);
                assert_int_equal(n_warnings(c), 0);
                assert_int_equal(c->n_controllers, 1);
                assert_int_equal(c->n_excludes, 1);
                assert_string_equal(c->controllers[0].transport, "tcp");
                assert_string_equal(c->controllers[0].traddr, "1.2.3.4");
                assert_string_equal(c->controllers[0].trsvcid, "8009");
                assert_string_equal(c->excludes[0].traddr, "1.2.3.4");
                conf_free(c);
        }
}

static void test_last_wins(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Global]\nkato=1\nkato=2\nip-family=ipv4\n"
                "[Service Discovery]\nzeroconf=disabled\n"
                "[Global]\nkato=3\nip-family=ipv6\n"
                "[Service Discovery]\nzeroconf=enabled\n");

        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->conn.kato, 3);
        assert_int_equal(c->ip_family, IP_FAMILY_V6);
        assert_true(c->zeroconf);

        /* An invalid last value means the default, not the previous one. */
        conf_free(TAKE_PTR(c));
        c = parse("[Global]\nkato=5\nkato=x\n");
        assert_int_equal(c->conn.kato, 30);
        assert_int_equal(n_warnings(c), 1);
}

static void test_case(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[GLOBAL]\nKATO=12\nTron=True\n"
                "[service discovery]\nZeroConf=Disabled\n"
                "[DISCOVERY CONTROLLER CONNECTION MANAGEMENT]\nPersistent-Connections=No\n"
                "[controllers]\nController=Transport=RDMA;TrAddr=10.0.0.1\nEXCLUDE=Host-Iface=eth0\n");

        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->conn.kato, 12);
        assert_true(c->tron);
        assert_false(c->zeroconf);
        assert_false(c->persistent_connections);
        assert_int_equal(c->n_controllers, 1);
        assert_string_equal(c->controllers[0].transport, "rdma");
        assert_string_equal(c->controllers[0].traddr, "10.0.0.1");
        assert_int_equal(c->n_excludes, 1);
        assert_string_equal(c->excludes[0].host_iface, "eth0");
}

static void test_continuation(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\n"                                 /* 1 */
                "controller = transport=tcp;traddr=1.1.1.1\n"     /* 2 */
                "    transport=tcp;traddr=2.2.2.2\n"              /* 3 */
                "\ttransport=rdma;traddr=3.3.3.3 # third\n"       /* 4 */
                "\n"                                              /* 5 */
                "# a comment between\n"                           /* 6 */
                "  transport=tcp;traddr=4.4.4.4\n"                /* 7 */
                "exclude=traddr=9.9.9.9\n"                        /* 8 */
                "   traddr=8.8.8.8\n"                             /* 9 */
                "controller=transport=tcp;traddr=5.5.5.5\n"       /* 10 */
                "[Global]\n"                                      /* 11 */
                "kato=5\n"                                        /* 12 */
                "   6\n");                                        /* 13 */

        assert_int_equal(c->n_controllers, 5);
        assert_string_equal(c->controllers[0].traddr, "1.1.1.1");
        assert_int_equal(c->controllers[0].line, 2);
        assert_string_equal(c->controllers[1].traddr, "2.2.2.2");
        assert_int_equal(c->controllers[1].line, 3);
        assert_string_equal(c->controllers[2].transport, "rdma");
        assert_string_equal(c->controllers[2].traddr, "3.3.3.3");
        assert_int_equal(c->controllers[2].line, 4);
        assert_string_equal(c->controllers[3].traddr, "4.4.4.4");
        assert_int_equal(c->controllers[3].line, 7);
        assert_string_equal(c->controllers[4].traddr, "5.5.5.5");
        assert_int_equal(c->n_excludes, 2);
        assert_string_equal(c->excludes[1].traddr, "8.8.8.8");
        assert_int_equal(c->excludes[1].line, 9);
        /* A continuation of a scalar key is a warning; the key keeps its value. */
        assert_int_equal(c->conn.kato, 5);
        assert_one_warning(c->warnings, "stafd.conf:13:", "[Global]", "kato", "'6'", NULL);
}

static void test_invalid_values(void **state) {
        static const struct {
                const char *section, *key, *value, *expect;
        } t[] = {
                { "Global", "tron", "maybe", "using default false" },
                { "Global", "hdr-digest", "2", "using default false" },
                { "Global", "data-digest", "", "using default false" },
                { "Global", "kato", "abc", "not a number, using default 30" },
                { "Global", "kato", "-5", "using default 30" },
                { "Global", "kato", "10s", "using default 30" },
                { "Global", "kato", "99999999999999999999", "out of range, using default 30" },
                { "Global", "queue-size", "15", "using the driver default" },
                { "Global", "queue-size", "1025", "using the driver default" },
                { "Global", "reconnect-delay", "0", "using the driver default" },
                { "Global", "ctrl-loss-tmo", "-2", "using the driver default" },
                { "Global", "disable-sqflow", "sure", "using the driver default" },
                { "Global", "ignore-iface", "nope", "using default false" },
                { "Global", "ip-family", "ipv5", "using default ipv4+ipv6" },
                { "Global", "pleo", "maybe", "using default enabled" },
                { "Service Discovery", "zeroconf", "perhaps", "using default enabled" },
                { "Discovery controller connection management", "persistent-connections", "x",
                  "using default true" },
                { "Discovery controller connection management", "zeroconf-connections-persistence",
                  "forever", "using default 72 hours" },
                { "Discovery controller connection management", "max-referrals-per-dc", "16385",
                  "must be within 0..16384, using default 64" },
                { "Discovery controller connection management", "max-referrals-per-dc", "-1",
                  "using default 64" },
                { "Discovery controller connection management", "max-dcs", "0",
                  "must be within 1..1000000, using default 512" },
                { "Discovery controller connection management", "max-dcs", "lots",
                  "not a number, using default 512" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *text = NULL, *where = NULL;
                Conf *c;

                /* Line 3, after a valid value of another key. */
                assert_true(asprintf(&text, "# x\n[%s]\n%s = %s\n", t[i].section, t[i].key, t[i].value) > 0);
                assert_true(asprintf(&where, "stafd.conf:3: [%s] %s='%s': ", t[i].section, t[i].key,
                                     t[i].value) > 0);
                c = parse(text);
                assert_one_warning(c->warnings, where, t[i].expect, NULL);
                assert_defaults(c);
                conf_free(c);
        }
}

static void test_queue_size_range(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("[Global]\nqueue-size=16\n");

        assert_int_equal(c->conn.queue_size, 16);
        conf_free(TAKE_PTR(c));
        c = parse("[Global]\nqueue-size=1024\nctrl-loss-tmo=0\nkato=0\nreconnect-delay=1\n");
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->conn.queue_size, 1024);
        assert_int_equal(c->conn.ctrl_loss_tmo, 0);
        assert_int_equal(c->conn.kato, 0);
        assert_int_equal(c->conn.reconnect_delay, 1);
}

static void test_unknown(void **state) {
        _cleanup_(conf_freep) Conf *c = parse("[Nope]\na=1\nb=2\n[Global]\nkato=9\n");

        assert_one_warning(c->warnings, "stafd.conf:1:", "unknown section [Nope]", NULL);
        assert_int_equal(c->conn.kato, 9);
        conf_free(TAKE_PTR(c));

        c = parse("[Global]\nfoo = bar\nkato=9\n");
        assert_one_warning(c->warnings, "stafd.conf:2:", "[Global]", "unknown key 'foo'", NULL);
        assert_int_equal(c->conn.kato, 9);
        conf_free(TAKE_PTR(c));

        /* Keys of one section are unknown in another. */
        c = parse("[Service Discovery]\nkato=9\n");
        assert_one_warning(c->warnings, "[Service Discovery]", "'kato'", NULL);
        assert_int_equal(c->conn.kato, 30);
}

static void test_syntax_errors(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "kato=1\n"               /* 1: before any section */
                "[Global\n"              /* 2 */
                "[Global]\n"             /* 3 */
                "this line has no equals\n" /* 4 */
                "=value\n"               /* 5 */
                "kato=8\n"               /* 6 */
                "[]\n"                   /* 7 */
                "kato=9\n"               /* 8: under a broken header: ignored */
                "[Controllers]\n"
                "controller=transport=tcp;traddr=1.1.1.1\n");

        assert_int_equal(n_warnings(c), 5);
        assert_non_null(strstr(c->warnings[0], "stafd.conf:1:"));
        assert_non_null(strstr(c->warnings[1], "stafd.conf:2:"));
        assert_non_null(strstr(c->warnings[2], "stafd.conf:4:"));
        assert_non_null(strstr(c->warnings[2], "no '='"));
        assert_non_null(strstr(c->warnings[3], "stafd.conf:5:"));
        assert_non_null(strstr(c->warnings[4], "stafd.conf:7:"));
        assert_int_equal(c->conn.kato, 8);
        assert_int_equal(c->n_controllers, 1);
}

static void test_crlf(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "\xef\xbb\xbf[Global]\r\nkato=17\r\ntron=true\r\n[Controllers]\r\n"
                "controller=transport=tcp;traddr=1.2.3.4\r\n  transport=tcp;traddr=5.6.7.8\r\n");

        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->conn.kato, 17);
        assert_true(c->tron);
        assert_int_equal(c->n_controllers, 2);
        assert_string_equal(c->controllers[0].traddr, "1.2.3.4");
        assert_string_equal(c->controllers[1].traddr, "5.6.7.8");
}

static void test_nul_bytes(void **state) {
        static const char text[] = "[Global]\nkato=1\0002\ntron=true\n";
        _cleanup_(conf_freep) Conf *c = NULL;

        assert_int_equal(conf_parse_string("stafd.conf", text, sizeof(text) - 1, &c), 0);
        assert_true(c->tron);
        assert_int_equal(n_warnings(c), 1); /* "1 2" is not a number */
}

static void test_dhchap(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\n"
                "controller=transport=tcp;traddr=1.2.3.4;"
                "dhchap-secret=DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:;"
                "dhchap-ctrl-secret = DHHC-1:01:abc==def=: \n"
                "controller=transport=tcp;traddr=1.2.3.5;dhchap-secret=DHHC-1:00:xyz=\n");

        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->n_controllers, 2);
        assert_string_equal(c->controllers[0].dhchap_secret,
                            "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:");
        assert_string_equal(c->controllers[0].dhchap_ctrl_secret, "DHHC-1:01:abc==def=:");
        assert_string_equal(c->controllers[1].dhchap_secret, "DHHC-1:00:xyz=");

        /* A rejected entry's warning does not show the secret. */
        conf_free(TAKE_PTR(c));
        c = parse("[Controllers]\ncontroller=transport=tcp;dhchap-secret=DHHC-1:00:topsecret=:\n");
        assert_one_warning(c->warnings, "stafd.conf:2:", "no traddr", "<redacted>", NULL);
        assert_null(strstr(c->warnings[0], "topsecret"));
}

static void test_controller_entries(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Controllers]\n"
                "controller=traddr=1.1.1.1\n"                         /* 2: no transport */
                "controller=transport=tcp\n"                          /* 3: no traddr */
                "controller=transport=ib;traddr=1.1.1.1\n"            /* 4: bad transport */
                "controller=\n"                                       /* 5: nothing */
                "controller=transport=tcp;traddr=1.1.1.1;kato=x;queue-size=4096;color=red\n" /* 6 */
                "controller=transport=FC;traddr=nn-0x1:pn-0x2;hdr-digest=true;data-digest=off;"
                "reconnect-delay=3;ctrl-loss-tmo=-1;disable-sqflow=yes;host-traddr=nn-0x3:pn-0x4;"
                "host-iface=eth0;host-nqn=nqn.h;subsysnqn=nqn.s\n" /* 7 */
                "exclude=\n"                                          /* 8 */
                "exclude=just text\n"                                 /* 9 */
                "exclude=trsvcid=4420\n");                            /* 10 */
        const ConfController *e;

        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 9);
        assert_non_null(strstr(c->warnings[0], "stafd.conf:2: [Controllers] controller='traddr=1.1.1.1': no transport"));
        assert_non_null(strstr(c->warnings[1], "stafd.conf:3:"));
        assert_non_null(strstr(c->warnings[1], "no traddr"));
        assert_non_null(strstr(c->warnings[2], "stafd.conf:4:"));
        assert_non_null(strstr(c->warnings[2], "transport='ib'"));
        assert_non_null(strstr(c->warnings[3], "stafd.conf:5:"));
        assert_non_null(strstr(c->warnings[4], "stafd.conf:6:"));
        assert_non_null(strstr(c->warnings[4], "kato='x'"));
        assert_non_null(strstr(c->warnings[5], "queue-size='4096'"));
        assert_non_null(strstr(c->warnings[6], "unknown key 'color'"));
        assert_non_null(strstr(c->warnings[7], "stafd.conf:8:"));
        assert_non_null(strstr(c->warnings[8], "stafd.conf:9:"));

        assert_int_equal(c->n_controllers, 2);
        e = &c->controllers[0];
        assert_int_equal(e->line, 6);
        assert_int_equal(e->opts.kato, CONF_UNSET);
        assert_int_equal(e->opts.queue_size, CONF_UNSET);
        e = &c->controllers[1];
        assert_string_equal(e->transport, "fc");
        assert_string_equal(e->traddr, "nn-0x1:pn-0x2");
        assert_int_equal(e->opts.hdr_digest, 1);
        assert_int_equal(e->opts.data_digest, 0);
        assert_int_equal(e->opts.reconnect_delay, 3);
        assert_int_equal(e->opts.ctrl_loss_tmo, -1);
        assert_int_equal(e->opts.disable_sqflow, 1);
        assert_string_equal(e->host_traddr, "nn-0x3:pn-0x4");
        assert_string_equal(e->host_iface, "eth0");
        assert_string_equal(e->host_nqn, "nqn.h");
        assert_string_equal(e->nqn, "nqn.s");
        assert_int_equal(c->n_excludes, 1);
        assert_string_equal(c->excludes[0].trsvcid, "4420");
        assert_null(c->excludes[0].transport);
}

static void test_parse_controller_direct(void **state) {
        _cleanup_strv_free_ char **w = NULL;
        ConfController c, d;

        assert_int_equal(conf_parse_controller("transport=tcp;traddr=::1;trsvcid=", &c, &w, "f", 7, "controller"), 0);
        assert_null(w);
        assert_string_equal(c.traddr, "::1");
        assert_null(c.trsvcid);
        assert_int_equal(c.line, 7);
        assert_int_equal(conf_controller_copy(&d, &c), 0);
        conf_controller_done(&c);
        assert_string_equal(d.transport, "tcp");
        assert_string_equal(d.traddr, "::1");
        assert_int_equal(d.line, 7);
        conf_controller_done(&d);

        assert_int_equal(conf_parse_controller("", &c, &w, "f", 1, "exclude"), -EINVAL);
        assert_int_equal(conf_parse_controller(";;;", &c, NULL, NULL, 0, NULL), -EINVAL);
        assert_int_equal(strv_length(w), 1);
}

static void test_timespan(void **state) {
        static const struct {
                const char *s;
                int64_t v;
        } ok[] = {
                { "0", 0 },
                { "-1", -1 },
                { " -1 ", -1 },
                { "3600", 3600 },
                { "72hours", 72 * 3600 },
                { "72 hours", 72 * 3600 },
                { "72h", 72 * 3600 },
                { "1d", 86400 },
                { "1 day", 86400 },
                { "2days", 2 * 86400 },
                { "3 days 5 hours", 3 * 86400 + 5 * 3600 },
                { "1d12h", 86400 + 12 * 3600 },
                { "1d 12h 30m 15s", 86400 + 12 * 3600 + 30 * 60 + 15 },
                { "1h, 30min", 5400 },
                { "90m", 5400 },
                { "90 min", 5400 },
                { "90minutes", 5400 },
                { "45s", 45 },
                { "45 sec", 45 },
                { "45 seconds", 45 },
                { "1w", 604800 },
                { "2 weeks", 2 * 604800 },
                { "1 HOUR", 3600 },
                { "1h 30", 3630 },
                { "1:30:00", 5400 },
                { "30:00", 1800 },
                { "0:00:01", 1 },
                { "100:00:00", 360000 },
                { "  10  ", 10 },
        };
        static const char * const bad[] = {
                "", " ", "-", "-2", "-1s", "-0", "abc", "10x", "1.5h", "h", "1h-", "1 2 3 x", "1d junk",
                "1::", ":30", "1:60", "1:2:3:4", "1:-2", "99999999999999999999", "9223372036854775807w",
                "9223372036854775807 9223372036854775807", "1:99999999999999999999", "0x10", "+5",
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                int64_t v = -42;

                if (timespan_parse(ok[i].s, &v) != 0)
                        fprintf(stderr, "timespan '%s' rejected\n", ok[i].s);
                assert_int_equal(timespan_parse(ok[i].s, &v), 0);
                assert_int_equal(v, ok[i].v);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t v = -42;

                if (timespan_parse(bad[i], &v) != -EINVAL)
                        fprintf(stderr, "timespan '%s' accepted\n", bad[i]);
                assert_int_equal(timespan_parse(bad[i], &v), -EINVAL);
                assert_int_equal(v, -42);
        }
        assert_int_equal(timespan_parse(NULL, &(int64_t) { 0 }), -EINVAL);
}

static void test_persistence_key(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Discovery controller connection management]\nzeroconf-connections-persistence = 3 days 5 hours\n");

        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->zeroconf_persistence_sec, 3 * 86400 + 5 * 3600);
}

/* A span that would overflow in microseconds is clamped, with a warning. */
static void test_persistence_clamped(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Discovery controller connection management]\n"
                "zeroconf-connections-persistence = 9223372036854775807\n");

        assert_one_warning(c->warnings, "stafd.conf:2:", "longer than the maximum", NULL);
        assert_int_equal(c->zeroconf_persistence_sec, CONF_TIMESPAN_MAX_SEC);
        /* Even added to a monotonic clock of a century, no overflow. */
        assert_true(usec_add(100 * 365 * 86400ULL * USEC_PER_SEC, usec_from_sec(c->zeroconf_persistence_sec)) <
                    USEC_INFINITY / 2);
        /* And where multiplied, a bad value saturates rather than wraps. */
        assert_int_equal(usec_from_sec(INT64_MAX), USEC_INFINITY);
        assert_int_equal(usec_from_sec(-1), USEC_INFINITY);
        assert_int_equal(usec_from_sec(3), 3 * USEC_PER_SEC);
        assert_int_equal(usec_add(USEC_INFINITY - 1, 2), USEC_INFINITY);
        assert_int_equal(usec_add(1, 2), 3);
}

static void test_limits_keys(void **state) {
        _cleanup_(conf_freep) Conf *d = parse("");
        _cleanup_(conf_freep) Conf *c = parse(
                "[Discovery controller connection management]\n"
                "max-referrals-per-dc = 0\n"
                "max-dcs = 1000000\n");

        assert_int_equal(d->max_referrals_per_dc, 64);
        assert_int_equal(d->max_dcs, 512);
        assert_int_equal(n_warnings(c), 0);
        assert_int_equal(c->max_referrals_per_dc, 0);
        assert_int_equal(c->max_dcs, 1000000);
}

/* A byte that is not UTF-8 never gets into a controller (it would make every
 * D-Bus answer that lists it fail); the warning shows it escaped. */
static void test_controller_not_utf8(void **state) {
        static const char * const bad[] = {
                "traddr=1.2.3.4\xff", "nqn=nqn.a\xc3", "host-iface=eth\xed\xa0\x80", /* a surrogate */
                "nqn=nqn.\xc0\xaf", /* overlong */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                Conf *c;

                assert_true(asprintf(&text, "[Controllers]\ncontroller=transport=tcp;traddr=1.1.1.1;%s\n"
                                     "exclude=%s\n", bad[i], bad[i]) > 0);
                c = parse(text);
                assert_int_equal(c->n_controllers, 0);
                assert_int_equal(c->n_excludes, 0);
                assert_int_equal(n_warnings(c), 2);
                assert_non_null(strstr(c->warnings[0], "not valid UTF-8, entry ignored"));
                assert_non_null(strstr(c->warnings[0], "\\x"));
                for (size_t j = 0; j < 2; j++)
                        for (const char *p = c->warnings[j]; *p; p++)
                                assert_true((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f);
                conf_free(c);
        }
        /* Valid UTF-8 is kept, and shown as it is. */
        _cleanup_(conf_freep) Conf *c = parse("[Controllers]\ncontroller=transport=tcp;traddr=1.1.1.1;"
                                              "host-iface=\xc3\xa9th0;f\xc3\xa4rbe=1\n");
        assert_int_equal(c->n_controllers, 1);
        assert_string_equal(c->controllers[0].host_iface, "\xc3\xa9th0");
        assert_one_warning(c->warnings, "unknown key 'f\xc3\xa4rbe'", NULL);
}

/* 1 MB of garbage: a short, escaped log, not thousands of lines of raw
 * bytes. */
static void test_garbage_warnings_collapsed(void **state) {
        size_t len = 1024 * 1024;
        _cleanup_free_ char *text = malloc(len + 1);
        _cleanup_(conf_freep) Conf *c = NULL;
        uint32_t x = 12345;

        assert_non_null(text);
        for (size_t i = 0; i < len; i++) {
                x = x * 1103515245 + 12345;
                text[i] = (char) (x >> 16);
                if (text[i] == '=' || text[i] == '[')
                        text[i] = '\x80';
        }
        text[len] = '\0';
        assert_int_equal(conf_parse_string("stafd.conf", text, len, &c), 0);
        print_warnings(c->warnings);
        assert_true(n_warnings(c) >= 1);
        assert_true(n_warnings(c) <= 51);
        /* Text for the journal: valid UTF-8 (what is valid in the garbage
         * may stay), no control characters. */
        for (char **w = c->warnings; *w; w++) {
                assert_true(utf8_is_valid(*w));
                for (const char *p = *w; *p; p++)
                        assert_true((unsigned char) *p >= 0x20 && (unsigned char) *p != 0x7f);
        }
}

/* A run of the same warning becomes one line with a count. */
static void test_repeated_warnings_collapsed(void **state) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;
        FILE *f;
        size_t size;

        f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("[Global]\n", f);
        for (int i = 0; i < 1000; i++)
                fprintf(f, "junk line %d\n", i);
        fputs("kato=x\n", f);
        fclose(f);
        c = parse(text);
        print_warnings(c->warnings);
        assert_int_equal(n_warnings(c), 2);
        assert_non_null(strstr(c->warnings[0], "stafd.conf:2: syntax error, no '=' in 'junk line 0'"));
        assert_non_null(strstr(c->warnings[0], "(and 999 more like it, up to line 1001)"));
        assert_non_null(strstr(c->warnings[1], "stafd.conf:1002: [Global] kato='x'"));
}

/* Millions of bad lines: linear time and bounded warnings (appending each
 * warning to a growing vector took 7 minutes for 1 000 000 lines, on the
 * loop at SIGHUP).  alarm() turns slowness into a failure. */
static void test_many_warnings_linear(void **state) {
        size_t n = 1000000, len = 0;
        _cleanup_free_ char *text = malloc(n * 8 + 16);
        _cleanup_(conf_freep) Conf *a = NULL, *b = NULL;

        assert_non_null(text);
        /* One kind: one line. */
        len = (size_t) sprintf(text, "[Global]\n");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(text + len, "kato=x\n");
        alarm(90); /* 0.7 s natively, ~30 s under valgrind; minutes when quadratic */
        assert_int_equal(conf_parse_string("stafd.conf", text, len, &a), 0);
        assert_int_equal(n_warnings(a), 1);
        assert_non_null(strstr(a->warnings[0], "(and 999999 more like it, up to line 1000001)"));

        /* Two kinds alternating: 50 lines and a count of the rest. */
        len = (size_t) sprintf(text, "[Global]\n");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(text + len, i % 2 ? "kato=x\n" : "x\n");
        assert_int_equal(conf_parse_string("stafd.conf", text, len, &b), 0);
        alarm(0);
        assert_int_equal(n_warnings(b), 51);
        assert_non_null(strstr(b->warnings[50], "stafd.conf: 999950 more warnings not shown"));
}

/* ---- sys.conf */

static char tmpdir[] = "/tmp/test-conf-XXXXXX";

static char *write_tmp(const char *name, const char *content) {
        char *path;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        return path;
}

static SysConf *sysparse(const char *text) {
        SysConf *s = NULL;

        assert_int_equal(sysconf_parse_string("sys.conf", text, strlen(text), &s), 0);
        assert_non_null(s);
        return s;
}

static void assert_generated(const SysConf *s) {
        const char *prefix = "nqn.2014-08.org.nvmexpress:uuid:";

        assert_true(s->hostnqn_generated);
        assert_int_equal(strncmp(s->hostnqn, prefix, strlen(prefix)), 0);
        assert_int_equal(strlen(s->hostnqn), strlen(prefix) + 36);
        assert_int_equal(s->hostnqn[strlen(prefix) + 14], '4'); /* uuid v4 */
}

static void test_sysconf_files(void **state) {
        _cleanup_free_ char *nqnf = NULL, *idf = NULL, *keyf = NULL, *text = NULL, *conf = NULL;
        _cleanup_(sysconf_freep) SysConf *s = NULL;

        nqnf = write_tmp("hostnqn", "  nqn.2014-08.org.nvmexpress:uuid:abc extra words\nsecond line\n");
        idf = write_tmp("hostid", "0c3a4a0e-6c11-4d17-a4c9-d0ed9f8ac7f6\n");
        keyf = write_tmp("hostkey", "DHHC-1:00:key=:\n");
        assert_true(asprintf(&text, "[Host]\nnqn=file://%s\nid = file://%s\nkey=file://%s\nsymname = my host\n",
                             nqnf, idf, keyf) > 0);
        conf = write_tmp("sys.conf", text);
        assert_int_equal(sysconf_load(conf, &s), 0);
        print_warnings(s->warnings);
        assert_null(s->warnings);
        assert_string_equal(s->hostnqn, "nqn.2014-08.org.nvmexpress:uuid:abc");
        assert_false(s->hostnqn_generated);
        assert_string_equal(s->hostid, "0c3a4a0e-6c11-4d17-a4c9-d0ed9f8ac7f6");
        assert_string_equal(s->hostkey, "DHHC-1:00:key=:");
        assert_string_equal(s->symname, "my host");
        assert_non_null(strstr(s->hostnqn_source, "file://"));
}

static void test_sysconf_literal(void **state) {
        _cleanup_(sysconf_freep) SysConf *s = sysparse(
                "[HOST]\nNQN=nqn.1992-08.com.example:host1\nid=1234\nkey=/tmp/nope\nbogus=1\n[Other]\nx=y\n");

        assert_string_equal(s->hostnqn, "nqn.1992-08.com.example:host1");
        assert_false(s->hostnqn_generated);
        assert_string_equal(s->hostid, "1234");
        assert_string_equal(s->hostkey, "/tmp/nope"); /* not file://: literal */
        assert_null(s->symname);
        assert_int_equal(strv_length(s->warnings), 2);
        assert_non_null(strstr(s->warnings[0], "sys.conf:5:"));
        assert_non_null(strstr(s->warnings[1], "sys.conf:6:"));
}

/* With a fallback UUID (the daemon's, from the machine id) a made-up host NQN
 * is the same at every start, and the warning says where it comes from. */
static void test_sysconf_stable_nqn(void **state) {
        static const char text[] = "[Host]\nnqn=file:///nonexistent/hostnqn\nid=x\n";
        static const char uuid[] = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
        SysConf *a = NULL, *b = NULL, *r = NULL;

        assert_int_equal(sysconf_parse_string_full("sys.conf", text, strlen(text), uuid, &a), 0);
        assert_int_equal(sysconf_parse_string_full("sys.conf", text, strlen(text), uuid, &b), 0);
        assert_string_equal(a->hostnqn, "nqn.2014-08.org.nvmexpress:uuid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
        assert_string_equal(a->hostnqn, b->hostnqn);
        assert_true(a->hostnqn_generated);
        assert_true(a->hostnqn_stable);
        assert_one_warning(a->warnings, "no host NQN found", a->hostnqn, "derived from the machine id", NULL);
        /* Without one: random, and said so. */
        assert_int_equal(sysconf_parse_string_full("sys.conf", text, strlen(text), NULL, &r), 0);
        assert_false(r->hostnqn_stable);
        assert_one_warning(r->warnings, "random, new at every start", NULL);
        /* A configured NQN always wins. */
        sysconf_free(b);
        assert_int_equal(sysconf_parse_string_full("sys.conf", "[Host]\nnqn=nqn.x\nid=x\n", 22, uuid, &b), 0);
        assert_string_equal(b->hostnqn, "nqn.x");
        assert_false(b->hostnqn_generated);
        sysconf_free(a);
        sysconf_free(b);
        sysconf_free(r);
}

static void test_sysconf_generated(void **state) {
        char nqn224[NVMF_NQN_MAX + 2], nqn223[NVMF_NQN_MAX + 1];
        _cleanup_free_ char *text = NULL, *emptyf = NULL;
        SysConf *s;

        /* Missing file. */
        s = sysparse("[Host]\nnqn=file:///nonexistent/hostnqn\nid=x\n");
        assert_generated(s);
        assert_one_warning(s->warnings, "sys.conf:2: [Host] nqn='file:///nonexistent/hostnqn'",
                           "no host NQN found", s->hostnqn, NULL);
        sysconf_free(s);

        /* Not an NQN. */
        s = sysparse("[Host]\nnqn=hello\nid=x\n");
        assert_generated(s);
        assert_one_warning(s->warnings, "sys.conf:2:", "invalid host NQN 'hello'", NULL);
        sysconf_free(s);

        /* Empty file. */
        emptyf = write_tmp("empty", "\n");
        assert_true(asprintf(&text, "[Host]\nnqn=file://%s\nid=x\n", emptyf) > 0);
        s = sysparse(text);
        assert_generated(s);
        assert_int_equal(strv_length(s->warnings), 1);
        sysconf_free(s);

        /* Length limit: 223 is fine, 224 is not. */
        memcpy(nqn223, "nqn.", 4);
        memset(nqn223 + 4, 'a', NVMF_NQN_MAX - 4);
        nqn223[NVMF_NQN_MAX] = '\0';
        free(text);
        assert_true(asprintf(&text, "[Host]\nnqn=%s\nid=x\n", nqn223) > 0);
        s = sysparse(text);
        assert_false(s->hostnqn_generated);
        assert_string_equal(s->hostnqn, nqn223);
        assert_null(s->warnings);
        sysconf_free(s);

        memcpy(nqn224, nqn223, NVMF_NQN_MAX);
        nqn224[NVMF_NQN_MAX] = 'a';
        nqn224[NVMF_NQN_MAX + 1] = '\0';
        free(text);
        assert_true(asprintf(&text, "[Host]\nnqn=%s\nid=x\n", nqn224) > 0);
        s = sysparse(text);
        assert_generated(s);
        assert_int_equal(strv_length(s->warnings), 1);
        sysconf_free(s);

        /* Each generated NQN is different. */
        {
                SysConf *a = sysparse("[Host]\nnqn=x\nid=x\n"), *b = sysparse("[Host]\nnqn=x\nid=x\n");

                assert_string_not_equal(a->hostnqn, b->hostnqn);
                sysconf_free(a);
                sysconf_free(b);
        }
}

static void test_sysconf_missing(void **state) {
        _cleanup_(sysconf_freep) SysConf *s = NULL;

        /* A missing sys.conf means defaults; whatever /etc/nvme holds, we end up with a valid NQN. */
        assert_int_equal(sysconf_load("/nonexistent/sys.conf", &s), 0);
        assert_non_null(s->hostnqn);
        assert_int_equal(strncmp(s->hostnqn, "nqn.", 4), 0);
        assert_string_equal(s->hostnqn_source, "file:///etc/nvme/hostnqn");
        assert_string_equal(s->hostid_source, "file:///etc/nvme/hostid");
        assert_string_equal(s->hostkey_source, "file:///etc/nvme/hostkey");
}

static void test_conf_load(void **state) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;

        assert_int_equal(conf_load("/nonexistent/stafd.conf", &c), -ENOENT);
        assert_null(c);
        path = write_tmp("stafd.conf", "[Global]\nkato=x\n");
        assert_int_equal(conf_load(path, &c), 0);
        assert_string_equal(c->path, path);
        assert_non_null(strstr(c->warnings[0], path));
        assert_int_equal(c->conn.kato, 30);
}

/* A FIFO (directly or behind a symlink) where a file is expected must not
 * block: today's open() waits for a writer forever.  alarm() turns a hang
 * into a failure. */
static void test_fifo_never_read(void **state) {
        _cleanup_free_ char *fifo = NULL, *link = NULL, *sys = NULL, *text = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_(sysconf_freep) SysConf *s = NULL;

        assert_true(asprintf(&fifo, "%s/fifo", tmpdir) > 0);
        assert_true(asprintf(&link, "%s/fifo-link", tmpdir) > 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(symlink(fifo, link), 0);
        alarm(10);

        assert_int_equal(conf_load(fifo, &c), -EBADFD);
        assert_int_equal(conf_load(link, &c), -EBADFD);
        assert_null(c);
        assert_int_equal(conf_load(tmpdir, &c), -EISDIR);
        assert_non_null(strstr(conf_strerror(-EBADFD), "not a regular file"));

        /* sys.conf itself a FIFO: an error, not a hang. */
        assert_int_equal(sysconf_load(link, &s), -EBADFD);

        /* nqn=file://FIFO: a warning naming the file, and a fallback NQN. */
        assert_true(asprintf(&text, "[Host]\nnqn=file://%s\nid=file://%s\n", link, fifo) > 0);
        sys = write_tmp("sys-fifo.conf", text);
        assert_int_equal(sysconf_load(sys, &s), 0);
        assert_true(s->hostnqn_generated);
        assert_int_equal(strv_length(s->warnings), 2);
        assert_non_null(strstr(s->warnings[0], link));
        assert_non_null(strstr(s->warnings[0], "not a regular file"));
        assert_non_null(strstr(s->warnings[1], "not a regular file"));
        assert_null(s->hostid);
        alarm(0);

        unlink(link);
        unlink(fifo);
}

static void test_data_files(void **state) {
        _cleanup_(conf_freep) Conf *c = NULL;

        assert_int_equal(conf_load(TEST_DATA_DIR "/stafd.conf", &c), 0);
        print_warnings(c->warnings);
        assert_null(c->warnings);
        assert_int_equal(c->n_controllers, 3);
        assert_int_equal(c->n_excludes, 1);
        assert_int_equal(c->conn.kato, 30);
}

/* ---- JSON */

static void test_json(void **state) {
        _cleanup_(conf_freep) Conf *c = parse(
                "[Global]\nqueue-size=64\n"
                "[Controllers]\ncontroller=transport=tcp;traddr=1.2.3.4;dhchap-secret=DHHC-1:00:s=:;kato=4\n"
                "exclude=traddr=5.6.7.8\n");
        _cleanup_(sysconf_freep) SysConf *s = sysparse("[Host]\nnqn=nqn.x\nid=abc\nkey=DHHC-1:00:hostkey=:\n");
        _cleanup_json_ struct json_object *o = NULL, *so = NULL;
        _cleanup_free_ char *text = NULL, *stext = NULL;
        struct json_object *g, *v, *arr, *e;

        o = json_conf(c);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "Global", &g));
        assert_true(json_object_object_get_ex(g, "kato", &v));
        assert_int_equal(json_object_get_int(v), 30);
        assert_true(json_object_object_get_ex(g, "queue-size", &v));
        assert_int_equal(json_object_get_int(v), 64);
        assert_true(json_object_object_get_ex(g, "reconnect-delay", &v));
        assert_null(v); /* driver default */
        assert_true(json_object_object_get_ex(g, "ip-family", &v));
        assert_string_equal(json_object_get_string(v), "ipv4+ipv6");
        assert_true(json_object_object_get_ex(o, "Discovery controller connection management", &g));
        assert_true(json_object_object_get_ex(g, "zeroconf-connections-persistence", &v));
        assert_int_equal(json_object_get_int64(v), 259200);
        assert_true(json_object_object_get_ex(o, "Controllers", &g));
        assert_true(json_object_object_get_ex(g, "controller", &arr));
        assert_int_equal(json_object_array_length(arr), 1);
        e = json_object_array_get_idx(arr, 0);
        assert_true(json_object_object_get_ex(e, "dhchap-secret", &v));
        assert_string_equal(json_object_get_string(v), "<set>");
        assert_true(json_object_object_get_ex(e, "line", &v));
        assert_int_equal(json_object_get_int(v), 4);
        assert_true(json_object_object_get_ex(e, "kato", &v));
        assert_int_equal(json_object_get_int(v), 4);
        assert_false(json_object_object_get_ex(e, "trsvcid", &v));
        assert_true(json_object_object_get_ex(g, "exclude", &arr));
        assert_int_equal(json_object_array_length(arr), 1);

        text = json_to_string_dup(o, true);
        assert_non_null(text);
        assert_null(strstr(text, "DHHC"));
        assert_non_null(strstr(text, "\n    \"Global\": {\n        \"tron\": false,"));

        so = json_sysconf(s);
        stext = json_to_string_dup(so, false);
        assert_non_null(stext);
        assert_null(strstr(stext, "hostkey="));
        assert_non_null(strstr(stext, "\"hostkey\":\"<set>\""));
        assert_non_null(strstr(stext, "\"hostnqn\":\"nqn.x\""));

        assert_int_equal(json_add_string(so, "extra", NULL), 0);
        assert_true(json_object_object_get_ex(so, "extra", &v));
        assert_string_equal(json_object_get_string(v), "");
}

static int setup(void **state) {
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0)
                (void) !system(cmd);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_only_comments),
                cmocka_unit_test(test_all_keys),
                cmocka_unit_test(test_booleans),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_inline_comments),
                cmocka_unit_test(test_semicolon_spacing),
                cmocka_unit_test(test_last_wins),
                cmocka_unit_test(test_case),
                cmocka_unit_test(test_continuation),
                cmocka_unit_test(test_invalid_values),
                cmocka_unit_test(test_queue_size_range),
                cmocka_unit_test(test_unknown),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_dhchap),
                cmocka_unit_test(test_controller_entries),
                cmocka_unit_test(test_parse_controller_direct),
                cmocka_unit_test(test_timespan),
                cmocka_unit_test(test_persistence_key),
                cmocka_unit_test(test_persistence_clamped),
                cmocka_unit_test(test_limits_keys),
                cmocka_unit_test(test_sysconf_files),
                cmocka_unit_test(test_sysconf_literal),
                cmocka_unit_test(test_sysconf_generated),
                cmocka_unit_test(test_sysconf_stable_nqn),
                cmocka_unit_test(test_sysconf_missing),
                cmocka_unit_test(test_conf_load),
                cmocka_unit_test(test_controller_not_utf8),
                cmocka_unit_test(test_garbage_warnings_collapsed),
                cmocka_unit_test(test_repeated_warnings_collapsed),
                cmocka_unit_test(test_many_warnings_linear),
                cmocka_unit_test(test_fifo_never_read),
                cmocka_unit_test(test_data_files),
                cmocka_unit_test(test_json),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
