/*
 * Path globs.  A glob is matched component by component against a
 * normalized relative path:
 *
 *	*	any run of characters within one component (never '/')
 *	?	exactly one character (one UTF-8 sequence) within one component
 *	**	a whole component only: any number of whole components, zero too
 *
 * A glob without '/' matches the last component at any depth, as if it
 * were written "**" "/" glob.  Leading dots are not special.  Every other
 * byte matches itself.
 *
 * Matching is the classic greedy algorithm with one backtrack point, once
 * over the bytes of a component for '*' and once over the components of
 * the path for "**": linear in practice, quadratic at worst, never
 * exponential.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char doublestar[] = "**";

/* Bytes of the UTF-8 sequence at s; 1 for anything not well formed. */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 1;
	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Does the one-component pattern p match the name n? */
int
policy_name_match(const char *p, size_t plen, const char *n, size_t nlen)
{
	const unsigned char *un = (const unsigned char *)n;
	size_t pi = 0, ni = 0, star_p = SIZE_MAX, star_n = 0;

	while (ni < nlen) {
		if (pi < plen && p[pi] == '*') {
			star_p = pi++;
			star_n = ni;
		} else if (pi < plen && p[pi] == '?') {
			pi++;
			ni += utf8_len(un + ni, nlen - ni);
		} else if (pi < plen && p[pi] == n[ni]) {
			pi++;
			ni++;
		} else if (star_p != SIZE_MAX) {
			/* Let the '*' take one more character; retry. */
			pi = star_p + 1;
			star_n += utf8_len(un + star_n, nlen - star_n);
			ni = star_n;
		} else
			return 0;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/*
 * Component kinds, found when a glob is compiled, so that the common
 * shapes ("name", "*.pem", ".env*", "*") are matched without the general
 * algorithm.
 */
enum {
	CK_GENERAL,	/* anything else: policy_name_match() */
	CK_LITERAL,	/* no wildcard */
	CK_PREFIX,	/* "lit*" */
	CK_SUFFIX,	/* "*lit" */
	CK_STAR,	/* "*": any component */
	CK_DOUBLESTAR	/* "**": any number of components */
};

static int
comp_match(const struct policy_glob_comp *c, const char *n, size_t nlen)
{
	/* Each shape tests one byte before calling memcmp(). */
	switch (c->kind) {
	case CK_LITERAL:
		return nlen == c->len && n[0] == c->s[0] &&
		    memcmp(n, c->s, nlen) == 0;
	case CK_PREFIX:
		return nlen >= c->len - 1u && n[0] == c->s[0] &&
		    memcmp(n, c->s, c->len - 1u) == 0;
	case CK_SUFFIX:
		return nlen >= c->len - 1u &&
		    n[nlen - 1] == c->s[c->len - 1] &&
		    memcmp(n + nlen - (c->len - 1u), c->s + 1, c->len - 1u) == 0;
	case CK_STAR:
		return 1;	/* components are never empty */
	default:
		return policy_name_match(c->s, c->len, n, nlen);
	}
}

static uint8_t
comp_kind(const char *s, size_t len)
{
	size_t stars = 0, qs = 0;

	for (size_t i = 0; i < len; i++) {
		stars += s[i] == '*';
		qs += s[i] == '?';
	}
	if (len == 2 && stars == 2)
		return CK_DOUBLESTAR;
	if (qs > 0 || stars > 1)
		return CK_GENERAL;
	if (stars == 0)
		return CK_LITERAL;
	if (len == 1)
		return CK_STAR;
	if (s[len - 1] == '*')
		return CK_PREFIX;
	if (s[0] == '*')
		return CK_SUFFIX;
	return CK_GENERAL;
}

/* Split a normalized path; the root, ".", has no components. */
void
policy_split_path(struct policy_split *sp, const char *path, size_t len)
{
	size_t start = 0;

	sp->path = path;
	sp->n = 0;
	if (len == 0 || (len == 1 && path[0] == '.'))
		return;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		sp->off[sp->n] = (uint16_t)start;
		sp->len[sp->n++] = (uint16_t)(i - start);
		start = i + 1;
	}
}

/*
 * Match g against a split path.  With within, a match of any leading run
 * of components counts: the path lies inside something the glob names.
 */
int
policy_glob_match_split(const struct policy_glob *g,
    const struct policy_split *sp, int within)
{
	size_t pi = 0, s = 0, star_pi = SIZE_MAX, star_s = 0;

	for (;;) {
		if (pi < g->ncomp && g->comp[pi].kind == CK_DOUBLESTAR) {
			star_pi = pi++;
			star_s = s;
			continue;
		}
		if (within && pi == g->ncomp)
			return 1;
		if (s >= sp->n)
			break;
		if (pi < g->ncomp && comp_match(&g->comp[pi],
		    sp->path + sp->off[s], sp->len[s])) {
			pi++;
			s++;
		} else if (star_pi != SIZE_MAX) {
			/* Let the "**" take one more component; retry. */
			s = ++star_s;
			pi = star_pi + 1;
		} else
			return 0;
	}
	while (pi < g->ncomp && g->comp[pi].kind == CK_DOUBLESTAR)
		pi++;
	return pi == g->ncomp;
}

static int
glob_match_mode(const struct policy_glob *g, const char *path, size_t len,
    int within)
{
	struct policy_split sp;

	if (len > POLICY_PATH_MAX)
		return 0;
	policy_split_path(&sp, path, len);
	return policy_glob_match_split(g, &sp, within);
}

int
policy_glob_match(const struct policy_glob *g, const char *path, size_t len)
{
	return glob_match_mode(g, path, len, 0);
}

int
policy_glob_match_within(const struct policy_glob *g, const char *path,
    size_t len)
{
	return glob_match_mode(g, path, len, 1);
}

void
policy_glob_free(struct policy_glob *g)
{
	free(g->text);
	free(g->buf);
	free(g->comp);
	memset(g, 0, sizeof(*g));
}

/* Check one component of a glob; NULL when it is acceptable. */
static const char *
glob_comp_error(const char *c, size_t clen)
{
	if (clen == 0)
		return "empty component (a leading, doubled or trailing '/')";
	if ((clen == 1 && c[0] == '.') ||
	    (clen == 2 && c[0] == '.' && c[1] == '.'))
		return "'.' and '..' components are not allowed";
	if (clen > 2 || (clen == 2 && (c[0] != '*' || c[1] != '*'))) {
		for (size_t i = 0; i + 1 < clen; i++)
			if (c[i] == '*' && c[i + 1] == '*')
				return "'**' must be a whole component";
	}
	return NULL;
}

/*
 * Compile the glob text (len bytes).  Returns 0, or -1 with *why set
 * (and, for an allocation failure, *why == NULL).
 */
int
policy_glob_compile(struct policy_glob *g, const char *text, size_t len,
    const char **why)
{
	size_t ncomp = 1, k = 0, start = 0, lead;

	memset(g, 0, sizeof(*g));
	*why = NULL;
	if (len == 0) {
		*why = "empty glob";
		return -1;
	}
	if (len > POLICY_PATH_MAX) {
		*why = "glob longer than 4096 bytes";
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		*why = "glob contains a NUL byte";
		return -1;
	}
	if (text[0] == '/') {
		*why = "absolute glob (globs are relative to the root)";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (text[i] == '/')
			ncomp++;
	lead = ncomp == 1 ? 1 : 0;	/* no '/': match at any depth */
	if ((g->text = malloc(len + 1)) == NULL ||
	    (g->buf = malloc(len + 1)) == NULL ||
	    (g->comp = calloc(ncomp + lead, sizeof(*g->comp))) == NULL)
		goto fail;
	memcpy(g->text, text, len);
	g->text[len] = '\0';
	memcpy(g->buf, text, len);
	g->buf[len] = '\0';
	if (lead) {
		g->comp[k].s = doublestar;
		g->comp[k].len = 2;
		g->comp[k++].kind = CK_DOUBLESTAR;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '/')
			continue;
		if ((*why = glob_comp_error(text + start, i - start)) != NULL)
			goto fail;
		g->buf[i] = '\0';
		g->comp[k].s = g->buf + start;
		g->comp[k].len = (uint16_t)(i - start);
		g->comp[k++].kind = comp_kind(text + start, i - start);
		start = i + 1;
	}
	g->ncomp = k;
	return 0;
fail:
	policy_glob_free(g);
	return -1;
}
