/*
 * nu and the trifecta, exhaustively over all 3^11 = 177,147 capability
 * vectors, with empty, full and random obligation sets; the documented
 * counterexample to monotonicity; and the conformance cases of the
 * trifecta.
 */
#include <string.h>

#include "policy_int.h"
#include "tap.h"

#define NVEC	177147	/* 3^11 */

static void
vector(long n, struct policy_caps *c)
{
	for (int i = 0; i < CAP_COUNT; i++) {
		c->level[i] = (uint8_t)(n % 3);
		n /= 3;
	}
}

/* The definition, written out again independently of lattice.c. */
static policy_capset
expected_nu(const struct policy_caps *c, policy_capset obl)
{
	int private = c->level[CAP_READ_FILES] || c->level[CAP_GLOB_SEARCH] ||
	    c->level[CAP_GREP_SEARCH];
	int untrusted = c->level[CAP_WEB_FETCH] || c->level[CAP_WEB_SEARCH];
	int exfil = c->level[CAP_GIT_PUSH] || c->level[CAP_CREATE_PR] ||
	    c->level[CAP_RUN_BASH];

	if (private && untrusted && exfil) {
		if (c->level[CAP_GIT_PUSH])
			obl |= CAPSET(CAP_GIT_PUSH);
		if (c->level[CAP_CREATE_PR])
			obl |= CAPSET(CAP_CREATE_PR);
		if (c->level[CAP_RUN_BASH])
			obl |= CAPSET(CAP_RUN_BASH);
	}
	return obl;
}

static void
exhaustive(uint64_t seed)
{
	const policy_capset exits = CAPSET(CAP_GIT_PUSH) |
	    CAPSET(CAP_CREATE_PR) | CAPSET(CAP_RUN_BASH);
	long bad_def = -1, bad_idem = -1, bad_defl = -1, bad_extra = -1;
	long complete = 0;
	uint64_t r = seed;

	for (long n = 0; n < NVEC; n++) {
		struct policy_caps c;
		policy_capset sets[3];

		vector(n, &c);
		sets[0] = 0;
		sets[1] = CAPSET_ALL;
		sets[2] = (policy_capset)(rnd(&r) & CAPSET_ALL);
		complete += policy_trifecta(&c) == TRIFECTA_ALL;
		for (int k = 0; k < 3; k++) {
			policy_capset o = sets[k];
			policy_capset once = policy_nu_obligations(&c, o);
			policy_capset twice = policy_nu_obligations(&c, once);

			if (once != expected_nu(&c, o) && bad_def < 0)
				bad_def = n;
			if (twice != once && bad_idem < 0)
				bad_idem = n;
			/* nu(x) <= x: capabilities kept, obligations grown. */
			if (!policy_obligations_leq(once, o) && bad_defl < 0)
				bad_defl = n;
			if (((once & ~o) & ~exits) != 0 && bad_extra < 0)
				bad_extra = n;
		}
	}
	ok(bad_def < 0, "nu is the definition on all %d vectors", NVEC);
	if (bad_def >= 0)
		diag("first wrong vector: %ld", bad_def);
	ok(bad_idem < 0, "nu is idempotent on all vectors");
	ok(bad_defl < 0, "nu is deflationary: nu(x) <= x on all vectors");
	ok(bad_extra < 0, "nu adds nothing outside git_push, create_pr, "
	    "run_bash");
	/*
	 * Each leg needs one of its dimensions above never: 3^3-1 ways for
	 * private (3 dimensions), 3^2-1 for untrusted, 3^3-1 for the way
	 * out; write, edit and git_commit are free (3^3).
	 */
	is_int(complete, 26L * 8 * 26 * 27, "the trifecta is complete on "
	    "26*8*26*27 vectors");
}

static void
set_caps(struct policy *p, const char *spec)
{
	/* spec: 11 letters A/L/N in the model's order */
	for (int i = 0; i < CAP_COUNT; i++)
		p->caps.level[i] = spec[i] == 'A' ? LEVEL_ALWAYS :
		    spec[i] == 'L' ? LEVEL_LOW_RISK : LEVEL_NEVER;
}

/*
 * x = {read always, web_fetch low, run_bash low}; y = x + git_push low.
 * x <= y, yet nu(x) is not <= nu(y): nu is not monotone.
 */
static void
counterexample(void)
{
	struct policy x, y;

	policy_init(&x);
	policy_init(&y);
	x.paths.allow.any = y.paths.allow.any = 1;
	x.commands.allow.any = y.commands.allow.any = 1;
	/*               r w e b g g s f c p p */
	set_caps(&x, "ANNLNNNLNNN");
	set_caps(&y, "ANNLNNNLNLN");
	ok(policy_leq(&x, &y), "counterexample: x <= y");
	policy_nu(&x);
	policy_nu(&y);
	is_int(x.obligations, CAPSET(CAP_RUN_BASH),
	    "counterexample: nu(x) obliges run_bash");
	is_int(y.obligations, CAPSET(CAP_RUN_BASH) | CAPSET(CAP_GIT_PUSH),
	    "counterexample: nu(y) obliges run_bash and git_push");
	ok(!policy_leq(&x, &y), "counterexample: nu(x) is not <= nu(y), so "
	    "nu is not monotone");
	policy_free(&x);
	policy_free(&y);
}

static void
trifecta_cases(void)
{
	struct policy p;

	policy_init(&p);
	/*              r w e b g g s f c p p */
	set_caps(&p, "ANNNNNNLNLN");
	is_int(policy_trifecta(&p.caps), TRIFECTA_ALL,
	    "read always, web_fetch low, git_push low: complete");
	set_caps(&p, "ANNNNNNNNLN");
	is_int(policy_trifecta(&p.caps), TRIFECTA_PRIVATE | TRIFECTA_EXFIL,
	    "the same without web_fetch: not complete");
	set_caps(&p, "NNNLLNNLNNN");
	is_int(policy_trifecta(&p.caps), TRIFECTA_ALL,
	    "glob low, web_fetch low, run_bash low: complete");
	set_caps(&p, "NNNNAANNNNN");
	is_int(policy_trifecta(&p.caps), TRIFECTA_PRIVATE,
	    "only glob and grep: one leg");
	policy_free(&p);
}

/* A file cannot switch nu off; without the member, nu still applies. */
static void
constraint_cannot_be_disabled(void)
{
	static const char off[] = "{\"capabilities\":{\"read_files\":"
	    "\"always\",\"web_fetch\":\"low_risk\",\"create_pr\":\"low_risk\"},"
	    "\"trifecta_constraint\":false,\"budget\":{\"limit_microusd\":1},"
	    "\"time\":{\"lifetime_seconds\":60}}";
	static const char on[] = "{\"capabilities\":{\"read_files\":"
	    "\"always\",\"web_fetch\":\"low_risk\",\"create_pr\":\"low_risk\"},"
	    "\"trifecta_constraint\":true,\"budget\":{\"limit_microusd\":1},"
	    "\"time\":{\"lifetime_seconds\":60}}";
	struct policy p;
	struct policy_error e;
	struct policy_state st = { 100, 0, 0 };
	struct policy_request rq;
	struct policy_decision d;
	const char *argv[] = { "gh", "pr", "create" };

	ok(policy_load(&p, off, sizeof(off) - 1, 100, &e) == -1,
	    "trifecta_constraint: false is refused");
	is_str(e.path, "trifecta_constraint", "the error names the member");
	ok(policy_load(&p, on, sizeof(on) - 1, 100, &e) == 0,
	    "trifecta_constraint: true is accepted");
	memset(&rq, 0, sizeof(rq));
	rq.op = OP_RUN;
	rq.argv = argv;
	rq.argc = 3;
	/* A policy without a command set allows no command: give it one. */
	policy_rules_free(&p.commands.allow);
	p.commands.allow.any = 1;
	policy_decide(&p, &st, &rq, &d);
	ok(d.verdict == VERDICT_APPROVAL && d.cap == CAP_CREATE_PR,
	    "create_pr still needs an approval (%s)", d.reason);
	policy_free(&p);
}

int
main(void)
{
	exhaustive(tap_seed());
	counterexample();
	trifecta_cases();
	constraint_cannot_be_disabled();
	return done_testing();
}
