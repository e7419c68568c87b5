/*
 * Policies as JSON: strict loading, and dumping the normalized policy.
 * The format is nucleus-policy(5).  Every fault names its JSON path, as
 * in "capabilities.run_bash: expected one of never, low_risk, always".
 *
 * A file may start from a profile; then "allow" lists replace the
 * profile's, "block" lists and presets add to them (a file can never
 * lift a block it inherits), and capabilities, budget and time members
 * override one by one.  Without a profile every capability not named is
 * never, and "budget" and "time" are required.  nu is applied last, and
 * the baseline command blocks are always in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static int
get_int(json_t *j, int64_t min, int64_t max, int64_t *out,
    struct policy_ctx *c)
{
	json_int_t v;

	if (json_is_real(j))
		return ctx_fail(c, "expected an integer, not a fraction");
	if (!json_is_integer(j))
		return ctx_fail(c, "expected an integer");
	v = json_integer_value(j);
	if (v < min || v > max)
		return ctx_fail(c, "out of range (%lld to %lld)", (long long)min,
		    (long long)max);
	*out = v;
	return 0;
}

static int
is_kid_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

static int
parse_name(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *s;
	size_t len;

	if (!json_is_string(j))
		return ctx_fail(c, "expected a string");
	s = json_string_value(j);
	len = json_string_length(j);
	if (len < 1 || len > POLICY_NAME_MAX)
		return ctx_fail(c, "expected 1 to %d characters",
		    POLICY_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (!is_kid_char((unsigned char)s[i]))
			return ctx_fail(c, "a name is made of A-Z, a-z, 0-9, "
			    "'.', '_' and '-'");
	memcpy(p->name, s, len);
	p->name[len] = '\0';
	return 0;
}

static int
parse_description(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *s;
	size_t len;

	if (!json_is_string(j))
		return ctx_fail(c, "expected a string");
	s = json_string_value(j);
	len = json_string_length(j);
	if (len > POLICY_DESC_MAX)
		return ctx_fail(c, "longer than %d bytes", POLICY_DESC_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return ctx_fail(c, "contains a control character");
	free(p->description);
	if ((p->description = strndup(s, len)) == NULL)
		return ctx_fail(c, "out of memory");
	return 0;
}

static int
parse_caps(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an object of capability levels");
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		enum policy_cap cap;
		enum policy_level lvl;

		if (policy_cap_from_name(name, &cap) != 0)
			return ctx_fail(c, "unknown capability");
		if (!json_is_string(v) ||
		    policy_level_from_name(json_string_value(v), &lvl) != 0)
			return ctx_fail(c, "expected one of never, low_risk, "
			    "always");
		p->caps.level[cap] = (uint8_t)lvl;
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_obligations(struct policy *p, json_t *j, struct policy_ctx *c)
{
	size_t i;
	json_t *v;

	if (!json_is_array(j))
		return ctx_fail(c, "expected an array of capability names");
	p->obligations = 0;
	json_array_foreach(j, i, v) {
		size_t old = ctx_index(c, i);
		enum policy_cap cap;

		if (!json_is_string(v) ||
		    policy_cap_from_name(json_string_value(v), &cap) != 0)
			return ctx_fail(c, "expected a capability name");
		if (p->obligations & CAPSET(cap))
			return ctx_fail(c, "%s is listed twice",
			    policy_cap_name(cap));
		p->obligations |= CAPSET(cap);
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_globs(struct policy_globs *l, json_t *j, struct policy_ctx *c,
    int any_ok)
{
	size_t i;
	json_t *v;

	if (any_ok && json_is_string(j) &&
	    strcmp(json_string_value(j), "any") == 0) {
		policy_globs_free(l);
		l->any = 1;
		return 0;
	}
	if (!json_is_array(j))
		return ctx_fail(c, any_ok ? "expected an array of globs or "
		    "\"any\"" : "expected an array of globs");
	if (json_array_size(j) > POLICY_GLOBS_MAX)
		return ctx_fail(c, "more than %d globs", POLICY_GLOBS_MAX);
	json_array_foreach(j, i, v) {
		size_t old = ctx_index(c, i);
		const char *why;

		if (!json_is_string(v))
			return ctx_fail(c, "expected a string");
		if (policy_globs_add(l, json_string_value(v),
		    json_string_length(v), &why) != 0)
			return ctx_fail(c, "%s", why != NULL ? why :
			    "out of memory");
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_presets(struct policy_globs *block, json_t *j, struct policy_ctx *c)
{
	size_t i;
	json_t *v;

	if (!json_is_array(j))
		return ctx_fail(c, "expected an array of preset names");
	json_array_foreach(j, i, v) {
		size_t old = ctx_index(c, i);
		const char *why;

		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), "sensitive") != 0)
			return ctx_fail(c, "expected \"sensitive\"");
		if (policy_globs_add_sensitive(block, &why) != 0)
			return ctx_fail(c, "%s", why != NULL ? why :
			    "out of memory");
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_paths(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an object");
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		int rc;

		if (strcmp(name, "allow") == 0) {
			policy_globs_free(&p->paths.allow);
			rc = parse_globs(&p->paths.allow, v, c, 1);
		} else if (strcmp(name, "block") == 0)
			rc = parse_globs(&p->paths.block, v, c, 0);
		else if (strcmp(name, "presets") == 0)
			rc = parse_presets(&p->paths.block, v, c);
		else
			rc = ctx_fail(c, "unknown member");
		if (rc != 0)
			return -1;
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_commands(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v, *set;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an object");
	/* The named set is the base, whatever the members' order. */
	if ((set = json_object_get(j, "set")) != NULL) {
		size_t old = ctx_member(c, "set");

		if (!json_is_string(set) ||
		    !policy_commands_valid_set(json_string_value(set)))
			return ctx_fail(c, "expected one of default, "
			    "permissive, restrictive, database_client, demo");
		if (policy_commands_named(&p->commands,
		    json_string_value(set)) != 0)
			return ctx_fail(c, "out of memory");
		ctx_pop(c, old);
	}
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		int rc = 0;

		if (strcmp(name, "allow") == 0) {
			policy_rules_free(&p->commands.allow);
			rc = policy_rules_from_json(&p->commands.allow, v, c, 1);
		} else if (strcmp(name, "block") == 0)
			rc = policy_rules_from_json(&p->commands.block, v, c, 0);
		else if (strcmp(name, "set") != 0)
			rc = ctx_fail(c, "unknown member");
		if (rc != 0)
			return -1;
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_budget(struct policy *p, json_t *j, struct policy_ctx *c)
{
	const char *name;
	json_t *v;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an object");
	json_object_foreach(j, name, v) {
		size_t old = ctx_member(c, name);
		int64_t *dst = NULL;

		if (strcmp(name, "limit_microusd") == 0)
			dst = &p->budget.limit;
		else if (strcmp(name, "consumed_microusd") == 0)
			dst = &p->budget.consumed;
		else if (strcmp(name, "reserved_microusd") == 0)
			dst = &p->budget.reserved;
		else
			return ctx_fail(c, "unknown member");
		if (get_int(v, 0, POLICY_MONEY_MAX, dst, c) != 0)
			return -1;
		ctx_pop(c, old);
	}
	return 0;
}

static int
parse_time(struct policy *p, json_t *j, int64_t now, struct policy_ctx *c)
{
	json_t *nb, *na, *lt;
	size_t old;
	int64_t v;

	if (!json_is_object(j))
		return ctx_fail(c, "expected an object");
	nb = json_object_get(j, "not_before");
	na = json_object_get(j, "not_after");
	lt = json_object_get(j, "lifetime_seconds");
	if (json_object_size(j) !=
	    (size_t)((nb != NULL) + (na != NULL) + (lt != NULL)))
		return ctx_fail(c, "members are not_before and not_after, or "
		    "lifetime_seconds");
	if (lt != NULL) {
		if (nb != NULL || na != NULL)
			return ctx_fail(c, "give either not_before and "
			    "not_after, or lifetime_seconds");
		old = ctx_member(c, "lifetime_seconds");
		if (get_int(lt, 1, POLICY_TIME_MAX - now, &v, c) != 0)
			return -1;
		ctx_pop(c, old);
		p->window.not_before = now;
		p->window.not_after = now + v;
		return 0;
	}
	if (nb == NULL || na == NULL)
		return ctx_fail(c, "give both not_before and not_after");
	old = ctx_member(c, "not_before");
	if (get_int(nb, 0, POLICY_TIME_MAX, &p->window.not_before, c) != 0)
		return -1;
	ctx_pop(c, old);
	old = ctx_member(c, "not_after");
	if (get_int(na, 0, POLICY_TIME_MAX, &p->window.not_after, c) != 0)
		return -1;
	if (p->window.not_after <= p->window.not_before)
		return ctx_fail(c, "must be later than not_before (the window "
		    "would be empty)");
	ctx_pop(c, old);
	return 0;
}

static int
parse_version(json_t *j, struct policy_ctx *c)
{
	int64_t v;

	if (get_int(j, 0, POLICY_TIME_MAX, &v, c) != 0)
		return -1;
	if (v != 1)
		return ctx_fail(c, "unsupported version %lld (this is version "
		    "1)", (long long)v);
	return 0;
}

static int
parse_trifecta(json_t *j, struct policy_ctx *c)
{
	if (!json_is_boolean(j))
		return ctx_fail(c, "expected true or false");
	if (json_is_false(j))
		return ctx_fail(c, "the trifecta constraint cannot be switched "
		    "off: nu applies to every policy");
	return 0;
}

/* The base: a profile, or nothing at all. */
static int
load_base(struct policy *p, json_t *root, int64_t now, struct policy_ctx *c)
{
	json_t *prof = json_object_get(root, "profile");
	size_t old;

	if (prof == NULL) {
		p->paths.allow.any = 1;
		if (json_object_get(root, "budget") == NULL) {
			(void)ctx_member(c, "budget");
			return ctx_fail(c, "required when no profile is named");
		}
		if (json_object_get(root, "time") == NULL) {
			(void)ctx_member(c, "time");
			return ctx_fail(c, "required when no profile is named");
		}
		return policy_commands_baseline(&p->commands) == 0 ? 0 :
		    ctx_fail(c, "out of memory");
	}
	old = ctx_member(c, "profile");
	if (!json_is_string(prof))
		return ctx_fail(c, "expected a profile name");
	if (policy_profile(p, json_string_value(prof), now) != 0)
		return ctx_fail(c, "unknown profile (nucleus-policy(5) lists "
		    "them)");
	ctx_pop(c, old);
	return 0;
}

static int
load_member(struct policy *p, const char *name, json_t *v, int64_t now,
    struct policy_ctx *c)
{
	if (strcmp(name, "v") == 0)
		return parse_version(v, c);
	if (strcmp(name, "name") == 0)
		return parse_name(p, v, c);
	if (strcmp(name, "description") == 0)
		return parse_description(p, v, c);
	if (strcmp(name, "profile") == 0)
		return 0;	/* load_base() */
	if (strcmp(name, "capabilities") == 0)
		return parse_caps(p, v, c);
	if (strcmp(name, "obligations") == 0)
		return parse_obligations(p, v, c);
	if (strcmp(name, "paths") == 0)
		return parse_paths(p, v, c);
	if (strcmp(name, "commands") == 0)
		return parse_commands(p, v, c);
	if (strcmp(name, "budget") == 0)
		return parse_budget(p, v, c);
	if (strcmp(name, "time") == 0)
		return parse_time(p, v, now, c);
	if (strcmp(name, "trifecta_constraint") == 0)
		return parse_trifecta(v, c);
	return ctx_fail(c, "unknown member");
}

/*
 * Load a policy from buf (len bytes), with relative times counted from
 * now.  Returns 0, or -1 with err filled (p is then empty).
 */
int
policy_load(struct policy *p, const char *buf, size_t len, int64_t now,
    struct policy_error *err)
{
	struct policy_ctx c;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *name;

	ctx_init(&c, err);
	policy_init(p);
	if (len > POLICY_FILE_MAX) {
		ctx_fail(&c, "larger than %d bytes", POLICY_FILE_MAX);
		goto fail;
	}
	if (now < 0 || now > POLICY_TIME_MAX) {
		ctx_fail(&c, "the clock is out of range");
		goto fail;
	}
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		err->line = jerr.line > 0 ? jerr.line : 1;
		err->column = jerr.column > 0 ? jerr.column : 1;
		snprintf(err->message, sizeof(err->message), "%s", jerr.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		ctx_fail(&c, "a policy is a JSON object");
		goto fail;
	}
	if (load_base(p, root, now, &c) != 0)
		goto fail;
	json_object_foreach(root, name, v) {
		size_t old = ctx_member(&c, name);

		if (load_member(p, name, v, now, &c) != 0)
			goto fail;
		ctx_pop(&c, old);
	}
	if (policy_commands_baseline(&p->commands) != 0) {
		ctx_fail(&c, "out of memory");
		goto fail;
	}
	policy_nu(p);
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	policy_free(p);
	return -1;
}

static json_t *
globs_to_json(const struct policy_globs *l)
{
	json_t *a;

	if (l->any)
		return json_string("any");
	if ((a = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i].text)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
rules_to_json(const struct policy_rules *l)
{
	json_t *a;

	if (l->any)
		return json_string("any");
	if ((a = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (json_array_append_new(a,
		    policy_rule_to_json(&l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
policy_to_json(const struct policy *p)
{
	json_t *caps = json_object(), *obl = json_array();
	json_t *pa = globs_to_json(&p->paths.allow);
	json_t *pb = globs_to_json(&p->paths.block);
	json_t *ca = rules_to_json(&p->commands.allow);
	json_t *cb = rules_to_json(&p->commands.block);

	if (caps == NULL || obl == NULL || pa == NULL || pb == NULL ||
	    ca == NULL || cb == NULL)
		goto fail;
	for (int i = 0; i < CAP_COUNT; i++) {
		if (json_object_set_new(caps, policy_cap_name(i),
		    json_string(policy_level_name(p->caps.level[i]))) != 0)
			goto fail;
		if ((p->obligations & CAPSET(i)) && json_array_append_new(obl,
		    json_string(policy_cap_name(i))) != 0)
			goto fail;
	}
	/* "o" steals each reference, on failure too. */
	return json_pack("{s:i, s:s*, s:s*, s:o, s:o, s:{s:o, s:o}, "
	    "s:{s:o, s:o}, s:{s:I, s:I, s:I}, s:{s:I, s:I}}",
	    "v", 1,
	    "name", p->name[0] != '\0' ? p->name : NULL,
	    "description", p->description,
	    "capabilities", caps,
	    "obligations", obl,
	    "paths", "allow", pa, "block", pb,
	    "commands", "allow", ca, "block", cb,
	    "budget", "limit_microusd", (json_int_t)p->budget.limit,
	    "consumed_microusd", (json_int_t)p->budget.consumed,
	    "reserved_microusd", (json_int_t)p->budget.reserved,
	    "time", "not_before", (json_int_t)p->window.not_before,
	    "not_after", (json_int_t)p->window.not_after);
fail:
	json_decref(caps);
	json_decref(obl);
	json_decref(pa);
	json_decref(pb);
	json_decref(ca);
	json_decref(cb);
	return NULL;
}

/*
 * The normalized policy as JSON, members sorted; NULL when out of memory.
 * The caller frees the result.
 */
char *
policy_dump(const struct policy *p, int flags)
{
	json_t *j = policy_to_json(p);
	char *s;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_SORT_KEYS | ((flags & POLICY_DUMP_PRETTY) ?
	    JSON_INDENT(2) : JSON_COMPACT));
	json_decref(j);
	return s;
}

/*
 * A pod spec's "policy" member: the name of a profile, or a policy object
 * (as policy_load), valid from now.  Returns 0, or -1 with err filled
 * (its path relative to the member; p is then empty).
 */
int
policy_load_member(struct policy *p, const json_t *v, int64_t now,
    struct policy_error *err)
{
	char *text;
	int rc;

	memset(err, 0, sizeof(*err));
	policy_init(p);
	if (json_is_string(v)) {
		if (policy_profile(p, json_string_value(v), now) == 0)
			return 0;
		snprintf(err->message, sizeof(err->message), "unknown profile "
		    "\"%.64s\"", json_string_value(v));
		return -1;
	}
	if (!json_is_object(v)) {
		snprintf(err->message, sizeof(err->message), "expected a "
		    "profile name or a policy object");
		return -1;
	}
	if ((text = json_dumps(v, JSON_COMPACT)) == NULL) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		return -1;
	}
	rc = policy_load(p, text, strlen(text), now, err);
	free(text);
	return rc;
}
