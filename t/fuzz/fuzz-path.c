/*
 * libFuzzer target: path normalization.  A normalized path is relative,
 * has no empty, "." or ".." component, is no longer than its input, and
 * normalizes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[POLICY_PATH_MAX + 1], again[POLICY_PATH_MAX + 1];
	enum policy_kind k;
	const char *why, *c;
	size_t len;

	if (policy_path_normalize((const char *)data, size, out, sizeof(out),
	    &k, &why) != 0) {
		if (k != KIND_BAD_REQUEST && k != KIND_SANDBOX_ESCAPE)
			abort();
		return 0;
	}
	len = strlen(out);
	if (len == 0 || len > size || out[0] == '/' || out[len - 1] == '/')
		abort();
	if (strcmp(out, ".") != 0) {
		for (c = out; c != NULL; c = strchr(c, '/')) {
			size_t n;

			c += *c == '/';
			n = strcspn(c, "/");
			if (n == 0 || (n == 1 && c[0] == '.') ||
			    (n == 2 && c[0] == '.' && c[1] == '.'))
				abort();
			c = strchr(c, '/');
			if (c == NULL)
				break;
		}
	}
	if (policy_path_normalize(out, len, again, sizeof(again), &k,
	    &why) != 0 || strcmp(out, again) != 0)
		abort();
	return 0;
}
