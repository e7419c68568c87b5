/*
 * libFuzzer target: a line at the node's gate (node/gate.c), against the
 * vectors' keyring, a fixed clock and two pods.  Nothing may crash or
 * leak; a refusal has a kind and a message; an accepted line had its
 * signature verified and its key a role that may make it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1764400000LL	/* the vectors' ts */

/* t/vectors/keyring */
static const char ring[] =
    "node-1 ed25519 4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg= node\n"
    "authority-1 ed25519 GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs= "
    "authority\n"
    "agent-7 ed25519 NS+mLlJ3ZxqLg8H3S9mPWalwBmIjJ1pnQrR/0wkwHDI= agent\n"
    "agent-hmac hmac-sha256 E8UMU0a9vOrga9N6TyEbWzFWaCtl0xoUdZZi6GkOJmk= "
    "agent\n";

static struct audit_keyring keys;
static struct gate g;
static char dir[] = "/tmp/nucleus-fuzz-gate-XXXXXX";

/* The store is the run's own: gone with it. */
static void
remove_store(void)
{
	char path[sizeof(dir) + 16];

	mdb_env_close(g.env);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

static int
pod_exists(void *arg, const char *pod)
{
	(void)arg;
	return strcmp(pod, "p-0001") == 0 || strcmp(pod, "p-other") == 0;
}

static int
may_call(void *arg, const char *pod, const char *kid)
{
	if (!pod_exists(arg, pod))
		return -1;
	return strcmp(pod, "p-0001") == 0 && strncmp(kid, "agent-", 6) == 0;
}

static void
setup(void)
{
	struct audit_err e;
	MDB_txn *txn;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL ||
	    audit_keyring_parse(&keys, ring, sizeof(ring) - 1, 1, &e) != 0 ||
	    mdb_env_create(&g.env) != 0 ||
	    mdb_env_set_mapsize(g.env, 64UL << 20) != 0 ||
	    mdb_env_set_maxdbs(g.env, 3) != 0 ||
	    mdb_env_open(g.env, dir, MDB_NOSYNC, 0600) != 0 ||
	    mdb_txn_begin(g.env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, "nonces", MDB_CREATE, &g.nonces) != 0 ||
	    mdb_dbi_open(txn, "tokens", MDB_CREATE, &g.tokens) != 0 ||
	    mdb_txn_commit(txn) != 0)
		abort();
	atexit(remove_store);
	g.keys = &keys;
	g.skew = GATE_SKEW;
	g.line_max = GATE_LINE_MAX;
	g.pod_exists = pod_exists;
	g.may_call = may_call;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct gate_req q;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (gate_check(&g, (const char *)data, size, NOW, &q) != 0) {
		if (q.kind == NULL || q.why == NULL)
			abort();
	} else if (!q.verified || (strcmp(q.role, "admin") != 0 &&
	    strcmp(q.role, "agent") != 0) || (strcmp(q.role, "agent") == 0 &&
	    q.node_op))
		abort();	/* let through what it should not */
	gate_req_free(&q);
	return 0;
}
