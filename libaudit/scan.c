/*
 * A scanner for text that must already be canonical JSON: it accepts
 * exactly the bytes cjson_encode() would write for some value, and
 * refuses everything else, without building a tree.  The audit verifier
 * reads most lines through it: a canonical line needs no re-encoding to
 * be checked, and its top-level members are found as spans.
 *
 * It must agree with cjson_is_canonical() (jansson's parser, then the
 * encoder) on every input; the fuzz target fuzz-cjson checks that.
 *
 *	values		no whitespace anywhere; nesting at most 2048 deep
 *	objects		member names printable ASCII, in strictly increasing
 *			byte order (so no duplicates)
 *	strings		valid UTF-8 written raw, except '"' and '\\' escaped,
 *			\b \f \n \r \t, and \u00xx (lowercase) for the other
 *			bytes below 0x20; \u0000 is refused
 *	numbers		integers in -(2^53-1)..2^53-1 with no leading zero,
 *			no sign on zero, no fraction, no exponent
 */
#include <string.h>

#include "audit.h"

#define SCAN_DEPTH_MAX	2048	/* as jansson's JSON_PARSER_MAX_DEPTH */

struct scanner {
	const unsigned char *s;
	size_t	 len, i;
	struct cjson_scan *top;	/* members of the top-level object */
	const char *why;
};

static int value(struct scanner *, int);

static int
bad(struct scanner *sc, const char *why)
{
	if (sc->why == NULL)
		sc->why = why;
	return -1;
}

/* One UTF-8 sequence, at least two bytes long, well formed. */
static int
utf8_seq(struct scanner *sc)
{
	const unsigned char *s = sc->s + sc->i;
	size_t left = sc->len - sc->i, n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* nothing above U+10FFFF */
	} else
		return bad(sc, "invalid UTF-8");
	if (left < n || s[1] < lo || s[1] > hi)
		return bad(sc, "invalid UTF-8");
	for (size_t k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return bad(sc, "invalid UTF-8");
	sc->i += n;
	return 0;
}

static int
hexdigit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
hexval(unsigned char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* A string in canonical form; with key, printable ASCII only. */
static int
string(struct scanner *sc, int key)
{
	if (sc->i >= sc->len || sc->s[sc->i] != '"')
		return bad(sc, "expected a string");
	sc->i++;
	while (sc->i < sc->len) {
		unsigned char c = sc->s[sc->i];

		if (c == '"') {
			sc->i++;
			return 0;
		}
		if (c < 0x20)
			return bad(sc, "a raw control character in a string");
		if (c >= 0x80) {
			if (key)
				return bad(sc, "a member name that is not "
				    "printable ASCII");
			if (utf8_seq(sc) != 0)
				return -1;
			continue;
		}
		if (c == 0x7f && key)
			return bad(sc, "a member name that is not printable "
			    "ASCII");
		if (c != '\\') {
			sc->i++;
			continue;
		}
		if (sc->i + 1 >= sc->len)
			return bad(sc, "a truncated escape");
		c = sc->s[sc->i + 1];
		if (c == '"' || c == '\\') {
			sc->i += 2;
			continue;
		}
		if (key)
			return bad(sc, "a member name that is not printable "
			    "ASCII");
		if (c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
			sc->i += 2;
			continue;
		}
		/* Only \u00xx for a control byte without a short escape. */
		if (c != 'u' || sc->i + 6 > sc->len ||
		    sc->s[sc->i + 2] != '0' || sc->s[sc->i + 3] != '0' ||
		    !hexdigit(sc->s[sc->i + 4]) || !hexdigit(sc->s[sc->i + 5]))
			return bad(sc, "an escape that is not canonical");
		c = (unsigned char)(hexval(sc->s[sc->i + 4]) << 4 |
		    hexval(sc->s[sc->i + 5]));
		if (c >= 0x20 || c == '\b' || c == '\f' || c == '\n' ||
		    c == '\r' || c == '\t')
			return bad(sc, "an escape that is not canonical");
		if (c == 0)
			return bad(sc, "a string holding U+0000");
		sc->i += 6;
	}
	return bad(sc, "an unterminated string");
}

static int
number(struct scanner *sc)
{
	size_t start = sc->i, digits = 0;
	int neg = 0;
	uint64_t v = 0;

	if (sc->s[sc->i] == '-') {
		neg = 1;
		sc->i++;
	}
	if (sc->i >= sc->len || sc->s[sc->i] < '0' || sc->s[sc->i] > '9')
		return bad(sc, "not a JSON value");
	if (sc->s[sc->i] == '0' && (neg || (sc->i + 1 < sc->len &&
	    sc->s[sc->i + 1] >= '0' && sc->s[sc->i + 1] <= '9')))
		return bad(sc, "a number that is not canonical");
	while (sc->i < sc->len && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9') {
		if (++digits > 16)
			return bad(sc, "an integer outside -(2^53-1)..2^53-1");
		v = v * 10 + (uint64_t)(sc->s[sc->i] - '0');
		sc->i++;
	}
	if (v > (uint64_t)CJSON_INT_MAX)
		return bad(sc, "an integer outside -(2^53-1)..2^53-1");
	if (sc->i < sc->len && (sc->s[sc->i] == '.' || sc->s[sc->i] == 'e' ||
	    sc->s[sc->i] == 'E'))
		return bad(sc, "a number with a fraction or an exponent");
	(void)start;
	return 0;
}

static int
literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->i < n || memcmp(sc->s + sc->i, word, n) != 0)
		return bad(sc, "not a JSON value");
	sc->i += n;
	return 0;
}

/* Compare two canonical member-name spans (quotes included) decoded. */
static int
key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	size_t i = 1, j = 1;

	alen--;
	blen--;	/* the closing quotes */
	while (i < alen && j < blen) {
		unsigned char ca = a[i], cb = b[j];

		if (ca == '\\')
			ca = a[++i];
		if (cb == '\\')
			cb = b[++j];
		if (ca != cb)
			return ca < cb ? -1 : 1;
		i++;
		j++;
	}
	return (i < alen) - (j < blen);
}

static int
object(struct scanner *sc, int depth)
{
	size_t prev = 0, prevlen = 0, ks;
	int first = 1;

	sc->i++;	/* '{' */
	if (sc->i < sc->len && sc->s[sc->i] == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		ks = sc->i;
		if (string(sc, 1) != 0)
			return -1;
		if (!first && key_cmp(sc->s + prev, prevlen, sc->s + ks,
		    sc->i - ks) >= 0)
			return bad(sc, "members not in byte order, or a "
			    "duplicate member");
		prev = ks;
		prevlen = sc->i - ks;
		if (sc->i >= sc->len || sc->s[sc->i] != ':')
			return bad(sc, "expected ':'");
		sc->i++;
		if (depth == 1 && sc->top != NULL) {
			struct cjson_member *m;

			if (sc->top->n == CJSON_SCAN_MEMBERS)
				return bad(sc, "too many members to scan");
			m = &sc->top->m[sc->top->n++];
			m->key = (const char *)sc->s + ks + 1;
			m->keylen = prevlen - 2;
			m->start = ks;
			m->val = (const char *)sc->s + sc->i;
		}
		if (value(sc, depth) != 0)
			return -1;
		if (depth == 1 && sc->top != NULL)
			sc->top->m[sc->top->n - 1].vallen =
			    (size_t)((const char *)sc->s + sc->i -
			    sc->top->m[sc->top->n - 1].val);
		first = 0;
		if (sc->i < sc->len && sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->i < sc->len && sc->s[sc->i] == '}') {
			sc->i++;
			return 0;
		}
		return bad(sc, "expected ',' or '}'");
	}
}

static int
array(struct scanner *sc, int depth)
{
	sc->i++;	/* '[' */
	if (sc->i < sc->len && sc->s[sc->i] == ']') {
		sc->i++;
		return 0;
	}
	for (;;) {
		if (value(sc, depth) != 0)
			return -1;
		if (sc->i < sc->len && sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->i < sc->len && sc->s[sc->i] == ']') {
			sc->i++;
			return 0;
		}
		return bad(sc, "expected ',' or ']'");
	}
}

static int
value(struct scanner *sc, int depth)
{
	if (sc->i >= sc->len)
		return bad(sc, "a truncated value");
	switch (sc->s[sc->i]) {
	case '{':
		if (depth >= SCAN_DEPTH_MAX)
			return bad(sc, "nested too deep");
		return object(sc, depth + 1);
	case '[':
		if (depth >= SCAN_DEPTH_MAX)
			return bad(sc, "nested too deep");
		return array(sc, depth + 1);
	case '"':
		return string(sc, 0);
	case 't':
		return literal(sc, "true");
	case 'f':
		return literal(sc, "false");
	case 'n':
		return literal(sc, "null");
	default:
		return number(sc);
	}
}

/*
 * Is buf the canonical text of a JSON object?  Returns 0 and, when top is
 * not NULL, the spans of its members; -1 (with the reason in err) when it
 * is not.  An object of more than CJSON_SCAN_MEMBERS members is refused
 * with the reason "too many members to scan" when top is not NULL: the
 * caller then checks it the slow way.
 */
int
cjson_scan(const char *buf, size_t len, struct cjson_scan *top,
    struct audit_err *err)
{
	struct scanner sc = { (const unsigned char *)buf, len, 0, top, NULL };

	if (top != NULL)
		top->n = 0;
	if (len == 0 || buf[0] != '{')
		return audit_errf(err, "not a JSON object");
	if (value(&sc, 0) != 0)
		return audit_errf(err, "%s", sc.why);
	if (sc.i != len)
		return audit_errf(err, "bytes after the value");
	return 0;
}
