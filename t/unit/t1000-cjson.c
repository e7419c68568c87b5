/*
 * Canonical JSON: every case of t/vectors/cjson.json, and the encoder's
 * own edge cases.
 */
#include "audit.h"
#include "tap.h"
#include "vectors.h"

static void
vectors(void)
{
	json_t *all = vector_load("cjson.json"), *c;
	size_t i;

	json_array_foreach(json_object_get(all, "valid"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		size_t inlen, wantlen;
		char *in = vector_unhex(json_string_value(json_object_get(c,
		    "input_hex")), &inlen);
		char *want = vector_unhex(json_string_value(json_object_get(c,
		    "canonical_hex")), &wantlen);
		struct audit_buf b = { 0 };
		struct audit_err e = { "" };
		json_t *j = NULL;

		ok(cjson_parse(in, inlen, &j, &e) == 0 &&
		    cjson_encode(j, &b, &e) == 0 && b.len == wantlen &&
		    memcmp(b.p, want, wantlen) == 0, "valid %s: canonical form "
		    "byte for byte", name);
		if (e.msg[0] != '\0')
			diag("%s", e.msg);
		ok(cjson_is_canonical(want, wantlen, NULL, &e) == 0,
		    "valid %s: the canonical form is canonical", name);
		json_decref(j);
		audit_buf_free(&b);
		free(in);
		free(want);
	}
	json_array_foreach(json_object_get(all, "invalid"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		size_t inlen;
		char *in = vector_unhex(json_string_value(json_object_get(c,
		    "input_hex")), &inlen);
		struct audit_err e = { "" };
		json_t *j = NULL;

		ok(cjson_parse(in, inlen, &j, &e) == -1 && j == NULL,
		    "invalid %s: refused (%s)", name, e.msg);
		json_decref(j);
		free(in);
	}
	json_decref(all);
}

static void
encoder(void)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	json_t *j;

	j = json_pack("{s:f}", "x", 1.5);
	ok(cjson_encode(j, &b, &e) == -1, "the encoder refuses a real: %s",
	    e.msg);
	json_decref(j);
	j = json_pack("{s:I}", "x", (json_int_t)9007199254740992LL);
	b.len = 0;
	ok(cjson_encode(j, &b, &e) == -1, "the encoder refuses 2^53");
	json_decref(j);
	j = json_pack("{s:s%}", "x", "a\0b", (size_t)3);
	b.len = 0;
	ok(cjson_encode(j, &b, &e) == -1, "the encoder refuses U+0000");
	json_decref(j);
	j = json_pack("{s:s}", "k", "\x1f\x7f/\xc3\xa9\"\\");
	b.len = 0;
	ok(cjson_encode(j, &b, &e) == 0 && strcmp(b.p,
	    "{\"k\":\"\\u001f\x7f/\xc3\xa9\\\"\\\\\"}") == 0,
	    "control characters as \\u00xx lowercase, the rest raw");
	json_decref(j);
	b.len = 0;
	j = json_pack("{s:i, s:i, s:i}", "b", 1, "a", 2, "B", 3);
	ok(cjson_encode(j, &b, &e) == 0 &&
	    strcmp(b.p, "{\"B\":3,\"a\":2,\"b\":1}") == 0,
	    "members sorted by byte value");
	json_decref(j);
	ok(cjson_is_canonical("{\"a\":1 }", 8, NULL, &e) == -1,
	    "whitespace is not canonical");
	ok(cjson_is_canonical("{\"a\":-0}", 8, NULL, &e) == -1,
	    "-0 is refused");
	ok(cjson_is_canonical("{\"s\":\"-0\"}", 10, NULL, &e) == 0,
	    "\"-0\" in a string is just text");
	audit_buf_free(&b);
}

int
main(void)
{
	vectors();
	encoder();
	return done_testing();
}
