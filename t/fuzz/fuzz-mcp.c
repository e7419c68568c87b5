/*
 * libFuzzer target: a line from an MCP client as nucleus-mcp reads it
 * (mcp/rpc.c): JSON-RPC's envelope, the lifecycle, tools/list, and a
 * tool call's arguments checked against the tool's input schema.  Each
 * input is a few lines, fed in turn to one server state (the first
 * usually an initialize), so that what follows initialize is reached.
 * Nothing may crash or leak; every answer must be a JSON-RPC message.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_server s = { .pod = "p-0001" };
	const char *p = (const char *)data, *end = p + size, *nl;
	struct mcp_step step;
	struct mcp_call *c;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		check(mcp_line(&s, p, (size_t)(nl - p), &step));
		/* Each call ends cancelled: a batch's answer comes with its
		 * last. */
		while ((c = step.calls) != NULL) {
			step.calls = c->next;
			check(mcp_call_end(c, NULL));
		}
		json_decref(step.cancel);
		p = nl + 1;
	}
	return 0;
}
