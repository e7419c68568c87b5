/*
 * What text may reach a log or a terminal: printable characters of valid
 * UTF-8 (minisign's is_printable, widened from ASCII).  Not printable: the
 * C0 controls and DEL, the C1 controls (U+0080 to U+009F, which some
 * terminals obey as escapes), the bidirectional controls and the line and
 * paragraph separators (which let text hide or reorder what follows), and
 * any byte that is not part of a well-formed UTF-8 sequence (overlong
 * forms, surrogates and values past U+10FFFF included).  Text from
 * elsewhere is either refused (audit_printable) or shown with the rest
 * escaped (audit_escape), so that it cannot move a terminal's cursor,
 * change its colours or hide itself.
 */
#include "audit.h"

/* The code point of the well-formed sequence at s, and its length. */
static size_t
decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The bytes of the printable character at s (n > 0 bytes), or 0. */
size_t
audit_glyph(const char *s, size_t n)
{
	uint32_t c;
	size_t len;

	if (n == 0 || (len = decode((const unsigned char *)s, n, &c)) == 0)
		return 0;
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    c == 0x061c || c == 0x200e || c == 0x200f ||
	    (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return 0;
	return len;
}

/* 1 when all n bytes at s are printable characters, else 0. */
int
audit_printable(const char *s, size_t n)
{
	size_t len;

	for (size_t i = 0; i < n; i += len)
		if ((len = audit_glyph(s + i, n - i)) == 0)
			return 0;
	return 1;
}

/*
 * The n bytes at s into out (outsz > 0 bytes), for a message: printable
 * characters as they are, every other byte, the backslash and the double
 * quote as \xHH.  Cut, at a whole character, where out is full.  Returns
 * the length written.
 */
size_t
audit_escape(char *out, size_t outsz, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, len;

	for (size_t i = 0; i < n; i += len) {
		len = audit_glyph(s + i, n - i);
		if (len == 1 && (s[i] == '\\' || s[i] == '"'))
			len = 0;
		if (len == 0) {
			if (outsz - o < 5)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[(unsigned char)s[i] >> 4];
			out[o++] = hex[(unsigned char)s[i] & 0xf];
			len = 1;
			continue;
		}
		if (outsz - o <= len)
			break;
		for (size_t k = 0; k < len; k++)
			out[o++] = s[i + k];
	}
	out[o] = '\0';
	return o;
}
