/*
 * libFuzzer target: the authority's rules file, then what loads asked
 * about a few fixed requests, grants counted against each rule's hourly
 * cap.  Nothing may crash or leak; a refusal always says why; the rule
 * that grants is one that names the request and still has room.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1795939200LL	/* a fixed clock: runs repeat */
#define GRANTS	4		/* asked of each request, each input */

/* Requests as the authority hands them to the rules. */
static const struct {
	const char *agent, *pod, *op, *args;
} requests[] = {
	{ "load-1", "p-0001", "run",
	    "{\"argv\":[\"git\",\"push\",\"origin\",\"b-0-0\"]}" },
	{ "load-1", "p-0001", "run", "{\"argv\":[\"git\"]}" },
	{ "ci-bot", "ci-7", "write", "{\"path\":\"reports/r-1\"}" },
	{ "ci-bot", "ci-7", "write", "{\"path\":\"reports/../secrets/x\"}" },
	{ "agent-7", "p-1", "read", "{\"path\":\"/etc/passwd\"}" },
	{ "agent-7", "p-1", "delete", "{\"path\":7}" },
	{ "agent-7", "pod", "run", "{\"argv\":[1,\"push\"]}" },
	{ "agent-7", "pod", "web_fetch", "{\"url\":\"https://x.test/\"}" },
	{ "a", "", "glob", "{}" },
};
#define NREQ	(sizeof(requests) / sizeof(requests[0]))

static json_t *args[NREQ];

static void
setup(void)
{
	json_error_t je;

	for (size_t i = 0; i < NREQ; i++)
		if ((args[i] = json_loads(requests[i].args, 0, &je)) == NULL)
			abort();
}

/* Was r, handed out at now, still below its cap? */
static int
had_room(const struct rule *r, int64_t now)
{
	return r->ntimes < r->per_hour || r->times[r->head] <= now - 3600;
}

static void
ask(struct rules *rs, size_t i)
{
	const struct rule *found;
	struct rule *r;
	int capped;

	found = rules_find(rs, requests[i].agent, requests[i].pod,
	    requests[i].op, args[i]);
	for (int g = 0; g < GRANTS; g++) {
		r = rules_match(rs, requests[i].agent, requests[i].pod,
		    requests[i].op, args[i], NOW + g, &capped);
		if (capped < 0 || (size_t)capped > rs->n)
			abort();
		if (r == NULL) {
			if (capped == 0 && found != NULL)
				abort();	/* a naming rule was not seen */
			continue;
		}
		if (found == NULL || !had_room(r, NOW + g))
			abort();	/* granted by a rule that cannot */
		rule_count(r, NOW + g);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct audit_err e;
	struct rules rs;

	if (!ready) {
		setup();
		ready = 1;
	}
	e.msg[0] = '\0';
	if (rules_parse(&rs, (const char *)data, size, &e) != 0) {
		if (e.msg[0] == '\0' || rs.n != 0 || rs.v != NULL)
			abort();	/* a refusal says why, keeps nothing */
		return 0;
	}
	if (rs.n > RULES_MAX)
		abort();
	for (size_t i = 0; i < NREQ; i++)
		ask(&rs, i);
	rules_free(&rs);
	return 0;
}
