/*
 * Budget (integer micro-dollars: reserve, charge, refund), the half-open
 * time window, the budget and window steps of a decision, and delegation.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "tap.h"

static void
budget(void)
{
	struct policy_budget b = { 1000, 0, 0 };

	is_int(policy_budget_charge(&b, 0), KIND_BAD_REQUEST,
	    "a charge of 0 is refused");
	is_int(policy_budget_charge(&b, -5), KIND_BAD_REQUEST,
	    "a negative charge is refused");
	is_int(policy_budget_charge(&b, POLICY_MONEY_MAX + 1),
	    KIND_BAD_REQUEST, "a charge above the money limit is refused");
	ok(b.consumed == 0 && b.reserved == 0, "refusals change nothing");
	is_int(policy_budget_charge(&b, 400), KIND_NONE, "charge 400");
	is_int(policy_budget_charge(&b, 601), KIND_BUDGET_EXHAUSTED,
	    "a charge over the limit is budget_exhausted");
	is_int(b.consumed, 400, "... and changes nothing");
	is_int(policy_budget_reserve(&b, 500), KIND_NONE, "reserve 500");
	is_int(policy_budget_remaining(&b), 100, "100 left while reserved");
	is_int(policy_budget_charge(&b, 101), KIND_BUDGET_EXHAUSTED,
	    "reservations count against the limit");
	is_int(policy_budget_refund(&b, 500, 120), KIND_NONE,
	    "refund a reservation of 500 of which 120 was used");
	ok(b.consumed == 520 && b.reserved == 0 &&
	    policy_budget_remaining(&b) == 480, "consumed 520, reserved 0, "
	    "480 left");
	is_int(policy_budget_refund(&b, 1, 0), KIND_BAD_REQUEST,
	    "refunding more than is reserved is refused");
	is_int(policy_budget_reserve(&b, 480), KIND_NONE,
	    "reserving exactly what is left works");
	is_int(policy_budget_refund(&b, 480, 481), KIND_BAD_REQUEST,
	    "using more than was reserved is refused");
	is_int(policy_budget_remaining(&b), 0, "nothing left");
	is_int(policy_budget_reserve(&b, 1), KIND_BUDGET_EXHAUSTED,
	    "exhausted");
}

static void
window(void)
{
	struct policy_window w = { 100, 200 };
	struct policy_window empty = { 200, 100 };

	ok(!policy_window_contains(&w, 99), "before not_before: outside");
	ok(policy_window_contains(&w, 100), "at not_before: inside");
	ok(policy_window_contains(&w, 199), "just before not_after: inside");
	ok(!policy_window_contains(&w, 200), "at not_after: outside "
	    "(half-open)");
	ok(!policy_window_contains(&empty, 150), "an empty window holds no "
	    "instant");
}

static void
decide_read(const struct policy *p, int64_t now, int64_t consumed,
    int64_t cost, enum policy_verdict want, enum policy_kind wkind,
    const char *what)
{
	struct policy_state st = { now, consumed, 0 };
	struct policy_request rq;
	struct policy_decision d;

	memset(&rq, 0, sizeof(rq));
	rq.op = OP_READ;
	rq.path = "a.txt";
	rq.pathlen = 5;
	rq.cost = cost;
	policy_decide(p, &st, &rq, &d);
	ok(d.verdict == want && d.kind == wkind, "%s", what);
	if (d.verdict != want || d.kind != wkind)
		diag("got %s: %s", policy_kind_name(d.kind), d.reason);
}

static void
decisions(void)
{
	struct policy p;

	if (policy_profile(&p, "read_only", 1000) != 0)
		return;
	/* read_only: 0.50 USD for 10 minutes from 1000. */
	decide_read(&p, 999, 0, 0, VERDICT_DENY, KIND_TIME_WINDOW,
	    "one second before the window: time_window");
	decide_read(&p, 1000, 0, 0, VERDICT_ALLOW, KIND_NONE,
	    "at the start of the window: allowed");
	decide_read(&p, 1599, 0, 0, VERDICT_ALLOW, KIND_NONE,
	    "at the last second: allowed");
	decide_read(&p, 1600, 0, 0, VERDICT_DENY, KIND_TIME_WINDOW,
	    "after ten minutes: time_window");
	decide_read(&p, 1000, 0, 500000, VERDICT_ALLOW, KIND_NONE,
	    "a cost of exactly the limit fits");
	decide_read(&p, 1000, 0, 500001, VERDICT_DENY, KIND_BUDGET_EXHAUSTED,
	    "a cost over the limit: budget_exhausted");
	decide_read(&p, 1000, 500000, 0, VERDICT_DENY, KIND_BUDGET_EXHAUSTED,
	    "an exhausted budget refuses even a free operation");
	decide_read(&p, 1600, 500000, 1, VERDICT_DENY, KIND_TIME_WINDOW,
	    "the time window is checked before the budget");
	decide_read(&p, 1000, 0, -1, VERDICT_DENY, KIND_BAD_REQUEST,
	    "a negative cost is bad_request");
	policy_free(&p);
}

static void
delegation(void)
{
	struct policy parent, req, child;
	struct policy_error e;

	if (policy_profile(&parent, "fix_issue", 1000) != 0 ||
	    policy_profile(&req, "permissive", 1000) != 0)
		return;
	parent.budget.consumed = 1500000;	/* 0.50 of 2.00 left */
	req.budget.limit = 600000;
	is_int(policy_delegate(&child, &parent, &req, 1200, &e),
	    KIND_BUDGET_EXHAUSTED, "asking for more than the parent has left "
	    "fails: %s", e.message);
	req.budget.limit = 500000;
	is_int(policy_delegate(&child, &parent, &req, 1000 + 3600, &e),
	    KIND_TIME_WINDOW, "delegation from an expired parent fails: %s",
	    e.message);
	is_int(policy_delegate(&child, &parent, &req, 1200, &e), KIND_NONE,
	    "delegating what is left works");
	ok(policy_leq(&child, &parent), "the child is <= the parent");
	is_int(policy_budget_remaining(&child.budget), 500000,
	    "the child may spend what it asked for");
	ok(child.caps.level[CAP_RUN_BASH] == LEVEL_LOW_RISK &&
	    (child.obligations & CAPSET(CAP_RUN_BASH)),
	    "capabilities are the meet, and nu holds");
	policy_free(&child);
	policy_free(&req);
	policy_free(&parent);
}

/* Random delegations: the result is always <= the parent. */
static void
delegation_random(uint64_t seed)
{
	static const char *const names[] = { "default", "permissive",
	    "restrictive", "codegen", "pr_approve", "fix_issue" };
	long bad = -1, made = 0;

	for (long i = 0; i < 20000 && bad < 0; i++) {
		struct policy parent, req, child;
		struct policy_error e;
		uint64_t r = seed + (uint64_t)i;

		if (policy_profile(&parent, names[rnd_below(&r, 6)],
		    (int64_t)rnd_below(&r, 100)) != 0 ||
		    policy_profile(&req, names[rnd_below(&r, 6)],
		    (int64_t)rnd_below(&r, 100)) != 0)
			abort();
		parent.budget.consumed = (int64_t)rnd_below(&r, 3000000);
		req.budget.limit = (int64_t)rnd_below(&r, 3000000);
		for (int k = 0; k < CAP_COUNT; k++)
			req.caps.level[k] = (uint8_t)rnd_below(&r, 3);
		if (policy_delegate(&child, &parent, &req,
		    (int64_t)rnd_below(&r, 700), &e) == KIND_NONE) {
			made++;
			if (!policy_leq(&child, &parent))
				bad = i;
			policy_free(&child);
		}
		policy_free(&parent);
		policy_free(&req);
	}
	ok(bad < 0 && made > 1000, "20000 random delegations: every child "
	    "(%ld made) is <= its parent", made);
}

int
main(void)
{
	uint64_t seed = tap_seed();

	budget();
	window();
	decisions();
	delegation();
	delegation_random(seed);
	return done_testing();
}
