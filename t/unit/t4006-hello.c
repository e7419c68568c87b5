/*
 * The guest proxy's hello, the first thing the node takes from a pod:
 * a key-cert is signed only for a hello of this pod, naming the log id
 * the node chose (a file name of the host copy: never a path, never cut
 * short), and a 32-byte key; it names exactly those.
 */
#include <stdio.h>
#include <string.h>

#include "node.h"
#include "tap.h"

static struct audit_seckey *key;

static const char *const pk = "024w4I/I9l4jVgxV6b2N/tyzvE9C+qyqICu4JiO/T1A=";

static const char *chosen;	/* the log id the node chose */

/* local_hello on a hello of pod, log and pubkey: 0, the cert in cert. */
static int
hello(const char *pod, const char *log, const char *pubkey, char *cert,
    size_t certsz, char *why, size_t whysz)
{
	struct local_env env = { .node_key = key };
	struct local_pod lp = { .name = "p-0001" };
	struct audit_buf b = { 0 };
	struct audit_err e;
	char line[HELLO_MAX * 2];
	int rc;

	snprintf(line, sizeof(line), "{\"type\":\"hello\",\"v\":1,\"pod\":"
	    "\"%s\",\"log\":\"%s\",\"pubkey\":\"%s\"}", pod, log, pubkey);
	snprintf(lp.log, sizeof(lp.log), "%s", chosen != NULL ? chosen : log);
	e.msg[0] = '\0';
	rc = local_hello(&lp, &env, line, &b, &e);
	snprintf(why, whysz, "%s", e.msg);
	snprintf(cert, certsz, "%.*s", (int)b.len, b.p != NULL ? b.p : "");
	audit_buf_free(&b);
	if (rc == 0 && strcmp(lp.log, log) != 0)
		return -2;
	return rc;
}

int
main(void)
{
	char cert[2048], why[512], log[AUDIT_LOGID_MAX + 2], want[256];
	struct audit_err e;

	if (sodium_init() < 0 ||
	    audit_seckey_generate(&key, "node-1", &e) != 0)
		return 1;
	ok(hello("p-0001", "p-0001.1795971232.2ee7", pk, cert, sizeof(cert),
	    why, sizeof(why)) == 0, "a hello of this pod: certified");
	snprintf(want, sizeof(want), "\"log\":\"p-0001.1795971232.2ee7\"");
	ok(strstr(cert, want) != NULL && strstr(cert, pk) != NULL &&
	    strstr(cert, "\"type\":\"key-cert\"") != NULL &&
	    cert[strlen(cert) - 1] == '\n', "the cert names that log and key");
	ok(hello("p-0002", "p-0002.1", pk, cert, sizeof(cert), why,
	    sizeof(why)) == -1 && strstr(why, "hello") != NULL,
	    "a hello of another pod: refused");
	ok(hello("p-0001", "../../etc/cron.d/x", pk, cert, sizeof(cert), why,
	    sizeof(why)) == -1, "a log id that is a path: refused");
	ok(hello("p-0001", "p 1", pk, cert, sizeof(cert), why,
	    sizeof(why)) == -1, "a log id with a space: refused");
	memset(log, 'a', AUDIT_LOGID_MAX);
	log[AUDIT_LOGID_MAX] = '\0';
	ok(hello("p-0001", log, pk, cert, sizeof(cert), why, sizeof(why)) == 0,
	    "a log id of %d characters: certified, whole", AUDIT_LOGID_MAX);
	log[AUDIT_LOGID_MAX] = 'a';
	log[AUDIT_LOGID_MAX + 1] = '\0';
	ok(hello("p-0001", log, pk, cert, sizeof(cert), why, sizeof(why)) == -1,
	    "one more: refused, not cut short");
	ok(hello("p-0001", "p-0001.1", "AAAA", cert, sizeof(cert), why,
	    sizeof(why)) == -1, "a key that is not 32 bytes: refused");
	chosen = "p-0001.1795971232.2ee7";
	ok(hello("p-0001", "p-0002.1795971232.2ee7", pk, cert, sizeof(cert),
	    why, sizeof(why)) == -1 && strstr(why, "not the one the node "
	    "chose") != NULL && cert[0] == '\0', "a hello naming another "
	    "pod's log: refused, nothing signed");
	ok(hello("p-0001", "p-0001.1795971232.2ee8", pk, cert, sizeof(cert),
	    why, sizeof(why)) == -1 && cert[0] == '\0', "a hello naming "
	    "another log of its own pod: refused");
	chosen = "";
	ok(hello("p-0001", "p-0001.1795971232.2ee7", pk, cert, sizeof(cert),
	    why, sizeof(why)) == -1 && cert[0] == '\0', "no log chosen: "
	    "nothing is certified");
	audit_seckey_free(key);
	return done_testing();
}
