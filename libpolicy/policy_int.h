/*
 * libpolicy internals, shared by its files and its unit tests.
 */
#ifndef NUCLEUS_POLICY_INT_H
#define NUCLEUS_POLICY_INT_H

#include <jansson.h>

#include "policy.h"

/* The lattice without nu: the product of the components' lattices. */
int	 policy_meet_raw(struct policy *, const struct policy *,
	    const struct policy *);
int	 policy_join_raw(struct policy *, const struct policy *,
	    const struct policy *);

/* Sorted, duplicate-free lists (set.c). */
int	 policy_globs_add(struct policy_globs *, const char *, size_t,
	    const char **);
int	 policy_globs_add_sensitive(struct policy_globs *, const char **);
int	 policy_rules_add(struct policy_rules *, struct policy_rule *);
void	 policy_globs_free(struct policy_globs *);
void	 policy_rules_free(struct policy_rules *);
int	 policy_globs_copy(struct policy_globs *, const struct policy_globs *);
int	 policy_rules_copy(struct policy_rules *, const struct policy_rules *);
int	 policy_globs_equal(const struct policy_globs *,
	    const struct policy_globs *);
int	 policy_rules_equal(const struct policy_rules *,
	    const struct policy_rules *);
int	 policy_globs_subset(const struct policy_globs *,
	    const struct policy_globs *);
int	 policy_rules_subset(const struct policy_rules *,
	    const struct policy_rules *);
int	 policy_globs_merge(struct policy_globs *, const struct policy_globs *,
	    const struct policy_globs *, int);
int	 policy_rules_merge(struct policy_rules *, const struct policy_rules *,
	    const struct policy_rules *, int);
#define SET_UNION	0
#define SET_INTERSECT	1

/* Rules (rule.c). */
void	 policy_rule_free(struct policy_rule *);
int	 policy_rule_copy(struct policy_rule *, const struct policy_rule *);

/*
 * Loading context: where in the document we are, for error messages that
 * name the JSON path of the fault.
 */
struct policy_ctx {
	struct policy_error *err;
	char	 path[256];
	size_t	 pathlen;
};

void	 ctx_init(struct policy_ctx *, struct policy_error *);
size_t	 ctx_member(struct policy_ctx *, const char *);
size_t	 ctx_index(struct policy_ctx *, size_t);
void	 ctx_pop(struct policy_ctx *, size_t);
int	 ctx_fail(struct policy_ctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* Always -1, for scan-build, which does not follow a variadic call (see
 * audit_errf() in audit.h); rule.c's definition is out of its way. */
#define ctx_fail(...)	(ctx_fail(__VA_ARGS__), -1)
#endif

int	 policy_rule_from_json(struct policy_rule *, json_t *,
	    struct policy_ctx *);
json_t	*policy_rule_to_json(const struct policy_rule *);
int	 policy_rules_from_json(struct policy_rules *, json_t *,
	    struct policy_ctx *, int);

/* Command sets (sets.c). */
int	 policy_commands_baseline(struct policy_commands *);
int	 policy_commands_named(struct policy_commands *, const char *);
int	 policy_commands_valid_set(const char *);
const char *policy_command_set_name(size_t);

#endif /* NUCLEUS_POLICY_INT_H */
