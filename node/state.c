/*
 * The node's LMDB state: opened with its databases, and opened again
 * each second after a write of it failed (gate.c marks it broken), since
 * LMDB's memory of a failed commit is not to be trusted.
 */
#include <stdio.h>

#include "serve.h"
#include "statedb.h"

/* LMDB's state, opened with its databases. */
int
node_state_open(struct audit_err *err)
{
	const struct statedb_dbi dbis[] = { { "nonces", &N->gate.nonces },
	    { "tokens", &N->gate.tokens }, { "pods", &N->pods_dbi },
	    { NULL, NULL } };

	if (statedb_open(&N->env, N->state_path, NODE_STATE_MAP, dbis,
	    err) != 0)
		return -1;
	N->gate.env = N->env;
	return 0;
}

/*
 * Each second while a write of the state has failed: LMDB closed and
 * opened again, so that what it holds in memory is what the file holds.
 * Until it opens, requests are answered unavailable (gate.c).
 */
void
node_state_retry(void)
{
	struct audit_err e;

	if (!N->gate.broken)
		return;
	/* What the syncer was asked of the last opening, settled first. */
	nsync_wait();
	node_synced_run();
	if (N->env != NULL)
		mdb_env_close(N->env);
	N->env = N->gate.env = NULL;
	if (node_state_open(&e) != 0) {
		N->env = N->gate.env = NULL;
		return;
	}
	if (nsync_env(N->env, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return;
	}
	N->gate.broken = 0;
	node_synced_run();
}
