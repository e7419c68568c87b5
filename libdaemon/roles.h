/*
 * Keyring roles (roles.c): the roles a keyring line may name, and the
 * check that each key of a daemon's keyring has one the daemon reads.
 */
#ifndef NUCLEUS_ROLES_H
#define NUCLEUS_ROLES_H

#include <stdio.h>

#include "audit.h"

#define ROLES_NONE	""	/* in an allowed list: a line without one */

int	 roles_known(const char *);
size_t	 roles_check(FILE *, const char *, const char *,
	    const struct audit_keyring *, const char *const [], const char *);

#endif /* NUCLEUS_ROLES_H */
