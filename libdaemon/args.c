/*
 * The shape of a tool call's arguments, by operation, as
 * nucleus-protocol(7) gives them: only the members the operation takes,
 * each of its type, and the bounds that are the protocol's own.  The
 * proxy, the node and the authority check with it, so an approval is
 * never asked for arguments the operation cannot take.  What depends on a
 * pod's limits (a read's length, a write's size, a run's timeout and
 * stdin) is the proxy's to check; what the arguments mean (a path beneath
 * the root, a command the rules allow) is the policy's.
 */
#include <string.h>
#include <strings.h>

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

/* A member that, when given, is a boolean. */
static int
bool_check(const json_t *args, const char *name, char *why, size_t whysz)
{
	const json_t *v = json_object_get(args, name);

	if (v != NULL && !json_is_boolean(v)) {
		audit_fmt(why, whysz, "args.%s: expected true or false", name);
		return -1;
	}
	return 0;
}

/* A read's: offset and length integers of 0 or more, an encoding. */
static int
read_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *off = json_object_get(args, "offset");
	const json_t *len = json_object_get(args, "length");
	const json_t *enc = json_object_get(args, "encoding");

	if (off != NULL && (!json_is_integer(off) ||
	    json_integer_value(off) < 0 ||
	    json_integer_value(off) > ARGS_OFFSET_MAX)) {
		audit_fmt(why, whysz, "args.offset: expected an integer from 0 "
		    "to %lld", (long long)ARGS_OFFSET_MAX);
		return -1;
	}
	if (len != NULL && (!json_is_integer(len) ||
	    json_integer_value(len) < 0)) {
		audit_fmt(why, whysz, "args.length: expected an integer of 0 "
		    "or more");
		return -1;
	}
	if (enc != NULL && (!json_is_string(enc) ||
	    (strcmp(json_string_value(enc), "text") != 0 &&
	    strcmp(json_string_value(enc), "base64") != 0))) {
		audit_fmt(why, whysz, "args.encoding: expected \"text\" or "
		    "\"base64\"");
		return -1;
	}
	return 0;
}

/* A write's: content or content_base64, a string; mode one of three. */
static int
write_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *t = json_object_get(args, "content");
	const json_t *b = json_object_get(args, "content_base64");
	const json_t *m = json_object_get(args, "mode");

	if ((t == NULL) == (b == NULL)) {
		audit_fmt(why, whysz, "give args.content or "
		    "args.content_base64");
		return -1;
	}
	if (!json_is_string(t != NULL ? t : b)) {
		audit_fmt(why, whysz, "args.%s: expected a string", t != NULL ?
		    "content" : "content_base64");
		return -1;
	}
	if (m != NULL && (!json_is_string(m) ||
	    (strcmp(json_string_value(m), "create") != 0 &&
	    strcmp(json_string_value(m), "truncate") != 0 &&
	    strcmp(json_string_value(m), "append") != 0))) {
		audit_fmt(why, whysz, "args.mode: expected create, truncate or "
		    "append");
		return -1;
	}
	return 0;
}

/* A glob's pattern a string; a grep's 1 to ARGS_PATTERN_MAX bytes. */
static int
pattern_check(const char *op, const json_t *args, char *why, size_t whysz)
{
	const json_t *p = json_object_get(args, "pattern");

	if (strcmp(op, "glob") == 0) {
		if (!json_is_string(p)) {
			audit_fmt(why, whysz, "args.pattern: expected a glob");
			return -1;
		}
		return 0;
	}
	if (!json_is_string(p) || json_string_length(p) == 0 ||
	    json_string_length(p) > ARGS_PATTERN_MAX) {
		audit_fmt(why, whysz, "args.pattern: expected 1 to %d bytes",
		    ARGS_PATTERN_MAX);
		return -1;
	}
	if (bool_check(args, "regex", why, whysz) != 0 ||
	    bool_check(args, "ignore_case", why, whysz) != 0)
		return -1;
	return 0;
}

/* A URL to fetch: http or https, bounded, no space or control byte. */
static int
url_check(const json_t *u, char *why, size_t whysz)
{
	const char *s = json_string_value(u);
	size_t n = json_string_length(u);

	if (!json_is_string(u)) {
		audit_fmt(why, whysz, "args.url: expected a string");
		return -1;
	}
	if (n > FETCH_URL_MAX) {
		audit_fmt(why, whysz, "args.url: longer than %d bytes",
		    FETCH_URL_MAX);
		return -1;
	}
	if (strncasecmp(s, "http://", 7) != 0 &&
	    strncasecmp(s, "https://", 8) != 0) {
		audit_fmt(why, whysz, "args.url: expected an http:// or "
		    "https:// URL");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			audit_fmt(why, whysz, "args.url: a space or a control "
			    "character at byte %zu", i);
			return -1;
		}
	return 0;
}

/*
 * A web_fetch's: url, method GET or HEAD, max_bytes, and
 * connect_approval, a token (op connect, args {"host","port"} of the
 * URL) for its first connection.
 */
static int
fetch_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *m = json_object_get(args, "method");
	const json_t *cap = json_object_get(args, "max_bytes");
	const json_t *tok = json_object_get(args, "connect_approval");

	if (url_check(json_object_get(args, "url"), why, whysz) != 0)
		return -1;
	if (tok != NULL && !json_is_object(tok)) {
		audit_fmt(why, whysz, "args.connect_approval: expected a "
		    "token object");
		return -1;
	}
	if (m != NULL && (!json_is_string(m) || (strcmp(json_string_value(m),
	    "GET") != 0 && strcmp(json_string_value(m), "HEAD") != 0))) {
		audit_fmt(why, whysz, "args.method: expected \"GET\" or "
		    "\"HEAD\"");
		return -1;
	}
	if (cap != NULL && (!json_is_integer(cap) ||
	    json_integer_value(cap) < 1 ||
	    json_integer_value(cap) > FETCH_BODY_MAX)) {
		audit_fmt(why, whysz, "args.max_bytes: expected 1 to %d",
		    FETCH_BODY_MAX);
		return -1;
	}
	return 0;
}

/* A web_search's: a query, and max_results. */
static int
search_check(const json_t *args, char *why, size_t whysz)
{
	const json_t *q = json_object_get(args, "query");
	const json_t *m = json_object_get(args, "max_results");

	if (!json_is_string(q) || json_string_length(q) == 0) {
		audit_fmt(why, whysz, "args.query: expected a non-empty "
		    "string");
		return -1;
	}
	if (json_string_length(q) > SEARCH_QUERY_MAX) {
		audit_fmt(why, whysz, "args.query: longer than %d bytes",
		    SEARCH_QUERY_MAX);
		return -1;
	}
	if (m != NULL && (!json_is_integer(m) || json_integer_value(m) < 1 ||
	    json_integer_value(m) > SEARCH_RESULTS_MAX)) {
		audit_fmt(why, whysz, "args.max_results: expected 1 to %d",
		    SEARCH_RESULTS_MAX);
		return -1;
	}
	return 0;
}

/* An operation on one named file or directory needs its path. */
static int
needs_path(const char *op)
{
	static const char *const ops_[] = { "read", "stat", "write", "mkdir",
	    "delete", "edit" };

	for (size_t i = 0; i < sizeof(ops_) / sizeof(ops_[0]); i++)
		if (strcmp(op, ops_[i]) == 0)
			return 1;
	return 0;
}

/* An operation's own members, past the ones every operation shares. */
static int
op_check(const char *op, const json_t *args, char *why, size_t whysz)
{
	if (strcmp(op, "read") == 0)
		return read_check(args, why, whysz);
	if (strcmp(op, "write") == 0)
		return write_check(args, why, whysz);
	if (strcmp(op, "edit") == 0)
		return edit_check(args, why, whysz);
	if (strcmp(op, "glob") == 0 || strcmp(op, "grep") == 0)
		return pattern_check(op, args, why, whysz);
	if (strcmp(op, "run") == 0)
		return run_check(args, why, whysz);
	if (strcmp(op, "web_fetch") == 0)
		return fetch_check(args, why, whysz);
	if (strcmp(op, "web_search") == 0)
		return search_check(args, why, whysz);
	if (strcmp(op, "connect") == 0)
		return connect_check(args, why, whysz);
	return 0;
}

/*
 * Why args cannot be op's arguments, into why; or 0.  An operation this
 * table does not know is not checked here (the caller knows which it
 * serves).
 */
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
		if (path == NULL && needs_path(op)) {
			audit_fmt(why, whysz, "args.path: required");
			return -1;
		}
		return op_check(op, args, why, whysz);
	}
	return 0;
}
