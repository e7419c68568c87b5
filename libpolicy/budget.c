/*
 * The budget, in integer micro-dollars.  An operation reserves its largest
 * possible cost before it starts, and is refunded what it did not use when
 * it ends; a known cost is charged at once.  Nothing here ever changes the
 * budget when it refuses.
 */
#include "policy.h"

int64_t
policy_budget_remaining(const struct policy_budget *b)
{
	int64_t r = b->limit - b->consumed - b->reserved;

	return r > 0 ? r : 0;
}

static enum policy_kind
check_amount(const struct policy_budget *b, int64_t amount)
{
	if (amount <= 0 || amount > POLICY_MONEY_MAX)
		return KIND_BAD_REQUEST;
	if (amount > policy_budget_remaining(b))
		return KIND_BUDGET_EXHAUSTED;
	return KIND_NONE;
}

enum policy_kind
policy_budget_reserve(struct policy_budget *b, int64_t amount)
{
	enum policy_kind k = check_amount(b, amount);

	if (k == KIND_NONE)
		b->reserved += amount;
	return k;
}

enum policy_kind
policy_budget_charge(struct policy_budget *b, int64_t amount)
{
	enum policy_kind k = check_amount(b, amount);

	if (k == KIND_NONE)
		b->consumed += amount;
	return k;
}

/*
 * End a reservation of `reserved`, of which `used` was spent: the rest
 * goes back to the budget.
 */
enum policy_kind
policy_budget_refund(struct policy_budget *b, int64_t reserved, int64_t used)
{
	if (reserved <= 0 || reserved > b->reserved || used < 0 ||
	    used > reserved)
		return KIND_BAD_REQUEST;
	b->reserved -= reserved;
	b->consumed += used;
	return KIND_NONE;
}
