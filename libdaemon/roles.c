/*
 * Keyring roles.  A key's role says what its signatures may do: admin
 * (an operator's requests to the node), agent (an agent's requests),
 * node and authority (a daemon's own log, an authority's tokens).  A
 * daemon that reads a keyring checks, before it serves, that every key
 * has a role it reads: a typo in a role would otherwise be found only
 * when that key's first request is refused.
 */
#include <stdio.h>
#include <string.h>

#include "roles.h"

static const char *const known[] = { "admin", "agent", "node",
    "authority", NULL };

/* 1 when role is one a keyring line may name (keygen -r). */
int
roles_known(const char *role)
{
	for (size_t i = 0; known[i] != NULL; i++)
		if (strcmp(role, known[i]) == 0)
			return 1;
	return 0;
}

static int
allowed_has(const char *const allowed[], const char *role)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(allowed[i], role) == 0)
			return 1;
	return 0;
}

/*
 * One line on out per key of kr (read from path) whose role is not in
 * allowed (NULL-terminated; ROLES_NONE for a line without a role), each
 * saying what to do: give it the role advice says.  The number of such
 * keys.
 */
size_t
roles_check(FILE *out, const char *prog, const char *path,
    const struct audit_keyring *kr, const char *const allowed[],
    const char *advice)
{
	size_t bad = 0;

	for (size_t i = 0; i < kr->n; i++) {
		const struct audit_pubkey *k = &kr->v[i];

		if (allowed_has(allowed, k->role))
			continue;
		fprintf(out, "%s: %s: key %s has %s%s%s: give it the role "
		    "%s\n", prog, path, k->kid, k->role[0] != '\0' ?
		    "the role " : "no role", k->role, k->role[0] != '\0' &&
		    !roles_known(k->role) ? ", which no program knows" : "",
		    advice);
		bad++;
	}
	return bad;
}
