/*
 * Whole policies: the product lattice of the components, and nu on top.
 *
 *	component	meet (lower)			join (higher)
 *	capabilities	pointwise minimum		pointwise maximum
 *	obligations	union				intersection
 *	paths.allow	intersection ("any" is top)	union
 *	paths.block	union				intersection
 *	commands	as paths
 *	budget		smaller limit, larger use	larger limit, smaller use
 *	window		intersection			smallest window holding both
 *
 * policy_meet() and policy_join() apply nu to the result.  A meet of two
 * normalized policies is already normalized (the trifecta's legs only
 * shrink), so the public meet is a lattice meet on normalized policies.
 * The public join is commutative, associative and idempotent, but nu can
 * add obligations to a join, so one absorption law fails; see
 * nucleus-policy(5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

void
policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
}

void
policy_free(struct policy *p)
{
	free(p->description);
	policy_globs_free(&p->paths.allow);
	policy_globs_free(&p->paths.block);
	policy_rules_free(&p->commands.allow);
	policy_rules_free(&p->commands.block);
	policy_init(p);
}

int
policy_copy(struct policy *d, const struct policy *s)
{
	policy_init(d);
	memcpy(d->name, s->name, sizeof(d->name));
	d->caps = s->caps;
	d->obligations = s->obligations;
	d->budget = s->budget;
	d->window = s->window;
	if ((s->description != NULL &&
	    (d->description = strdup(s->description)) == NULL) ||
	    policy_globs_copy(&d->paths.allow, &s->paths.allow) != 0 ||
	    policy_globs_copy(&d->paths.block, &s->paths.block) != 0 ||
	    policy_rules_copy(&d->commands.allow, &s->commands.allow) != 0 ||
	    policy_rules_copy(&d->commands.block, &s->commands.block) != 0) {
		policy_free(d);
		return -1;
	}
	return 0;
}

/* Equal as lattice points: the name and description do not count. */
int
policy_equal(const struct policy *a, const struct policy *b)
{
	return policy_caps_equal(&a->caps, &b->caps) &&
	    a->obligations == b->obligations &&
	    policy_globs_equal(&a->paths.allow, &b->paths.allow) &&
	    policy_globs_equal(&a->paths.block, &b->paths.block) &&
	    policy_rules_equal(&a->commands.allow, &b->commands.allow) &&
	    policy_rules_equal(&a->commands.block, &b->commands.block) &&
	    a->budget.limit == b->budget.limit &&
	    a->budget.consumed == b->budget.consumed &&
	    a->budget.reserved == b->budget.reserved &&
	    a->window.not_before == b->window.not_before &&
	    a->window.not_after == b->window.not_after;
}

int
policy_leq(const struct policy *a, const struct policy *b)
{
	return policy_caps_leq(&a->caps, &b->caps) &&
	    policy_obligations_leq(a->obligations, b->obligations) &&
	    policy_globs_subset(&a->paths.allow, &b->paths.allow) &&
	    policy_globs_subset(&b->paths.block, &a->paths.block) &&
	    policy_rules_subset(&a->commands.allow, &b->commands.allow) &&
	    policy_rules_subset(&b->commands.block, &a->commands.block) &&
	    a->budget.limit <= b->budget.limit &&
	    a->budget.consumed >= b->budget.consumed &&
	    a->budget.reserved >= b->budget.reserved &&
	    a->window.not_before >= b->window.not_before &&
	    a->window.not_after <= b->window.not_after;
}

/* meet (lower == 1) or join (lower == 0), without nu. */
static int
combine(struct policy *r, const struct policy *a, const struct policy *b,
    int lower)
{
	int allow = lower ? SET_INTERSECT : SET_UNION;
	int block = lower ? SET_UNION : SET_INTERSECT;

	policy_init(r);
	if (lower) {
		policy_caps_meet(&r->caps, &a->caps, &b->caps);
		r->obligations = policy_obligations_meet(a->obligations,
		    b->obligations);
		r->budget.limit = MIN(a->budget.limit, b->budget.limit);
		r->budget.consumed = MAX(a->budget.consumed,
		    b->budget.consumed);
		r->budget.reserved = MAX(a->budget.reserved,
		    b->budget.reserved);
		r->window.not_before = MAX(a->window.not_before,
		    b->window.not_before);
		r->window.not_after = MIN(a->window.not_after,
		    b->window.not_after);
	} else {
		policy_caps_join(&r->caps, &a->caps, &b->caps);
		r->obligations = policy_obligations_join(a->obligations,
		    b->obligations);
		r->budget.limit = MAX(a->budget.limit, b->budget.limit);
		r->budget.consumed = MIN(a->budget.consumed,
		    b->budget.consumed);
		r->budget.reserved = MIN(a->budget.reserved,
		    b->budget.reserved);
		r->window.not_before = MIN(a->window.not_before,
		    b->window.not_before);
		r->window.not_after = MAX(a->window.not_after,
		    b->window.not_after);
	}
	if (policy_globs_merge(&r->paths.allow, &a->paths.allow,
	    &b->paths.allow, allow) != 0 ||
	    policy_globs_merge(&r->paths.block, &a->paths.block,
	    &b->paths.block, block) != 0 ||
	    policy_rules_merge(&r->commands.allow, &a->commands.allow,
	    &b->commands.allow, allow) != 0 ||
	    policy_rules_merge(&r->commands.block, &a->commands.block,
	    &b->commands.block, block) != 0) {
		policy_free(r);
		return -1;
	}
	return 0;
}

int
policy_meet_raw(struct policy *r, const struct policy *a,
    const struct policy *b)
{
	return combine(r, a, b, 1);
}

int
policy_join_raw(struct policy *r, const struct policy *a,
    const struct policy *b)
{
	return combine(r, a, b, 0);
}

/*
 * The result is a new, unnamed policy; it is initialized even on failure
 * (-1, errno ENOMEM, or E2BIG when a list would pass its limit).
 */
int
policy_meet(struct policy *r, const struct policy *a, const struct policy *b)
{
	if (combine(r, a, b, 1) != 0)
		return -1;
	policy_nu(r);
	return 0;
}

int
policy_join(struct policy *r, const struct policy *a, const struct policy *b)
{
	if (combine(r, a, b, 0) != 0)
		return -1;
	policy_nu(r);
	return 0;
}

/*
 * Delegation: a child policy for a sub-agent, never more than its parent.
 * The child is the meet of the parent and the requested policy, with one
 * difference for the budget: the requested limit is how much the child
 * may spend, and it must fit in what the parent has left.  The child
 * shares the parent's budget (its consumption starts at the parent's), so
 * the child stays below the parent in the lattice order; its caller
 * reserves the delegated amount from the parent.
 */
enum policy_kind
policy_delegate(struct policy *child, const struct policy *parent,
    const struct policy *requested, int64_t now, struct policy_error *err)
{
	struct policy req;
	int64_t left = policy_budget_remaining(&parent->budget);
	int rc;

	policy_init(child);
	memset(err, 0, sizeof(*err));
	if (!policy_window_contains(&parent->window, now)) {
		snprintf(err->message, sizeof(err->message),
		    "the parent policy is %s", now < parent->window.not_before ?
		    "not yet valid" : "expired");
		return KIND_TIME_WINDOW;
	}
	if (requested->budget.limit > left) {
		snprintf(err->message, sizeof(err->message),
		    "asked for a budget of %lld micro-dollars; the parent has "
		    "%lld left", (long long)requested->budget.limit,
		    (long long)left);
		return KIND_BUDGET_EXHAUSTED;
	}
	/* A shallow copy: only the budget differs, and combine() copies. */
	req = *requested;
	req.budget.consumed = parent->budget.consumed;
	req.budget.reserved = parent->budget.reserved;
	req.budget.limit = parent->budget.consumed + parent->budget.reserved +
	    requested->budget.limit;
	rc = policy_meet(child, parent, &req);
	if (rc != 0) {
		snprintf(err->message, sizeof(err->message),
		    "cannot build the delegated policy");
		return KIND_BAD_REQUEST;
	}
	return KIND_NONE;
}
