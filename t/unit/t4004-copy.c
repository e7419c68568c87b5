/*
 * A pod's host-side audit copy (node/copy.c): a pod's log, certified by
 * the node, is copied line by line; a line changed, missing, from
 * another log or another key, or certified by another issuer stops the
 * copy, and nothing after it is taken.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "tap.h"

#define LINES_N	6

static char dir[] = "/tmp/nucleus-t4004-XXXXXX";
static struct audit_seckey *nodekey, *other, *podkey;
static struct audit_keyring trust;
static char *line[LINES_N];
static size_t len[LINES_N];

/* A pod's log of LINES_N records, certified by issuer; into line[]. */
static void
make_log(const char *name, const char *log, struct audit_seckey *issuer)
{
	char path[512], *buf = NULL;
	struct audit_log *l;
	struct audit_err e;
	size_t cap = 0;
	json_t *cert;
	uint64_t seq;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cert = audit_key_cert(issuer, log, podkey->pk, time(NULL), &e);
	if (cert == NULL || audit_log_open(&l, path, log, podkey, cert,
	    &e) != 0) {
		diag("%s", e.msg);
		exit(1);
	}
	json_decref(cert);
	for (int i = 1; i < LINES_N; i++) {
		json_t *ev = json_pack("{s:s, s:i}", "event", "decision",
		    "n", i);

		audit_log_append_wait(l, ev, &seq, NULL, &e);
		json_decref(ev);
	}
	audit_log_close(l, &e);
	f = fopen(path, "r");
	for (int i = 0; i < LINES_N; i++) {
		ssize_t n = getline(&buf, &cap, f);

		free(line[i]);
		line[i] = strndup(buf, (size_t)n - 1);
		len[i] = (size_t)n - 1;
	}
	free(buf);
	fclose(f);
}

static int
copy_all(const char *sub, const char *log, const uint8_t *pk, int upto,
    struct copy *c, struct audit_err *e)
{
	char d[512];
	int rc = 0;

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	mkdir(d, 0700);
	if (copy_open(c, d, log, &trust, e) != 0)
		return -2;
	for (int i = 0; i < upto && rc == 0; i++)
		rc = copy_line(c, line[i], len[i], log, pk, e);
	return rc;
}

int
main(void)
{
	struct audit_err e;
	struct copy c;
	char kr[256], *tampered;
	struct stat st;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	audit_seckey_generate(&nodekey, "node-1", &e);
	audit_seckey_generate(&other, "node-1", &e);	/* the same kid */
	audit_seckey_generate(&podkey, "pod-key", &e);
	audit_keyring_line(nodekey, "node", kr, sizeof(kr));
	audit_keyring_parse(&trust, kr, strlen(kr), 0, &e);

	make_log("p.log", "p.1.aaaa", nodekey);
	is_int(copy_all("a", "p.1.aaaa", podkey->pk, LINES_N, &c, &e), 0,
	    "a certified log is copied whole");
	ok(copy_sync(&c, &e) == 0 && c.syncs == 1 && !c.dirty,
	    "and made durable with one sync");
	ok(stat(c.path, &st) == 0 && (st.st_mode & 0777) == 0640,
	    "the copy is mode 0640");
	is_int((long long)c.chain.lines, LINES_N, "every record counted");
	ok(copy_sync(&c, &e) == 0 && c.syncs == 1, "nothing new: no sync");
	copy_close(&c);
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "cmp -s %s/p.log %s/a/p.1.aaaa.log",
		    dir, dir);
		ok(system(cmd) == 0, "the copy is the log, byte for byte");
	}
	is_int(copy_all("a", "p.1.aaaa", podkey->pk, 0, &c, &e), -2,
	    "a second copy of the same log is refused");
	ok(strstr(e.msg, "File exists") != NULL, "saying why: %s", e.msg);

	tampered = strdup(line[3]);
	tampered[len[3] / 2] ^= 1;
	free(line[3]);
	line[3] = tampered;
	is_int(copy_all("b", "p.1.aaaa", podkey->pk, LINES_N, &c, &e), -1,
	    "a changed line stops the copy");
	diag("%s", e.msg);
	ok(strstr(e.msg, "record 4") != NULL, "at its record");
	is_int((long long)c.chain.lines, 3, "the lines before it are kept");
	is_int(copy_line(&c, line[4], len[4], "p.1.aaaa", podkey->pk, &e), -1,
	    "and nothing after it is taken");
	copy_close(&c);

	make_log("q.log", "p.2.bbbb", nodekey);
	free(line[2]);
	line[2] = strdup(line[3]);
	len[2] = len[3];
	is_int(copy_all("c", "p.2.bbbb", podkey->pk, LINES_N, &c, &e), -1,
	    "a missing line stops the copy");
	ok(strstr(e.msg, "seq") != NULL, "as a seq fault: %s", e.msg);
	copy_close(&c);

	make_log("r.log", "p.3.cccc", nodekey);
	is_int(copy_all("d", "p.9.9999", podkey->pk, 1, &c, &e), -1,
	    "a log other than the one said in hello is refused");
	copy_close(&c);
	is_int(copy_all("e", "p.3.cccc", other->pk, 1, &c, &e), -1,
	    "a key other than the one certified is refused");
	copy_close(&c);

	make_log("s.log", "p.4.dddd", other);
	is_int(copy_all("f", "p.4.dddd", podkey->pk, 1, &c, &e), -1,
	    "a log certified by another key of the node's name is refused");
	ok(strstr(e.msg, "key-cert") != NULL, "for its key-cert: %s", e.msg);
	copy_close(&c);

	for (int i = 0; i < LINES_N; i++)
		free(line[i]);
	audit_keyring_free(&trust);
	audit_seckey_free(nodekey);
	audit_seckey_free(other);
	audit_seckey_free(podkey);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("%s left behind", dir);
	}
	return done_testing();
}
