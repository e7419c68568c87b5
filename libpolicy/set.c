/*
 * Sorted, duplicate-free lists of globs and of rules, and the set
 * operations the lattice is made of.  Globs are identified by their text,
 * rules by their canonical JSON; both lists are kept sorted by that key,
 * so equality, inclusion, union and intersection are linear merges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

struct elem_ops {
	size_t	 size;
	size_t	 max;
	const char *(*key)(const void *);
	int	(*copy)(void *, const void *);
	void	(*release)(void *);
};

static const char *
glob_key(const void *e)
{
	return ((const struct policy_glob *)e)->text;
}

static int
glob_copy(void *dst, const void *src)
{
	const char *why, *t = glob_key(src);

	return policy_glob_compile(dst, t, strlen(t), &why);
}

static void
glob_release(void *e)
{
	policy_glob_free(e);
}

static const char *
rule_key(const void *e)
{
	return ((const struct policy_rule *)e)->key;
}

static int
rule_copy(void *dst, const void *src)
{
	return policy_rule_copy(dst, src);
}

static void
rule_release(void *e)
{
	policy_rule_free(e);
}

static const struct elem_ops glob_ops = {
	sizeof(struct policy_glob), POLICY_GLOBS_MAX,
	glob_key, glob_copy, glob_release,
};

static const struct elem_ops rule_ops = {
	sizeof(struct policy_rule), POLICY_RULES_MAX,
	rule_key, rule_copy, rule_release,
};

#define AT(v, i, ops)	((char *)(v) + (i) * (ops)->size)
#define CAT(v, i, ops)	((const char *)(v) + (i) * (ops)->size)

static void
list_free(void **v, size_t *n, const struct elem_ops *ops)
{
	for (size_t i = 0; i < *n; i++)
		ops->release(AT(*v, i, ops));
	free(*v);
	*v = NULL;
	*n = 0;
}

/*
 * Insert *elem (moved, then zeroed) in its place; a duplicate is released.
 * Returns 0, or -1 with errno E2BIG (list full) or ENOMEM; on failure the
 * element is released too, so the caller never owns it afterwards.
 */
static int
list_insert(void **v, size_t *n, void *elem, const struct elem_ops *ops)
{
	size_t lo = 0, hi = *n;
	const char *k = ops->key(elem);
	void *nv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ops->key(AT(*v, mid, ops)), k);

		if (c == 0) {
			ops->release(elem);
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n >= ops->max) {
		ops->release(elem);
		errno = E2BIG;
		return -1;
	}
	if ((nv = realloc(*v, (*n + 1) * ops->size)) == NULL) {
		ops->release(elem);
		return -1;
	}
	*v = nv;
	memmove(AT(nv, lo + 1, ops), AT(nv, lo, ops), (*n - lo) * ops->size);
	memcpy(AT(nv, lo, ops), elem, ops->size);
	memset(elem, 0, ops->size);
	(*n)++;
	return 0;
}

static int
list_copy(void **dv, size_t *dn, const void *sv, size_t sn,
    const struct elem_ops *ops)
{
	*dv = NULL;
	*dn = 0;
	if (sn == 0)
		return 0;
	if ((*dv = calloc(sn, ops->size)) == NULL)
		return -1;
	for (size_t i = 0; i < sn; i++) {
		if (ops->copy(AT(*dv, i, ops), CAT(sv, i, ops)) != 0) {
			list_free(dv, dn, ops);
			return -1;
		}
		(*dn)++;
	}
	return 0;
}

static int
list_equal(const void *av, size_t an, const void *bv, size_t bn,
    const struct elem_ops *ops)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (strcmp(ops->key(CAT(av, i, ops)), ops->key(CAT(bv, i, ops)))
		    != 0)
			return 0;
	return 1;
}

/* Is every element of a also in b? */
static int
list_subset(const void *av, size_t an, const void *bv, size_t bn,
    const struct elem_ops *ops)
{
	size_t j = 0;

	for (size_t i = 0; i < an; i++) {
		const char *k = ops->key(CAT(av, i, ops));
		int c = 1;

		while (j < bn && (c = strcmp(ops->key(CAT(bv, j, ops)), k)) < 0)
			j++;
		if (j == bn || c != 0)
			return 0;
		j++;
	}
	return 1;
}

/* The union or the intersection of two sorted lists, into *dv. */
static int
list_merge(void **dv, size_t *dn, const void *av, size_t an, const void *bv,
    size_t bn, int mode, const struct elem_ops *ops)
{
	size_t i = 0, j = 0, cap = mode == SET_UNION ? an + bn :
	    (an < bn ? an : bn);

	*dv = NULL;
	*dn = 0;
	if (cap > ops->max && mode == SET_UNION) {
		/* Count the union exactly before refusing. */
		size_t u = 0, x = 0, y = 0;

		while (x < an || y < bn) {
			int c = x == an ? 1 : y == bn ? -1 :
			    strcmp(ops->key(CAT(av, x, ops)),
			    ops->key(CAT(bv, y, ops)));

			x += c <= 0;
			y += c >= 0;
			u++;
		}
		if (u > ops->max) {
			errno = E2BIG;
			return -1;
		}
	}
	if (cap == 0)
		return 0;
	if ((*dv = calloc(cap, ops->size)) == NULL)
		return -1;
	while (i < an || j < bn) {
		int c = i == an ? 1 : j == bn ? -1 :
		    strcmp(ops->key(CAT(av, i, ops)), ops->key(CAT(bv, j, ops)));
		const void *src = NULL;

		if (c == 0)
			src = CAT(av, i, ops);
		else if (mode == SET_UNION)
			src = c < 0 ? CAT(av, i, ops) : CAT(bv, j, ops);
		i += c <= 0;
		j += c >= 0;
		if (src == NULL)
			continue;
		if (ops->copy(AT(*dv, *dn, ops), src) != 0) {
			list_free(dv, dn, ops);
			return -1;
		}
		(*dn)++;
	}
	return 0;
}

int
policy_globs_add(struct policy_globs *l, const char *text, size_t len,
    const char **why)
{
	struct policy_glob g;

	if (policy_glob_compile(&g, text, len, why) != 0)
		return -1;
	if (list_insert((void **)&l->v, &l->n, &g, &glob_ops) != 0) {
		*why = errno == E2BIG ? "too many globs (more than 1024)" : NULL;
		return -1;
	}
	return 0;
}

/* Add the sensitive preset's globs. */
int
policy_globs_add_sensitive(struct policy_globs *l, const char **why)
{
	for (size_t i = 0; i < policy_sensitive_nglobs; i++) {
		const char *g = policy_sensitive_globs[i];

		if (policy_globs_add(l, g, strlen(g), why) != 0)
			return -1;
	}
	return 0;
}

int
policy_rules_add(struct policy_rules *l, struct policy_rule *r)
{
	return list_insert((void **)&l->v, &l->n, r, &rule_ops);
}

void
policy_globs_free(struct policy_globs *l)
{
	list_free((void **)&l->v, &l->n, &glob_ops);
	l->any = 0;
}

void
policy_rules_free(struct policy_rules *l)
{
	list_free((void **)&l->v, &l->n, &rule_ops);
	l->any = 0;
}

int
policy_globs_copy(struct policy_globs *d, const struct policy_globs *s)
{
	d->any = s->any;
	return list_copy((void **)&d->v, &d->n, s->v, s->n, &glob_ops);
}

int
policy_rules_copy(struct policy_rules *d, const struct policy_rules *s)
{
	d->any = s->any;
	return list_copy((void **)&d->v, &d->n, s->v, s->n, &rule_ops);
}

int
policy_globs_equal(const struct policy_globs *a, const struct policy_globs *b)
{
	return a->any == b->any && list_equal(a->v, a->n, b->v, b->n,
	    &glob_ops);
}

int
policy_rules_equal(const struct policy_rules *a, const struct policy_rules *b)
{
	return a->any == b->any && list_equal(a->v, a->n, b->v, b->n,
	    &rule_ops);
}

/* a <= b for an allow list: b is "any", or a is a finite subset of b. */
int
policy_globs_subset(const struct policy_globs *a, const struct policy_globs *b)
{
	if (b->any)
		return 1;
	return !a->any && list_subset(a->v, a->n, b->v, b->n, &glob_ops);
}

int
policy_rules_subset(const struct policy_rules *a, const struct policy_rules *b)
{
	if (b->any)
		return 1;
	return !a->any && list_subset(a->v, a->n, b->v, b->n, &rule_ops);
}

/*
 * "any" is the top: its union with anything is "any", its intersection
 * with a list is that list.
 */
int
policy_globs_merge(struct policy_globs *d, const struct policy_globs *a,
    const struct policy_globs *b, int mode)
{
	if (a->any || b->any) {
		if (mode == SET_UNION) {
			memset(d, 0, sizeof(*d));
			d->any = 1;
			return 0;
		}
		return policy_globs_copy(d, a->any ? b : a);
	}
	d->any = 0;
	return list_merge((void **)&d->v, &d->n, a->v, a->n, b->v, b->n, mode,
	    &glob_ops);
}

int
policy_rules_merge(struct policy_rules *d, const struct policy_rules *a,
    const struct policy_rules *b, int mode)
{
	if (a->any || b->any) {
		if (mode == SET_UNION) {
			memset(d, 0, sizeof(*d));
			d->any = 1;
			return 0;
		}
		return policy_rules_copy(d, a->any ? b : a);
	}
	d->any = 0;
	return list_merge((void **)&d->v, &d->n, a->v, a->n, b->v, b->n, mode,
	    &rule_ops);
}
