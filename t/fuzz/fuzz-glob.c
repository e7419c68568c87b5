/*
 * libFuzzer target: the glob matcher, against a naive recursive matcher
 * written from the semantics of nucleus-policy(5).  Input: a glob, a
 * newline, a path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * One component, byte by byte ('?' as one byte: only ASCII is compared),
 * by dynamic programming: m[i][j] says p[i..] matches n[j..].
 */
static int
naive_name(const char *p, size_t pl, const char *n, size_t nl)
{
	static unsigned char m[41][81];

	for (size_t i = pl + 1; i-- > 0;) {
		for (size_t j = nl + 1; j-- > 0;) {
			if (i == pl)
				m[i][j] = j == nl;
			else if (p[i] == '*')
				m[i][j] = m[i + 1][j] || (j < nl && m[i][j + 1]);
			else
				m[i][j] = j < nl && (p[i] == '?' ||
				    p[i] == n[j]) && m[i + 1][j + 1];
		}
	}
	return m[0][0];
}

struct comps {
	size_t n;
	const char *s[64];
	size_t len[64];
};

static int
split(const char *s, size_t len, struct comps *c)
{
	size_t start = 0;

	c->n = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (c->n == 64)
			return -1;
		c->s[c->n] = s + start;
		c->len[c->n++] = i - start;
		start = i + 1;
	}
	return 0;
}

/* Whole paths, by dynamic programming over components. */
static int
naive(const struct comps *g, const struct comps *p, int within)
{
	static unsigned char m[65][65];

	for (size_t gi = g->n + 1; gi-- > 0;) {
		for (size_t pi = p->n + 1; pi-- > 0;) {
			if (gi == g->n)
				m[gi][pi] = within || pi == p->n;
			else if (g->len[gi] == 2 &&
			    memcmp(g->s[gi], "**", 2) == 0)
				m[gi][pi] = m[gi + 1][pi] ||
				    (pi < p->n && m[gi][pi + 1]);
			else
				m[gi][pi] = pi < p->n && naive_name(g->s[gi],
				    g->len[gi], p->s[pi], p->len[pi]) &&
				    m[gi + 1][pi + 1];
		}
	}
	return m[0][0];
}

static int
ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl;
	char norm[POLICY_PATH_MAX + 1], gbuf[300];
	struct policy_glob g;
	struct comps gc, pc;
	enum policy_kind k;
	const char *why;
	size_t glen, plen;

	if ((nl = memchr(in, '\n', size)) == NULL)
		return 0;
	glen = (size_t)(nl - in);
	if (policy_glob_compile(&g, in, glen, &why) != 0)
		return 0;
	if (policy_path_normalize(nl + 1, size - glen - 1, norm, sizeof(norm),
	    &k, &why) != 0) {
		policy_glob_free(&g);
		return 0;
	}
	plen = strlen(norm);
	int whole = policy_glob_match(&g, norm, plen);
	int within = policy_glob_match_within(&g, norm, plen);

	if (whole && !within)
		abort();	/* a match is a match within */
	/* The naive matcher is exponential: compare on small ASCII input. */
	if (glen < 40 && plen < 80 && ascii(in, glen) && ascii(norm, plen)) {
		if (memchr(in, '/', glen) == NULL) {	/* any depth */
			memcpy(gbuf, "**/", 3);
			memcpy(gbuf + 3, in, glen);
			glen += 3;
		} else
			memcpy(gbuf, in, glen);
		if (split(gbuf, glen, &gc) == 0 && split(norm, plen, &pc) == 0) {
			if (strcmp(norm, ".") == 0)
				pc.n = 0;
			if (naive(&gc, &pc, 0) != whole ||
			    naive(&gc, &pc, 1) != within)
				abort();
		}
	}
	policy_glob_free(&g);
	return 0;
}
