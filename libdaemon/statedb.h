/*
 * A daemon's state in LMDB (statedb.c): one file, its named databases
 * opened at once, or nothing left open.
 */
#ifndef NUCLEUS_STATEDB_H
#define NUCLEUS_STATEDB_H

#include <stddef.h>

#include <lmdb.h>

#include "audit.h"

/* A named database and where its handle goes; a list ends at a NULL name. */
struct statedb_dbi {
	const char *name;
	MDB_dbi	*dbi;
};

int	 statedb_open(MDB_env **, const char *, size_t,
	    const struct statedb_dbi *, struct audit_err *);

#endif /* NUCLEUS_STATEDB_H */
