/*
 * The pod file: one JSON object, loaded strictly (an unknown member, a
 * wrong type or a value out of range is refused with its JSON path), and
 * the checks of the paths it names.  See nucleus-proxy(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "members.h"
#include "netspec.h"
#include "websearch.h"

#define PODFILE_MAX	(1024 * 1024)

static const char *const default_search[] = {
	"/usr/local/bin", "/usr/bin", "/bin",
};

static int
bad(struct audit_err *err, const char *where, const char *what)
{
	return audit_errf(err, "%s: %s", where, what);
}

static int
get_string(json_t *o, const char *name, char **out, struct audit_err *err)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    memchr(json_string_value(v), '\0', json_string_length(v)))
		return bad(err, name, "expected a non-empty string");
	if ((*out = strdup(json_string_value(v))) == NULL)
		return bad(err, name, "out of memory");
	return 0;
}

static int
get_int(json_t *o, const char *path, const char *name, long long min,
    long long max, long long *out, struct audit_err *err)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return audit_errf(err, "%s%s: expected an integer from %lld to "
		    "%lld", path, name, min, max);
	*out = json_integer_value(v);
	return 0;
}

/* Refuse members not in the list: a typo must not be ignored. */
static int
known(json_t *o, const char *path, const char *const *names,
    struct audit_err *err)
{
	const char *k;

	if ((k = members_unknown(o, names)) != NULL)
		return audit_errf(err, "%s%s: unknown member", path, k);
	return 0;
}

static int
load_limits(struct config *c, json_t *o, struct audit_err *err)
{
	static const char *const names[] = { "request_line", "read", "write",
	    "output", "timeout_default", "timeout_max", "commands",
	    "grep_matches", "grep_seconds", "refusals", "refusal_seconds",
	    NULL };
	long long v;

	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return bad(err, "limits", "expected an object");
	if (known(o, "limits.", names, err) != 0)
		return -1;
#define LIM(name, field, lo, hi) do {					\
	v = (long long)c->lim.field;					\
	if (get_int(o, "limits.", name, lo, hi, &v, err) != 0)		\
		return -1;						\
	c->lim.field = (__typeof__(c->lim.field))v;			\
} while (0)
	LIM("request_line", line, 4096, 64 * 1024 * 1024);
	LIM("read", read, 1, 64 * 1024 * 1024);
	LIM("write", write, 1, 256 * 1024 * 1024);
	LIM("output", output, 1, 64 * 1024 * 1024);
	LIM("timeout_default", timeout_default, 1, 86400);
	LIM("timeout_max", timeout_max, 1, 86400);
	LIM("commands", commands, 1, 256);
	LIM("grep_matches", grep_matches, 1, 1000000);
	LIM("grep_seconds", grep_seconds, 1, 600);
	LIM("refusals", refusals, 1, 1000000);
	LIM("refusal_seconds", refusal_seconds, 1, 86400);
#undef LIM
	if (c->lim.timeout_default > c->lim.timeout_max)
		return bad(err, "limits.timeout_default", "larger than "
		    "limits.timeout_max");
	return 0;
}

static int
load_costs(struct config *c, json_t *o, struct audit_err *err)
{
	static const char *const names[] = { "base_microusd",
	    "run_second_microusd", NULL };
	long long v;

	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return bad(err, "costs", "expected an object");
	if (known(o, "costs.", names, err) != 0)
		return -1;
	v = c->cost.base;
	if (get_int(o, "costs.", "base_microusd", 0, 1000000000, &v, err))
		return -1;
	c->cost.base = v;
	v = c->cost.run_second;
	if (get_int(o, "costs.", "run_second_microusd", 0, 1000000000, &v,
	    err))
		return -1;
	c->cost.run_second = v;
	return 0;
}

static int
load_search(struct config *c, json_t *a, struct audit_err *err)
{
	size_t i;
	json_t *v;

	if (a == NULL) {
		for (i = 0; i < sizeof(default_search) /
		    sizeof(default_search[0]); i++)
			if ((c->search[i] = strdup(default_search[i])) == NULL)
				return bad(err, "path", "out of memory");
		return 0;
	}
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > SEARCH_PATH_MAX)
		return bad(err, "path", "expected 1 to 16 directories");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/')
			return audit_errf(err, "path[%zu]: expected an "
			    "absolute directory", i);
		if ((c->search[i] = strdup(json_string_value(v))) == NULL)
			return bad(err, "path", "out of memory");
	}
	return 0;
}

static int
load_env(struct config *c, json_t *o, struct audit_err *err)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	if (o == NULL)
		return 0;
	if (!json_is_object(o) || json_object_size(o) > ENV_MAX)
		return bad(err, "env", "expected an object of at most 64 "
		    "variables");
	json_object_foreach(o, k, v) {
		size_t len;

		if (k[0] == '\0' || strchr(k, '=') != NULL ||
		    strcmp(k, "PATH") == 0)
			return audit_errf(err, "env.%s: not a variable a pod "
			    "file may set", k);
		if (!json_is_string(v) || memchr(json_string_value(v), '\0',
		    json_string_length(v)))
			return audit_errf(err, "env.%s: expected a string", k);
		len = strlen(k) + 1 + json_string_length(v) + 1;
		if ((c->env[n] = malloc(len)) == NULL)
			return bad(err, "env", "out of memory");
		if (audit_fit(c->env[n++], len, err, "%s=%s", k,
		    json_string_value(v)) != 0)
			return -1;
	}
	return 0;
}

static int
load_run_as(struct config *c, json_t *o, struct audit_err *err)
{
	static const char *const names[] = { "uid", "gid", NULL };
	long long uid = -1, gid = -1;

	if (o == NULL)
		return 0;
	if (!json_is_object(o) || known(o, "run_as.", names, err) != 0)
		return err->msg[0] ? -1 : bad(err, "run_as", "expected an "
		    "object");
	if (get_int(o, "run_as.", "uid", 1, 4294967294LL, &uid, err) != 0 ||
	    get_int(o, "run_as.", "gid", 1, 4294967294LL, &gid, err) != 0)
		return -1;
	if (uid < 0 || gid < 0)
		return bad(err, "run_as", "needs uid and gid (never 0)");
	c->run_as = 1;
	c->run_uid = (uid_t)uid;
	c->run_gid = (gid_t)gid;
	return 0;
}

static int
load_policy(struct config *c, json_t *p, struct audit_err *err)
{
	struct policy_error pe;

	if (policy_load_member(&c->policy, p, time(NULL), &pe) != 0)
		return audit_errf(err, "policy%s%s: %s", pe.path[0] ? "." : "",
		    pe.path, pe.message);
	return 0;
}

static int
absolute(char **p, const char *name, struct audit_err *err)
{
	char buf[PATH_MAX], *r;

	if (realpath(*p, buf) == NULL)
		return audit_errf(err, "%s: %s: %s", name, *p, strerror(errno));
	if ((r = strdup(buf)) == NULL)
		return bad(err, name, "out of memory");
	free(*p);
	*p = r;
	return 0;
}

int
config_load(struct config *c, const char *path, struct audit_err *err)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	c->podfile = path;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return audit_errf(err, "line %d: %s", jerr.line, jerr.text);
	rc = config_from_json(c, o, err);
	json_decref(o);
	return rc;
}

/* What a pod file does not say. */
static void
defaults(struct config *c)
{
	c->lim = (struct limits){ REQ_LINE_MAX, READ_MAX, WRITE_MAX,
	    OUTPUT_MAX, TIMEOUT_DEFAULT, TIMEOUT_MAX, COMMANDS_MAX,
	    GREP_MATCH_MAX, GREP_SECONDS, REFUSALS_MAX, REFUSAL_SECONDS };
	c->cost = (struct costs){ 100, 1000 };
	c->skew = 60;
	c->token_lifetime_max = 300;
	policy_init(&c->policy);
}

/* The pod's name: it names the audit logs too. */
static int
load_pod(struct config *c, json_t *v, struct audit_err *err)
{
	if (!json_is_string(v) || !audit_podname_valid(json_string_value(v),
	    json_string_length(v)))
		return bad(err, "pod", "expected 1 to 64 characters of A-Z "
		    "a-z 0-9 . _ -, the first a letter or a digit");
	if (audit_fit(c->pod, sizeof(c->pod), err, "%s",
	    json_string_value(v)) != 0)
		return -1;
	return 0;
}

/*
 * log: the audit log's id, as the node chose it (nucleus-node(8)); a
 * name of this pod's logs, <pod>.<something>, so that the budget spent
 * under it is found again (main.c).
 */
static int
load_log(struct config *c, json_t *v, struct audit_err *err)
{
	size_t n = strlen(c->pod);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || !audit_logid_valid(json_string_value(v),
	    json_string_length(v)) || json_string_length(v) <= n + 1 ||
	    strncmp(json_string_value(v), c->pod, n) != 0 ||
	    json_string_value(v)[n] != '.')
		return bad(err, "log", "expected the pod's id, a dot, and "
		    "more of A-Z a-z 0-9 . _ -");
	return audit_fit(c->log, sizeof(c->log), err, "%s",
	    json_string_value(v));
}

/* root, state and trust: required, and made absolute. */
static int
required_paths(struct config *c, struct audit_err *err)
{
	if (c->root == NULL || c->state == NULL || c->trust == NULL)
		return bad(err, c->root == NULL ? "root" : c->state == NULL ?
		    "state" : "trust", "required");
	if (absolute(&c->root, "root", err) != 0 ||
	    absolute(&c->state, "state", err) != 0 ||
	    absolute(&c->trust, "trust", err) != 0)
		return -1;
	return 0;
}

/*
 * search_url: web_search's backend, a URL template (websearch.c);
 * fetch_ca: PEM certificates web_fetch trusts beside the system's.  Both
 * the node's (-S, -A), never the spec's.
 */
static int
load_web(struct config *c, json_t *o, struct audit_err *err)
{
	char why[POLICY_REASON_MAX];

	if (get_string(o, "search_url", &c->search_url, err) != 0 ||
	    get_string(o, "fetch_ca", &c->fetch_ca, err) != 0)
		return -1;
	if (c->search_url != NULL && webconf_search_check(c->search_url,
	    why, sizeof(why)) != 0)
		return audit_errf(err, "search_url: %s", why);
	if (c->fetch_ca != NULL && webconf_ca_check(c->fetch_ca,
	    strlen(c->fetch_ca), why, sizeof(why)) != 0)
		return audit_errf(err, "fetch_ca: %s", why);
	return 0;
}

/* The pod file's object o into c; config_free(c) after, either way. */
int
config_from_json(struct config *c, json_t *o, struct audit_err *err)
{
	static const char *const names[] = { "v", "pod", "policy", "root",
	    "state", "trust", "path", "env", "run_as", "egress", "skew",
	    "token_lifetime_max", "limits", "costs", "log", "network",
	    "search_url", "fetch_ca", NULL };
	json_t *v;
	long long n;

	defaults(c);
	if (!json_is_object(o))
		return bad(err, "$", "a pod file is a JSON object");
	if (known(o, "", names, err) != 0)
		return -1;
	n = 1;
	if (get_int(o, "", "v", 1, 1, &n, err) != 0)
		return -1;
	if (load_pod(c, json_object_get(o, "pod"), err) != 0 ||
	    load_log(c, json_object_get(o, "log"), err) != 0)
		return -1;
	if ((v = json_object_get(o, "policy")) == NULL) {
		bad(err, "policy", "required");
		return -1;
	}
	if (load_policy(c, v, err) != 0 ||
	    get_string(o, "root", &c->root, err) != 0 ||
	    get_string(o, "state", &c->state, err) != 0 ||
	    get_string(o, "trust", &c->trust, err) != 0 ||
	    load_search(c, json_object_get(o, "path"), err) != 0 ||
	    load_env(c, json_object_get(o, "env"), err) != 0 ||
	    load_run_as(c, json_object_get(o, "run_as"), err) != 0 ||
	    load_limits(c, json_object_get(o, "limits"), err) != 0 ||
	    load_costs(c, json_object_get(o, "costs"), err) != 0)
		return -1;
	if ((v = json_object_get(o, "egress")) != NULL) {
		if (!json_is_boolean(v)) {
			bad(err, "egress", "expected true or false");
			return -1;
		}
		c->egress = json_is_true(v);
	}
	/* network: the way out (egress.c); commands get sockets, which on
	 * the pod's loopback reach only the proxy. */
	if ((v = json_object_get(o, "network")) != NULL) {
		if ((c->net = malloc(sizeof(*c->net))) == NULL)
			return bad(err, "network", "out of memory");
		if (netspec_parse(c->net, v, err) != 0)
			return -1;
		c->egress = 1;
	}
	if (load_web(c, o, err) != 0)
		return -1;
	n = c->skew;
	if (get_int(o, "", "skew", 0, 3600, &n, err) != 0)
		return -1;
	c->skew = (int)n;
	n = c->token_lifetime_max;
	if (get_int(o, "", "token_lifetime_max", 1, 3600, &n, err) != 0)
		return -1;
	c->token_lifetime_max = (int)n;
	return required_paths(c, err);
}

void
config_free(struct config *c)
{
	policy_free(&c->policy);
	free(c->net);
	c->net = NULL;
	free(c->search_url);
	free(c->fetch_ca);
	c->search_url = c->fetch_ca = NULL;
	free(c->root);
	free(c->state);
	free(c->trust);
	for (size_t i = 0; c->search[i] != NULL; i++)
		free(c->search[i]);
	for (size_t i = 0; c->env[i] != NULL; i++)
		free(c->env[i]);
}

/*
 * A path another user could change is a path another user controls: the
 * work root, the state directory and the keyring must belong to us (or,
 * for the root, to the user commands run as) and be writable by nobody
 * else.
 */
static int
safe(const char *name, const char *path, int dir, uid_t also,
    struct audit_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return audit_errf(err, "%s %s: %s", name, path,
		    strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		return audit_errf(err, "%s %s: not a directory", name, path);
	if (!dir && !S_ISREG(st.st_mode))
		return audit_errf(err, "%s %s: not a regular file", name, path);
	if (st.st_uid != geteuid() && st.st_uid != 0 && st.st_uid != also)
		return audit_errf(err, "%s %s: owned by uid %u, not by this "
		    "user", name, path, (unsigned)st.st_uid);
	if ((st.st_mode & 022) != 0)
		return audit_errf(err, "%s %s: writable by group or others "
		    "(mode %04o): unsafe", name, path,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
config_check_paths(const struct config *c, struct audit_err *err)
{
	uid_t other = c->run_as ? c->run_uid : geteuid();

	if (safe("work root", c->root, 1, other, err) != 0 ||
	    safe("state directory", c->state, 1, geteuid(), err) != 0 ||
	    safe("keyring", c->trust, 0, geteuid(), err) != 0)
		return -1;
	return 0;
}
