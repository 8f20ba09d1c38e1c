/* SPDX-License-Identifier: Apache-2.0 */
/* daemon/firmware: NBFT files -> controller= entries, the HFI's interface found
 * by MAC in a fake /sys/class/net. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware.h"
#include "macro.h"
#include "nbft-build.h"

#define SYSNQN "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001"
#define TABLENQN "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000002"

static char root[] = "/tmp/test-firmware-XXXXXX";

static void put(const char *rel, const char *text) {
        char path[512];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void dir(const char *rel) {
        char path[512];

        (void) snprintf(path, sizeof(path), "%s/%s", root, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}

static void table(const char *name, const NbTable *t) {
        uint8_t buf[4096];
        char path[512];
        size_t len = nb_build(t, buf, sizeof(buf), NULL);
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/tables/%s", root, name);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, len, f), len);
        fclose(f);
}

static void iface(const char *name, const char *mac, const char *index, bool enslaved) {
        char rel[256];

        (void) snprintf(rel, sizeof(rel), "net/%s", name);
        dir(rel);
        (void) snprintf(rel, sizeof(rel), "net/%s/address", name);
        put(rel, mac);
        (void) snprintf(rel, sizeof(rel), "net/%s/ifindex", name);
        put(rel, index);
        if (enslaved) {
                (void) snprintf(rel, sizeof(rel), "net/%s/master", name);
                put(rel, "");
        }
}

static int setup(void **state) {
        char path[512];
        NbTable t = {
                .hostnqn = TABLENQN,
                .host_id = { 0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
                .hfi = { { .mac = { 0x52, 0x54, 0, 0, 0, 1 } },
                         { .mac = { 0x52, 0x54, 0, 0, 0, 2 } },
                         { .mac = { 0x52, 0x54, 0, 0, 0, 3 } } },
                .n_hfi = 3,
                .dc = { { .uri = "nvme+tcp://10.0.0.1:8009/" },
                        { .hfi_index = 2, .uri = "nvme+tcp://10.0.0.2/" },
                        { .hfi_index = 3, .uri = "nvme+tcp://10.0.0.3/" },
                        { .hfi_index = 2, .uri = "nvme+tcp://[fd00::4]:4420/", .nqn = "nqn.x:y" } },
                .n_dc = 4,
        };

        assert_non_null(mkdtemp(root));
        dir("tables");
        dir("net");
        /* MAC 1: a bond port (enslaved) and the bond: the bond wins. */
        iface("eth0", "52:54:00:00:00:01\n", "2\n", true);
        iface("bond0", "52:54:00:00:00:01\n", "9\n", false);
        /* MAC 2: two interfaces: the lowest ifindex wins. */
        iface("ethb", "52:54:00:00:00:02\n", "7\n", false);
        iface("etha", "52:54:00:00:00:02\n", "4\n", false);
        iface("lo", "00:00:00:00:00:00\n", "1\n", false);
        /* MAC 3: nobody. */
        table("NBFT", &t);

        /* A second table: host NQN not configured; a broken one; a FIFO. */
        t = (NbTable){
                .hostnqn = TABLENQN,
                .host_flags = 0x3,
                .hfi = { { .mac = { 0x52, 0x54, 0, 0, 0, 2 } } },
                .n_hfi = 1,
                .dc = { { .uri = "nvme+tcp://10.0.0.5/" } },
                .n_dc = 1,
        };
        table("NBFT1", &t);
        put("tables/NBFT2", "NBFT garbage");
        (void) snprintf(path, sizeof(path), "%s/tables/NBFT3", root);
        assert_int_equal(mkfifo(path, 0600), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[600];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_load(void **state) {
        _cleanup_(firmware_freep) Firmware *c = NULL;
        char tables[512], net[512];
        Tid t;

        (void) snprintf(tables, sizeof(tables), "%s/tables", root);
        (void) snprintf(net, sizeof(net), "%s/net", root);
        assert_int_equal(firmware_new(&c, tables, net, SYSNQN), 0);
        assert_int_equal(c->n_nbft, 5);

        assert_string_equal(c->nbft[0].conf.traddr, "10.0.0.1");
        assert_string_equal(c->nbft[0].conf.trsvcid, "8009");
        assert_string_equal(c->nbft[0].conf.host_iface, "bond0");
        assert_string_equal(c->nbft[0].conf.host_nqn, TABLENQN);
        assert_string_equal(c->nbft[0].conf.nqn, "nqn.2014-08.org.nvmexpress.discovery");
        assert_int_equal(c->nbft[0].conf.opts.kato, CONF_UNSET);
        assert_string_equal(c->nbft[1].conf.host_iface, "etha");
        assert_null(c->nbft[1].conf.trsvcid);
        assert_null(c->nbft[2].conf.host_iface);
        assert_string_equal(c->nbft[3].conf.traddr, "fd00::4");
        assert_string_equal(c->nbft[3].conf.host_iface, "etha");
        assert_string_equal(c->nbft[3].conf.nqn, "nqn.x:y");
        /* Second table: the system's host NQN. */
        assert_string_equal(c->nbft[4].conf.traddr, "10.0.0.5");
        assert_null(c->nbft[4].conf.host_nqn);
        assert_string_equal(c->nbft[4].tid.host_nqn, SYSNQN);
        assert_non_null(strstr(c->nbft[4].file, "/tables/NBFT1"));

        /* The host ID goes with the configured NQN only. */
        assert_string_equal(firmware_hostid(c, TABLENQN), "aaaaaaaa-0000-0000-0000-000000000002");
        assert_null(firmware_hostid(c, SYSNQN));
        assert_null(firmware_hostid(c, NULL));
        assert_null(firmware_hostid(NULL, TABLENQN));

        /* Matching DCs to their table. */
        assert_int_equal(tid_init(&t, "tcp", "10.0.0.2", NULL, NULL, NULL, "etha", TABLENQN, SYSNQN, false),
                         0);
        assert_non_null(strstr(firmware_nbft_source(c, &t), "/tables/NBFT"));
        tid_done(&t);
        /* ignore-iface: no host-iface on the DC still matches. */
        assert_int_equal(tid_init(&t, "tcp", "10.0.0.2", "8009", NULL, NULL, NULL, TABLENQN, SYSNQN, true),
                         0);
        assert_non_null(firmware_nbft_source(c, &t));
        tid_done(&t);
        /* Another interface, another host NQN, another port: no. */
        assert_int_equal(tid_init(&t, "tcp", "10.0.0.2", NULL, NULL, NULL, "ethb", TABLENQN, SYSNQN, false),
                         0);
        assert_null(firmware_nbft_source(c, &t));
        tid_done(&t);
        assert_int_equal(tid_init(&t, "tcp", "10.0.0.2", NULL, NULL, NULL, NULL, NULL, SYSNQN, false), 0);
        assert_null(firmware_nbft_source(c, &t));
        tid_done(&t);
        assert_int_equal(tid_init(&t, "tcp", "10.0.0.2", "8010", NULL, NULL, NULL, TABLENQN, SYSNQN, false),
                         0);
        assert_null(firmware_nbft_source(c, &t));
        assert_null(firmware_nbft_source(NULL, &t));
        tid_done(&t);
}

static void test_no_dir(void **state) {
        _cleanup_(firmware_freep) Firmware *c = NULL;

        assert_int_equal(firmware_new(&c, "/nonexistent/tables", "/nonexistent/net", SYSNQN), 0);
        assert_int_equal(c->n_nbft, 0);
        assert_int_equal(c->n_hosts, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_no_dir),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
