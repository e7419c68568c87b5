/*
 * The tools: each a node operation on the pod, with its input schema
 * (made from the table of its arguments, which also checks a call), its
 * output schema (the shape of the operation's result, as
 * nucleus-protocol(7) gives it), annotations, and a description that says
 * what the policy may answer.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define TOOL_ARGS_MAX	8

enum arg_type { A_STRING, A_INTEGER, A_BOOLEAN, A_STRINGS };

struct tool_arg {
	const char *name;
	enum arg_type type;
	int	 required;
	const char *desc;
	const char *const *choices;	/* A_STRING: the values taken */
};

struct mcp_tool {
	const char *name, *title, *op, *desc;
	struct tool_arg args[TOOL_ARGS_MAX];
	const char *output;	/* the output schema, JSON text */
	int	 read_only, destructive, idempotent;
};

#define POLICY_NOTE \
	" The pod's policy decides: a refusal is a tool error whose text " \
	"starts with its kind (path_denied, sandbox_escape, " \
	"insufficient_capability, budget_exhausted, time_window, ...)."

static const char *const write_modes[] = { "truncate", "create", "append",
	NULL };
static const char *const fetch_methods[] = { "GET", "HEAD", NULL };

#define S_INT	"{\"type\":\"integer\"}"
#define S_STR	"{\"type\":\"string\"}"
#define S_BOOL	"{\"type\":\"boolean\"}"
#define S_STOPPED "\"stopped\":{\"type\":\"string\"}"

static const struct mcp_tool tools[] = {
	{ "read_file", "Read a file", "read",
	  "Read a file of the pod's work tree (a path relative to it): its "
	  "text, or base64 when it is not UTF-8 text; at most the pod's read "
	  "limit at a time (offset and length read a part)." POLICY_NOTE,
	  { { "path", A_STRING, 1, "The file, relative to the work tree",
	      NULL },
	    { "offset", A_INTEGER, 0, "Byte offset to start at (default 0)",
	      NULL },
	    { "length", A_INTEGER, 0, "Bytes to read at most (default: the "
	      "read limit)", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"path\":" S_STR ",\"size\":"
	  S_INT ",\"offset\":" S_INT ",\"length\":" S_INT ",\"eof\":" S_BOOL
	  ",\"encoding\":{\"type\":\"string\",\"enum\":[\"text\",\"base64\"]},"
	  "\"data\":" S_STR "},\"required\":[\"path\",\"size\",\"offset\","
	  "\"length\",\"eof\",\"encoding\",\"data\"]}", 1, 0, 1 },
	{ "write_file", "Write a file", "write",
	  "Write text to a file of the pod's work tree: replace it "
	  "atomically (mode truncate, the default), only make a new one "
	  "(create) or add to its end (append).  Writing a new file needs "
	  "write_files, changing one edit_files; either may need an "
	  "operator's approval." POLICY_NOTE,
	  { { "path", A_STRING, 1, "The file, relative to the work tree",
	      NULL },
	    { "content", A_STRING, 1, "The text to write", NULL },
	    { "mode", A_STRING, 0, "truncate (default), create or append",
	      write_modes } },
	  "{\"type\":\"object\",\"properties\":{\"path\":" S_STR ",\"bytes\":"
	  S_INT ",\"created\":" S_BOOL "},\"required\":[\"path\",\"bytes\","
	  "\"created\"]}", 0, 1, 0 },
	{ "edit_file", "Edit a file", "edit",
	  "Replace the text old by new in a text file of the pod's work "
	  "tree, atomically.  old must occur exactly once, or, with all, at "
	  "least once (every occurrence is replaced); otherwise nothing is "
	  "changed and the error says whether old was not found or how many "
	  "times it was (give more of the text around it).  Needs "
	  "edit_files." POLICY_NOTE,
	  { { "path", A_STRING, 1, "The file, relative to the work tree",
	      NULL },
	    { "old", A_STRING, 1, "The exact text to replace (not empty)",
	      NULL },
	    { "new", A_STRING, 1, "The text that replaces it", NULL },
	    { "all", A_BOOLEAN, 0, "Replace every occurrence (default false)",
	      NULL } },
	  "{\"type\":\"object\",\"properties\":{\"path\":" S_STR
	  ",\"replacements\":" S_INT ",\"bytes\":" S_INT "},\"required\":"
	  "[\"path\",\"replacements\",\"bytes\"]}", 0, 1, 0 },
	{ "list_directory", "List a directory", "list",
	  "List a directory of the pod's work tree (default its top): each "
	  "entry's name and type, sorted by name; entries the policy blocks "
	  "are not shown but counted as hidden." POLICY_NOTE,
	  { { "path", A_STRING, 0, "The directory (default the work tree)",
	      NULL } },
	  "{\"type\":\"object\",\"properties\":{\"path\":" S_STR ",\"entries\":"
	  "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
	  "{\"name\":" S_STR ",\"type\":" S_STR "},\"required\":[\"name\","
	  "\"type\"]}},\"hidden\":" S_INT ",\"truncated\":" S_BOOL "},"
	  "\"required\":[\"path\",\"entries\",\"hidden\",\"truncated\"]}",
	  1, 0, 1 },
	{ "glob", "Find files by name", "glob",
	  "Find paths beneath a directory of the pod's work tree that match "
	  "a glob (* and ? within a name, ** across directories; a glob "
	  "without / matches names at any depth).  Blocked paths never "
	  "match." POLICY_NOTE,
	  { { "pattern", A_STRING, 1, "The glob", NULL },
	    { "path", A_STRING, 0, "The directory to search (default the work "
	      "tree)", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"matches\":{\"type\":"
	  "\"array\",\"items\":" S_STR "},\"truncated\":" S_BOOL ","
	  S_STOPPED "},\"required\":[\"matches\",\"truncated\"]}", 1, 0, 1 },
	{ "grep", "Search file contents", "grep",
	  "Search the files beneath a path of the pod's work tree for a "
	  "fixed string, or a Perl-compatible regular expression with regex; "
	  "each match's path, line number and line.  Binary and blocked "
	  "files are skipped." POLICY_NOTE,
	  { { "pattern", A_STRING, 1, "The text (or expression) to find",
	      NULL },
	    { "path", A_STRING, 0, "A file, or a directory to search beneath "
	      "(default the work tree)", NULL },
	    { "regex", A_BOOLEAN, 0, "pattern is a regular expression",
	      NULL },
	    { "ignore_case", A_BOOLEAN, 0, "Match case-insensitively", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"matches\":{\"type\":"
	  "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"path\":"
	  S_STR ",\"line\":" S_INT ",\"text\":" S_STR "},\"required\":["
	  "\"path\",\"line\",\"text\"]}},\"truncated\":" S_BOOL ","
	  S_STOPPED "},\"required\":[\"matches\",\"truncated\"]}", 1, 0, 1 },
	{ "run_command", "Run a command", "run",
	  "Run a program in the pod, in its work tree: argv is the program's "
	  "name (looked up on the pod's search path, never a path) and its "
	  "arguments; there is no shell.  The policy classifies the command "
	  "(run_bash, git_commit, git_push, create_pr) and may block it "
	  "(command_denied) or need an operator's approval, asked for with "
	  "reason (say why the command is needed)." POLICY_NOTE,
	  { { "argv", A_STRINGS, 1, "The program and its arguments", NULL },
	    { "cwd", A_STRING, 0, "The directory to run in (default the work "
	      "tree)", NULL },
	    { "timeout", A_INTEGER, 0, "Seconds before it is killed", NULL },
	    { "stdin", A_STRING, 0, "Text for its standard input", NULL },
	    { "reason", A_STRING, 0, "Why it is needed, for an operator who "
	      "must approve it", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"exit\":{\"type\":[\"integer\","
	  "\"null\"]},\"signal\":{\"type\":[\"integer\",\"null\"]},"
	  "\"timed_out\":" S_BOOL ",\"stdout\":" S_STR ",\"stdout_encoding\":"
	  S_STR ",\"stdout_truncated\":" S_BOOL ",\"stderr\":" S_STR
	  ",\"stderr_encoding\":" S_STR ",\"stderr_truncated\":" S_BOOL
	  ",\"duration_ms\":" S_INT "},\"required\":[\"exit\",\"signal\","
	  "\"timed_out\",\"stdout\",\"stderr\",\"duration_ms\"]}", 0, 1, 0 },
	{ "stat", "Describe a file", "stat",
	  "The type, size, mode and modification time of a path of the pod's "
	  "work tree." POLICY_NOTE,
	  { { "path", A_STRING, 1, "The path, relative to the work tree",
	      NULL } },
	  "{\"type\":\"object\",\"properties\":{\"path\":" S_STR ",\"type\":"
	  S_STR ",\"size\":" S_INT ",\"mode\":" S_INT ",\"mtime\":" S_INT "},"
	  "\"required\":[\"path\",\"type\",\"size\",\"mode\",\"mtime\"]}",
	  1, 0, 1 },
	{ "web_fetch", "Fetch a URL", "web_fetch",
	  "GET (or HEAD) an http or https URL on a host the pod's network "
	  "member allows: the final URL, the status, the headers that "
	  "matter and the body up to max_bytes (text, or base64 when it is "
	  "not UTF-8).  Redirects are followed only where the pod may "
	  "connect, each checked again; TLS is verified.  Needs web_fetch; "
	  "a host the pod may not reach is egress_denied." POLICY_NOTE,
	  { { "url", A_STRING, 1, "The http:// or https:// URL", NULL },
	    { "method", A_STRING, 0, "GET (default) or HEAD", fetch_methods },
	    { "max_bytes", A_INTEGER, 0, "Body bytes to keep at most (default "
	      "262144, at most 1048576)", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"url\":" S_STR ",\"status\":"
	  S_INT ",\"headers\":{\"type\":\"object\"},\"redirects\":{\"type\":"
	  "\"array\",\"items\":" S_STR "},\"bytes\":" S_INT ",\"truncated\":"
	  S_BOOL ",\"body\":" S_STR ",\"body_base64\":" S_STR "},\"required\":"
	  "[\"url\",\"status\",\"headers\",\"redirects\",\"bytes\","
	  "\"truncated\"]}", 1, 0, 0 },
	{ "web_search", "Search the web", "web_search",
	  "Send a query to the node's search backend, through the pod's own "
	  "network (the backend's host must be one the pod's network member "
	  "allows): results of title, url and snippet, at most max_results.  "
	  "Needs web_search; a node without a backend answers unavailable, a "
	  "backend the pod may not reach is egress_denied." POLICY_NOTE,
	  { { "query", A_STRING, 1, "What to search for (at most 512 bytes)",
	      NULL },
	    { "max_results", A_INTEGER, 0, "Results to return at most "
	      "(default 10, 1 to 20)", NULL } },
	  "{\"type\":\"object\",\"properties\":{\"results\":{\"type\":"
	  "\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	  "\"title\":" S_STR ",\"url\":" S_STR ",\"snippet\":" S_STR "},"
	  "\"required\":[\"title\",\"url\",\"snippet\"]}}},\"required\":"
	  "[\"results\"]}", 1, 0, 0 },
};

#define NTOOLS	(sizeof(tools) / sizeof(tools[0]))

const struct mcp_tool *
mcp_tool_find(const char *name)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

const char *
mcp_tool_op(const struct mcp_tool *t)
{
	return t->op;
}

static const char *const type_names[] = { "string", "integer", "boolean",
	"array" };

static json_t *
input_schema(const struct mcp_tool *t)
{
	json_t *props = json_object(), *req = json_array(), *p, *e;

	for (size_t i = 0; i < TOOL_ARGS_MAX && t->args[i].name != NULL; i++) {
		const struct tool_arg *a = &t->args[i];

		p = json_pack("{s:s, s:s}", "type", type_names[a->type],
		    "description", a->desc);
		if (a->type == A_STRINGS) {
			json_object_set_new(p, "items", json_pack("{s:s}",
			    "type", "string"));
			json_object_set_new(p, "minItems", json_integer(1));
		}
		if (a->type == A_INTEGER)
			json_object_set_new(p, "minimum", json_integer(
			    strcmp(a->name, "timeout") == 0 ||
			    strcmp(a->name, "max_bytes") == 0 ? 1 : 0));
		if (strcmp(a->name, "old") == 0)
			json_object_set_new(p, "minLength", json_integer(1));
		if (a->choices != NULL) {
			e = json_array();
			for (size_t k = 0; a->choices[k] != NULL; k++)
				json_array_append_new(e,
				    json_string(a->choices[k]));
			json_object_set_new(p, "enum", e);
		}
		json_object_set_new(props, a->name, p);
		if (a->required)
			json_array_append_new(req, json_string(a->name));
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object",
	    "properties", props, "required", req, "additionalProperties", 0);
}

static json_t *
tool_json(const struct mcp_tool *t, int structured)
{
	json_t *o, *out;
	json_error_t jerr;

	o = json_pack("{s:s, s:s, s:o, s:{s:s, s:b, s:b, s:b, s:b}}", "name",
	    t->name, "description", t->desc, "inputSchema", input_schema(t),
	    "annotations", "title", t->title, "readOnlyHint", t->read_only,
	    "destructiveHint", t->destructive, "idempotentHint", t->idempotent,
	    "openWorldHint", strncmp(t->op, "web_", 4) == 0);
	if (o != NULL && structured) {
		json_object_set_new(o, "title", json_string(t->title));
		/* A table of this file's: it parses, or the build is wrong. */
		if ((out = json_loads(t->output, 0, &jerr)) != NULL)
			json_object_set_new(o, "outputSchema", out);
	}
	return o;
}

/* The tools, as tools/list gives them (output schemas in 2025-06-18). */
json_t *
mcp_tools_list(int structured)
{
	json_t *a = json_array();

	for (size_t i = 0; i < NTOOLS; i++)
		json_array_append_new(a, tool_json(&tools[i], structured));
	return a;
}

static int
arg_fail(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
arg_fail(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return -1;
}

static int
string_ok(const json_t *v)
{
	return json_is_string(v) && memchr(json_string_value(v), '\0',
	    json_string_length(v)) == NULL;
}

static int
arg_check(const struct tool_arg *a, const json_t *v, char *why, size_t whysz)
{
	size_t i;
	const json_t *s;

	switch (a->type) {
	case A_STRING:
		if (!string_ok(v))
			return arg_fail(why, whysz, "arguments.%s: expected a "
			    "string (without NUL)", a->name);
		if (strcmp(a->name, "old") == 0 && json_string_length(v) == 0)
			return arg_fail(why, whysz, "arguments.old: expected a "
			    "non-empty string");
		if (a->choices == NULL)
			return 0;
		for (i = 0; a->choices[i] != NULL; i++)
			if (strcmp(a->choices[i], json_string_value(v)) == 0)
				return 0;
		return arg_fail(why, whysz, "arguments.%s: not one of the "
		    "values the schema lists", a->name);
	case A_INTEGER:
		if (!json_is_integer(v) || json_integer_value(v) < (strcmp(
		    a->name, "timeout") == 0 ? 1 : 0))
			return arg_fail(why, whysz, "arguments.%s: expected an "
			    "integer of at least %d", a->name, strcmp(a->name,
			    "timeout") == 0 ? 1 : 0);
		return 0;
	case A_BOOLEAN:
		if (!json_is_boolean(v))
			return arg_fail(why, whysz, "arguments.%s: expected "
			    "true or false", a->name);
		return 0;
	case A_STRINGS:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return arg_fail(why, whysz, "arguments.%s: expected a "
			    "non-empty array of strings", a->name);
		json_array_foreach(v, i, s)
			if (!string_ok(s))
				return arg_fail(why, whysz, "arguments.%s[%zu]: "
				    "expected a string (without NUL)", a->name,
				    i);
		return 0;
	}
	return arg_fail(why, whysz, "arguments.%s: unknown type", a->name);
}

static const struct tool_arg *
arg_find(const struct mcp_tool *t, const char *name)
{
	for (size_t i = 0; i < TOOL_ARGS_MAX && t->args[i].name != NULL; i++)
		if (strcmp(t->args[i].name, name) == 0)
			return &t->args[i];
	return NULL;
}

/*
 * A call's arguments, checked against the tool's input schema: the node
 * operation's args into *out, and run_command's reason into *reason
 * (NULL when none).  0, or -1 with why.
 */
int
mcp_tool_args(const struct mcp_tool *t, const json_t *args, json_t **out,
    char **reason, char *why, size_t whysz)
{
	const struct tool_arg *a;
	const char *k;
	json_t *v;

	*out = NULL;
	*reason = NULL;
	json_object_foreach((json_t *)args, k, v) {
		if ((a = arg_find(t, k)) == NULL)
			return arg_fail(why, whysz, "arguments.%.64s: not an "
			    "argument of this tool", k);
		if (arg_check(a, v, why, whysz) != 0)
			return -1;
	}
	for (size_t i = 0; i < TOOL_ARGS_MAX && t->args[i].name != NULL; i++)
		if (t->args[i].required &&
		    json_object_get(args, t->args[i].name) == NULL)
			return arg_fail(why, whysz, "arguments.%s: required",
			    t->args[i].name);
	*out = args != NULL ? json_deep_copy(args) : json_object();
	if ((v = json_object_get(*out, "reason")) != NULL) {
		*reason = strdup(json_string_value(v));
		json_object_del(*out, "reason");
	}
	if (*out == NULL)
		return arg_fail(why, whysz, "out of memory");
	return 0;
}

/* The text of a value: its compact JSON. */
static json_t *
text_of(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *c = json_pack("[{s:s, s:s}]", "type", "text", "text",
	    s != NULL ? s : "");

	free(s);
	return c;
}

/* A tool's result: its text, and (2025-06-18) its structured content. */
json_t *
mcp_tool_ok(const json_t *result, int structured)
{
	json_t *r = json_pack("{s:o, s:b}", "content", text_of(result),
	    "isError", 0);

	/* The node's answer is read only from here on: shared, not copied. */
	if (r != NULL && structured)
		json_object_set(r, "structuredContent", (json_t *)result);
	return r;
}

/* A tool's failure: "kind: message", for the model to read. */
json_t *
mcp_tool_error(const char *kind, const char *fmt, ...)
{
	char msg[2048], text[2200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%s: %s", kind, msg);
	return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text",
	    "text", text, "isError", 1);
}
