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
check(json_t *ans)
{
	if (ans == NULL)
		return;
	if (strcmp(json_string_value(json_object_get(ans, "jsonrpc")),
	    "2.0") != 0 || (json_object_get(ans, "result") == NULL) ==
	    (json_object_get(ans, "error") == NULL))
		abort();
	json_decref(ans);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_server s = { .pod = "p-0001" };
	const char *p = (const char *)data, *end = p + size, *nl;
	struct mcp_step step;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		check(mcp_line(&s, p, (size_t)(nl - p), &step));
		mcp_call_free(step.call);
		json_decref(step.cancel);
		p = nl + 1;
	}
	return 0;
}
