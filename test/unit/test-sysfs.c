/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/sysfs.c against a fake /sys/class/nvme tree in a temp dir: the
 * adoption matcher and its index (read once per pass), sysfs_read_info().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "conf.h"
#include "sysfs.h"
#include "macro.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define OTHERNQN "nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555"
#define UNIQUE_NQN "nqn.1988-11.com.dell:sfss:1:20230101"

static char root[256];

static void write_attr(const char *dev, const char *attr, const char *val) {
        char path[512];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s/%s", root, dev, attr);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "%s\n", val);
        fclose(f);
}

static void make_dir(const char *dev, const char *sub) {
        char path[512];

        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s%s%s", root, dev, sub ? "/" : "", sub ?: "");
        assert_int_equal(mkdir(path, 0755), 0);
}

/* A controller; NULL attributes are not written (old kernel). */
static void make_ctrl(const char *dev, const char *transport, const char *subsysnqn,
                      const char *hostnqn, const char *cntrltype, const char *state,
                      const char *address) {
        make_dir(dev, NULL);
        write_attr(dev, "transport", transport);
        write_attr(dev, "subsysnqn", subsysnqn);
        write_attr(dev, "hostnqn", hostnqn);
        if (cntrltype)
                write_attr(dev, "cntrltype", cntrltype);
        write_attr(dev, "state", state);
        write_attr(dev, "address", address);
        write_attr(dev, "model", "Linux");
        write_attr(dev, "serial", "  abc123  ");
}

static int setup(void **state) {
        char path[512];

        (void) snprintf(root, sizeof(root), "/tmp/test-fabric-match.XXXXXX");
        assert_non_null(mkdtemp(root));
        (void) snprintf(path, sizeof(path), "%s/class", root);
        assert_int_equal(mkdir(path, 0755), 0);
        (void) snprintf(path, sizeof(path), "%s/class/nvme", root);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(sysfs_set_root(root), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[600];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(sysfs_set_root(NULL), 0);
        return 0;
}

static Tid tid_tcp(const char *traddr, const char *trsvcid, const char *subsysnqn,
                   const char *host_traddr, const char *host_iface, const char *hostnqn) {
        return (Tid) {
                .transport = (char *) "tcp",
                .traddr = (char *) traddr,
                .trsvcid = (char *) trsvcid,
                .subsysnqn = (char *) subsysnqn,
                .host_traddr = (char *) host_traddr,
                .host_iface = (char *) host_iface,
                .host_nqn = (char *) hostnqn,
        };
}

/* A new pass: the tests change the tree between lookups. */
static int find(const Tid *t, char *dev) {
        dev[0] = 0;
        sysfs_index_invalidate();
        return sysfs_find_existing(t, NULL, NULL, NULL, dev, 32);
}

static void test_empty(void **state) {
        Tid t = tid_tcp("127.0.0.1", "8009", DISC_NQN, "", "", HOSTNQN);
        char dev[32];

        assert_int_equal(find(&t, dev), 0);
        assert_int_equal(sysfs_set_root("/nonexistent-sysfs"), 0);
        assert_int_equal(find(&t, dev), 0);
        assert_int_equal(sysfs_set_root(root), 0);
}

static void test_match(void **state) {
        char dev[32];
        Tid t;

        /* I/O controller to the same address: never adopted. */
        make_ctrl("nvme0", "tcp", "nqn.2014-08.org.example:io1", HOSTNQN, "io", "live",
                  "traddr=127.0.0.1,trsvcid=8009,src_addr=127.0.0.1");
        make_dir("nvme0", "nvme0n1");
        /* Being deleted. */
        make_ctrl("nvme1", "tcp", DISC_NQN, HOSTNQN, "discovery", "deleting",
                  "traddr=127.0.0.1,trsvcid=8009,src_addr=127.0.0.1");
        /* The one: IPv4-mapped spelling, connecting. */
        make_ctrl("nvme7", "tcp", DISC_NQN, HOSTNQN, "discovery", "connecting",
                  "traddr=::ffff:127.0.0.1,trsvcid=8009,src_addr=127.0.0.1");
        /* Other host NQN, other port. */
        make_ctrl("nvme2", "tcp", DISC_NQN, OTHERNQN, "discovery", "live",
                  "traddr=127.0.0.1,trsvcid=8009,src_addr=127.0.0.1");
        make_ctrl("nvme3", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1");

        t = tid_tcp("127.0.0.1", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme7");

        /* A live match beats a connecting one, whatever the numbers. */
        make_ctrl("nvme9", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=127.0.0.1,trsvcid=8009,src_addr=127.0.0.1");
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme9");

        t = tid_tcp("127.0.0.2", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);
        t = tid_tcp("127.0.0.1", "8009", DISC_NQN, "", "", "nqn.x");
        assert_int_equal(find(&t, dev), 0);
        t = tid_tcp("127.0.0.1", "4420", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme3");

        /* rdma TID never matches tcp controllers. */
        t = tid_tcp("127.0.0.1", "8009", DISC_NQN, "", "", HOSTNQN);
        t.transport = (char *) "rdma";
        assert_int_equal(find(&t, dev), 0);

        /* Buffer too small */
        t = tid_tcp("127.0.0.1", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(sysfs_find_existing(&t, NULL, NULL, NULL, dev, 3), -ENOBUFS);
}

static void test_ipv6_and_nqn(void **state) {
        char dev[32];
        Tid t;

        /* Unique discovery NQN, no cntrltype attribute (old kernel), no
         * namespaces: taken as discovery controller. */
        make_ctrl("nvme10", "tcp", UNIQUE_NQN, HOSTNQN, NULL, "live",
                  "traddr=FE80::0:1%eth0,trsvcid=8009");
        /* Same, but it has namespaces (nvme11c2n1 multipath form). */
        make_ctrl("nvme11", "tcp", UNIQUE_NQN, HOSTNQN, NULL, "live",
                  "traddr=fe80::2,trsvcid=8009");
        make_dir("nvme11", "nvme11c2n1");

        t = tid_tcp("fe80::1%eth0", "8009", UNIQUE_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme10");
        /* Configured with the well-known NQN: same DC. */
        t = tid_tcp("fe80::1%eth0", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme10");
        /* Different unique NQN */
        t = tid_tcp("fe80::1", "8009", "nqn.other", "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);
        t = tid_tcp("fe80::2", "8009", UNIQUE_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);
}

static void test_host_side(void **state) {
        char dev[32];
        Tid t;

        make_ctrl("nvme20", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.9.9.9,trsvcid=8009,host_traddr=10.0.0.5,src_addr=10.0.0.5");
        make_ctrl("nvme21", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.9.9.8,trsvcid=8009,host_iface=eth1,src_addr=10.0.0.6");
        /* Kernel without host_iface in address: resolved from src_addr. */
        make_ctrl("nvme22", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.9.9.7,trsvcid=8009,src_addr=127.0.0.1");

        t = tid_tcp("10.9.9.9", "8009", DISC_NQN, "10.0.0.5", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme20");
        t = tid_tcp("10.9.9.9", "8009", DISC_NQN, "10.0.0.99", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);
        /* No host-traddr in the TID: any */
        t = tid_tcp("10.9.9.9", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);

        t = tid_tcp("10.9.9.8", "8009", DISC_NQN, "", "eth1", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme21");
        t = tid_tcp("10.9.9.8", "8009", DISC_NQN, "", "eth2", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);

        t = tid_tcp("10.9.9.7", "8009", DISC_NQN, "", "lo", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme22");
        t = tid_tcp("10.9.9.7", "8009", DISC_NQN, "", "eth7", HOSTNQN);
        assert_int_equal(find(&t, dev), 0);
        /* src_addr is also what host-traddr is compared with */
        t = tid_tcp("10.9.9.7", "8009", DISC_NQN, "127.0.0.1", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
}

static void test_sysfs_info(void **state) {
        FabricCtrlInfo info;

        make_ctrl("nvme30", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.1.1.1,trsvcid=8009");
        write_attr("nvme30", "dctype", "cdc");
        write_attr("nvme30", "hostid", "11111111-2222-3333-4444-555555555555");
        assert_int_equal(sysfs_read_info("nvme30", &info), 0);
        assert_string_equal(info.device, "nvme30");
        assert_string_equal(info.cntrltype, "discovery");
        assert_string_equal(info.dctype, "cdc");
        assert_string_equal(info.model, "Linux");
        assert_string_equal(info.serial, "abc123");
        assert_string_equal(info.hostnqn, HOSTNQN);
        assert_string_equal(info.hostid, "11111111-2222-3333-4444-555555555555");

        assert_int_equal(sysfs_read_info("nvme31", &info), -ENOENT);
        assert_int_equal(sysfs_read_info("../nvme30", &info), -EINVAL);
}

static void test_address_rules(void **state) {
        char v[16];

        sysfs_address_get("traddr=10.0.0.1,trsvcid=8009,src_addr=10.0.0.5", "trsvcid", v, sizeof(v));
        assert_string_equal(v, "8009");
        sysfs_address_get("traddr=10.0.0.1,trsvcid=8009", "src_addr", v, sizeof(v));
        assert_string_equal(v, "");
        sysfs_address_get("xtraddr=1,traddr= 2 ", "traddr", v, sizeof(v));
        assert_string_equal(v, "2");
        sysfs_address_get("traddr=0123456789abcdefghij", "traddr", v, 8);
        assert_string_equal(v, "0123456");

        assert_true(sysfs_addr_equal("::ffff:127.0.0.1", "127.0.0.1"));
        assert_true(sysfs_addr_equal("FE80::0:1%ETH0", "fe80::1%eth0"));
        /* A missing scope on either side matches any scope ... */
        assert_true(sysfs_addr_equal("fe80::1", "fe80::1%eth0"));
        assert_true(sysfs_addr_equal("fe80::1%eth0", "fe80::1"));
        /* ... two scopes must be equal. */
        assert_false(sysfs_addr_equal("fe80::1%eth0", "fe80::1%eth1"));
        assert_false(sysfs_addr_equal("fe80::1", "fe80::2"));
        /* Not IP literals: case-insensitive strings (fc). */
        assert_true(sysfs_addr_equal("nn-0x1000:pn-0x2000", "NN-0x1000:PN-0x2000"));
        assert_false(sysfs_addr_equal("127.0.0.1%eth0", "127.0.0.1"));
}

static bool skip_listed(const char *device, void *ud) {
        for (char **l = ud; *l; l++)
                if (streq(*l, device))
                        return true;
        return false;
}

/* A device owned by one DC is never adopted by another: the next best
 * match, or none. */
static void test_owned_skipped(void **state) {
        char *owned[] = { (char *) "nvme41", NULL, NULL };
        char dev[32];
        Tid t;

        make_ctrl("nvme41", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.4.4.4,trsvcid=8009,src_addr=10.0.0.5");
        make_ctrl("nvme42", "tcp", DISC_NQN, HOSTNQN, "discovery", "connecting",
                  "traddr=10.4.4.4,trsvcid=8009,src_addr=10.0.0.5");
        t = tid_tcp("10.4.4.4", "8009", DISC_NQN, "", "", HOSTNQN);
        assert_int_equal(find(&t, dev), 1);
        assert_string_equal(dev, "nvme41");
        assert_int_equal(sysfs_find_existing(&t, NULL, skip_listed, owned, dev, sizeof(dev)), 1);
        assert_string_equal(dev, "nvme42");
        owned[1] = (char *) "nvme42";
        assert_int_equal(sysfs_find_existing(&t, NULL, skip_listed, owned, dev, sizeof(dev)), 0);
}

/* 200 live DCs restarting: the kernel's controllers are read once, and each
 * DC finds its own through the index. */
static void test_index_once_per_pass(void **state) {
        uint64_t builds;
        char dev[32];

        for (int i = 0; i < 200; i++) {
                char name[16], addr[128];

                (void) snprintf(name, sizeof(name), "nvme%d", 100 + i);
                (void) snprintf(addr, sizeof(addr), "traddr=10.7.%d.%d,trsvcid=8009,src_addr=10.0.0.5",
                                i / 200, i % 200 + 1);
                make_ctrl(name, "tcp", DISC_NQN, HOSTNQN, "discovery", "live", addr);
        }
        sysfs_index_invalidate();
        builds = sysfs_index_builds();
        for (int i = 0; i < 200; i++) {
                char traddr[32], want[16];
                Tid t;

                (void) snprintf(traddr, sizeof(traddr), "10.7.%d.%d", i / 200, i % 200 + 1);
                (void) snprintf(want, sizeof(want), "nvme%d", 100 + i);
                t = tid_tcp(traddr, "8009", DISC_NQN, "", "", HOSTNQN);
                assert_int_equal(sysfs_find_existing(&t, NULL, NULL, NULL, dev, sizeof(dev)), 1);
                assert_string_equal(dev, want);
        }
        /* One pass (a slow machine may cross the age limit once). */
        assert_in_range(sysfs_index_builds() - builds, 1, 2);

        /* A new controller is not seen until the pass ends... */
        make_ctrl("nvme400", "tcp", DISC_NQN, HOSTNQN, "discovery", "live",
                  "traddr=10.8.0.1,trsvcid=8009,src_addr=10.0.0.5");
        {
                Tid t = tid_tcp("10.8.0.1", "8009", DISC_NQN, "", "", HOSTNQN);

                /* ... which a uevent ends. */
                sysfs_index_invalidate();
                assert_int_equal(sysfs_find_existing(&t, NULL, NULL, NULL, dev, sizeof(dev)), 1);
                assert_string_equal(dev, "nvme400");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_match, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ipv6_and_nqn, setup, teardown),
                cmocka_unit_test_setup_teardown(test_host_side, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sysfs_info, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owned_skipped, setup, teardown),
                cmocka_unit_test(test_address_rules),
                cmocka_unit_test_setup_teardown(test_index_once_per_pass, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
