/*
 * The client's side of MCP as JSON-RPC 2.0: each line one message.  A
 * request is answered here when it needs no pod (initialize, ping,
 * tools/list, and every refusal), or becomes a tool call for main.c; a
 * notification is answered by nothing.  Nothing here reads or writes a
 * file descriptor (the fuzz target drives it).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"
#include "usage.h"

/* A JSON-RPC error answer to id (null when it is not known). */
json_t *
mcp_error(const json_t *id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", "code", code, "message",
	    msg);
}

/* A JSON-RPC result answer to id; result is taken over. */
json_t *
mcp_result(const json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
	    "result", result != NULL ? result : json_object());
}

json_t *
mcp_notification(const char *method, json_t *params)
{
	return json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method,
	    "params", params);
}

/*
 * A message or a value as compact JSON text appended to b, without a
 * newline: canonical JSON (libaudit's encoder, which copies runs of
 * plain bytes at once), or jansson's writer for what canonical JSON
 * refuses (an integer past 2^53, a string holding U+0000).  0, or -1
 * when out of memory.
 */
int
mcp_encode(const json_t *v, struct audit_buf *b)
{
	struct audit_err e;
	size_t len = b->len;
	char *s;
	int rc;

	if (cjson_encode(v, b, &e) == 0)
		return 0;
	b->len = len;
	if (b->p != NULL)
		b->p[len] = '\0';
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return -1;
	rc = audit_buf_add(b, s, strlen(s));
	free(s);
	return rc;
}

void
mcp_call_free(struct mcp_call *c)
{
	if (c == NULL)
		return;
	json_decref(c->id);
	json_decref(c->args);
	json_decref(c->progress);
	json_decref(c->resp);
	free(c->raw);
	free(c->reason);
	free(c);
}

/* JSON-RPC's id as MCP takes it: a string or an integer, never null. */
static int
id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

/*
 * The revision to speak: the client's when served, else the newest
 * (the client then decides whether it can).
 */
static const char *
negotiate(const char *asked)
{
	if (strcmp(asked, MCP_VERSION_PREVIOUS) == 0)
		return MCP_VERSION_PREVIOUS;
	return MCP_VERSION_LATEST;
}

static json_t *
initialize(struct mcp_server *s, const json_t *id, const json_t *params)
{
	const json_t *v = json_object_get(params, "protocolVersion");
	const json_t *caps = json_object_get(params, "capabilities");
	const json_t *info = json_object_get(params, "clientInfo");
	char text[512];
	json_t *server;

	if (s->initialized)
		return mcp_error(id, RPC_INVALID_REQUEST, "already "
		    "initialized");
	if (!json_is_string(v))
		return mcp_error(id, RPC_INVALID_PARAMS, "params.protocolVersion"
		    ": expected a string");
	if (caps != NULL && !json_is_object(caps))
		return mcp_error(id, RPC_INVALID_PARAMS, "params.capabilities: "
		    "expected an object");
	if (info != NULL && !json_is_object(info))
		return mcp_error(id, RPC_INVALID_PARAMS, "params.clientInfo: "
		    "expected an object");
	s->version = negotiate(json_string_value(v));
	s->structured = strcmp(s->version, MCP_VERSION_LATEST) == 0;
	s->batches = strcmp(s->version, MCP_VERSION_PREVIOUS) == 0;
	s->initialized = 1;
	server = json_pack("{s:s, s:s}", "name", "nucleus-mcp", "version",
	    usage_version);
	if (s->structured)
		json_object_set_new(server, "title", json_string("Nucleus "
		    "pod tools"));
	snprintf(text, sizeof(text), "The tools act in Nucleus pod %s, on "
	    "its work tree (paths are relative to it) and its commands, "
	    "under the pod's policy.  A call the policy refuses is a tool "
	    "error whose text starts with its kind (path_denied, "
	    "insufficient_capability, command_denied, budget_exhausted, "
	    "...): do not retry it unchanged.  A call that needs an "
	    "operator's approval waits for one when the server was given an "
	    "authority.", s->pod != NULL ? s->pod : "?");
	return mcp_result(id, json_pack("{s:s, s:{s:{s:b}}, s:o, s:s}",
	    "protocolVersion", s->version, "capabilities", "tools",
	    "listChanged", 0, "serverInfo", server, "instructions", text));
}

/* tools/call: checked here, performed by main.c. */
static json_t *
tools_call(struct mcp_server *s, const json_t *id, const json_t *params,
    struct mcp_step *step)
{
	const json_t *name = json_object_get(params, "name");
	const json_t *args = json_object_get(params, "arguments");
	const json_t *meta = json_object_get(params, "_meta");
	const json_t *token = json_object_get(meta, "progressToken");
	const struct mcp_tool *t;
	struct mcp_call *c, **pp;
	char why[256];
	json_t *opargs;
	char *reason;

	if (!json_is_string(name))
		return mcp_error(id, RPC_INVALID_PARAMS, "params.name: expected "
		    "a string");
	if ((t = mcp_tool_find(json_string_value(name))) == NULL)
		return mcp_error(id, RPC_INVALID_PARAMS, "Unknown tool: %.64s",
		    json_string_value(name));
	if (args != NULL && !json_is_object(args))
		return mcp_error(id, RPC_INVALID_PARAMS, "params.arguments: "
		    "expected an object");
	if (meta != NULL && !json_is_object(meta))
		return mcp_error(id, RPC_INVALID_PARAMS, "params._meta: "
		    "expected an object");
	if (token != NULL && !json_is_string(token) && !json_is_integer(token))
		return mcp_error(id, RPC_INVALID_PARAMS, "params._meta."
		    "progressToken: expected a string or an integer");
	if (mcp_tool_args(t, args, &opargs, &reason, why, sizeof(why)) != 0)
		return mcp_error(id, RPC_INVALID_PARAMS, "%s: %s",
		    json_string_value(name), why);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(opargs);
		free(reason);
		return mcp_error(id, RPC_INTERNAL_ERROR, "out of memory");
	}
	c->id = json_deep_copy(id);
	c->tool = t;
	c->args = opargs;
	c->reason = reason;
	c->progress = token != NULL ? json_deep_copy(token) : NULL;
	/* After the line's other calls: in a batch they queue in order. */
	for (pp = &step->calls; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = c;
	(void)s;
	return NULL;
}

static json_t *
request(struct mcp_server *s, const json_t *id, const char *method,
    const json_t *params, struct mcp_step *step, int batched)
{
	if (strcmp(method, "initialize") == 0 && batched)
		return mcp_error(id, RPC_INVALID_REQUEST, "initialize must not "
		    "be part of a batch");
	if (strcmp(method, "initialize") == 0)
		return initialize(s, id, params);
	if (strcmp(method, "ping") == 0)
		return mcp_result(id, json_object());
	if (!s->initialized)
		return mcp_error(id, RPC_INVALID_REQUEST, "not initialized: "
		    "initialize comes first");
	if (strcmp(method, "tools/list") == 0) {
		if (json_object_get(params, "cursor") != NULL)
			return mcp_error(id, RPC_INVALID_PARAMS, "params.cursor"
			    ": not a cursor this server gave");
		return mcp_result(id, json_pack("{s:o}", "tools",
		    mcp_tools_list(s->structured)));
	}
	if (strcmp(method, "tools/call") == 0)
		return tools_call(s, id, params, step);
	return mcp_error(id, RPC_METHOD_NOT_FOUND, "Method not found: %.64s",
	    method);
}

static void
notification(struct mcp_server *s, const char *method, const json_t *params,
    struct mcp_step *step)
{
	const json_t *id;

	if (strcmp(method, "notifications/initialized") == 0)
		s->ready = 1;
	else if (strcmp(method, "notifications/cancelled") == 0 &&
	    id_valid(id = json_object_get(params, "requestId"))) {
		if (step->cancel == NULL)
			step->cancel = json_array();
		json_array_append_new(step->cancel, json_deep_copy(id));
	}
	/* Any other notification, and a bad one, is ignored. */
}

/*
 * One message, m, alone or in a batch: its answer, or NULL (a
 * notification, an answer, or a tool call, put in step).
 */
static json_t *
message(struct mcp_server *s, const json_t *m, struct mcp_step *step,
    int batched)
{
	const json_t *id, *method, *params, *ver;

	id = json_object_get(m, "id");
	method = json_object_get(m, "method");
	params = json_object_get(m, "params");
	ver = json_object_get(m, "jsonrpc");
	if (!json_is_object(m) || !json_is_string(ver) ||
	    strcmp(json_string_value(ver), "2.0") != 0)
		return mcp_error(id_valid(id) ? id : NULL, RPC_INVALID_REQUEST,
		    "Invalid Request: not a JSON-RPC 2.0 message");
	if (method == NULL && id_valid(id) &&
	    (json_object_get(m, "result") != NULL ||
	    json_object_get(m, "error") != NULL))
		return NULL;	/* an answer: this server asks nothing */
	if (!json_is_string(method) || (id != NULL && !id_valid(id)))
		return mcp_error(id_valid(id) ? id : NULL, RPC_INVALID_REQUEST,
		    "Invalid Request: %s", !json_is_string(method) ?
		    "no method" : "the id must be a string or an integer");
	if (params != NULL && !json_is_object(params))
		return id != NULL ? mcp_error(id, RPC_INVALID_PARAMS, "params: "
		    "expected an object") : NULL;
	if (id == NULL) {
		notification(s, json_string_value(method), params, step);
		return NULL;
	}
	return request(s, id, json_string_value(method), params, step,
	    batched);
}

/* A batch's answer: the array, or NULL when it holds none.  b is freed. */
static json_t *
batch_end(struct mcp_batch *b)
{
	json_t *a = b->answers;

	free(b);
	if (json_array_size(a) > 0)
		return a;
	json_decref(a);
	return NULL;	/* JSON-RPC: never an empty array */
}

/*
 * A batch (2025-03-26; 2025-06-18 has none): each message handled in
 * turn, the answers in one array, sent when its tool calls are done.
 */
static json_t *
batch(struct mcp_server *s, const json_t *a, struct mcp_step *step)
{
	struct mcp_batch *b;
	const json_t *m;
	json_t *ans;
	size_t i;

	if (!s->initialized)
		return mcp_error(NULL, RPC_INVALID_REQUEST, "a batch before "
		    "initialize: initialize comes first, alone");
	if (!s->batches)
		return mcp_error(NULL, RPC_INVALID_REQUEST, "a batch: revision "
		    "%s has none; send one message a line", s->version);
	if (json_array_size(a) == 0)
		return mcp_error(NULL, RPC_INVALID_REQUEST, "Invalid Request: "
		    "an empty batch");
	if (json_array_size(a) > MCP_BATCH_MAX)
		return mcp_error(NULL, RPC_INVALID_REQUEST, "a batch of more "
		    "than %d messages", MCP_BATCH_MAX);
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->answers = json_array()) == NULL) {
		free(b);
		return mcp_error(NULL, RPC_INTERNAL_ERROR, "out of memory");
	}
	json_array_foreach(a, i, m)
		if ((ans = message(s, m, step, 1)) != NULL)
			json_array_append_new(b->answers, ans);
	for (struct mcp_call *c = step->calls; c != NULL; c = c->next) {
		c->batch = b;
		b->waiting++;
	}
	return b->waiting > 0 ? NULL : batch_end(b);
}

/*
 * A tool call's end, with its result (NULL: none, it was cancelled):
 * the message to send now, or NULL (nothing, or not yet: its batch waits
 * for its other calls).  c is freed.
 */
json_t *
mcp_call_end(struct mcp_call *c, json_t *result)
{
	struct mcp_batch *b = c->batch;
	json_t *msg = result != NULL ? mcp_result(c->id, result) : NULL;

	mcp_call_free(c);
	if (b == NULL)
		return msg;
	if (msg != NULL)
		json_array_append_new(b->answers, msg);
	return --b->waiting > 0 ? NULL : batch_end(b);
}

/*
 * One line from the client: the answer to write now (a message, or a
 * batch's array), or NULL; step says what else it asks for.
 */
json_t *
mcp_line(struct mcp_server *s, const char *line, size_t len,
    struct mcp_step *step)
{
	json_error_t jerr;
	json_t *m, *ans;

	step->calls = NULL;
	step->cancel = NULL;
	if (len > MCP_LINE_MAX)
		return mcp_error(NULL, RPC_INVALID_REQUEST, "a message of more "
		    "than %d bytes", MCP_LINE_MAX);
	if ((m = json_loadb(line, len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr)) == NULL)
		return mcp_error(NULL, RPC_PARSE_ERROR, "Parse error: %s",
		    jerr.text);
	ans = json_is_array(m) ? batch(s, m, step) : message(s, m, step, 0);
	json_decref(m);
	return ans;
}
