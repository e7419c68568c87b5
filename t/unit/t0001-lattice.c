/*
 * Lattice laws, for each component and for the whole policy, on seeded
 * random cases: commutative, associative, idempotent, absorption, and leq
 * consistent with meet and join.  A failure prints the case's seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "tap.h"

#define CASES	100000

enum comp {
	C_CAPS = 1 << 0,
	C_OBLIGATIONS = 1 << 1,
	C_PATHS_ALLOW = 1 << 2,
	C_PATHS_BLOCK = 1 << 3,
	C_CMDS_ALLOW = 1 << 4,
	C_CMDS_BLOCK = 1 << 5,
	C_BUDGET = 1 << 6,
	C_WINDOW = 1 << 7,
	C_ALL = 0xff
};

static const char *const glob_universe[] = {
	"*.pem", "src/**", "**/secrets/**", ".env*", "a/b", "docs/*.md",
};
#define NGLOBS	(sizeof(glob_universe) / sizeof(glob_universe[0]))

static const char *const rule_universe[] = {
	"{\"program\":\"git\",\"args\":[{\"exact\":\"status\"}]}",
	"{\"program\":\"cargo\",\"args\":[{\"exact\":\"test\"}]}",
	"{\"program\":\"ls\"}",
	"{\"program\":\"rm\",\"options\":[{\"short\":\"rR\"},{\"short\":\"f\"}]}",
	"{\"program\":\"python*\",\"options\":[{\"short\":\"c\"}]}",
	"{\"program\":\"make\",\"args\":[\"any\",{\"exact\":\"x\"}]}",
};
#define NRULES	(sizeof(rule_universe) / sizeof(rule_universe[0]))

static struct policy_rule rules[NRULES];

static void
load_rules(void)
{
	struct policy_error err;
	struct policy_ctx c;

	for (size_t i = 0; i < NRULES; i++) {
		json_t *j = json_loads(rule_universe[i], 0, NULL);

		ctx_init(&c, &err);
		if (j == NULL || policy_rule_from_json(&rules[i], j, &c) != 0) {
			printf("Bail out! rule %zu: %s\n", i, err.message);
			exit(1);
		}
		json_decref(j);
	}
}

static void
gen_globs(uint64_t *r, struct policy_globs *l, int any_ok)
{
	const char *why;

	if (any_ok && rnd_below(r, 4) == 0) {
		l->any = 1;
		return;
	}
	for (size_t i = 0; i < NGLOBS; i++)
		if (rnd_below(r, 2) &&
		    policy_globs_add(l, glob_universe[i],
		    strlen(glob_universe[i]), &why) != 0)
			abort();
}

static void
gen_rules(uint64_t *r, struct policy_rules *l, int any_ok)
{
	if (any_ok && rnd_below(r, 4) == 0) {
		l->any = 1;
		return;
	}
	for (size_t i = 0; i < NRULES; i++) {
		struct policy_rule c;

		if (!rnd_below(r, 2))
			continue;
		if (policy_rule_copy(&c, &rules[i]) != 0 ||
		    policy_rules_add(l, &c) != 0)
			abort();
	}
}

/* A random policy varying in the components of mask; the rest is fixed. */
static void
gen(uint64_t *r, struct policy *p, unsigned mask)
{
	policy_init(p);
	p->paths.allow.any = 1;
	p->commands.allow.any = 1;
	p->budget.limit = 3;
	p->window.not_after = 5;
	if (mask & C_CAPS)
		for (int i = 0; i < CAP_COUNT; i++)
			p->caps.level[i] = (uint8_t)rnd_below(r, LEVEL_COUNT);
	if (mask & C_OBLIGATIONS)
		p->obligations = (policy_capset)(rnd(r) & CAPSET_ALL);
	if (mask & C_PATHS_ALLOW) {
		p->paths.allow.any = 0;
		gen_globs(r, &p->paths.allow, 1);
	}
	if (mask & C_PATHS_BLOCK)
		gen_globs(r, &p->paths.block, 0);
	if (mask & C_CMDS_ALLOW) {
		p->commands.allow.any = 0;
		gen_rules(r, &p->commands.allow, 1);
	}
	if (mask & C_CMDS_BLOCK)
		gen_rules(r, &p->commands.block, 0);
	if (mask & C_BUDGET) {
		p->budget.limit = (int64_t)rnd_below(r, 6);
		p->budget.consumed = (int64_t)rnd_below(r, 6);
		p->budget.reserved = (int64_t)rnd_below(r, 3);
	}
	if (mask & C_WINDOW) {
		/* Empty windows included: they are lattice points too. */
		p->window.not_before = (int64_t)rnd_below(r, 10);
		p->window.not_after = (int64_t)rnd_below(r, 10);
	}
}

typedef int (*op_fn)(struct policy *, const struct policy *,
    const struct policy *);

static int
eq_op(op_fn f, const struct policy *a, const struct policy *b,
    const struct policy *want)
{
	struct policy r;
	int e;

	if (f(&r, a, b) != 0)
		abort();
	e = policy_equal(&r, want);
	policy_free(&r);
	return e;
}

/* Check every law on one case; returns the name of the first that fails. */
static const char *
check_laws(const struct policy *a, const struct policy *b,
    const struct policy *c)
{
	struct policy ab, ba, jab, jba, abc1, abc2, t, jt;
	const char *fail = NULL;
	int leq, m_is_a, j_is_b;

	if (policy_meet_raw(&ab, a, b) || policy_meet_raw(&ba, b, a) ||
	    policy_join_raw(&jab, a, b) || policy_join_raw(&jba, b, a))
		abort();
	if (!policy_equal(&ab, &ba))
		fail = "meet is commutative";
	else if (!policy_equal(&jab, &jba))
		fail = "join is commutative";
	else if (!eq_op(policy_meet_raw, a, a, a))
		fail = "meet is idempotent";
	else if (!eq_op(policy_join_raw, a, a, a))
		fail = "join is idempotent";
	else if (!eq_op(policy_meet_raw, a, &jab, a))
		fail = "a meet (a join b) = a";
	else if (!eq_op(policy_join_raw, a, &ab, a))
		fail = "a join (a meet b) = a";
	if (fail == NULL) {
		/* Associativity. */
		if (policy_meet_raw(&t, b, c) || policy_meet_raw(&abc1, &ab, c) ||
		    policy_meet_raw(&abc2, a, &t))
			abort();
		if (!policy_equal(&abc1, &abc2))
			fail = "meet is associative";
		policy_free(&t);
		policy_free(&abc1);
		policy_free(&abc2);
	}
	if (fail == NULL) {
		if (policy_join_raw(&jt, b, c) ||
		    policy_join_raw(&abc1, &jab, c) ||
		    policy_join_raw(&abc2, a, &jt))
			abort();
		if (!policy_equal(&abc1, &abc2))
			fail = "join is associative";
		policy_free(&jt);
		policy_free(&abc1);
		policy_free(&abc2);
	}
	if (fail == NULL) {
		leq = policy_leq(a, b);
		m_is_a = policy_equal(&ab, a);
		j_is_b = policy_equal(&jab, b);
		if (leq != m_is_a || leq != j_is_b)
			fail = "a <= b iff a meet b = a iff a join b = b";
		else if (!policy_leq(&ab, a) || !policy_leq(&ab, b) ||
		    !policy_leq(a, &jab) || !policy_leq(b, &jab))
			fail = "meet is below, join above, both arguments";
	}
	policy_free(&ab);
	policy_free(&ba);
	policy_free(&jab);
	policy_free(&jba);
	return fail;
}

static void
laws(uint64_t seed, unsigned mask, const char *what)
{
	const char *fail = NULL;
	uint64_t cs = 0;
	long leqs = 0;

	for (long i = 0; i < CASES && fail == NULL; i++) {
		struct policy a, b, c;
		uint64_t r;

		cs = seed + (uint64_t)i * 0x100000001b3ULL;
		r = cs;
		gen(&r, &a, mask);
		gen(&r, &b, mask);
		gen(&r, &c, mask);
		if (rnd_below(&r, 4) == 0) {
			/* Make a <= b, or comparable pairs would be rare. */
			struct policy up;

			if (policy_join_raw(&up, &a, &b) != 0)
				abort();
			policy_free(&b);
			b = up;
		}
		fail = check_laws(&a, &b, &c);
		leqs += policy_leq(&a, &b);
		policy_free(&a);
		policy_free(&b);
		policy_free(&c);
	}
	ok(fail == NULL, "%s: lattice laws on %d random cases", what, CASES);
	if (fail != NULL)
		diag("%s fails; case seed %llu", fail, (unsigned long long)cs);
	/* A law that is never put to the test proves nothing. */
	ok(leqs > 0 && leqs < CASES, "%s: cases include comparable and "
	    "incomparable pairs (%ld of %d comparable)", what, leqs, CASES);
}

/* The public meet and join apply nu: what that keeps and what it breaks. */
static void
normalized(uint64_t seed)
{
	const char *fail = NULL;

	for (long i = 0; i < CASES && fail == NULL; i++) {
		struct policy a, b, c, m, mr, j1, j2, t;
		uint64_t r = seed + (uint64_t)i * 0x100000001b3ULL;

		gen(&r, &a, C_CAPS | C_OBLIGATIONS);
		gen(&r, &b, C_CAPS | C_OBLIGATIONS);
		gen(&r, &c, C_CAPS | C_OBLIGATIONS);
		policy_nu(&a);
		policy_nu(&b);
		policy_nu(&c);
		if (policy_meet(&m, &a, &b) || policy_meet_raw(&mr, &a, &b))
			abort();
		if (!policy_equal(&m, &mr))
			fail = "the meet of normalized policies is normalized";
		policy_free(&m);
		policy_free(&mr);
		/* join: associative through nu. */
		if (fail == NULL) {
			if (policy_join(&t, &a, &b) || policy_join(&j1, &t, &c))
				abort();
			policy_free(&t);
			if (policy_join(&t, &b, &c) || policy_join(&j2, &a, &t))
				abort();
			policy_free(&t);
			if (!policy_equal(&j1, &j2))
				fail = "nu(join) is associative";
			policy_free(&j1);
			policy_free(&j2);
		}
		if (fail == NULL && !eq_op(policy_join, &a, &a, &a))
			fail = "nu(join) is idempotent";
		if (fail == NULL) {
			if (policy_join(&j1, &a, &b) ||
			    policy_join(&j2, &b, &a))
				abort();
			if (!policy_equal(&j1, &j2))
				fail = "nu(join) is commutative";
			policy_free(&j1);
			policy_free(&j2);
		}
		policy_free(&a);
		policy_free(&b);
		policy_free(&c);
		if (fail != NULL)
			diag("%s fails; case seed %llu", fail,
			    (unsigned long long)(seed + (uint64_t)i *
			    0x100000001b3ULL));
	}
	ok(fail == NULL, "public meet and join with nu: meet closed on "
	    "normalized policies; join commutative, associative, idempotent");
}

/*
 * The absorption law a meet (a join b) = a does not survive nu: joining
 * can complete the trifecta and add an obligation a never had.
 */
static void
absorption_counterexample(void)
{
	struct policy a, b, j, m;

	policy_init(&a);
	policy_init(&b);
	a.paths.allow.any = b.paths.allow.any = 1;
	a.commands.allow.any = b.commands.allow.any = 1;
	a.caps.level[CAP_READ_FILES] = LEVEL_ALWAYS;
	a.caps.level[CAP_RUN_BASH] = LEVEL_LOW_RISK;
	b.caps.level[CAP_WEB_FETCH] = LEVEL_LOW_RISK;
	policy_nu(&a);
	policy_nu(&b);
	if (policy_join(&j, &a, &b) || policy_meet(&m, &a, &j))
		abort();
	ok(a.obligations == 0 && m.obligations == CAPSET(CAP_RUN_BASH) &&
	    !policy_equal(&m, &a), "documented: a meet nu(a join b) != a "
	    "when the join completes the trifecta");
	policy_free(&j);
	policy_free(&m);
	policy_free(&a);
	policy_free(&b);
}

int
main(void)
{
	uint64_t seed = tap_seed();
	static const struct {
		unsigned mask;
		const char *name;
	} comps[] = {
		{ C_CAPS, "capabilities" },
		{ C_OBLIGATIONS, "obligations" },
		{ C_PATHS_ALLOW, "paths.allow" },
		{ C_PATHS_BLOCK, "paths.block" },
		{ C_CMDS_ALLOW, "commands.allow" },
		{ C_CMDS_BLOCK, "commands.block" },
		{ C_BUDGET, "budget" },
		{ C_WINDOW, "time window" },
		{ C_ALL, "whole policy" },
	};

	load_rules();
	for (size_t i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
		laws(seed + i, comps[i].mask, comps[i].name);
	normalized(seed);
	absorption_counterexample();
	for (size_t i = 0; i < NRULES; i++)
		policy_rule_free(&rules[i]);
	return done_testing();
}
