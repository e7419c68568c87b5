/*
 * The "no unknown member" check every strict reader of a JSON object
 * makes: the requests of nodes, proxies and the authority, pod specs,
 * pod files, rules, admin commands and tool arguments.
 */
#include <string.h>

#include "audit.h"
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

/*
 * Member name of o as a seq (a record's place in a log, 0 to 2^53-1, as
 * the gateway's requests name the proxy's decision), or -1 when o has
 * none of that shape.
 */
int64_t
members_seq(const json_t *o, const char *name)
{
	const json_t *d = json_object_get(o, name);

	if (!json_is_integer(d) || json_integer_value(d) < 0 ||
	    json_integer_value(d) > CJSON_INT_MAX)
		return -1;
	return (int64_t)json_integer_value(d);
}
