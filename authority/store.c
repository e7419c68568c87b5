/*
 * What the authority must not forget across a restart, in LMDB
 * (state.mdb in its directory):
 *
 *	requests	id (8 bytes, big-endian, so in order) -> the request
 *			as CJSON: who asked for what, its state, and once
 *			decided, by whom and the token.  The state changes
 *			in a transaction that first checks it is pending,
 *			so one request can never be granted twice.
 *	nonces		kid NUL nonce -> the request's ts: seen (kid, nonce)
 *			pairs, pruned once outside the skew window.
 *	meta		"next_id".
 *
 * Transactions commit without a sync; the daemon syncs once for every
 * change made in one turn of its loop, before any of them is answered or
 * recorded (store_sync).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"
#include "nonces.h"
#include "statedb.h"

#define MAP_SIZE	(1024UL * 1024 * 1024)

struct store {
	MDB_env	*env;
	MDB_dbi	 requests, nonces, meta;
	int	 dirty;		/* committed, not yet synced */
	int	 fault_said;	/* a write failed: said on stderr */
};

/* A write of the state failed: said once on stderr, until one works. */
static int
write_failed(struct store *s, struct audit_err *err, const char *what,
    int rc)
{
	if (!s->fault_said)
		fprintf(stderr, "nucleus-authority: the state cannot be "
		    "written (%s: %s; is the disk full?): requests that change "
		    "it are answered unavailable until it can be\n", what,
		    mdb_strerror(rc));
	s->fault_said = 1;
	return audit_errf(err, "state: %s: %s", what, mdb_strerror(rc));
}

static void
write_worked(struct store *s)
{
	if (s->fault_said)
		fprintf(stderr, "nucleus-authority: the state is written "
		    "again\n");
	s->fault_said = 0;
}

static int
lmdb_fail(struct audit_err *err, const char *what, int rc)
{
	return audit_errf(err, "state: %s: %s", what, mdb_strerror(rc));
}

int
store_open(struct store **out, const char *path, struct audit_err *err)
{
	struct statedb_dbi dbis[] = { { "requests", NULL }, { "nonces", NULL },
	    { "meta", NULL }, { NULL, NULL } };
	struct store *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return audit_errf(err, "out of memory");
	dbis[0].dbi = &s->requests;
	dbis[1].dbi = &s->nonces;
	dbis[2].dbi = &s->meta;
	if (statedb_open(&s->env, path, MAP_SIZE, dbis, err) != 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	(void)mdb_env_sync(s->env, 1);
	mdb_env_close(s->env);	/* committed, synced: nothing lost */
	free(s);
}

/* Make every commit so far durable; nothing to do when none was made. */
int
store_sync(struct store *s, struct audit_err *err)
{
	int rc;

	if (!s->dirty)
		return 0;
	if ((rc = mdb_env_sync(s->env, 1)) != 0)
		return write_failed(s, err, "sync", rc);
	s->dirty = 0;
	return 0;
}

int
store_begin(struct store *s, MDB_txn **txn, int rdonly, struct audit_err *err)
{
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0,
	    txn)) != 0)
		return lmdb_fail(err, "begin", rc);
	return 0;
}

int
store_commit(struct store *s, MDB_txn *txn, struct audit_err *err)
{
	int rc;

	if ((rc = mdb_txn_commit(txn)) != 0)
		return write_failed(s, err, "commit", rc);
	write_worked(s);
	s->dirty = 1;
	return 0;
}

/* 1 when (kid, nonce) was seen before, 0 when it is now, -1 on error. */
int
store_nonce_put(struct store *s, MDB_txn *txn, const char *kid,
    const uint8_t nonce[AUDIT_NONCE_LEN], int64_t ts, struct audit_err *err)
{
	return replay_put(txn, s->nonces, kid, nonce, ts, err);
}

/* Forget nonces whose ts is before `before`: they are refused anyway. */
int
store_nonce_prune(struct store *s, int64_t before)
{
	return replay_prune(s->env, s->nonces, before);
}

int
store_next_id(struct store *s, MDB_txn *txn, uint64_t *id,
    struct audit_err *err)
{
	MDB_val k = { 7, (void *)"next_id" }, v;
	uint64_t next = 1;
	int rc;

	/* Only a new state starts again at 1: ids are never reissued. */
	if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, "next_id", rc);
	if (rc == 0 && v.mv_size != sizeof(next))
		return audit_errf(err, "state: next_id: %zu bytes, not %zu",
		    v.mv_size, sizeof(next));
	if (rc == 0)
		memcpy(&next, v.mv_data, sizeof(next));
	*id = next++;
	v.mv_size = sizeof(next);
	v.mv_data = &next;
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return lmdb_fail(err, "next_id", rc);
	return 0;
}

static void
id_key(uint8_t key[8], uint64_t id)
{
	for (int i = 7; i >= 0; i--, id >>= 8)
		key[i] = (uint8_t)id;
}

static uint64_t
key_id(const MDB_val *k)
{
	const uint8_t *p = k->mv_data;
	uint64_t id = 0;

	for (size_t i = 0; i < 8 && i < k->mv_size; i++)
		id = id << 8 | p[i];
	return id;
}

int
store_put(struct store *s, MDB_txn *txn, uint64_t id, const json_t *rec,
    struct audit_err *err)
{
	struct audit_buf b = { 0 };
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	id_key(key, id);
	if (cjson_encode(rec, &b, err) != 0) {
		audit_buf_free(&b);
		return -1;
	}
	v.mv_size = b.len;
	v.mv_data = b.p;
	rc = mdb_put(txn, s->requests, &k, &v, 0);
	audit_buf_free(&b);
	if (rc != 0)
		return lmdb_fail(err, "request", rc);
	return 0;
}

static json_t *
parse_value(const MDB_val *v)
{
	json_error_t jerr;

	return json_loadb(v->mv_data, v->mv_size, JSON_REJECT_DUPLICATES,
	    &jerr);
}

/* 0 with *rec (a new reference), -1 when there is no such request. */
int
store_get(struct store *s, MDB_txn *txn, uint64_t id, json_t **rec)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;

	id_key(key, id);
	*rec = NULL;
	if (mdb_get(txn, s->requests, &k, &v) != 0)
		return -1;
	return (*rec = parse_value(&v)) != NULL ? 0 : -1;
}

/* Call fn for each request in id order, until it returns nonzero. */
int
store_each(struct store *s, MDB_txn *txn, store_each_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc = 0;

	if (mdb_cursor_open(txn, s->requests, &cur) != 0)
		return -1;
	while (rc == 0 && (mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		json_t *rec = parse_value(&v);

		if (rec == NULL)
			continue;
		rc = fn(arg, key_id(&k), rec);
		json_decref(rec);
	}
	mdb_cursor_close(cur);
	/* A read that failed is not the end of the requests. */
	if (rc == 0 && mrc != MDB_NOTFOUND)
		return -1;
	return rc < 0 ? -1 : 0;
}

int
store_del(struct store *s, MDB_txn *txn, uint64_t id)
{
	uint8_t key[8];
	MDB_val k = { 8, key };

	id_key(key, id);
	return mdb_del(txn, s->requests, &k, NULL) == 0 ? 0 : -1;
}

MDB_env *
store_env(struct store *s)
{
	return s->env;
}
