/*
 * libFuzzer target: a line from an MCP client as nucleus-mcp reads it
 * (mcp/rpc.c): JSON-RPC's envelope, the lifecycle, tools/list, and a
 * tool call's arguments checked against the tool's input schema.  Each
 * input is a few lines, fed in turn to one server state (the first
 * usually an initialize), so that what follows initialize is reached.
 * Nothing may crash or leak; every answer must be a JSON-RPC message.
 *
 * A line that starts with 'A' is instead, after that byte, a node's
 * answer to the last tool call (mcp/pass.c): when it is taken as an ok
 * answer in canonical form, the parser must read the same id, ok and
 * result from it, and the tool call's answer written around its bytes
 * must be, byte for byte, what the tree's way writes (mcp_result of
 * mcp_tool_ok, encoded), under the revision agreed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_one(const json_t *ans)
{
	const char *v = json_string_value(json_object_get(ans, "jsonrpc"));

	if (v == NULL || strcmp(v, "2.0") != 0 ||
	    (json_object_get(ans, "result") == NULL) ==
	    (json_object_get(ans, "error") == NULL))
		abort();
}

/* A message, or a batch's answer: a non-empty array of them. */
static void
check(json_t *ans)
{
	const json_t *m;
	size_t i;

	if (ans == NULL)
		return;
	if (json_is_array(ans)) {
		if (json_array_size(ans) == 0)
			abort();
		json_array_foreach(ans, i, m)
			check_one(m);
	} else
		check_one(ans);
	json_decref(ans);
}

/* An ok answer passed on as bytes, against the tree's way. */
static void
check_pass(const char *line, size_t len, const json_t *id, int structured)
{
	struct audit_buf fast = { 0 }, slow = { 0 };
	struct mcp_ok ok;
	json_t *r, *res, *raw, *msg;
	const char *rid;

	if (mcp_answer_scan(line, len, &ok) != 0)
		return;
	r = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	res = json_object_get(r, "result");
	rid = json_string_value(json_object_get(r, "id"));
	raw = mcp_ok_result(ok.result, ok.resultlen);
	if (r == NULL || !json_is_true(json_object_get(r, "ok")) ||
	    res == NULL || rid == NULL || strlen(rid) != ok.idlen ||
	    memcmp(rid, ok.id, ok.idlen) != 0 || !json_equal(raw, res))
		abort();
	if (mcp_encode_ok(id, ok.result, ok.resultlen, structured,
	    &fast) == 0) {
		msg = mcp_result(id, mcp_tool_ok(res, structured));
		if (mcp_encode(msg, &slow) != 0 || slow.len != fast.len ||
		    memcmp(slow.p, fast.p, fast.len) != 0)
			abort();
		json_decref(msg);
	} else if (cjson_encode(id, &slow, NULL) == 0)
		abort();	/* only an id not written canonically */
	audit_buf_free(&fast);
	audit_buf_free(&slow);
	json_decref(raw);
	json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_server s = { .pod = "p-0001" };
	const char *p = (const char *)data, *end = p + size, *nl;
	struct mcp_step step;
	struct mcp_call *c;
	json_t *id = json_integer(1);

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (p < nl && *p == 'A') {
			check_pass(p + 1, (size_t)(nl - p - 1), id,
			    s.structured);
			p = nl + 1;
			continue;
		}
		check(mcp_line(&s, p, (size_t)(nl - p), &step));
		/* Each call ends cancelled: a batch's answer comes with its
		 * last. */
		while ((c = step.calls) != NULL) {
			step.calls = c->next;
			json_decref(id);
			id = json_incref(c->id);
			check(mcp_call_end(c, NULL));
		}
		json_decref(step.cancel);
		p = nl + 1;
	}
	json_decref(id);
	return 0;
}
