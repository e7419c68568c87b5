/*
 * A daemon's LMDB file (statedb.c): made with its named databases, found
 * again, and on a failure nothing left open: not the environment, not a
 * transaction (a database half made is not kept).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedb.h"
#include "tap.h"

static char dir[] = "/tmp/t1104.XXXXXX";

static int
put(MDB_env *env, MDB_dbi dbi, const char *key, const char *val)
{
	MDB_val k = { strlen(key), (void *)key }, v = { strlen(val),
	    (void *)val };
	MDB_txn *txn;

	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	if (mdb_put(txn, dbi, &k, &v, 0) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

static int
has(MDB_env *env, MDB_dbi dbi, const char *key)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	int rc;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	rc = mdb_get(txn, dbi, &k, &v) == 0;
	mdb_txn_abort(txn);
	return rc;
}

static void
made_and_found(const char *path)
{
	MDB_dbi a, b;
	const struct statedb_dbi dbis[] = { { "a", &a }, { "b", &b },
	    { NULL, NULL } };
	struct audit_err e;
	struct stat st;
	MDB_env *env;

	ok(statedb_open(&env, path, 1 << 20, dbis, &e) == 0 && env != NULL,
	    "a new file is made");
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0777) == 0600, "one file, mode 0600");
	ok(put(env, a, "k", "1") == 0 && put(env, b, "k", "2") == 0 &&
	    mdb_env_sync(env, 1) == 0, "each database takes a write");
	mdb_env_close(env);
	ok(statedb_open(&env, path, 1 << 20, dbis, &e) == 0 &&
	    has(env, a, "k") && has(env, b, "k"), "and is found again");
	mdb_env_close(env);
}

static void
not_lmdb(const char *path)
{
	MDB_dbi a;
	const struct statedb_dbi dbis[] = { { "a", &a }, { NULL, NULL } };
	struct audit_err e;
	MDB_env *env = (MDB_env *)1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char junk[8192];

	memset(junk, 'x', sizeof(junk));
	if (fd < 0 || write(fd, junk, sizeof(junk)) != sizeof(junk))
		diag("cannot write %s", path);
	close(fd);
	ok(statedb_open(&env, path, 1 << 20, dbis, &e) != 0 && env == NULL,
	    "a file that is not LMDB is refused, nothing open");
	if (!ok(strncmp(e.msg, "state: ", 7) == 0 && strstr(e.msg, path) !=
	    NULL && strstr(e.msg, "MDB_INVALID") != NULL,
	    "the error names the file and why"))
		diag("%s", e.msg);
}

/*
 * A file whose main database has a plain key "b": the database "b"
 * cannot be made, after "a" was, in the same transaction.
 */
static void
half_made(const char *path)
{
	MDB_dbi a, b, main;
	const struct statedb_dbi dbis[] = { { "a", &a }, { "b", &b },
	    { NULL, NULL } };
	struct audit_err e;
	MDB_env *env;
	MDB_txn *txn;
	int rc = -1;

	if (mdb_env_create(&env) == 0 && mdb_env_open(env, path,
	    MDB_NOSUBDIR, 0600) == 0 && mdb_txn_begin(env, NULL, 0,
	    &txn) == 0) {
		if (mdb_dbi_open(txn, NULL, 0, &main) == 0)
			rc = 0;
		mdb_txn_commit(txn);
	}
	mdb_env_close(env);
	if (rc == 0) {
		mdb_env_create(&env);
		mdb_env_open(env, path, MDB_NOSUBDIR, 0600);
		rc = put(env, main, "b", "plain");
		mdb_env_close(env);
	}
	ok(rc == 0, "a file with a plain key b");
	ok(statedb_open(&env, path, 1 << 20, dbis, &e) != 0 && env == NULL &&
	    strstr(e.msg, "MDB_INCOMPATIBLE") != NULL,
	    "a database that cannot be made is an error, nothing open");
	/* Would wait for ever on a writer lock left held. */
	alarm(20);
	rc = -1;
	if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 2) == 0 &&
	    mdb_env_open(env, path, MDB_NOSUBDIR, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, 0, &txn) == 0) {
		rc = mdb_dbi_open(txn, "a", 0, &a);
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	alarm(0);
	is_int(rc, MDB_NOTFOUND, "the transaction was aborted: no \"a\" "
	    "was kept, and the file takes a writer again");
}

int
main(void)
{
	char path[64], rm[80];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/new.mdb", dir);
	made_and_found(path);
	snprintf(path, sizeof(path), "%s/junk.mdb", dir);
	not_lmdb(path);
	snprintf(path, sizeof(path), "%s/half.mdb", dir);
	half_made(path);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	(void)!system(rm);
	return done_testing();
}
