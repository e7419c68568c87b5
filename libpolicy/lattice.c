/*
 * The capability lattice, obligations, the trifecta and nu.
 */
#include <string.h>

#include "policy.h"

static const char *const cap_names[CAP_COUNT] = {
	"read_files", "write_files", "edit_files", "run_bash",
	"glob_search", "grep_search", "web_search", "web_fetch",
	"git_commit", "git_push", "create_pr",
};

static const char *const level_names[LEVEL_COUNT] = {
	"never", "low_risk", "always",
};

static const char *const kind_names[KIND_COUNT] = {
	"none", "bad_request", "insufficient_capability", "path_denied",
	"sandbox_escape", "command_denied", "approval_required",
	"budget_exhausted", "time_window",
};

static const char *const op_names[OP_COUNT] = {
	"read", "stat", "list", "write", "mkdir", "delete", "edit", "glob",
	"grep",
	"run", "web_search", "web_fetch",
};

const char *
policy_cap_name(enum policy_cap c)
{
	return (unsigned)c < CAP_COUNT ? cap_names[c] : "?";
}

int
policy_cap_from_name(const char *s, enum policy_cap *out)
{
	for (int i = 0; i < CAP_COUNT; i++) {
		if (strcmp(s, cap_names[i]) == 0) {
			*out = (enum policy_cap)i;
			return 0;
		}
	}
	return -1;
}

const char *
policy_level_name(enum policy_level l)
{
	return (unsigned)l < LEVEL_COUNT ? level_names[l] : "?";
}

int
policy_level_from_name(const char *s, enum policy_level *out)
{
	for (int i = 0; i < LEVEL_COUNT; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum policy_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
policy_kind_name(enum policy_kind k)
{
	return (unsigned)k < KIND_COUNT ? kind_names[k] : "internal";
}

const char *
policy_op_name(enum policy_op o)
{
	return (unsigned)o < OP_COUNT ? op_names[o] : "?";
}

int
policy_op_from_name(const char *s, enum policy_op *out)
{
	for (int i = 0; i < OP_COUNT; i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum policy_op)i;
			return 0;
		}
	}
	return -1;
}

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case VERDICT_ALLOW:
		return "allow";
	case VERDICT_DENY:
		return "deny";
	case VERDICT_APPROVAL:
		return "approval_required";
	}
	return "?";
}

void
policy_caps_meet(struct policy_caps *r, const struct policy_caps *a,
    const struct policy_caps *b)
{
	for (int i = 0; i < CAP_COUNT; i++)
		r->level[i] = a->level[i] < b->level[i] ? a->level[i] :
		    b->level[i];
}

void
policy_caps_join(struct policy_caps *r, const struct policy_caps *a,
    const struct policy_caps *b)
{
	for (int i = 0; i < CAP_COUNT; i++)
		r->level[i] = a->level[i] > b->level[i] ? a->level[i] :
		    b->level[i];
}

int
policy_caps_leq(const struct policy_caps *a, const struct policy_caps *b)
{
	for (int i = 0; i < CAP_COUNT; i++)
		if (a->level[i] > b->level[i])
			return 0;
	return 1;
}

int
policy_caps_equal(const struct policy_caps *a, const struct policy_caps *b)
{
	return memcmp(a->level, b->level, sizeof(a->level)) == 0;
}

/* More obligations is lower: meet is the union, join the intersection. */
policy_capset
policy_obligations_meet(policy_capset a, policy_capset b)
{
	return a | b;
}

policy_capset
policy_obligations_join(policy_capset a, policy_capset b)
{
	return a & b;
}

int
policy_obligations_leq(policy_capset a, policy_capset b)
{
	return (a & b) == b;	/* a is a superset of b */
}

static int
at_least_low(const struct policy_caps *c, enum policy_cap d)
{
	return c->level[d] >= LEVEL_LOW_RISK;
}

unsigned
policy_trifecta(const struct policy_caps *c)
{
	unsigned legs = 0;

	if (at_least_low(c, CAP_READ_FILES) || at_least_low(c, CAP_GLOB_SEARCH) ||
	    at_least_low(c, CAP_GREP_SEARCH))
		legs |= TRIFECTA_PRIVATE;
	if (at_least_low(c, CAP_WEB_FETCH) || at_least_low(c, CAP_WEB_SEARCH))
		legs |= TRIFECTA_UNTRUSTED;
	if (at_least_low(c, CAP_GIT_PUSH) || at_least_low(c, CAP_CREATE_PR) ||
	    at_least_low(c, CAP_RUN_BASH))
		legs |= TRIFECTA_EXFIL;
	return legs;
}

/*
 * nu: when all three legs are present, every way out that is enabled needs
 * an approval.  Capabilities are never changed, only obligations added, so
 * nu is deflationary and idempotent.  It is not monotone (see
 * nucleus-policy(5) and t/unit/t0002-nu.c).
 */
policy_capset
policy_nu_obligations(const struct policy_caps *c, policy_capset obl)
{
	static const enum policy_cap exits[] = {
		CAP_GIT_PUSH, CAP_CREATE_PR, CAP_RUN_BASH,
	};

	if (policy_trifecta(c) != TRIFECTA_ALL)
		return obl;
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
		if (at_least_low(c, exits[i]))
			obl |= CAPSET(exits[i]);
	return obl;
}

void
policy_nu(struct policy *p)
{
	p->obligations = policy_nu_obligations(&p->caps, p->obligations);
}
