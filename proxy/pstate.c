/*
 * What the proxy must not forget across a restart, in LMDB:
 *
 *	nonces	every approval token nonce consumed, with the token's
 *		expiry; written and synced before the operation's decision
 *		record, so a crash can burn a token but never let it be
 *		used twice.  Expired ones are pruned: a token past its exp
 *		is refused anyway, and one whose exp is below what was
 *		pruned (the floor, libdaemon/nonces.c) is refused however
 *		wide the skew or late the clock is now, as the node's
 *		ledger does.
 *	budget	the micro-dollars used (consumed plus held by operations
 *		in flight).  Kept in memory, written and synced each second
 *		(a transaction per operation cost more than the operation);
 *		each decision record, durable before its operation starts,
 *		also carries the running total, and at start the proxy takes
 *		the larger of the two, so a crash forgets no spending.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "nonces.h"
#include "pstate.h"
#include "statedb.h"

#define MAP_SIZE	(64UL * 1024 * 1024)

struct pstate {
	MDB_env	*env;
	MDB_dbi	 nonces, meta;
	int64_t	 limit;
	int64_t	 consumed;	/* spent for good */
	int64_t	 reserved;	/* held by operations in flight */
	int	 dirty;		/* budget written but not synced */
};

static int
lmdb_fail(struct audit_err *err, const char *what, int rc)
{
	return audit_errf(err, "state: %s: %s", what, mdb_strerror(rc));
}

static int
put_used(struct pstate *s)
{
	MDB_txn *txn;
	MDB_val k = { 4, (void *)"used" }, v;
	int64_t used = s->consumed + s->reserved;

	v.mv_size = sizeof(used);
	v.mv_data = &used;
	if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_put(txn, s->meta, &k, &v, 0) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	s->dirty = 1;
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

/*
 * Open (creating) the state in dir.  limit is the policy's budget; the
 * used amount starts at the larger of what LMDB holds and floor (the
 * policy's own consumed amount).
 */
int
pstate_open(struct pstate **out, const char *dir, int64_t limit,
    int64_t floor, struct audit_err *err)
{
	struct statedb_dbi dbis[] = { { "nonces", NULL }, { "meta", NULL },
	    { NULL, NULL } };
	struct pstate *s;
	MDB_txn *txn;
	MDB_val k = { 4, (void *)"used" }, v;
	char path[4200];
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return audit_errf(err, "out of memory");
	s->limit = limit;
	if (audit_fit(path, sizeof(path), err, "%s/state.mdb", dir) != 0) {
		free(s);
		return -1;
	}
	dbis[0].dbi = &s->nonces;
	dbis[1].dbi = &s->meta;
	if (statedb_open(&s->env, path, MAP_SIZE, dbis, err) != 0)
		goto fail;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		lmdb_fail(err, "open", rc);
		goto fail;
	}
	if (mdb_get(txn, s->meta, &k, &v) == 0 && v.mv_size == sizeof(int64_t))
		memcpy(&s->consumed, v.mv_data, sizeof(int64_t));
	mdb_txn_abort(txn);
	if (floor > s->consumed)
		s->consumed = floor;
	if (put_used(s) != 0 || pstate_sync(s) != 0) {
		audit_errf(err, "state: cannot write %s", path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
	return -1;
}

void
pstate_close(struct pstate *s)
{
	if (s == NULL)
		return;
	pstate_sync(s);
	mdb_env_close(s->env);
	free(s);
}

void
pstate_budget(struct pstate *s, int64_t *consumed, int64_t *reserved)
{
	*consumed = s->consumed;
	*reserved = s->reserved;
}

/* Hold amount for an operation; -1 when it does not fit. */
int
pstate_reserve(struct pstate *s, int64_t amount)
{
	if (amount < 0 || amount > s->limit - s->consumed - s->reserved)
		return -1;
	s->reserved += amount;
	s->dirty = 1;
	return 0;
}

/* End a reservation: used of it is spent, the rest goes back. */
void
pstate_settle(struct pstate *s, int64_t reserved, int64_t used)
{
	if (reserved <= 0)
		return;
	if (used > reserved)
		used = reserved;
	s->reserved -= reserved;
	s->consumed += used;
	s->dirty = 1;
}

/* At start: nothing recorded as spent may be forgotten. */
void
pstate_floor(struct pstate *s, int64_t used)
{
	if (used > s->consumed) {
		s->consumed = used;
		s->dirty = 1;
		(void)pstate_sync(s);
	}
}

int
pstate_nonce_seen(struct pstate *s, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	MDB_txn *txn;
	MDB_val k = { AUDIT_NONCE_LEN, (void *)nonce }, v;
	int rc;

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 1;	/* cannot tell: treat as seen */
	rc = mdb_get(txn, s->nonces, &k, &v);
	mdb_txn_abort(txn);
	return rc != MDB_NOTFOUND;
}

/* Record a nonce as consumed, durably, before it is used. */
int
pstate_nonce_consume(struct pstate *s, const uint8_t nonce[AUDIT_NONCE_LEN],
    int64_t exp, struct audit_err *err)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return lmdb_fail(err, "nonce", rc);
	if ((rc = replay_spend(txn, s->nonces, nonce, exp, err)) != 0) {
		mdb_txn_abort(txn);
		return rc == 1 ? audit_errf(err, "the nonce was already "
		    "used") : rc == 2 ? audit_errf(err, "%s",
		    PSTATE_FLOOR_WHY) : -1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_fail(err, "nonce", rc);
	if ((rc = mdb_env_sync(s->env, 1)) != 0)
		return lmdb_fail(err, "sync", rc);
	return 0;
}

/* Make the budget durable; called each second and at exit. */
int
pstate_sync(struct pstate *s)
{
	if (!s->dirty)
		return 0;
	if (put_used(s) != 0 || mdb_env_sync(s->env, 1) != 0)
		return -1;
	s->dirty = 0;
	return 0;
}

/* Forget nonces whose tokens expired before `before`, which becomes
 * the floor. */
int
pstate_prune(struct pstate *s, int64_t before)
{
	return replay_prune(s->env, s->nonces, before);
}
