/*
 * libFuzzer target: a command's classification and decision.  Input: the
 * argv's items, separated by NUL bytes.  A command is refused (with a
 * reason a person can read) or classified as one capability; nothing may
 * crash, read past an item, or leave the reason empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ITEMS	64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p;
	static int ready;
	struct policy_state st = { 100, 0, 0 };
	struct policy_request rq;
	struct policy_decision d;
	const char *argv[ITEMS], *why = NULL;
	enum policy_cap cap;
	char *buf;
	size_t argc = 0;

	if (!ready) {
		if (policy_profile(&p, "local_dev", 0) != 0)
			abort();
		ready = 1;
	}
	if (size == 0 || size > 4096 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t off = 0; off <= size && argc < ITEMS; argc++) {
		argv[argc] = buf + off;
		off += strlen(buf + off) + 1;
	}
	cap = policy_classify_why(argv, argc, &why);
	if (cap > CAP_COUNT || (cap == CAP_COUNT && (why == NULL ||
	    why[0] == '\0')))
		abort();
	memset(&rq, 0, sizeof(rq));
	rq.op = OP_RUN;
	rq.argv = argv;
	rq.argc = argc;
	policy_decide(&p, &st, &rq, &d);
	if (d.verdict != VERDICT_ALLOW && d.reason[0] == '\0')
		abort();
	free(buf);
	return 0;
}
