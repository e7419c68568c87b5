/*
 * libFuzzer target: the policy loader.  Whatever loads must dump, load
 * back to an equal policy, and be normalized (nu changes nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p, q, n;
	struct policy_error e;
	char *dump;

	if (policy_load(&p, (const char *)data, size, 1000, &e) != 0)
		return 0;
	if (policy_copy(&n, &p) != 0)
		abort();
	policy_nu(&n);
	if (!policy_equal(&n, &p))
		abort();	/* a loaded policy is normalized */
	if ((dump = policy_dump(&p, 0)) == NULL)
		abort();
	if (policy_load(&q, dump, strlen(dump), 5000, &e) != 0 ||
	    !policy_equal(&p, &q))
		abort();	/* the dump loads back to the same policy */
	free(dump);
	policy_free(&n);
	policy_free(&q);
	policy_free(&p);
	return 0;
}
