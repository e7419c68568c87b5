/*
 * Auto-grant rules: what an operator lets the authority grant without
 * asking.  The file (nucleus-authority(8), RULES FILE):
 *
 *	{"v": 1, "rules": [
 *	  {"name": "ci-push", "agent": "ci-bot", "pod": "ci-*", "op": "run",
 *	   "argv_prefix": ["git", "push"], "max_per_hour": 30},
 *	  {"name": "reports", "agent": "ci-bot", "pod": "*", "op": "write",
 *	   "path": "reports", "max_per_hour": 100, "ttl_s": 60}]}
 *
 * A rule grants only what it names, all of it: that agent (exactly),
 * a pod its glob matches, that operation, and for run an argv that
 * begins with the prefix, for the file operations a path its glob
 * matches.  An operation with neither (web_search, web_fetch) cannot be
 * named, so it always waits for a person.  Anything malformed refuses
 * the whole file: a rule half understood could grant more than meant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authority.h"
#include "members.h"

static const char *const rule_members[] = {
	"name", "agent", "pod", "op", "argv_prefix", "path", "max_per_hour",
	"ttl_s", NULL
};

static const char *const file_members[] = { "v", "rules", NULL };

/* Is name a tool operation, and does it take a path? */
int
rules_op_known(const char *name)
{
	enum policy_op op;

	return policy_op_from_name(name, &op) == 0;
}

static int
op_has_path(const char *name)
{
	enum policy_op op;

	if (policy_op_from_name(name, &op) != 0)
		return 0;
	return op != OP_RUN && op != OP_WEB_SEARCH && op != OP_WEB_FETCH;
}

/* A pod glob: one component, * and ? (libpolicy's name matching). */
int
rules_pod_match(const char *glob, const char *pod)
{
	return policy_name_match(glob, strlen(glob), pod, strlen(pod));
}

static void
rule_free(struct rule *r)
{
	free(r->pod);
	for (size_t i = 0; i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	if (r->has_glob)
		policy_glob_free(&r->glob);
	free(r->times);
}

void
rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->v[i]);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

static int
bad(struct audit_err *err, size_t i, const char *what)
{
	return audit_errf(err, "rule %zu: %s", i + 1, what);
}

static int
text(const json_t *v, size_t min, size_t max)
{
	return json_is_string(v) && json_string_length(v) >= min &&
	    json_string_length(v) <= max &&
	    strlen(json_string_value(v)) == json_string_length(v);
}

/* Who may have what: name, agent, pod, op, max_per_hour, ttl_s. */
static int
rule_parse_who(struct rule *r, const json_t *o, size_t i,
    struct audit_err *err)
{
	const json_t *v;

	v = json_object_get(o, "name");
	if (!text(v, 1, RULE_NAME_MAX) || !audit_kid_valid(
	    json_string_value(v), json_string_length(v)) ||
	    audit_fit(r->name, sizeof(r->name), NULL, "%s",
	    json_string_value(v)) != 0)
		return bad(err, i, "name: expected 1 to 64 characters of "
		    "[A-Za-z0-9._-]");
	v = json_object_get(o, "agent");
	if (!text(v, 1, AUDIT_KID_MAX) || !audit_kid_valid(
	    json_string_value(v), json_string_length(v)) ||
	    audit_fit(r->agent, sizeof(r->agent), NULL, "%s",
	    json_string_value(v)) != 0)
		return bad(err, i, "agent: expected a key id");
	/* A glob that could match no pod's name (nucleus-pod(5)) is an
	 * operator's mistake: said at load, not left to grant nothing. */
	v = json_object_get(o, "pod");
	if (!text(v, 1, AUDIT_PODNAME_MAX) || strspn(json_string_value(v),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-*?") != json_string_length(v))
		return bad(err, i, "pod: expected a glob of 1 to 64 "
		    "characters of [A-Za-z0-9._-*?]");
	if ((r->pod = strdup(json_string_value(v))) == NULL)
		return audit_errf(err, "out of memory");
	v = json_object_get(o, "op");
	if (!json_is_string(v) || !rules_op_known(json_string_value(v)) ||
	    audit_fit(r->op, sizeof(r->op), NULL, "%s",
	    json_string_value(v)) != 0)
		return bad(err, i, "op: expected an operation of "
		    "nucleus-protocol(7)");
	v = json_object_get(o, "max_per_hour");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > RULE_RATE_MAX)
		return bad(err, i, "max_per_hour: expected 1 to 100000");
	r->per_hour = (int)json_integer_value(v);
	v = json_object_get(o, "ttl_s");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > TTL_MAX))
		return bad(err, i, "ttl_s: expected 1 to 300");
	r->ttl = v != NULL ? (int)json_integer_value(v) : 0;
	return 0;
}

/* run's argv_prefix. */
static int
rule_parse_argv(struct rule *r, const json_t *o, size_t i,
    struct audit_err *err)
{
	const json_t *v = json_object_get(o, "argv_prefix");
	size_t n;

	if (json_object_get(o, "path") != NULL)
		return bad(err, i, "path: run takes argv_prefix");
	if (!json_is_array(v) || (n = json_array_size(v)) < 1 ||
	    n > RULE_ARGV_MAX)
		return bad(err, i, "argv_prefix: expected 1 to 64 strings");
	if ((r->argv = calloc(n + 1, sizeof(char *))) == NULL)
		return audit_errf(err, "out of memory");
	for (size_t j = 0; j < n; j++) {
		const json_t *a = json_array_get(v, j);

		if (!text(a, 1, POLICY_PATH_MAX))
			return bad(err, i, "argv_prefix: expected non-empty "
			    "strings");
		if ((r->argv[j] = strdup(json_string_value(a))) == NULL)
			return audit_errf(err, "out of memory");
		r->argc = j + 1;
	}
	return 0;
}

/* A file operation's path glob. */
static int
rule_parse_path(struct rule *r, const json_t *o, size_t i,
    struct audit_err *err)
{
	const json_t *v = json_object_get(o, "path");
	const char *why;

	if (json_object_get(o, "argv_prefix") != NULL)
		return bad(err, i, "argv_prefix: only run takes one");
	if (!text(v, 1, POLICY_PATH_MAX))
		return bad(err, i, "path: expected a path glob");
	if (policy_glob_compile(&r->glob, json_string_value(v),
	    json_string_length(v), &why) != 0)
		return audit_errf(err, "rule %zu: path: %s", i + 1,
		    why != NULL ? why : "out of memory");
	r->has_glob = 1;
	return 0;
}

static int
rule_parse(struct rule *r, const json_t *o, size_t i, struct audit_err *err)
{
	const char *k;
	int rc;

	if (!json_is_object(o))
		return bad(err, i, "expected an object");
	if ((k = members_unknown(o, rule_members)) != NULL)
		return audit_errf(err, "rule %zu: unknown member \"%.64s\"",
		    i + 1, k);
	if (rule_parse_who(r, o, i, err) != 0)
		return -1;
	if (strcmp(r->op, "run") == 0)
		rc = rule_parse_argv(r, o, i, err);
	else if (op_has_path(r->op))
		rc = rule_parse_path(r, o, i, err);
	else
		rc = audit_errf(err, "rule %zu: %s has neither argv nor "
		    "path: a rule cannot name it", i + 1, r->op);
	if (rc != 0)
		return -1;
	if ((r->times = calloc((size_t)r->per_hour, sizeof(int64_t))) == NULL)
		return audit_errf(err, "out of memory");
	return 0;
}

int
rules_parse(struct rules *rs, const char *text_, size_t len,
    struct audit_err *err)
{
	json_t *root = NULL, *list, *v;
	json_error_t jerr;
	const char *k;
	size_t n;

	memset(rs, 0, sizeof(*rs));
	if (len > RULES_FILE_MAX)
		return audit_errf(err, "longer than %d bytes", RULES_FILE_MAX);
	root = json_loadb(text_, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return audit_errf(err, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		audit_errf(err, "expected an object");
		goto fail;
	}
	if ((k = members_unknown(root, file_members)) != NULL) {
		audit_errf(err, "unknown member \"%.64s\"", k);
		goto fail;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		audit_errf(err, "v: expected 1");
		goto fail;
	}
	list = json_object_get(root, "rules");
	if (!json_is_array(list) || (n = json_array_size(list)) > RULES_MAX) {
		audit_errf(err, "rules: expected an array of at most %d",
		    RULES_MAX);
		goto fail;
	}
	if (n > 0 && (rs->v = calloc(n, sizeof(*rs->v))) == NULL) {
		audit_errf(err, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		rs->n = i + 1;
		if (rule_parse(&rs->v[i], json_array_get(list, i), i,
		    err) != 0)
			goto fail;
		for (size_t j = 0; j < i; j++)
			if (strcmp(rs->v[j].name, rs->v[i].name) == 0) {
				audit_errf(err, "rule %zu: the name %s is "
				    "taken by rule %zu", i + 1,
				    rs->v[i].name, j + 1);
				goto fail;
			}
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	rules_free(rs);
	return -1;
}

/* A missing file is no rules; an unsafe or bad one is an error. */
/*
 * The rules file's bytes (NUL-terminated, malloc'd), checked as a key
 * file is.  Returns 0, 1 when there is no such file (no rules), or -1.
 */
int
rules_read(const char *path, char **bufp, size_t *lenp,
    struct audit_err *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 1;
		return audit_errf(err, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return audit_errf(err, "%s: not a regular file", path);
	}
	/* Whoever can change the rules can grant: like a key. */
	if ((st.st_mode & 022) != 0 || (st.st_uid != 0 &&
	    st.st_uid != geteuid())) {
		close(fd);
		return audit_errf(err, "%s: writable by others, or owned by "
		    "another user: refused", path);
	}
	if (st.st_size > RULES_FILE_MAX) {
		close(fd);
		return audit_errf(err, "%s: longer than %d bytes", path,
		    RULES_FILE_MAX);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return audit_errf(err, "out of memory");
	}
	n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || n > st.st_size) {
		free(buf);
		return audit_errf(err, "%s: cannot read it whole", path);
	}
	buf[n] = '\0';
	*bufp = buf;
	*lenp = (size_t)n;
	return 0;
}

/* The rules from the bytes of the file at path; errors name it. */
int
rules_from(struct rules *rs, const char *path, const char *buf, size_t len,
    struct audit_err *err)
{
	struct audit_err e;

	if (rules_parse(rs, buf, len, &e) != 0)
		return audit_errf(err, "%s: %s", path, e.msg);
	return 0;
}

/* The rules file; none at all is no rules. */
int
rules_load(struct rules *rs, const char *path, struct audit_err *err)
{
	char *buf;
	size_t len;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if ((rc = rules_read(path, &buf, &len, err)) != 0)
		return rc > 0 ? 0 : -1;
	rc = rules_from(rs, path, buf, len, err);
	free(buf);
	return rc;
}

/*
 * A run's argv, as the proxy will see it, covered by the rule's prefix
 * as libpolicy judges it (policy_prefix_covers): the same classifier
 * the proxy runs, so that a prefix never grants a command the proxy
 * would refuse, nor an option that runs a program it does not name.
 */
static int
argv_matches(const struct rule *r, const json_t *args)
{
	const json_t *argv = json_object_get(args, "argv");
	const char **v;
	size_t n;
	int rc = 0;

	if (!json_is_array(argv) || (n = json_array_size(argv)) < r->argc ||
	    (v = calloc(n, sizeof(*v))) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(argv, i);

		if (!json_is_string(a) || strlen(json_string_value(a)) !=
		    json_string_length(a))
			goto out;
		v[i] = json_string_value(a);
	}
	rc = policy_prefix_covers((const char *const *)r->argv, r->argc, v,
	    n);
out:
	free(v);
	return rc;
}

static int
path_matches(const struct rule *r, const json_t *args)
{
	const json_t *p = json_object_get(args, "path");
	char norm[POLICY_PATH_MAX + 2];
	enum policy_kind kind;
	const char *why;

	if (!json_is_string(p))
		return 0;
	if (policy_path_normalize(json_string_value(p), json_string_length(p),
	    norm, sizeof(norm), &kind, &why) != 0)
		return 0;
	return policy_glob_match(&r->glob, norm, strlen(norm));
}

static int
matches(const struct rule *r, const char *agent, const char *pod,
    const char *op, const json_t *args)
{
	if (strcmp(r->agent, agent) != 0 || strcmp(r->op, op) != 0 ||
	    !rules_pod_match(r->pod, pod))
		return 0;
	return r->argv != NULL ? argv_matches(r, args) : path_matches(r, args);
}

/* Has r granted fewer than its cap in the hour before now? */
static int
has_room(const struct rule *r, int64_t now)
{
	if (r->ntimes < r->per_hour)
		return 1;
	return r->times[r->head] <= now - 3600;
}

void
rule_count(struct rule *r, int64_t t)
{
	if (r->ntimes < r->per_hour) {
		r->times[(r->head + r->ntimes) % r->per_hour] = t;
		r->ntimes++;
		return;
	}
	r->times[r->head] = t;
	r->head = (r->head + 1) % r->per_hour;
}

/*
 * A reload: each rule that was there before, by name, keeps its grants of
 * the last hour, so that an hourly cap holds across it.
 */
void
rules_carry(struct rules *to, const struct rules *from)
{
	for (size_t i = 0; i < to->n; i++)
		for (size_t j = 0; j < from->n; j++) {
			const struct rule *o = &from->v[j];

			if (strcmp(to->v[i].name, o->name) != 0)
				continue;
			for (int k = 0; k < o->ntimes; k++)
				rule_count(&to->v[i],
				    o->times[(o->head + k) % o->per_hour]);
			break;
		}
}

/* The first rule that names the request, whatever its rate. */
const struct rule *
rules_find(const struct rules *rs, const char *agent, const char *pod,
    const char *op, const json_t *args)
{
	for (size_t i = 0; i < rs->n; i++)
		if (matches(&rs->v[i], agent, pod, op, args))
			return &rs->v[i];
	return NULL;
}

/*
 * The first rule that names the request and may still grant this hour;
 * *capped counts those that named it but had reached their cap.
 */
struct rule *
rules_match(struct rules *rs, const char *agent, const char *pod,
    const char *op, const json_t *args, int64_t now, int *capped)
{
	*capped = 0;
	for (size_t i = 0; i < rs->n; i++) {
		if (!matches(&rs->v[i], agent, pod, op, args))
			continue;
		if (has_room(&rs->v[i], now))
			return &rs->v[i];
		(*capped)++;
	}
	return NULL;
}
