/*
 * The "no unknown member" check every strict reader of a JSON object
 * makes: the requests of nodes, proxies and the authority, pod specs,
 * pod files, rules, admin commands and tool arguments.
 */
#include <string.h>

#include "members.h"

/*
 * The first member of o whose name is not in names (a NULL-terminated
 * list), or NULL when every one is known.  The name is o's: valid while
 * o is.
 */
const char *
members_unknown(const json_t *o, const char *const *names)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; names[i] != NULL; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return k;
	}
	return NULL;
}
