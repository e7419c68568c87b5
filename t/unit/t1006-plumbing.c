/*
 * libaudit's plumbing: num_parse() reads a whole number or names why
 * not, audit_fit() gives a whole value or an error, never a shorter one,
 * the text check passes printable UTF-8 only, and the clocks move.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "sockaddr.h"
#include "tap.h"

static void
numbers(void)
{
	static const struct {
		const char *s;
		long long min, max;
		int rc;
		long long want;
	} c[] = {
		{ "10", 1, 3600, NUM_OK, 10 },
		{ "10x", 1, 3600, NUM_SYNTAX, 0 },
		{ "x10", 1, 3600, NUM_SYNTAX, 0 },
		{ "", 1, 3600, NUM_EMPTY, 0 },
		{ " 10", 1, 3600, NUM_SYNTAX, 0 },
		{ "10 ", 1, 3600, NUM_SYNTAX, 0 },
		{ "+10", 1, 3600, NUM_SIGN, 0 },
		{ "-10", 1, 3600, NUM_SIGN, 0 },
		{ "-10", -20, 3600, NUM_OK, -10 },
		{ "-0", -20, 3600, NUM_SYNTAX, 0 },
		{ "0", 0, 1, NUM_OK, 0 },
		{ "010", 1, 3600, NUM_SYNTAX, 0 },
		{ "0x10", 1, 3600, NUM_SYNTAX, 0 },
		{ "3600", 1, 3600, NUM_OK, 3600 },
		{ "3601", 1, 3600, NUM_RANGE, 0 },
		{ "0", 1, 3600, NUM_RANGE, 0 },
		{ "9223372036854775807", LLONG_MIN, LLONG_MAX, NUM_OK,
		    LLONG_MAX },
		{ "9223372036854775808", LLONG_MIN, LLONG_MAX, NUM_RANGE, 0 },
		{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, NUM_OK,
		    LLONG_MIN },
		{ "-9223372036854775809", LLONG_MIN, LLONG_MAX, NUM_RANGE, 0 },
		{ "99999999999999999999999", 0, LLONG_MAX, NUM_RANGE, 0 },
		{ "-5", -10, -3, NUM_OK, -5 },
		{ "-1", -10, -3, NUM_RANGE, 0 },
		{ "5", -10, -3, NUM_RANGE, 0 },
		{ "-11", -10, -3, NUM_RANGE, 0 },
	};
	unsigned long long u;
	long long v;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc;

		v = 0;
		rc = num_parse(c[i].s, c[i].min, c[i].max, &v);
		ok(rc == c[i].rc && (rc != NUM_OK || v == c[i].want),
		    "num_parse \"%s\" in %lld..%lld: %s", c[i].s, c[i].min,
		    c[i].max, num_strerror(c[i].rc));
		if (rc != c[i].rc)
			diag("got %s", num_strerror(rc));
	}
	ok(num_parse_u("18446744073709551615", 0, ULLONG_MAX, &u) == NUM_OK &&
	    u == ULLONG_MAX, "num_parse_u: the largest 64-bit number");
	is_int(num_parse_u("18446744073709551616", 0, ULLONG_MAX, &u),
	    NUM_RANGE, "num_parse_u: one past it is out of range");
	is_int(num_parse_u("-1", 0, ULLONG_MAX, &u), NUM_SIGN,
	    "num_parse_u: no sign");
	ok(num_parse_un("123 456", 3, 0, 1000, &u) == NUM_OK && u == 123,
	    "num_parse_un: the first n bytes only");
	is_int(num_parse_un("123", 0, 0, 1000, &u), NUM_EMPTY,
	    "num_parse_un: no bytes is empty");
	is_int(num_parse_u("1\n", 0, 10, &u), NUM_SYNTAX,
	    "num_parse_u: a trailing newline is not part of a number");
}

static void
fitting(void)
{
	struct audit_err e = { "" };
	char small[8], big[300], dir[200];
	struct sockaddr_un sa;

	ok(audit_fit(small, sizeof(small), &e, "%s/%s", "ab", "cd") == 0 &&
	    strcmp(small, "ab/cd") == 0, "audit_fit: what fits is whole");
	ok(audit_fit(small, sizeof(small), &e, "%s/%s", "abc", "def") ==
	    0 && strcmp(small, "abc/def") == 0, "audit_fit: 7 bytes fit 8");
	errno = 0;
	ok(audit_fit(small, sizeof(small), &e, "%s/%s", "abcd", "efgh") ==
	    -1 && small[0] == '\0' && errno == ENAMETOOLONG,
	    "audit_fit: one byte too many is an error, the buffer empty");
	ok(strstr(e.msg, "abcd/ef") != NULL && strstr(e.msg, "9 bytes") !=
	    NULL && strstr(e.msg, "7 allowed") != NULL,
	    "audit_fit: the error names the path and its size: %s", e.msg);
	ok(audit_fit(small, sizeof(small), NULL, "%s", "123456789") == -1,
	    "audit_fit: no error struct needed");
	memset(dir, 'd', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = '\0';
	ok(audit_fit(big, sizeof(big), &e, "/%s/vm/chan.sock", dir) == 0 &&
	    sockaddr_un_fill(&sa, big, &e) == -1 && strstr(e.msg,
	    "socket path") != NULL, "sockaddr_un_fill: a path past sun_path "
	    "is an error: %.60s", e.msg);
	ok(sockaddr_un_fill(&sa, "/tmp/x.sock", &e) == 0 &&
	    strcmp(sa.sun_path, "/tmp/x.sock") == 0 && sa.sun_family ==
	    AF_UNIX, "sockaddr_un_fill: a path that fits is whole");
	memset(big, 'p', sizeof(sa.sun_path) - 1);
	big[sizeof(sa.sun_path) - 1] = '\0';
	ok(sockaddr_un_fill(&sa, big, &e) == 0, "sockaddr_un_fill: %zu "
	    "bytes fit", sizeof(sa.sun_path) - 1);
	big[sizeof(sa.sun_path) - 1] = 'p';
	big[sizeof(sa.sun_path)] = '\0';
	ok(sockaddr_un_fill(&sa, big, &e) == -1, "sockaddr_un_fill: %zu "
	    "bytes do not", sizeof(sa.sun_path));
	ok(sockaddr_un_fill(&sa, "", &e) == -1, "sockaddr_un_fill: an empty "
	    "path is an error");
}

static void
text(void)
{
	static const struct {
		const char *s;
		int ok;
		const char *what;
	} c[] = {
		{ "plain text", 1, "ASCII" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 1,
		    "UTF-8 of 2, 3 and 4 bytes" },
		{ "a\x1b[2Jb", 0, "an escape" },
		{ "a\nb", 0, "a newline" },
		{ "a\x7f", 0, "DEL" },
		{ "a\xc2\x9b" "2J", 0, "C1 CSI" },
		{ "a\xe2\x80\xae" "b", 0, "a bidirectional override" },
		{ "a\xe2\x81\xa6" "b", 0, "a bidirectional isolate" },
		{ "a\xe2\x80\xa8" "b", 0, "the line separator" },
		{ "\xc0\xaf", 0, "an overlong '/'" },
		{ "\xed\xa0\x80", 0, "a surrogate" },
		{ "\xf4\x90\x80\x80", 0, "past U+10FFFF" },
		{ "\xe2\x82", 0, "a cut sequence" },
		{ "\x80", 0, "a lone continuation byte" },
		{ "\xff", 0, "0xff" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_int(audit_printable(c[i].s, strlen(c[i].s)), c[i].ok,
		    "audit_printable: %s", c[i].what);
	is_int(audit_printable("a\0b", 3), 0, "audit_printable: a NUL");
	audit_escape(out, sizeof(out), "ok\x1b[1A\\\"\xc3\xa9\xff", 11);
	is_str(out, "ok\\x1b[1A\\x5c\\x22\xc3\xa9\\xff",
	    "audit_escape: controls, backslash, quote and bad bytes as \\xHH, "
	    "printable UTF-8 as is");
	audit_escape(out, 6, "abc\x1b", 4);
	is_str(out, "abc", "audit_escape: cut at a whole escape");
	audit_escape(out, 3, "a\xc3\xa9", 3);
	is_str(out, "a", "audit_escape: cut at a whole character");
}

static void
clocks(void)
{
	int64_t m0 = audit_now_ms(CLOCK_MONOTONIC), r = audit_now_ms(
	    CLOCK_REALTIME), s = audit_now_s();

	ok(m0 > 0, "audit_now_ms: the monotonic clock");
	ok(r / 1000 - s <= 1 && s - r / 1000 <= 1,
	    "audit_now_ms(CLOCK_REALTIME) and audit_now_s agree");
	ok(audit_now_ms(CLOCK_MONOTONIC) >= m0, "the monotonic clock does "
	    "not go back");
}

/* The one grammar of a pod's name (nucleus-pod(5)). */
static void
podnames(void)
{
	static const char *good[] = { "p-0001", "a", "0", "ci.build_7",
	    "A-.-_" };
	static const char *bad[] = { "", ".", "..", ".x", "-x", "_x", "p/1",
	    "p 1", "p\xc3\xa9" };
	char name[AUDIT_PODNAME_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(audit_podname_valid(good[i], strlen(good[i])),
		    "pod name \"%s\" accepted", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!audit_podname_valid(bad[i], strlen(bad[i])),
		    "pod name \"%s\" refused", bad[i]);
	memset(name, 'p', sizeof(name));
	ok(audit_podname_valid(name, AUDIT_PODNAME_MAX), "64 characters "
	    "accepted");
	ok(!audit_podname_valid(name, AUDIT_PODNAME_MAX + 1), "65 refused");
	ok(!audit_podname_valid("p\0x", 3), "an embedded NUL refused");
	ok(!audit_podname_valid(NULL, 0), "no name refused");
}

int
main(void)
{
	numbers();
	fitting();
	text();
	clocks();
	podnames();
	return done_testing();
}
