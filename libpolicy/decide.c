/*
 * The decision.  Checks run in a fixed order, and the first that fails
 * decides:
 *
 *	0. the request's shape			bad_request
 *	1. the time window			time_window
 *	2. the capability			insufficient_capability
 *	3. path or command rules		sandbox_escape, path_denied,
 *						command_denied
 *	4. the budget				budget_exhausted
 *	5. obligations				approval_required
 *
 * so that nobody is asked to approve what the rules would refuse anyway.
 * Nothing here allocates: paths are normalized into a stack buffer, and
 * the reason is formatted only when a request is refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/*
 * Programs that run another program named in their arguments.  For these
 * the block rules and the classification also look at every tail of the
 * argv, so that "env bash -c ..." is refused like "bash -c ..." and
 * "timeout 9 git push" is a git_push.
 */
static const char *const wrappers[] = {
	"busybox", "bwrap", "catchsegv", "cgexec", "choom", "chroot", "chrt",
	"dbus-run-session", "eatmydata", "env", "fakeroot", "faketime",
	"find", "firejail", "flock", "i386", "ionice", "ld.so", "linux32",
	"linux64", "ltrace", "nice", "nohup", "nsenter", "numactl",
	"parallel", "prlimit", "proxychains", "proxychains4", "rlwrap",
	"runcon", "runuser", "script", "setarch", "setpriv", "setsid",
	"ssh-agent", "start-stop-daemon", "stdbuf", "strace", "systemd-run",
	"taskset", "time", "timeout", "torsocks", "unbuffer", "unshare",
	"valgrind", "watch", "x86_64", "xargs", "xvfb-run",
};

/*
 * A plain scan: a binary search needs the list sorted, and once it was
 * not ("chrt" before "chroot"), so chroot was never seen through.
 */
static int
is_wrapper(const char *argv0)
{
	const char *name = policy_program_name(argv0);

	for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (strcmp(wrappers[i], name) == 0)
			return 1;
	return 0;
}

static void
deny(struct policy_decision *d, enum policy_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
deny(struct policy_decision *d, enum policy_kind kind, const char *fmt, ...)
{
	va_list ap;

	d->verdict = VERDICT_DENY;
	d->kind = kind;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/*
 * Copy agent-supplied text for a reason: printable ASCII as is, anything
 * else as \xNN, cut at about 80 bytes.
 */
static const char *
shown(char *buf, size_t bufsz, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= bufsz || o >= 80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	buf[o] = '\0';
	return buf;
}

static int
op_has_path(enum policy_op op)
{
	return op <= OP_GREP;
}

/*
 * The dimension an operation uses; CAP_COUNT, with *why, for a run that
 * is refused rather than classified.
 */
static enum policy_cap
op_cap(const struct policy_request *rq, const char **why)
{
	static const enum policy_cap fixed[OP_COUNT] = {
		[OP_READ] = CAP_READ_FILES, [OP_STAT] = CAP_READ_FILES,
		[OP_LIST] = CAP_READ_FILES, [OP_WRITE] = CAP_WRITE_FILES,
		[OP_MKDIR] = CAP_WRITE_FILES, [OP_DELETE] = CAP_EDIT_FILES,
		[OP_EDIT] = CAP_EDIT_FILES,
		[OP_GLOB] = CAP_GLOB_SEARCH, [OP_GREP] = CAP_GREP_SEARCH,
		[OP_RUN] = CAP_RUN_BASH, [OP_WEB_SEARCH] = CAP_WEB_SEARCH,
		[OP_WEB_FETCH] = CAP_WEB_FETCH,
	};
	enum policy_cap c;

	if (rq->op == OP_WRITE && rq->exists)
		return CAP_EDIT_FILES;
	if (rq->op != OP_RUN)
		return fixed[rq->op];
	if ((c = policy_classify_why(rq->argv, rq->argc, why)) !=
	    CAP_RUN_BASH ||
	    !is_wrapper(rq->argv[0]))
		return c;
	/* A wrapper is what it runs: the first tail that is not run_bash. */
	for (size_t i = 1; i < rq->argc; i++)
		if ((c = policy_classify_why(rq->argv + i, rq->argc - i,
		    why)) != CAP_RUN_BASH)
			return c;
	return CAP_RUN_BASH;
}

/* Step 0: what must hold before anything can be classified. */
static int
check_shape(const struct policy_request *rq, struct policy_decision *d)
{
	size_t bytes = 0;

	if ((unsigned)rq->op >= OP_COUNT) {
		deny(d, KIND_BAD_REQUEST, "unknown operation");
		return -1;
	}
	if (rq->cost < 0 || rq->cost > POLICY_MONEY_MAX) {
		deny(d, KIND_BAD_REQUEST, "cost out of range");
		return -1;
	}
	if (op_has_path(rq->op) && rq->path == NULL) {
		deny(d, KIND_BAD_REQUEST, "%s needs a path",
		    policy_op_name(rq->op));
		return -1;
	}
	if (rq->op != OP_RUN)
		return 0;
	if (rq->argc == 0 || rq->argv == NULL) {
		deny(d, KIND_BAD_REQUEST, "run needs a non-empty argv");
		return -1;
	}
	if (rq->argc > POLICY_ARGV_MAX) {
		deny(d, KIND_BAD_REQUEST, "argv has %zu items; the limit is %d",
		    rq->argc, POLICY_ARGV_MAX);
		return -1;
	}
	for (size_t i = 0; i < rq->argc; i++) {
		if (rq->argv[i] == NULL) {
			deny(d, KIND_BAD_REQUEST, "argv[%zu] is missing", i);
			return -1;
		}
		bytes += strlen(rq->argv[i]) + 1;
	}
	if (bytes > POLICY_ARGV_BYTES_MAX) {
		deny(d, KIND_BAD_REQUEST, "argv has %zu bytes; the limit is %d",
		    bytes, POLICY_ARGV_BYTES_MAX);
		return -1;
	}
	if (rq->argv[0][0] == '\0' ||
	    policy_program_name(rq->argv[0])[0] == '\0') {
		deny(d, KIND_BAD_REQUEST, "argv[0] names no program");
		return -1;
	}
	return 0;
}

/*
 * The path rules alone, on a path already normalized: a block glob that
 * matches it or a directory above it refuses it, and an allow list that
 * is not "any" must match it.  The proxy calls this again on the path it
 * actually opened.  Returns 0, or -1 with d filled (path_denied).
 */
int
policy_path_permitted(const struct policy *p, const char *norm, size_t len,
    struct policy_decision *d)
{
	struct policy_split sp;
	char show[96];

	policy_split_path(&sp, norm, len);
	for (size_t i = 0; i < p->paths.block.n; i++) {
		if (policy_glob_match_split(&p->paths.block.v[i], &sp, 1)) {
			deny(d, KIND_PATH_DENIED, "%s is blocked by \"%s\"",
			    shown(show, sizeof(show), norm, len),
			    p->paths.block.v[i].text);
			return -1;
		}
	}
	if (p->paths.allow.any)
		return 0;
	for (size_t i = 0; i < p->paths.allow.n; i++)
		if (policy_glob_match_split(&p->paths.allow.v[i], &sp, 0))
			return 0;
	deny(d, KIND_PATH_DENIED, "%s matches no allowed path",
	    shown(show, sizeof(show), norm, len));
	return -1;
}

static int
check_path(const struct policy *p, const struct policy_request *rq,
    struct policy_decision *d)
{
	char norm[POLICY_PATH_MAX + 1], show[96];
	const char *why;
	enum policy_kind kind;
	size_t len = rq->pathlen;

	if (policy_path_normalize(rq->path, len, norm, sizeof(norm), &kind,
	    &why) != 0) {
		deny(d, kind, "%s: %s", shown(show, sizeof(show), rq->path,
		    len < 96 ? len : 96), why);
		return -1;
	}
	len = strlen(norm);
	if ((rq->op == OP_WRITE || rq->op == OP_MKDIR ||
	    rq->op == OP_DELETE || rq->op == OP_EDIT) &&
	    strcmp(norm, ".") == 0) {
		deny(d, KIND_BAD_REQUEST, "%s of the root itself",
		    policy_op_name(rq->op));
		return -1;
	}
	return policy_path_permitted(p, norm, len, d);
}

/*
 * The first block rule matching argv or, for a wrapper, one of its tails;
 * *tail is where the matching command starts.
 */
static const struct policy_rule *
blocked_by(const struct policy_rules *block, const char *const *argv,
    size_t argc, size_t *tail)
{
	size_t tails = is_wrapper(argv[0]) ? argc : 1;
	int wild = strcmp(policy_program_name(argv[0]), "find") == 0;

	for (size_t t = 0; t < tails; t++) {
		const char *prog = policy_program_name(argv[t]);
		size_t plen = strlen(prog);

		for (size_t i = 0; i < block->n; i++) {
			if (policy_rule_matches_wild(&block->v[i], prog, plen,
			    argv + t, argc - t, wild)) {
				*tail = t;
				return &block->v[i];
			}
		}
	}
	return NULL;
}

static int
check_command(const struct policy *p, const struct policy_request *rq,
    struct policy_decision *d)
{
	const struct policy_rule *r;
	const char *prog;
	size_t t, plen;
	char show[96];

	if ((r = blocked_by(&p->commands.block, rq->argv, rq->argc, &t)) !=
	    NULL) {
		prog = policy_program_name(rq->argv[t]);
		deny(d, KIND_COMMAND_DENIED, "%s is blocked by the rule %.120s",
		    shown(show, sizeof(show), prog, strlen(prog)), r->key);
		return -1;
	}
	if (p->commands.allow.any)
		return 0;
	prog = policy_program_name(rq->argv[0]);
	plen = strlen(prog);
	for (size_t i = 0; i < p->commands.allow.n; i++)
		if (policy_rule_matches_name(&p->commands.allow.v[i], prog,
		    plen, rq->argv, rq->argc))
			return 0;
	deny(d, KIND_COMMAND_DENIED, "%s: no allowed command matches",
	    shown(show, sizeof(show), prog, plen));
	return -1;
}

static int
check_budget(const struct policy *p, const struct policy_state *st,
    const struct policy_request *rq, struct policy_decision *d)
{
	int64_t left = p->budget.limit - st->consumed - st->reserved;

	if (left <= 0 || rq->cost > left) {
		deny(d, KIND_BUDGET_EXHAUSTED, "the operation costs %lld "
		    "micro-dollars; %lld of %lld are left", (long long)rq->cost,
		    (long long)(left > 0 ? left : 0),
		    (long long)p->budget.limit);
		return -1;
	}
	return 0;
}

void
policy_decide(const struct policy *p, const struct policy_state *st,
    const struct policy_request *rq, struct policy_decision *d)
{
	enum policy_cap cap;
	const char *why = NULL;

	d->verdict = VERDICT_ALLOW;
	d->kind = KIND_NONE;
	d->cap = CAP_COUNT;
	d->reason[0] = '\0';
	if (check_shape(rq, d) != 0)
		return;
	if (!policy_window_contains(&p->window, st->now)) {
		deny(d, KIND_TIME_WINDOW, "%s: the policy is valid from %lld "
		    "until %lld", st->now < p->window.not_before ?
		    "not yet valid" : "expired",
		    (long long)p->window.not_before,
		    (long long)p->window.not_after);
		return;
	}
	if ((cap = op_cap(rq, &why)) == CAP_COUNT) {
		deny(d, KIND_COMMAND_DENIED, "%s", why);
		return;
	}
	d->cap = cap;
	if (p->caps.level[cap] == LEVEL_NEVER) {
		deny(d, KIND_INSUFFICIENT_CAPABILITY, "%s is never allowed",
		    policy_cap_name(cap));
		return;
	}
	if (op_has_path(rq->op) && check_path(p, rq, d) != 0)
		return;
	if (rq->op == OP_RUN && check_command(p, rq, d) != 0)
		return;
	if (check_budget(p, st, rq, d) != 0)
		return;
	if ((p->obligations & CAPSET(cap)) != 0 && !rq->approved) {
		d->verdict = VERDICT_APPROVAL;
		d->kind = KIND_APPROVAL_REQUIRED;
		snprintf(d->reason, sizeof(d->reason), "%s needs an approval",
		    policy_cap_name(cap));
	}
}

/*
 * Whether the path rel (beneath /work, len bytes) stays out of the pod's
 * reach and so out of what crosses between host and pod: what the
 * proxy would refuse to read, judged as it judges it; a directory only
 * when a block rule names it (what it holds may still be allowed).  A
 * path too long to judge is left out too: the proxy could not reach it
 * either.  The node's work.copy and export, and the proxy's export,
 * judge alike.
 */
int
policy_work_blocked(const struct policy *pol, const char *rel, size_t len,
    int dir)
{
	struct policy_split sp;
	struct policy_decision d;

	if (len > POLICY_PATH_MAX)
		return 1;
	if (!dir)
		return policy_path_permitted(pol, rel, len, &d) != 0;
	policy_split_path(&sp, rel, len);
	for (size_t i = 0; i < pol->paths.block.n; i++)
		if (policy_glob_match_split(&pol->paths.block.v[i], &sp, 1))
			return 1;
	return 0;
}
