/*
 * libpolicy: the Nucleus policy model.
 *
 * A policy is a point of a lattice: capabilities (11 dimensions, 3 levels),
 * obligations (operations that need an approval token), path rules, command
 * rules, a budget and a time window.  Every policy this library hands out
 * has been normalized by nu, which adds approval obligations when the
 * "lethal trifecta" (private data, untrusted content, a way out) is
 * complete.  No function here performs I/O or keeps global state;
 * policy_decide() allocates nothing.
 *
 * See nucleus-policy(5) for the semantics and the file format.
 */
#ifndef NUCLEUS_POLICY_H
#define NUCLEUS_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* Limits.  Each is documented in nucleus-policy(5). */
#define POLICY_PATH_MAX		4096	/* bytes in a path or path glob */
#define POLICY_ARGV_MAX		256	/* items in a command's argv */
#define POLICY_ARGV_BYTES_MAX	65536	/* bytes in argv, NULs included */
#define POLICY_ARG_MAX		4096	/* bytes in one argument pattern */
#define POLICY_PROGRAM_MAX	255	/* bytes in a program name pattern */
#define POLICY_GLOBS_MAX	1024	/* globs in one allow or block list */
#define POLICY_RULES_MAX	1024	/* rules in one allow or block list */
#define POLICY_RULE_ARGS_MAX	64	/* argument patterns in one rule */
#define POLICY_RULE_OPTS_MAX	16	/* option specs in one rule */
#define POLICY_LONGS_MAX	16	/* long names in one option spec */
#define POLICY_NAME_MAX		64	/* bytes in a policy name */
#define POLICY_DESC_MAX		1024	/* bytes in a description */
#define POLICY_FILE_MAX		(1024 * 1024)	/* bytes in a policy file */
#define POLICY_MONEY_MAX	1000000000000LL	/* micro-dollars: $1,000,000 */
#define POLICY_TIME_MAX		9007199254740991LL	/* 2^53-1: CJSON range */
#define POLICY_REASON_MAX	256	/* bytes in a decision's reason */

/* The eleven capability dimensions, in the order of the model. */
enum policy_cap {
	CAP_READ_FILES,
	CAP_WRITE_FILES,
	CAP_EDIT_FILES,
	CAP_RUN_BASH,
	CAP_GLOB_SEARCH,
	CAP_GREP_SEARCH,
	CAP_WEB_SEARCH,
	CAP_WEB_FETCH,
	CAP_GIT_COMMIT,
	CAP_GIT_PUSH,
	CAP_CREATE_PR,
	CAP_COUNT
};

/* Levels, totally ordered. */
enum policy_level {
	LEVEL_NEVER,
	LEVEL_LOW_RISK,
	LEVEL_ALWAYS,
	LEVEL_COUNT
};

/* A set of capabilities, one bit per enum policy_cap. */
typedef uint16_t policy_capset;
#define CAPSET(c)	((policy_capset)(1u << (c)))
#define CAPSET_ALL	((policy_capset)((1u << CAP_COUNT) - 1))

struct policy_caps {
	uint8_t level[CAP_COUNT];	/* enum policy_level */
};

/*
 * A path glob, compiled into components.  A glob without '/' is stored
 * with a leading "**" component, so that it matches the last component at
 * any depth.
 */
struct policy_glob_comp {
	const char *s;		/* into buf, or a static "**" */
	uint16_t len;
	uint8_t	 kind;		/* how to match it quickly, see glob.c */
};

struct policy_glob {
	char	*text;		/* as written, normalized */
	char	*buf;		/* components, NUL-separated */
	size_t	 ncomp;
	struct policy_glob_comp *comp;
};

/*
 * A normalized path split into components, made once per decision so
 * that every glob is matched without scanning the path again.
 */
struct policy_split {
	const char *path;
	size_t	 n;
	uint16_t off[POLICY_PATH_MAX / 2 + 1];
	uint16_t len[POLICY_PATH_MAX / 2 + 1];
};

/* A list that is either "any" (the top) or a finite, sorted set. */
struct policy_globs {
	int	 any;
	size_t	 n;
	struct policy_glob *v;
};

struct policy_paths {
	struct policy_globs allow;	/* any, or the globs a path must match */
	struct policy_globs block;	/* never "any" */
};

enum policy_argpat_kind {
	ARGPAT_EXACT,		/* {"exact": S}: one argument equal to S */
	ARGPAT_ANY,		/* "any": one argument, whatever it is */
	ARGPAT_ANY_REMAINING	/* "any_remaining": the rest; last only */
};

struct policy_argpat {
	enum policy_argpat_kind kind;
	char	*s;		/* ARGPAT_EXACT only */
	size_t	 len;
};

/*
 * An option spec: present when some argument is a short-option cluster
 * ("-xyz") holding one of the letters in shorts, or a long option ("--name"
 * or "--name=value") whose name is a non-empty prefix of one of longs
 * (GNU getopt accepts such abbreviations).
 */
struct policy_optspec {
	char	*shorts;	/* may be empty */
	size_t	 nlongs;
	char	**longs;
};

struct policy_rule {
	char	*key;		/* canonical JSON: identity, order, display */
	char	*program;	/* a one-component glob for basename(argv[0]) */
	size_t	 proglen;
	int	 literal;	/* program holds no wildcard */
	size_t	 nargs;
	struct policy_argpat *args;
	size_t	 nopts;
	struct policy_optspec *opts;
};

struct policy_rules {
	int	 any;
	size_t	 n;
	struct policy_rule *v;
};

struct policy_commands {
	struct policy_rules allow;	/* any, or rules one of which must match */
	struct policy_rules block;	/* never "any" */
};

/* Money in integer micro-dollars, never floating point. */
struct policy_budget {
	int64_t	 limit;
	int64_t	 consumed;
	int64_t	 reserved;	/* held for operations in flight */
};

/* The half-open window [not_before, not_after), Unix seconds. */
struct policy_window {
	int64_t	 not_before;
	int64_t	 not_after;
};

struct policy {
	char	 name[POLICY_NAME_MAX + 1];	/* metadata: not in the lattice */
	char	*description;			/* metadata, may be NULL */
	struct policy_caps caps;
	policy_capset obligations;
	struct policy_paths paths;
	struct policy_commands commands;
	struct policy_budget budget;
	struct policy_window window;
};

/*
 * Error kinds of a decision: the subset of the protocol's closed list
 * (nucleus-protocol(7)) that policy evaluation can produce.
 */
enum policy_kind {
	KIND_NONE,
	KIND_BAD_REQUEST,
	KIND_INSUFFICIENT_CAPABILITY,
	KIND_PATH_DENIED,
	KIND_SANDBOX_ESCAPE,
	KIND_COMMAND_DENIED,
	KIND_APPROVAL_REQUIRED,
	KIND_BUDGET_EXHAUSTED,
	KIND_TIME_WINDOW,
	KIND_COUNT
};

/* Operations a decision knows. */
enum policy_op {
	OP_READ,	/* read_files, path */
	OP_STAT,	/* read_files, path */
	OP_LIST,	/* read_files, path */
	OP_WRITE,	/* write_files (new file) or edit_files (exists), path */
	OP_MKDIR,	/* write_files, path */
	OP_DELETE,	/* edit_files, path */
	OP_EDIT,	/* edit_files, path (replace text in a file) */
	OP_GLOB,	/* glob_search, path (base directory) */
	OP_GREP,	/* grep_search, path */
	OP_RUN,		/* classified from argv */
	OP_WEB_SEARCH,	/* web_search */
	OP_WEB_FETCH,	/* web_fetch */
	OP_COUNT
};

struct policy_request {
	enum policy_op op;
	const char *path;	/* file operations: relative to the root */
	size_t	 pathlen;
	const char *const *argv;	/* OP_RUN */
	size_t	 argc;
	int	 exists;	/* OP_WRITE: the file exists (edit_files) */
	int64_t	 cost;		/* micro-dollars this operation reserves */
	int	 approved;	/* the caller checked an approval token for it */
};

/*
 * The pod's state a decision depends on: the clock, and the budget spent
 * so far (the limit is the policy's).  Start it from the policy's own
 * consumed and reserved amounts.
 */
struct policy_state {
	int64_t	 now;		/* Unix seconds */
	int64_t	 consumed;	/* micro-dollars */
	int64_t	 reserved;	/* micro-dollars */
};

enum policy_verdict {
	VERDICT_ALLOW,
	VERDICT_DENY,
	VERDICT_APPROVAL	/* allowed once an approval token is presented */
};

struct policy_decision {
	enum policy_verdict verdict;
	enum policy_kind kind;		/* KIND_NONE when allowed */
	enum policy_cap cap;		/* the dimension the operation used */
	char	 reason[POLICY_REASON_MAX];	/* printable; "" when allowed */
};

/* Errors of loading: where (a JSON path) and what. */
struct policy_error {
	int	 line, column;	/* for JSON syntax errors; 0 otherwise */
	char	 path[256];	/* e.g. "capabilities.run_bash"; "" for syntax */
	char	 message[256];
};

/* Names. */
const char *policy_cap_name(enum policy_cap);
int	 policy_cap_from_name(const char *, enum policy_cap *);
const char *policy_level_name(enum policy_level);
int	 policy_level_from_name(const char *, enum policy_level *);
const char *policy_kind_name(enum policy_kind);
const char *policy_op_name(enum policy_op);
int	 policy_op_from_name(const char *, enum policy_op *);
const char *policy_verdict_name(enum policy_verdict);

/* Capabilities and obligations: the lattice, the trifecta and nu. */
void	 policy_caps_meet(struct policy_caps *, const struct policy_caps *,
	    const struct policy_caps *);
void	 policy_caps_join(struct policy_caps *, const struct policy_caps *,
	    const struct policy_caps *);
int	 policy_caps_leq(const struct policy_caps *, const struct policy_caps *);
int	 policy_caps_equal(const struct policy_caps *,
	    const struct policy_caps *);
policy_capset policy_obligations_meet(policy_capset, policy_capset);
policy_capset policy_obligations_join(policy_capset, policy_capset);
int	 policy_obligations_leq(policy_capset, policy_capset);

#define TRIFECTA_PRIVATE	0x1
#define TRIFECTA_UNTRUSTED	0x2
#define TRIFECTA_EXFIL		0x4
#define TRIFECTA_ALL		0x7
unsigned policy_trifecta(const struct policy_caps *);
policy_capset policy_nu_obligations(const struct policy_caps *,
	    policy_capset);
void	 policy_nu(struct policy *);

/* Paths. */
int	 policy_path_normalize(const char *, size_t, char *, size_t,
	    enum policy_kind *, const char **);
int	 policy_glob_compile(struct policy_glob *, const char *, size_t,
	    const char **);
void	 policy_glob_free(struct policy_glob *);
int	 policy_glob_match(const struct policy_glob *, const char *, size_t);
int	 policy_glob_match_within(const struct policy_glob *, const char *,
	    size_t);
void	 policy_split_path(struct policy_split *, const char *, size_t);
int	 policy_glob_match_split(const struct policy_glob *,
	    const struct policy_split *, int);
int	 policy_name_match(const char *, size_t, const char *, size_t);
extern const char *const policy_sensitive_globs[];
extern const size_t policy_sensitive_nglobs;

/*
 * Commands.  policy_classify() answers CAP_COUNT for a command that must
 * not be classified at all (a git alias defined on the command line, env
 * -S); policy_classify_why() says why.
 */
enum policy_cap policy_classify(const char *const *, size_t);
enum policy_cap policy_classify_why(const char *const *, size_t,
	    const char **);

/*
 * git.  The configuration that turns off every key naming a program,
 * which the proxy gives every command; where the subcommand is (0: none);
 * why a git command line is refused (NULL: it is not); the regular
 * expression for git config --get-regexp that finds the keys named per
 * driver, and the value that turns one off (NULL: it runs nothing).
 */
struct policy_git_config {
	const char	*key;
	const char	*value;
};
extern const struct policy_git_config policy_git_forced[];
extern const size_t policy_git_nforced;
int	 policy_git_subcommand(const char *const *, size_t);
const char *policy_git_refused(const char *const *, size_t);
size_t	 policy_git_runners_end(const char *const *, size_t);
int	 policy_prefix_covers(const char *const *, size_t,
	    const char *const *, size_t);
extern const char policy_git_driver_scan[];
const char *policy_git_driver_off(const char *);
int	 policy_git_key_refused(const char *);
const char *policy_program_name(const char *);
int	 policy_rule_matches(const struct policy_rule *, const char *const *,
	    size_t);
int	 policy_rule_matches_name(const struct policy_rule *, const char *,
	    size_t, const char *const *, size_t);
int	 policy_rule_matches_wild(const struct policy_rule *, const char *,
	    size_t, const char *const *, size_t, int);

/*
 * Budget, in micro-dollars.  Each returns KIND_NONE, or KIND_BAD_REQUEST
 * (an amount of 0, negative, or above POLICY_MONEY_MAX) or
 * KIND_BUDGET_EXHAUSTED, and then changes nothing.
 */
int64_t	 policy_budget_remaining(const struct policy_budget *);
enum policy_kind policy_budget_reserve(struct policy_budget *, int64_t);
enum policy_kind policy_budget_charge(struct policy_budget *, int64_t);
enum policy_kind policy_budget_refund(struct policy_budget *, int64_t,
	    int64_t);

/* Time window. */
int	 policy_window_contains(const struct policy_window *, int64_t);

/* Whole policies. */
void	 policy_init(struct policy *);
void	 policy_free(struct policy *);
int	 policy_copy(struct policy *, const struct policy *);
int	 policy_equal(const struct policy *, const struct policy *);
int	 policy_leq(const struct policy *, const struct policy *);
int	 policy_meet(struct policy *, const struct policy *,
	    const struct policy *);
int	 policy_join(struct policy *, const struct policy *,
	    const struct policy *);
enum policy_kind policy_delegate(struct policy *, const struct policy *,
	    const struct policy *, int64_t, struct policy_error *);

/* Profiles. */
const char *policy_profile_name(size_t);
int	 policy_profile(struct policy *, const char *, int64_t);

/* JSON (jansson). */
struct json_t;
int	 policy_load_member(struct policy *, const struct json_t *, int64_t,
	    struct policy_error *);
int	 policy_load(struct policy *, const char *, size_t, int64_t,
	    struct policy_error *);
char	*policy_dump(const struct policy *, int);
#define POLICY_DUMP_PRETTY	0x1

/* The decision. */
void	 policy_decide(const struct policy *, const struct policy_state *,
	    const struct policy_request *, struct policy_decision *);
int	 policy_path_permitted(const struct policy *, const char *, size_t,
	    struct policy_decision *);
int	 policy_work_blocked(const struct policy *, const char *, size_t, int);

#endif /* NUCLEUS_POLICY_H */
