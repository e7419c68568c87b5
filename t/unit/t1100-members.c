/*
 * members_unknown(): the one "no unknown member" check of the strict
 * readers (requests, pod specs, pod files, rules, tool arguments).
 */
#include <string.h>

#include "members.h"
#include "tap.h"

static const char *const names[] = { "type", "v", "args", NULL };
static const char *const none[] = { NULL };

static const char *
first_unknown(const char *text, const char *const *list)
{
	static char name[64];
	json_error_t jerr;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	const char *k;

	if (o == NULL)
		return "(not JSON)";
	k = members_unknown(o, list);
	if (k != NULL)
		strncpy(name, k, sizeof(name) - 1);
	json_decref(o);
	return k != NULL ? name : NULL;
}

int
main(void)
{
	ok(first_unknown("{}", names) == NULL, "an empty object has none");
	ok(first_unknown("{}", none) == NULL, "nor with no name allowed");
	ok(first_unknown("{\"type\":1,\"v\":2,\"args\":{}}", names) == NULL,
	    "every member known");
	ok(first_unknown("{\"v\":1}", names) == NULL,
	    "a member may be absent");
	is_str(first_unknown("{\"type\":1,\"lenght\":2}", names), "lenght",
	    "a misspelt member is named");
	is_str(first_unknown("{\"extra\":1,\"type\":1,\"more\":2}", names),
	    "extra", "the first unknown member, in the object's order");
	is_str(first_unknown("{\"v\":1}", none), "v",
	    "every member is unknown when none is allowed");
	is_str(first_unknown("{\"Type\":1}", names), "Type",
	    "names are compared exactly (case)");
	is_str(first_unknown("{\"typ\":1}", names), "typ",
	    "a prefix of a name is not the name");
	is_str(first_unknown("{\"types\":1}", names), "types",
	    "nor is a name with more after it");
	ok(first_unknown("{\"args\":{\"inner\":1}}", names) == NULL,
	    "nested objects are the caller's to check");
	return done_testing();
}
