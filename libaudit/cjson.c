/*
 * Canonical JSON (CJSON): RFC 8785 restricted to integers in
 * -(2^53-1)..2^53-1, printable-ASCII member names, and the escapes of
 * nucleus-audit(5).  jansson parses (refusing duplicate members, invalid
 * UTF-8, lone surrogates and \u0000); this file refuses what jansson lets
 * through (fractions, exponents, -0, integers out of range, names that
 * are not printable ASCII) and writes the canonical bytes, which jansson's
 * own json_dumps() does not (it writes \u001F, and does not sort
 * byte-wise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

void
audit_buf_free(struct audit_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
audit_buf_add(struct audit_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';	/* always a C string too */
	return 0;
}

/*
 * The bytes before *off are spent (sent): once they are a quarter of
 * what waits after them or more, what waits moves to the start.  Called
 * before more is added, it keeps the buffer of a reader that takes
 * slowly but never all that waits at 1.25 times what waits (and what is
 * added), not all it ever took; a move costs at most four times the
 * bytes spent since the last.  Returns how far the bytes moved.
 */
size_t
audit_buf_compact(struct audit_buf *b, size_t *off)
{
	size_t moved = *off;

	if (moved == 0 || moved < (b->len - moved) / 4)
		return 0;
	memmove(b->p, b->p + moved, b->len - moved);
	b->len -= moved;
	b->p[b->len] = '\0';
	*off = 0;
	return moved;
}

/*
 * jansson reads "-0" as the integer 0: find it in the text, outside
 * strings.  (Any "-0" followed by '.' or an exponent is a real, refused
 * later anyway.)
 */
static int
has_negative_zero(const char *s, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"')
			in_string = 1;
		else if (s[i] == '-' && i + 1 < len && s[i + 1] == '0' &&
		    (i + 2 == len || s[i + 2] < '0' || s[i + 2] > '9'))
			return 1;
	}
	return 0;
}

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* What jansson accepts but CJSON does not. */
static int
check_value(const json_t *j, struct audit_err *err)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_REAL:
		return audit_errf(err, "a number with a fraction or an "
		    "exponent");
	case JSON_INTEGER:
		if (json_integer_value(j) > CJSON_INT_MAX ||
		    json_integer_value(j) < -CJSON_INT_MAX)
			return audit_errf(err, "an integer outside "
			    "-(2^53-1)..2^53-1");
		return 0;
	case JSON_STRING:
		if (memchr(json_string_value(j), '\0', json_string_length(j)))
			return audit_errf(err, "a string holding U+0000");
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)j, key, v) {
			if (!printable_ascii(key))
				return audit_errf(err, "a member name that is "
				    "not "
				    "printable ASCII");
			if (check_value(v, err) != 0)
				return -1;
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (check_value(v, err) != 0)
				return -1;
		return 0;
	default:
		return 0;
	}
}

/*
 * Parse len bytes strictly.  On success *out holds the tree (the caller
 * decrefs it).  Whitespace and member order are not checked here; see
 * cjson_is_canonical().
 */
int
cjson_parse(const char *buf, size_t len, json_t **out, struct audit_err *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg), "column %d: %s",
			    jerr.column, jerr.text);
		return -1;
	}
	if (check_value(j, err) != 0 ||
	    (has_negative_zero(buf, len) && audit_errf(err, "-0 is not an "
	    "integer "
	    "of CJSON") != 0)) {
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

static int
encode_string(struct audit_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	if (audit_buf_add(b, "\"", 1) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		/* Flush the run of bytes written as they are. */
		if (audit_buf_add(b, s + i - run, run) != 0)
			return -1;
		run = 0;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		}
		if (audit_buf_add(b, esc, n) != 0)
			return -1;
	}
	if (audit_buf_add(b, s + len - run, run) != 0)
		return -1;
	return audit_buf_add(b, "\"", 1);
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int encode_value(const json_t *, struct audit_buf *,
    struct audit_err *);

/*
 * An object's members in byte order, leaving out the member named skip.
 * When slot is not NULL it gets where that member would stand in b.
 */
static int
encode_object(const json_t *j, const char *skip, struct audit_buf *b,
    struct cjson_slot *slot, struct audit_err *err)
{
	const char *small[32], **keys = small, *key;
	size_t n = json_object_size(j), i = 0;
	json_t *v;
	int rc = -1;

	if (n > sizeof(small) / sizeof(small[0]) &&
	    (keys = calloc(n, sizeof(*keys))) == NULL)
		return audit_errf(err, "out of memory");
	json_object_foreach((json_t *)j, key, v) {
		if (!printable_ascii(key)) {
			audit_errf(err, "a member name that is not "
			    "printable ASCII");
			goto out;
		}
		if (skip == NULL || strcmp(key, skip) != 0)
			keys[i++] = key;
	}
	n = i;
	/* Names are printable ASCII: strcmp() orders them byte-wise. */
	qsort(keys, n, sizeof(*keys), cmp_key);
	if (audit_buf_add(b, "{", 1) != 0)
		goto oom;
	if (slot != NULL) {
		slot->at = b->len;
		slot->before = 0;
		slot->after = n;
	}
	for (i = 0; i < n; i++) {
		if ((i > 0 && audit_buf_add(b, ",", 1) != 0) ||
		    encode_string(b, keys[i], strlen(keys[i])) != 0 ||
		    audit_buf_add(b, ":", 1) != 0)
			goto oom;
		if (encode_value(json_object_get(j, keys[i]), b, err) != 0)
			goto out;
		if (slot != NULL && strcmp(keys[i], skip) < 0) {
			slot->at = b->len;
			slot->before = i + 1;
			slot->after = n - i - 1;
		}
	}
	if (audit_buf_add(b, "}", 1) != 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	audit_errf(err, "out of memory");
out:
	if (keys != small)
		free(keys);
	return rc;
}

static int
encode_value(const json_t *j, struct audit_buf *b, struct audit_err *err)
{
	char num[32];
	size_t i;
	int n;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return encode_object(j, NULL, b, NULL, err);
	case JSON_ARRAY:
		if (audit_buf_add(b, "[", 1) != 0)
			return audit_errf(err, "out of memory");
		for (i = 0; i < json_array_size(j); i++) {
			if (i > 0 && audit_buf_add(b, ",", 1) != 0)
				return audit_errf(err, "out of memory");
			if (encode_value(json_array_get(j, i), b, err) != 0)
				return -1;
		}
		return audit_buf_add(b, "]", 1) == 0 ? 0 :
		    audit_errf(err, "out of memory");
	case JSON_STRING:
		if (memchr(json_string_value(j), '\0', json_string_length(j)))
			return audit_errf(err, "a string holding U+0000");
		return encode_string(b, json_string_value(j),
		    json_string_length(j)) == 0 ? 0 : audit_errf(err, "out of "
		    "memory");
	case JSON_INTEGER:
		if (json_integer_value(j) > CJSON_INT_MAX ||
		    json_integer_value(j) < -CJSON_INT_MAX)
			return audit_errf(err, "an integer outside "
			    "-(2^53-1)..2^53-1");
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		return audit_buf_add(b, num, (size_t)n) == 0 ? 0 :
		    audit_errf(err, "out of memory");
	case JSON_REAL:
		return audit_errf(err, "a number with a fraction or an "
		    "exponent");
	case JSON_TRUE:
		return audit_buf_add(b, "true", 4) == 0 ? 0 :
		    audit_errf(err, "out of memory");
	case JSON_FALSE:
		return audit_buf_add(b, "false", 5) == 0 ? 0 :
		    audit_errf(err, "out of memory");
	case JSON_NULL:
		return audit_buf_add(b, "null", 4) == 0 ? 0 :
		    audit_errf(err, "out of memory");
	}
	return audit_errf(err, "not a JSON value");
}

/* Append CJSON(j) to b. */
int
cjson_encode(const json_t *j, struct audit_buf *b, struct audit_err *err)
{
	return encode_value(j, b, err);
}

/* Append CJSON of the object j without its member named skip. */
int
cjson_encode_without(const json_t *j, const char *skip, struct audit_buf *b,
    struct audit_err *err)
{
	if (!json_is_object(j))
		return audit_errf(err, "not a JSON object");
	return encode_object(j, skip, b, NULL, err);
}

/*
 * The same, and where the member named skip would stand: the bytes to
 * insert at slot->at are ',"NAME":VALUE' when a member comes before it,
 * else '"NAME":VALUE,' when one comes after, else '"NAME":VALUE'.
 */
int
cjson_encode_slot(const json_t *j, const char *skip, struct audit_buf *b,
    struct cjson_slot *slot, struct audit_err *err)
{
	if (!json_is_object(j))
		return audit_errf(err, "not a JSON object");
	return encode_object(j, skip, b, slot, err);
}

/* The member text to put at a slot: NAME and VALUE already CJSON. */
int
cjson_slot_text(const struct cjson_slot *slot, const char *name,
    const char *value, size_t vlen, struct audit_buf *out)
{
	out->len = 0;
	if ((slot->before > 0 && audit_buf_add(out, ",", 1) != 0) ||
	    encode_string(out, name, strlen(name)) != 0 ||
	    audit_buf_add(out, ":", 1) != 0 ||
	    audit_buf_add(out, value, vlen) != 0 ||
	    (slot->before == 0 && slot->after > 0 &&
	    audit_buf_add(out, ",", 1) != 0))
		return -1;
	return 0;
}

/*
 * Is buf exactly CJSON of what it holds?  Returns 0 when it is (and *out,
 * if not NULL, holds the tree), -1 when it is not valid CJSON or not
 * canonical (err says which).
 */
int
cjson_is_canonical(const char *buf, size_t len, json_t **out,
    struct audit_err *err)
{
	struct audit_buf b = { 0 };
	json_t *j;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (cjson_parse(buf, len, &j, err) != 0)
		return -1;
	if (cjson_encode(j, &b, err) != 0)
		goto out;
	if (b.len != len || memcmp(b.p, buf, len) != 0) {
		audit_errf(err, "not in canonical form (re-serializing it "
		    "gives "
		    "other bytes)");
		goto out;
	}
	rc = 0;
	if (out != NULL) {
		*out = j;
		j = NULL;	/* transferred */
	}
out:
	json_decref(j);
	audit_buf_free(&b);
	return rc;
}
