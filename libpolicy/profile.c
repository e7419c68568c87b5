/*
 * The seventeen built-in profiles.  Capabilities are written in the order
 * of the model (read, write, edit, run_bash, glob, grep, web_search,
 * web_fetch, git_commit, git_push, create_pr) as A (always), L (low_risk)
 * and N (never); obligations are the ones given, before nu.
 */
#include <string.h>

#include "policy_int.h"

#define USD(d, c)	((int64_t)(d) * 1000000 + (int64_t)(c) * 10000)
#define MIN_(m)		((int64_t)(m) * 60)
#define HOURS(h)	((int64_t)(h) * 3600)

#define O(c)		CAPSET(CAP_##c)

struct profile {
	const char *name;
	const char *caps;	/* 11 letters */
	policy_capset obligations;
	const char *commands;	/* a command set of sets.c */
	int	 sensitive;	/* block the sensitive preset */
	int64_t	 budget;	/* micro-dollars */
	int64_t	 lifetime;	/* seconds */
};

static const struct profile profiles[] = {
	{ "default", "ALLNAALLLNL",
	    O(WRITE_FILES) | O(EDIT_FILES) | O(WEB_SEARCH) | O(WEB_FETCH) |
	    O(GIT_COMMIT) | O(CREATE_PR),
	    "default", 0, USD(5, 0), HOURS(1) },
	{ "permissive", "AAAAAAAAAAA", 0,
	    "permissive", 0, USD(10, 0), HOURS(4) },
	{ "restrictive", "ANNNAANNNNN", 0,
	    "restrictive", 0, USD(0, 50), MIN_(10) },
	{ "read_only", "ANNNAANNNNN", 0,
	    "restrictive", 0, USD(0, 50), MIN_(10) },
	{ "filesystem_readonly", "ANNNAANNNNN", 0,
	    "restrictive", 1, USD(0, 50), MIN_(10) },
	{ "network_only", "NNNNNNLLNNN", 0,
	    "restrictive", 0, USD(1, 0), MIN_(30) },
	{ "web_research", "LNNNAALLNNN", 0,
	    "restrictive", 0, USD(1, 50), MIN_(45) },
	{ "code_review", "ANNNAALNNNN", O(WEB_SEARCH),
	    "restrictive", 0, USD(1, 0), MIN_(30) },
	{ "edit_only", "ALLNAANNNNN", 0,
	    "restrictive", 1, USD(1, 50), MIN_(45) },
	{ "local_dev", "ALLLAANNLNN", 0,
	    "permissive", 1, USD(3, 0), HOURS(2) },
	{ "fix_issue", "ALLLAALLLLL",
	    O(WEB_SEARCH) | O(WEB_FETCH) | O(GIT_COMMIT) | O(GIT_PUSH) |
	    O(CREATE_PR),
	    "default", 1, USD(2, 0), HOURS(1) },
	{ "release", "ALLLAALLLLL", O(GIT_PUSH) | O(CREATE_PR),
	    "permissive", 0, USD(5, 0), HOURS(2) },
	{ "database_client", "NNNLNNNNNNN", 0,
	    "database_client", 0, USD(2, 0), HOURS(1) },
	{ "demo", "ALLLAALLLLL", O(WRITE_FILES) | O(EDIT_FILES),
	    "demo", 1, USD(2, 0), MIN_(45) },
	{ "pr_review", "ANNNAALLNNN", 0,
	    "restrictive", 1, USD(1, 50), MIN_(30) },
	{ "codegen", "ALLLAANNLNN", 0,
	    "permissive", 1, USD(5, 0), HOURS(1) },
	{ "pr_approve", "ANNLAALLNLN", 0,
	    "default", 1, USD(1, 0), MIN_(15) },
};

#define NPROFILES	(sizeof(profiles) / sizeof(profiles[0]))

/* The i-th profile's name, or NULL past the last. */
const char *
policy_profile_name(size_t i)
{
	return i < NPROFILES ? profiles[i].name : NULL;
}

static enum policy_level
level_of(char c)
{
	return c == 'A' ? LEVEL_ALWAYS : c == 'L' ? LEVEL_LOW_RISK :
	    LEVEL_NEVER;
}

/*
 * Build the named profile, valid from now for its lifetime.  Returns 0, or
 * -1 for an unknown name or an allocation failure (p is then empty).
 */
int
policy_profile(struct policy *p, const char *name, int64_t now)
{
	const struct profile *pr = NULL;
	const char *why;

	policy_init(p);
	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			pr = &profiles[i];
	if (pr == NULL)
		return -1;
	strncpy(p->name, pr->name, POLICY_NAME_MAX);
	for (int i = 0; i < CAP_COUNT; i++)
		p->caps.level[i] = (uint8_t)level_of(pr->caps[i]);
	p->obligations = pr->obligations;
	p->paths.allow.any = 1;
	if (pr->sensitive && policy_globs_add_sensitive(&p->paths.block,
	    &why) != 0)
		goto fail;
	if (policy_commands_named(&p->commands, pr->commands) != 0)
		goto fail;
	p->budget.limit = pr->budget;
	p->window.not_before = now;
	p->window.not_after = now + pr->lifetime;
	policy_nu(p);
	return 0;
fail:
	policy_free(p);
	return -1;
}
