/*
 * The shape of a tool call's arguments, by operation, as
 * nucleus-protocol(7) gives them: only the members the operation takes,
 * each of its type.  What depends on a pod's limits (a run's timeout and
 * the size of its stdin) is the proxy's to check; what the arguments mean
 * (a path beneath the root, a command the rules allow) is the policy's.
 */
#include <string.h>

#include "args.h"
#include "audit.h"
#include "members.h"

static const struct {
	const char *op;
	const char *members[6];
} ops[] = {
	{ "read", { "path", "offset", "length", "encoding", NULL } },
	{ "stat", { "path", NULL } },
	{ "list", { "path", NULL } },
	{ "write", { "path", "content", "content_base64", "mode", NULL } },
	{ "mkdir", { "path", NULL } },
	{ "delete", { "path", NULL } },
	{ "edit", { "path", "old", "new", "all", NULL } },
	{ "glob", { "path", "pattern", NULL } },
	{ "grep", { "path", "pattern", "regex", "ignore_case", NULL } },
	{ "run", { "argv", "cwd", "timeout", "stdin", NULL } },
	{ "web_fetch", { "url", "method", "max_bytes", "connect_approval",
	    NULL } },
	{ "web_search", { "query", "max_results", NULL } },
	{ "connect", { "host", "port", NULL } },
};

/* A run's argv: 1 to ARGS_ARGV_MAX strings, the first a program's name. */
static int
argv_check(const json_t *a, char *why, size_t whysz)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		audit_fmt(why, whysz, "args.argv: expected a non-empty array "
		    "of strings");
		return -1;
	}
	if (json_array_size(a) > ARGS_ARGV_MAX) {
		audit_fmt(why, whysz, "args.argv: more than %d items",
		    ARGS_ARGV_MAX);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || memchr(json_string_value(v), '\0',
		    json_string_length(v)) != NULL) {
			audit_fmt(why, whysz, "args.argv[%zu]: expected a "
			    "string", i);
			return -1;
		}
	}
	if (strchr(json_string_value(json_array_get(a, 0)), '/') != NULL) {
		audit_fmt(why, whysz, "args.argv[0]: give the program's name; "
		    "it is looked up on the pod's search path");
		return -1;
	}
	return 0;
}

/* The rest of a run's: a timeout of at least a second, text for stdin. */
static int
run_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *t = json_object_get(args, "timeout");
	const json_t *in = json_object_get(args, "stdin");
	const json_t *cwd = json_object_get(args, "cwd");

	if (argv_check(json_object_get(args, "argv"), why, whysz) != 0)
		return -1;
	if (t != NULL && (!json_is_integer(t) || json_integer_value(t) < 1)) {
		audit_fmt(why, whysz, "args.timeout: expected a number of "
		    "seconds");
		return -1;
	}
	if (in != NULL && !json_is_string(in)) {
		audit_fmt(why, whysz, "args.stdin: expected a string");
		return -1;
	}
	if (cwd != NULL && !json_is_string(cwd)) {
		audit_fmt(why, whysz, "args.cwd: expected a string");
		return -1;
	}
	return 0;
}

/* An edit's: old a non-empty string, new a string, all a boolean. */
static int
edit_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *old = json_object_get(args, "old");
	const json_t *new = json_object_get(args, "new");
	const json_t *all = json_object_get(args, "all");

	if (!json_is_string(old) || json_string_length(old) == 0) {
		audit_fmt(why, whysz, "args.old: expected a non-empty string");
		return -1;
	}
	if (!json_is_string(new)) {
		audit_fmt(why, whysz, "args.new: expected a string");
		return -1;
	}
	if (all != NULL && !json_is_boolean(all)) {
		audit_fmt(why, whysz, "args.all: expected true or false");
		return -1;
	}
	return 0;
}

/*
 * Why args cannot be op's arguments, into why; or 0.  An operation this
 * table does not know is not checked here (the caller knows which it
 * serves).
 */
/* An egress connection's: host a string, port 1 to 65535. */
static int
connect_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *h = json_object_get(args, "host");
	const json_t *p = json_object_get(args, "port");

	if (!json_is_string(h) || json_string_length(h) == 0) {
		audit_fmt(why, whysz, "args.host: expected a host name or "
		    "address");
		return -1;
	}
	if (!json_is_integer(p) || json_integer_value(p) < 1 ||
	    json_integer_value(p) > 65535) {
		audit_fmt(why, whysz, "args.port: expected 1 to 65535");
		return -1;
	}
	return 0;
}

int
args_check(const char *op, const json_t *args, char *why, size_t whysz)
{
	const json_t *path = json_object_get(args, "path");
	const char *k;

	if (!json_is_object(args)) {
		audit_fmt(why, whysz, "args: expected an object");
		return -1;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].op) != 0)
			continue;
		if ((k = members_unknown(args, ops[i].members)) != NULL) {
			audit_fmt(why, whysz, "args.%s: unknown member", k);
			return -1;
		}
		if (path != NULL && !json_is_string(path)) {
			audit_fmt(why, whysz, "args.path: expected a string");
			return -1;
		}
		if (strcmp(op, "edit") == 0)
			return edit_check(args, why, whysz);
		if (strcmp(op, "connect") == 0)
			return connect_check(args, why, whysz);
		return strcmp(op, "run") == 0 ? run_check(args, why, whysz) :
		    0;
	}
	return 0;
}
