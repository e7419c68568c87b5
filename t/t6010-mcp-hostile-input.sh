#!/bin/sh
test_description='nucleus-mcp: input a hostile client writes (ids of every JSON type, bytes that are not UTF-8, deep nesting, notifications out of form, a notification'"'"'s method with an id): each answered as JSON-RPC says, or not at all, and the server serving on'
. "$(dirname "$0")/test-lib.sh"

mcp() {
	timeout 30 nucleus-mcp -l "$PWD/no-node.sock" -k agent.key p-1
}

test_expect_success 'setup: a key' '
	audit-tool keygen agent-7 agent.key >/dev/null
'

test_expect_success 'every line answered once or, a notification, never; the server serving on to the last' '
	{
		echo "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
		for id in null 1.5 true "[1]" 1e400 99999999999999999999999; do
			echo "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"ping\"}"
		done
		printf "{\"jsonrpc\":\"2.0\",\"id\":\"\\377\\376\",\"method\":\"ping\"}\n"
		printf "\\377\n"
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":$(printf "%05000d" 0 | tr 0 "[")$(printf "%05000d" 0 | tr 0 "]")}}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":\"x\\u0000y\",\"method\":\"ping\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"id\":3}"
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":12345}}"
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":{\"x\":1}}}"
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":5}"
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"stat\",\"arguments\":{\"path\":\"a\"}}}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"notifications/initialized\"}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"stat\",\"arguments\":{\"path\":\"\\ud800\"}}}"
		echo "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}"
	} | mcp >out &&
	test_line_count = 15 out &&
	jq -s -e "[.[] | select(.id == null) | .error.code] == [-32600, -32600, -32600, -32600, -32700, -32700, -32700, -32700, -32700, -32700, -32700]" out &&
	jq -s -e "[.[] | select(.id == null and .error.code == -32700) | .error.message | test(\"depth|byte 0xff|duplicate|\\\\\\\\uD800|overflow|too big\")] | all" out &&
	jq -s -e "[.[] | select(.id == \"x\\u0000y\")] | .[0].result == {}" out &&
	jq -s -e "[.[] | select(.id == 4)] | .[0].error.code == -32601" out &&
	jq -s -e "[.[] | select(.id == \"last\")] | .[0].result == {}" out
'

test_done
