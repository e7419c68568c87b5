/*
 * Replay protection for signed requests (nonces.c): the (kid, nonce)
 * pairs seen within the skew window, kept in an LMDB database so that a
 * restart does not reopen the window.  The caller owns the environment
 * and the transaction; a pair's value is the request's ts, by which
 * pairs older than the window are pruned, leaving a floor below which
 * every ts is refused (nonces.c).  Approval tokens are spent the same
 * way, by nonce, kept until their exp, under the same floor.
 */
#ifndef NUCLEUS_NONCES_H
#define NUCLEUS_NONCES_H

#include <stdint.h>

#include <lmdb.h>

#include "audit.h"

/* Why a ts below the floor is refused, as replayed. */
#define REPLAY_FLOOR_WHY "ts: older than the oldest nonce still remembered " \
	"(the skew was wider, or the clock later, when it was forgotten)"

int	 replay_put(MDB_txn *, MDB_dbi, const char *,
	    const uint8_t[AUDIT_NONCE_LEN], int64_t, struct audit_err *);
int	 replay_spend(MDB_txn *, MDB_dbi, const uint8_t[AUDIT_NONCE_LEN],
	    int64_t, struct audit_err *);
int	 replay_prune(MDB_env *, MDB_dbi, int64_t);
int64_t	 replay_floor(MDB_txn *, MDB_dbi);

#endif
