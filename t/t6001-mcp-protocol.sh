#!/bin/sh
test_description='nucleus-mcp: the lifecycle, version negotiation and JSON-RPC errors, line by line'
. "$(dirname "$0")/test-lib.sh"

# mcp < LINES > OUT: a server for pod p-1, its node nowhere.
mcp() {
	timeout 30 nucleus-mcp -l "$PWD/no-node.sock" -k agent.key p-1
}

init() {
	printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n' "$1"
}

# The answer with this id (a JSON value: 1, "a", null).
ans() {
	jq -c "select(.id == $1)" out
}

test_expect_success 'setup: a key' '
	audit-tool keygen agent-7 agent.key >/dev/null
'

test_expect_success 'initialize: the current revision, or the previous one when asked; anything else gets the current' '
	init 2025-06-18 | mcp >out &&
	ans 0 | jq -e ".result.protocolVersion == \"2025-06-18\" and .result.capabilities == {\"tools\":{\"listChanged\":false}} and .result.serverInfo.name == \"nucleus-mcp\"" &&
	init 2025-03-26 | mcp >out &&
	ans 0 | jq -e ".result.protocolVersion == \"2025-03-26\"" &&
	init 2099-01-01 | mcp >out &&
	ans 0 | jq -e ".result.protocolVersion == \"2025-06-18\""
'

test_expect_success '2025-03-26 has no output schemas or structured content; 2025-06-18 has them' '
	{
		init 2025-03-26
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"
	} | mcp >out &&
	ans 1 | jq -e "[.result.tools[] | has(\"outputSchema\") or has(\"title\")] | any | not" &&
	ans 1 | jq -e "[.result.tools[] | .annotations.readOnlyHint != null] | all" &&
	{
		init 2025-06-18
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"
	} | mcp >out &&
	ans 1 | jq -e "[.result.tools[] | has(\"outputSchema\")] | all and length == 10"
'

test_expect_success 'before initialize only ping is served; initialize once only' '
	{
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}"
		init 2025-06-18
		init 2025-06-18 | sed "s/\"id\":0/\"id\":3/"
	} | mcp >out &&
	ans 1 | jq -e ".error.code == -32600 and (.error.message | test(\"not initialized\"))" &&
	ans 2 | jq -e ".result == {}" &&
	ans 0 | jq -e ".result.protocolVersion" &&
	ans 3 | jq -e ".error.code == -32600 and .error.message == \"already initialized\""
'

test_expect_success 'JSON-RPC errors: each answered, the server serving on' '
	{
		init 2025-06-18
		echo "not json"
		echo "{\"id\":1,\"method\":\"ping\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":2}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":[1]}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"prompts/list\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"arguments\":{}}}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"stat\",\"arguments\":{\"path\":\"a\"},\"_meta\":{\"progressToken\":[1]}}}"
		echo "[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}]"
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}"
	} | mcp >out &&
	test_line_count = 11 out &&
	jq -s -e "[.[] | select(.id == null) | .error.code] == [-32700, -32600, -32600]" out &&
	ans 1 | jq -e ".error.code == -32600" &&
	ans 2 | jq -e ".error.code == -32600 and (.error.message | test(\"no method\"))" &&
	ans 3 | jq -e ".error.code == -32602" &&
	ans 4 | jq -e ".error.code == -32601 and .error.message == \"Method not found: prompts/list\"" &&
	ans 5 | jq -e ".error.code == -32602 and .error.message == \"params.name: expected a string\"" &&
	ans 6 | jq -e ".error.code == -32602 and (.error.message | test(\"progressToken\"))" &&
	ans "\"last\"" | jq -e ".result == {}"
'

test_expect_success 'a message of MCP_LINE_MAX (2097152) bytes is read; one byte more is refused by its length' '
	# pad ID BYTES: a ping of BYTES bytes, its newline not counted.
	pad() {
		head="{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"ping\",\"params\":{\"p\":\"" &&
		printf "%s" "$head" &&
		head -c $(($2 - ${#head} - 3)) /dev/zero | tr "\0" x &&
		printf "\"}}\n"
	} &&
	{
		init 2025-06-18
		pad 1 2097152
		pad 2 2097153
		echo "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}"
	} >in &&
	sed -n 2p in | tr -d "\n" | wc -c >len &&
	test "$(cat len)" = 2097152 &&
	sed -n 3p in | tr -d "\n" | wc -c >len &&
	test "$(cat len)" = 2097153 &&
	mcp <in >out &&
	ans 1 | jq -e ".result == {}" &&
	jq -s -e "[.[] | select(.id == null)] | length == 1 and .[0].error.code == -32600 and (.[0].error.message | test(\"more than 2097152 bytes\"))" out &&
	ans 3 | jq -e ".result == {}"
'

test_expect_success 'a tool call with no node: a tool error naming the socket, not a protocol error' '
	{
		init 2025-06-18
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"stat\",\"arguments\":{\"path\":\"a\"}}}"
	} | mcp >out &&
	ans 1 | jq -e ".result.isError and (.result.content[0].text | test(\"^unavailable: the node: .*no-node.sock\"))"
'

test_expect_success 'usage: a key and one pod; -w within 1 to 86400; a pod name checked' '
	test_expect_code 2 nucleus-mcp p-1 2>err &&
	grep -q "^usage: nucleus-mcp " err &&
	test_expect_code 2 nucleus-mcp -k agent.key 2>err &&
	test_expect_code 2 nucleus-mcp -k agent.key -w 0 p-1 2>err &&
	grep -q "expected 1 to 86400 seconds" err &&
	test_expect_code 2 nucleus-mcp -k agent.key -w 86401 p-1 2>err &&
	test_expect_code 2 nucleus-mcp -k agent.key "../x" 2>err &&
	grep -q "not a pod" err &&
	test_expect_code 1 nucleus-mcp -k missing.key p-1 </dev/null 2>err &&
	grep -q "missing.key" err
'

test_done
