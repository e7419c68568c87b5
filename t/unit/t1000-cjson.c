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

/*
 * A reader that takes slowly, never all that waits: each round 1000
 * bytes are added and 700 to 1000 of the oldest taken, for 20000 rounds
 * (20 MB through).  Compacted before each add, the buffer stays within
 * 1.25 times what waits and the add; the bytes moved, within four times
 * those taken.
 */
static void
compact(void)
{
	static char chunk[1000];
	struct audit_buf b = { NULL, 0, 0 };
	size_t off = 0, taken = 0, copied = 0, worst = 0, wmax = 0, was;
	int held = 1;

	memset(chunk, 'c', sizeof(chunk));
	for (int i = 0; i < 20000; i++) {
		size_t w = b.len - off, m;

		if (w > wmax)
			wmax = w;
		m = audit_buf_compact(&b, &off);
		taken += m;
		if (m > 0)
			copied += w;
		if (b.len > w + w / 4 + 1)
			held = 0;
		if (audit_buf_add(&b, chunk, sizeof(chunk)) != 0)
			break;
		if (b.len > worst)
			worst = b.len;
		off += 700 + (size_t)(i % 4) * 100;
		if (off > b.len)
			off = b.len;
	}
	taken += off;
	diag("at most %zu bytes held, %zu waiting; %zu copied for %zu taken",
	    worst, wmax, copied, taken);
	ok(held, "before each add, at most 1.25 times what waits is held");
	ok(worst <= wmax + wmax / 4 + sizeof(chunk) + 1 && taken > 15000000,
	    "so not all that went through (20 MB)");
	ok(copied <= 4 * taken, "the bytes moved: at most four times those "
	    "taken");
	ok(b.p[b.len] == '\0', "still a C string");
	was = b.len;
	off = was;
	ok(audit_buf_compact(&b, &off) == was && b.len == 0 && off == 0,
	    "all taken: nothing waits after");
	audit_buf_free(&b);
}

int
main(void)
{
	vectors();
	encoder();
	compact();
	return done_testing();
}
