/*
 * Every row of the profiles table of the policy model: capabilities,
 * obligations after nu, command set, sensitive paths, budget, lifetime.
 * The table is written out here again, from the model, independently of
 * libpolicy/profile.c.
 */
#include <string.h>

#include "policy_int.h"
#include "tap.h"

#define W	CAPSET(CAP_WRITE_FILES)
#define E	CAPSET(CAP_EDIT_FILES)
#define B	CAPSET(CAP_RUN_BASH)
#define S	CAPSET(CAP_WEB_SEARCH)
#define F	CAPSET(CAP_WEB_FETCH)
#define C	CAPSET(CAP_GIT_COMMIT)
#define P	CAPSET(CAP_GIT_PUSH)
#define R	CAPSET(CAP_CREATE_PR)

static const struct row {
	const char *name;
	const char *caps;	/* r w e b g g s f c p p */
	policy_capset after_nu;
	const char *commands;
	int sensitive;
	int64_t microusd;
	int64_t seconds;
} table[] = {
	{ "default", "ALLNAALLLNL", W | E | S | F | C | R, "default", 0,
	    5000000, 3600 },
	{ "permissive", "AAAAAAAAAAA", B | P | R, "permissive", 0, 10000000,
	    4 * 3600 },
	{ "restrictive", "ANNNAANNNNN", 0, "restrictive", 0, 500000, 600 },
	{ "read_only", "ANNNAANNNNN", 0, "restrictive", 0, 500000, 600 },
	{ "filesystem_readonly", "ANNNAANNNNN", 0, "restrictive", 1, 500000,
	    600 },
	{ "network_only", "NNNNNNLLNNN", 0, "restrictive", 0, 1000000, 1800 },
	{ "web_research", "LNNNAALLNNN", 0, "restrictive", 0, 1500000, 2700 },
	{ "code_review", "ANNNAALNNNN", S, "restrictive", 0, 1000000, 1800 },
	{ "edit_only", "ALLNAANNNNN", 0, "restrictive", 1, 1500000, 2700 },
	{ "local_dev", "ALLLAANNLNN", 0, "permissive", 1, 3000000, 7200 },
	{ "fix_issue", "ALLLAALLLLL", S | F | C | P | R | B, "default", 1,
	    2000000, 3600 },
	{ "release", "ALLLAALLLLL", P | R | B, "permissive", 0, 5000000,
	    7200 },
	{ "database_client", "NNNLNNNNNNN", 0, "database_client", 0, 2000000,
	    3600 },
	{ "demo", "ALLLAALLLLL", W | E | B | P | R, "demo", 1, 2000000, 2700 },
	{ "pr_review", "ANNNAALLNNN", 0, "restrictive", 1, 1500000, 1800 },
	{ "codegen", "ALLLAANNLNN", 0, "permissive", 1, 5000000, 3600 },
	{ "pr_approve", "ANNLAALLNLN", B | P, "default", 1, 1000000, 900 },
};
#define NROWS	(sizeof(table) / sizeof(table[0]))

static int
caps_are(const struct policy *p, const char *spec)
{
	for (int i = 0; i < CAP_COUNT; i++) {
		int want = spec[i] == 'A' ? LEVEL_ALWAYS : spec[i] == 'L' ?
		    LEVEL_LOW_RISK : LEVEL_NEVER;

		if (p->caps.level[i] != want)
			return 0;
	}
	return 1;
}

static void
row(const struct row *r)
{
	struct policy p;
	struct policy_commands cmds;

	if (policy_profile(&p, r->name, 1000) != 0) {
		ok(0, "profile %s exists", r->name);
		return;
	}
	memset(&cmds, 0, sizeof(cmds));
	if (policy_commands_named(&cmds, r->commands) != 0)
		abort();
	ok(caps_are(&p, r->caps), "%s: capabilities %s", r->name, r->caps);
	is_int(p.obligations, r->after_nu, "%s: obligations after nu",
	    r->name);
	ok(policy_rules_equal(&p.commands.allow, &cmds.allow) &&
	    policy_rules_equal(&p.commands.block, &cmds.block),
	    "%s: the %s command set", r->name, r->commands);
	is_int((long long)p.paths.block.n, r->sensitive ? 25 : 0,
	    "%s: sensitive paths %s", r->name, r->sensitive ? "blocked" :
	    "not blocked");
	ok(p.paths.allow.any, "%s: every other path allowed", r->name);
	is_int(p.budget.limit, r->microusd, "%s: budget %lld micro-dollars",
	    r->name, (long long)r->microusd);
	ok(p.window.not_before == 1000 &&
	    p.window.not_after == 1000 + r->seconds, "%s: lifetime %llds",
	    r->name, (long long)r->seconds);
	policy_rules_free(&cmds.allow);
	policy_rules_free(&cmds.block);
	policy_free(&p);
}

int
main(void)
{
	struct policy p;
	size_t n = 0;

	for (size_t i = 0; i < NROWS; i++)
		row(&table[i]);
	while (policy_profile_name(n) != NULL)
		n++;
	is_int((long long)n, 17, "there are exactly 17 profiles");
	ok(policy_profile(&p, "no_such_profile", 0) == -1,
	    "an unknown profile is refused");
	return done_testing();
}
