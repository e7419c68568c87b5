/*
 * Command rules as JSON, and the loading context that names the JSON path
 * of every fault.
 *
 *	{"program": GLOB, "args": [PATTERN...], "options": [OPTSPEC...]}
 *	PATTERN:  {"exact": S} | "any" | "any_remaining"
 *	OPTSPEC:  {"short": LETTERS, "long": [NAME...]}
 *
 * A rule is canonicalized when it is loaded (a trailing "any_remaining"
 * dropped, since patterns match a prefix anyway; option letters and names
 * sorted; options sorted), and its canonical JSON is its identity.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

void
ctx_init(struct policy_ctx *c, struct policy_error *err)
{
	memset(c, 0, sizeof(*c));
	c->err = err;
	memset(err, 0, sizeof(*err));
}

/* Append to the path, replacing what could not be shown on a terminal. */
static void
ctx_append(struct policy_ctx *c, const char *s)
{
	for (; *s != '\0' && c->pathlen + 1 < sizeof(c->path); s++) {
		unsigned char ch = (unsigned char)*s;

		c->path[c->pathlen++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	c->path[c->pathlen] = '\0';
}

size_t
ctx_member(struct policy_ctx *c, const char *name)
{
	size_t old = c->pathlen;

	if (c->pathlen > 0)
		ctx_append(c, ".");
	ctx_append(c, name);
	return old;
}

size_t
ctx_index(struct policy_ctx *c, size_t i)
{
	size_t old = c->pathlen;
	char buf[32];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	ctx_append(c, buf);
	return old;
}

void
ctx_pop(struct policy_ctx *c, size_t old)
{
	c->pathlen = old;
	c->path[old] = '\0';
}

/* The name in parentheses: not the analyser's macro (policy_int.h). */
int
(ctx_fail)(struct policy_ctx *c, const char *fmt, ...)
{
	va_list ap;

	memcpy(c->err->path, c->path, sizeof(c->err->path));
	va_start(ap, fmt);
	vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

void
policy_rule_free(struct policy_rule *r)
{
	free(r->key);
	free(r->program);
	for (size_t i = 0; i < r->nargs; i++)
		free(r->args[i].s);
	free(r->args);
	for (size_t i = 0; i < r->nopts; i++) {
		free(r->opts[i].shorts);
		for (size_t k = 0; k < r->opts[i].nlongs; k++)
			free(r->opts[i].longs[k]);
		free(r->opts[i].longs);
	}
	free(r->opts);
	memset(r, 0, sizeof(*r));
}

/* A string member: its bytes, length checked, no NUL. */
static const char *
get_string(json_t *j, size_t min, size_t max, size_t *len,
    struct policy_ctx *c)
{
	const char *s;

	if (!json_is_string(j)) {
		ctx_fail(c, "expected a string");
		return NULL;
	}
	s = json_string_value(j);
	*len = json_string_length(j);
	if (memchr(s, '\0', *len) != NULL) {
		ctx_fail(c, "contains a NUL character");
		return NULL;
	}
	if (*len < min || *len > max) {
		ctx_fail(c, min > 0 ? "expected %zu to %zu bytes" :
		    "expected at most %zu bytes", min > 0 ? min : max, max);
		return NULL;
	}
	return s;
}

static int
parse_program(struct policy_rule *r, json_t *j, struct policy_ctx *c)
{
	size_t len;
	const char *s = get_string(j, 1, POLICY_PROGRAM_MAX, &len, c);

	if (s == NULL)
		return -1;
	if (memchr(s, '/', len) != NULL)
		return ctx_fail(c, "a program is a name, not a path: it is "
		    "matched against the last component of argv[0]");
	/* Once per rule: a JSON object has one member of a name, which
	 * scan-build cannot know of jansson's (unix.Malloc, a leak). */
	assert(r->program == NULL);
	if ((r->program = strndup(s, len)) == NULL)
		return ctx_fail(c, "out of memory");
	r->proglen = len;
	r->literal = strpbrk(r->program, "*?") == NULL;
	return 0;
}

static int
parse_argpat(struct policy_argpat *a, json_t *j, int last,
    struct policy_ctx *c)
{
	if (json_is_string(j)) {
		const char *s = json_string_value(j);

		if (strcmp(s, "any") == 0)
			a->kind = ARGPAT_ANY;
		else if (strcmp(s, "any_remaining") == 0) {
			if (!last)
				return ctx_fail(c, "\"any_remaining\" must be "
				    "the last pattern");
			a->kind = ARGPAT_ANY_REMAINING;
		} else
			return ctx_fail(c, "expected one of {\"exact\": S}, "
			    "\"any\", \"any_remaining\"");
		return 0;
	}
	if (json_is_object(j) && json_object_size(j) == 1 &&
	    json_object_get(j, "exact") != NULL) {
		size_t old = ctx_member(c, "exact"), len;
		const char *s = get_string(json_object_get(j, "exact"), 0,
		    POLICY_ARG_MAX, &len, c);

		if (s == NULL)
			return -1;
		ctx_pop(c, old);
		a->kind = ARGPAT_EXACT;
		a->len = len;
		if ((a->s = malloc(len + 1)) == NULL)
			return ctx_fail(c, "out of memory");
		memcpy(a->s, s, len);
		a->s[len] = '\0';
		return 0;
	}
	return ctx_fail(c, "expected one of {\"exact\": S}, \"any\", "
	    "\"any_remaining\"");
}

static int
parse_args(struct policy_rule *r, json_t *j, struct policy_ctx *c)
{
	size_t n;

	if (!json_is_array(j))
		return ctx_fail(c, "expected an array of argument patterns");
	if ((n = json_array_size(j)) > POLICY_RULE_ARGS_MAX)
		return ctx_fail(c, "more than %d argument patterns",
		    POLICY_RULE_ARGS_MAX);
	if (n > 0 && (r->args = calloc(n, sizeof(*r->args))) == NULL)
		return ctx_fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t old = ctx_index(c, i);

		if (parse_argpat(&r->args[i], json_array_get(j, i), i + 1 == n,
		    c) != 0)
			return -1;
		r->nargs++;
		ctx_pop(c, old);
	}
	/* Patterns match a prefix: a trailing "any_remaining" says nothing. */
	if (r->nargs > 0 && r->args[r->nargs - 1].kind == ARGPAT_ANY_REMAINING)
		r->nargs--;
	return 0;
}

static int
cmp_char(const void *a, const void *b)
{
	return *(const unsigned char *)a - *(const unsigned char *)b;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

static int
parse_shorts(struct policy_optspec *o, json_t *j, struct policy_ctx *c)
{
	size_t len, k = 0;
	const char *s = get_string(j, 0, 62, &len, c);

	if (s == NULL)
		return -1;
	if ((o->shorts = malloc(len + 1)) == NULL)
		return ctx_fail(c, "out of memory");
	for (size_t i = 0; i < len; i++) {
		if (!is_alnum((unsigned char)s[i]))
			return ctx_fail(c, "option letters are A-Z, a-z, 0-9");
		o->shorts[i] = s[i];
	}
	qsort(o->shorts, len, 1, cmp_char);
	for (size_t i = 0; i < len; i++)
		if (k == 0 || o->shorts[k - 1] != o->shorts[i])
			o->shorts[k++] = o->shorts[i];
	o->shorts[k] = '\0';
	return 0;
}

static int
parse_longs(struct policy_optspec *o, json_t *j, struct policy_ctx *c)
{
	size_t n, k = 0;

	if (!json_is_array(j))
		return ctx_fail(c, "expected an array of long option names");
	if ((n = json_array_size(j)) > POLICY_LONGS_MAX)
		return ctx_fail(c, "more than %d long option names",
		    POLICY_LONGS_MAX);
	if (n > 0 && (o->longs = calloc(n, sizeof(*o->longs))) == NULL)
		return ctx_fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t old = ctx_index(c, i), len;
		const char *s = get_string(json_array_get(j, i), 1, 64, &len,
		    c);

		if (s == NULL)
			return -1;
		if (s[0] == '-')
			return ctx_fail(c, "write the name without its "
			    "leading dashes");
		for (size_t x = 0; x < len; x++)
			if (!is_alnum((unsigned char)s[x]) && s[x] != '-' &&
			    s[x] != '_')
				return ctx_fail(c, "long option names are "
				    "A-Z, a-z, 0-9, '-' and '_'");
		if ((o->longs[o->nlongs] = strndup(s, len)) == NULL)
			return ctx_fail(c, "out of memory");
		o->nlongs++;
		ctx_pop(c, old);
	}
	if (o->nlongs > 1)	/* an empty list has no array at all */
		qsort(o->longs, o->nlongs, sizeof(*o->longs), cmp_str);
	for (size_t i = 0; i < o->nlongs; i++) {
		if (k > 0 && strcmp(o->longs[k - 1], o->longs[i]) == 0)
			free(o->longs[i]);
		else
			o->longs[k++] = o->longs[i];
	}
	o->nlongs = k;
	return 0;
}

static int
parse_optspec(struct policy_optspec *o, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an option spec {\"short\": "
		    "LETTERS, \"long\": [NAME...]}");
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		int rc;

		if (strcmp(name, "short") == 0)
			rc = parse_shorts(o, v, c);
		else if (strcmp(name, "long") == 0)
			rc = parse_longs(o, v, c);
		else
			rc = ctx_fail(c, "unknown member");
		if (rc != 0)
			return -1;
		ctx_pop(c, old);
	}
	if (o->shorts == NULL && (o->shorts = strdup("")) == NULL)
		return ctx_fail(c, "out of memory");
	if (o->shorts[0] == '\0' && o->nlongs == 0)
		return ctx_fail(c, "an option spec needs \"short\" or \"long\"");
	return 0;
}

static json_t *
optspec_to_json(const struct policy_optspec *o)
{
	json_t *j = json_object(), *l;

	if (j == NULL)
		return NULL;
	if (o->shorts[0] != '\0' &&
	    json_object_set_new(j, "short", json_string(o->shorts)) != 0)
		goto fail;
	if (o->nlongs > 0) {
		if (json_object_set_new(j, "long", l = json_array()) != 0)
			goto fail;
		for (size_t i = 0; i < o->nlongs; i++)
			if (json_array_append_new(l,
			    json_string(o->longs[i])) != 0)
				goto fail;
	}
	return j;
fail:
	json_decref(j);
	return NULL;
}

static char *
optspec_key(const struct policy_optspec *o)
{
	json_t *j = optspec_to_json(o);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) :
	    NULL;

	json_decref(j);
	return s;
}

static int
cmp_optspec(const void *a, const void *b)
{
	char *ka = optspec_key(a), *kb = optspec_key(b);
	int c = ka != NULL && kb != NULL ? strcmp(ka, kb) : 0;

	free(ka);
	free(kb);
	return c;
}

static int
parse_options(struct policy_rule *r, json_t *j, struct policy_ctx *c)
{
	size_t n;

	if (!json_is_array(j))
		return ctx_fail(c, "expected an array of option specs");
	if ((n = json_array_size(j)) > POLICY_RULE_OPTS_MAX)
		return ctx_fail(c, "more than %d option specs",
		    POLICY_RULE_OPTS_MAX);
	if (n > 0 && (r->opts = calloc(n, sizeof(*r->opts))) == NULL)
		return ctx_fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t old = ctx_index(c, i);

		/* Counted first: a half-parsed spec is freed with the rule. */
		r->nopts++;
		if (parse_optspec(&r->opts[i], json_array_get(j, i), c) != 0)
			return -1;
		ctx_pop(c, old);
	}
	if (r->nopts > 1)	/* an empty list has no array at all */
		qsort(r->opts, r->nopts, sizeof(*r->opts), cmp_optspec);
	return 0;
}

json_t *
policy_rule_to_json(const struct policy_rule *r)
{
	json_t *j = json_object(), *a;

	if (j == NULL || json_object_set_new(j, "program",
	    json_string(r->program)) != 0)
		goto fail;
	if (r->nargs > 0) {
		if (json_object_set_new(j, "args", a = json_array()) != 0)
			goto fail;
		for (size_t i = 0; i < r->nargs; i++) {
			const struct policy_argpat *p = &r->args[i];
			json_t *e;

			if (p->kind == ARGPAT_EXACT)
				e = json_pack("{s:s%}", "exact", p->s, p->len);
			else
				e = json_string(p->kind == ARGPAT_ANY ? "any" :
				    "any_remaining");
			if (json_array_append_new(a, e) != 0)
				goto fail;
		}
	}
	if (r->nopts > 0) {
		if (json_object_set_new(j, "options", a = json_array()) != 0)
			goto fail;
		for (size_t i = 0; i < r->nopts; i++)
			if (json_array_append_new(a,
			    optspec_to_json(&r->opts[i])) != 0)
				goto fail;
	}
	return j;
fail:
	json_decref(j);
	return NULL;
}

int
policy_rule_from_json(struct policy_rule *r, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v, *canon;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j)) {
		ctx_fail(c, "expected a rule {\"program\": NAME, ...}");
		goto fail;
	}
	if (json_object_get(j, "program") == NULL) {
		ctx_fail(c, "a rule needs \"program\"");
		goto fail;
	}
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		int rc;

		if (strcmp(name, "program") == 0)
			rc = parse_program(r, v, c);
		else if (strcmp(name, "args") == 0)
			rc = parse_args(r, v, c);
		else if (strcmp(name, "options") == 0)
			rc = parse_options(r, v, c);
		else
			rc = ctx_fail(c, "unknown member");
		if (rc != 0)
			goto fail;
		ctx_pop(c, old);
	}
	canon = policy_rule_to_json(r);
	r->key = canon != NULL ? json_dumps(canon,
	    JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(canon);
	if (r->key == NULL) {
		ctx_fail(c, "out of memory");
		goto fail;
	}
	return 0;
fail:
	policy_rule_free(r);
	return -1;
}

static char *
dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* A deep copy; -1 when out of memory (d is then empty). */
int
policy_rule_copy(struct policy_rule *d, const struct policy_rule *s)
{
	memset(d, 0, sizeof(*d));
	if ((d->key = strdup(s->key)) == NULL ||
	    (d->program = strdup(s->program)) == NULL)
		goto fail;
	d->proglen = s->proglen;
	d->literal = s->literal;
	if (s->nargs > 0 &&
	    (d->args = calloc(s->nargs, sizeof(*d->args))) == NULL)
		goto fail;
	for (; d->nargs < s->nargs; d->nargs++) {
		const struct policy_argpat *a = &s->args[d->nargs];

		d->args[d->nargs] = *a;
		if (a->s != NULL && (d->args[d->nargs].s = dup_bytes(a->s,
		    a->len)) == NULL)
			goto fail;
	}
	if (s->nopts > 0 &&
	    (d->opts = calloc(s->nopts, sizeof(*d->opts))) == NULL)
		goto fail;
	for (; d->nopts < s->nopts; d->nopts++) {
		const struct policy_optspec *o = &s->opts[d->nopts];
		struct policy_optspec *n = &d->opts[d->nopts];

		if ((n->shorts = strdup(o->shorts)) == NULL ||
		    (o->nlongs > 0 && (n->longs = calloc(o->nlongs,
		    sizeof(*n->longs))) == NULL))
			goto fail;
		for (; n->nlongs < o->nlongs; n->nlongs++)
			if ((n->longs[n->nlongs] = strdup(o->longs[n->nlongs]))
			    == NULL)
				goto fail;
	}
	return 0;
fail:
	/* Count the half-made option spec so that it is freed too. */
	if (d->opts != NULL && d->nopts < s->nopts)
		d->nopts++;
	policy_rule_free(d);
	return -1;
}

/*
 * A list of rules: an array, or the string "any" where any_ok.  Rules are
 * added to l, which may already hold some.
 */
int
policy_rules_from_json(struct policy_rules *l, json_t *j,
    struct policy_ctx *c, int any_ok)
{
	size_t n;

	if (any_ok && json_is_string(j) &&
	    strcmp(json_string_value(j), "any") == 0) {
		policy_rules_free(l);
		l->any = 1;
		return 0;
	}
	if (!json_is_array(j))
		return ctx_fail(c, any_ok ? "expected an array of rules or "
		    "\"any\"" : "expected an array of rules");
	if ((n = json_array_size(j)) > POLICY_RULES_MAX)
		return ctx_fail(c, "more than %d rules", POLICY_RULES_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t old = ctx_index(c, i);
		struct policy_rule r;

		if (policy_rule_from_json(&r, json_array_get(j, i), c) != 0)
			return -1;
		if (policy_rules_add(l, &r) != 0)
			return ctx_fail(c, "more than %d rules",
			    POLICY_RULES_MAX);
		ctx_pop(c, old);
	}
	return 0;
}
