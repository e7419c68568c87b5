/*
 * The (kid, nonce) pairs a node or an authority has seen.  The key is
 * the kid, a NUL and the 16 nonce bytes; the value the request's ts.
 *
 * Pairs are pruned once their ts is outside the window, and the prune
 * leaves its bound behind, the floor (one key of one NUL byte, which no
 * pair's key and no token's 16 bytes can be): a ts below it is refused
 * whatever the window is now, because the pair that would show it seen
 * may be gone.  Without it, a daemon restarted with a wider skew (-w),
 * or whose clock was set back, would take again a line it once took.
 */
#define _GNU_SOURCE
#include <string.h>

#include "nonces.h"

static const uint8_t floor_key[1] = { 0 };

/* The floor of dbi: what its last prune forgot below; 0 when none. */
int64_t
replay_floor(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_val k = { sizeof(floor_key), (void *)floor_key }, v;
	int64_t f;

	if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof(f))
		return 0;
	memcpy(&f, v.mv_data, sizeof(f));
	return f;
}

/*
 * 1 when (kid, nonce) was seen before, 2 when ts is below the floor (it
 * might have been), 0 when it is new and now stored, -1 on error.
 */
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
	if (ts < replay_floor(txn, dbi))
		return 2;
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

/*
 * An approval token's nonce spent in dbi (keyed by the nonce alone),
 * kept until its exp is past: 0 when new and now stored, 1 when spent
 * before, 2 when exp is below the floor (a token spent then may have
 * been forgotten since), -1 on error.  The node's ledger and the
 * proxy's state both spend tokens so.
 */
int
replay_spend(MDB_txn *txn, MDB_dbi dbi, const uint8_t nonce[AUDIT_NONCE_LEN],
    int64_t exp, struct audit_err *err)
{
	MDB_val k = { AUDIT_NONCE_LEN, (void *)nonce }, v = { sizeof(exp),
	    &exp };
	int rc;

	if (exp < replay_floor(txn, dbi))
		return 2;
	rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc != 0)
		return audit_errf(err, "replay: %s", mdb_strerror(rc));
	return 0;
}

/*
 * Forget entries whose value (a ts, a token's exp) is before `before`:
 * they are refused anyway; the floor rises to `before`, never falls.
 */
int
replay_prune(MDB_env *env, MDB_dbi dbi, int64_t before)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v, fk = { sizeof(floor_key), (void *)floor_key };
	int n = 0;

	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		int64_t ts;

		if (v.mv_size != sizeof(ts) || k.mv_size == sizeof(floor_key))
			continue;
		memcpy(&ts, v.mv_data, sizeof(ts));
		if (ts < before && mdb_cursor_del(cur, 0) == 0)
			n++;
	}
	mdb_cursor_close(cur);
	if (before > replay_floor(txn, dbi)) {
		v.mv_size = sizeof(before);
		v.mv_data = &before;
		if (mdb_put(txn, dbi, &fk, &v, 0) != 0) {
			mdb_txn_abort(txn);
			return -1;
		}
	}
	if (mdb_txn_commit(txn) != 0)
		return -1;
	return n;
}
