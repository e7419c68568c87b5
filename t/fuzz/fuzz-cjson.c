/*
 * libFuzzer target: canonical JSON.  The scanner (scan.c) and the
 * parse-then-encode check (cjson.c, through jansson) must agree on every
 * object; what parses must encode to a canonical text that both accept
 * and that encodes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct audit_buf b = { 0 }, b2 = { 0 };
	struct audit_err e;
	json_t *j = NULL, *j2 = NULL;
	int slow, fast;

	slow = cjson_is_canonical(in, size, NULL, &e) == 0;
	if (size > 0 && in[0] == '{') {
		fast = cjson_scan(in, size, NULL, &e) == 0;
		if (slow != fast)
			abort();
	}
	if (cjson_parse(in, size, &j, &e) != 0)
		return 0;
	if (cjson_encode(j, &b, &e) != 0)
		abort();	/* what parses always encodes */
	if (cjson_is_canonical(b.p, b.len, NULL, &e) != 0)
		abort();
	if (json_is_object(j) && cjson_scan(b.p, b.len, NULL, &e) != 0)
		abort();
	if (cjson_parse(b.p, b.len, &j2, &e) != 0 ||
	    cjson_encode(j2, &b2, &e) != 0 || b2.len != b.len ||
	    memcmp(b.p, b2.p, b.len) != 0)
		abort();
	if (slow && (b.len != size || memcmp(b.p, in, size) != 0))
		abort();
	json_decref(j);
	json_decref(j2);
	audit_buf_free(&b);
	audit_buf_free(&b2);
	return 0;
}
