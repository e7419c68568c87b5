/*
 * The (kid, nonce) pairs a node or an authority has seen.  The key is
 * the kid, a NUL and the 16 nonce bytes; the value the request's ts.
 */
#define _GNU_SOURCE
#include <string.h>

#include "nonces.h"

/* 1 when (kid, nonce) was seen before, 0 when it is now, -1 on error. */
int
replay_put(MDB_txn *txn, MDB_dbi dbi, const char *kid,
    const uint8_t nonce[AUDIT_NONCE_LEN], int64_t ts, struct audit_err *err)
{
	uint8_t key[AUDIT_KID_MAX + 1 + AUDIT_NONCE_LEN];
	size_t n = strlen(kid);
	MDB_val k, v = { sizeof(ts), &ts };
	int rc;

	if (n > AUDIT_KID_MAX)
		return audit_errf(err, "replay: a kid is at most %d "
		    "characters", AUDIT_KID_MAX);
	memcpy(key, kid, n);
	key[n] = 0;
	memcpy(key + n + 1, nonce, AUDIT_NONCE_LEN);
	k.mv_size = n + 1 + AUDIT_NONCE_LEN;
	k.mv_data = key;
	rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc != 0)
		return audit_errf(err, "replay: %s", mdb_strerror(rc));
	return 0;
}

/* Forget pairs whose ts is before `before`: they are refused anyway. */
int
replay_prune(MDB_env *env, MDB_dbi dbi, int64_t before)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int n = 0;

	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		int64_t ts;

		if (v.mv_size != sizeof(ts))
			continue;
		memcpy(&ts, v.mv_data, sizeof(ts));
		if (ts < before && mdb_cursor_del(cur, 0) == 0)
			n++;
	}
	mdb_cursor_close(cur);
	if (mdb_txn_commit(txn) != 0)
		return -1;
	return n;
}
