/*
 * Opening a daemon's LMDB file, for the node, the proxy and the
 * authority alike: every return checked, and on any failure the
 * transaction aborted and the environment closed.
 *
 * The file is the path itself (MDB_NOSUBDIR), mode 0600.  Commits are
 * not synced one by one (MDB_NOSYNC): each daemon syncs once before it
 * acts on what it committed, for a whole batch.  MDB_NOTLS: a read
 * transaction is not tied to the thread that began it.
 */
#include "statedb.h"

static int
fail(struct audit_err *err, const char *path, int rc)
{
	return audit_errf(err, "state: %s: %s", path, mdb_strerror(rc));
}

/* Create each named database of dbis that is missing, in one transaction. */
static int
open_dbis(MDB_env *env, const struct statedb_dbi *dbis)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return rc;
	for (; dbis->name != NULL; dbis++)
		if ((rc = mdb_dbi_open(txn, dbis->name, MDB_CREATE,
		    dbis->dbi)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	return mdb_txn_commit(txn);	/* frees txn, failed or not */
}

/*
 * Open (creating) the LMDB file at path, at most mapsize bytes, with the
 * named databases of dbis.  *envp is the environment, or NULL on
 * failure, when nothing is left open.
 */
int
statedb_open(MDB_env **envp, const char *path, size_t mapsize,
    const struct statedb_dbi *dbis, struct audit_err *err)
{
	MDB_env *env;
	unsigned int n = 0;
	int rc;

	*envp = NULL;
	while (dbis[n].name != NULL)
		n++;
	if ((rc = mdb_env_create(&env)) != 0)
		return fail(err, path, rc);
	if ((rc = mdb_env_set_maxdbs(env, n)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, mapsize)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOSYNC |
	    MDB_NOTLS, 0600)) != 0 ||
	    (rc = open_dbis(env, dbis)) != 0) {
		mdb_env_close(env);
		return fail(err, path, rc);
	}
	*envp = env;
	return 0;
}
