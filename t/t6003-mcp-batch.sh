#!/bin/sh
test_description='nucleus-mcp: JSON-RPC batches, served under 2025-03-26, refused under 2025-06-18, bounded'
. "$(dirname "$0")/test-lib.sh"

# mcp < LINES > OUT: a server for pod p-1, its node nowhere (a tool call
# is answered at once with the tool error unavailable).
mcp() {
	timeout 30 nucleus-mcp -l "$PWD/no-node.sock" -k agent.key p-1
}

init() {
	printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n' "$1"
}

ping() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"ping"}' "$1"
}

call() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"stat","arguments":{"path":"a"}}}' "$1"
}

# batch N FIRST: an array of N pings, ids FIRST on.
batch() {
	i=0 &&
	printf "[" &&
	while test $i -lt "$1"
	do
		test $i -eq 0 || printf ","
		ping $(($2 + i))
		i=$((i + 1))
	done &&
	printf "]\n"
}

# The lines of out that are arrays, and the others.
arrays() {
	jq -c "select(type == \"array\")" out
}

singles() {
	jq -c "select(type == \"object\")" out
}

test_expect_success 'setup: a key' '
	audit-tool keygen agent-7 agent.key >/dev/null
'

test_expect_success '2025-03-26: a batch answered by one array; notifications, answers and non-messages as JSON-RPC says' '
	{
		init 2025-03-26
		echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
		printf "[%s,%s,%s,%s,%s,%s,%s]\n" "$(ping 1)" \
			"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}" \
			1 "$(call 2)" "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}" \
			"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}" \
			"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-03-26\"}}"
		echo "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"},{\"jsonrpc\":\"2.0\",\"id\":98,\"result\":{}}]"
		ping 5 && echo
		echo "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}"
	} | mcp >out &&
	test_line_count = 4 out &&
	arrays >a &&
	test_line_count = 1 a &&
	jq -e "length == 5" a &&
	jq -e "[.[] | .jsonrpc == \"2.0\"] | all" a &&
	jq -e "[.[] | select(.id == 1)][0].result == {}" a &&
	jq -e "[.[] | select(.id == null)] | length == 1 and .[0].error.code == -32600" a &&
	jq -e "[.[] | select(.id == 2)][0].result | .isError and (.content[0].text | test(\"^unavailable: the node\"))" a &&
	jq -c "[.[] | select(.id == 3)][0].result.tools | map(.name)" a >in-batch &&
	singles | jq -c "select(.id == 6) | .result.tools | map(.name)" >alone &&
	test_cmp alone in-batch &&
	jq -e "length > 0" alone &&
	jq -e "[.[] | select(.id == 4)][0].error | .code == -32600 and .message == \"initialize must not be part of a batch\"" a &&
	singles >s &&
	jq -s -e "[.[].id] == [0, 5, 6]" s
'

test_expect_success '2025-03-26: a call cancelled in its batch is not answered; a batch left with no answer gets none' '
	{
		init 2025-03-26
		printf "[%s,%s,%s]\n" "$(call 1)" \
			"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}" \
			"$(ping 2)"
		printf "[%s,%s]\n" "$(call 3)" \
			"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}"
		ping 4 && echo
	} | mcp >out &&
	test_line_count = 3 out &&
	arrays >a &&
	jq -e -c ". == [{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":{}}]" a &&
	singles >s &&
	jq -s -e "[.[].id] == [0, 4]" s
'

test_expect_success 'MCP_BATCH_MAX (64): a batch of 64 served, 65 and an empty one refused whole; the server serves on' '
	{
		init 2025-03-26
		batch 64 100
		batch 65 200
		echo "[]"
		ping 1 && echo
	} | mcp >out &&
	test_line_count = 5 out &&
	arrays >a &&
	jq -e "length == 64 and ([.[].id] | sort) == [range(100; 164)] and ([.[].result] | unique) == [{}]" a &&
	jq -s -e "[.[] | select(type == \"object\" and .id == null) | .error] | length == 2 and (.[0].code == -32600 and (.[0].message | test(\"more than 64 messages\"))) and (.[1].code == -32600 and (.[1].message | test(\"empty batch\")))" out &&
	singles | jq -s -e "[.[] | select(.id == 1)][0].result == {}"
'

test_expect_success '2025-06-18 has no batches, nor has a server before initialize: refused whole with -32600, id null' '
	{
		batch 1 1
		init 2025-06-18
		batch 2 2
		ping 9 && echo
	} | mcp >out &&
	test_line_count = 4 out &&
	arrays >a &&
	test_line_count = 0 a &&
	jq -s -e "[.[] | select(.id == null) | .error.code] == [-32600, -32600]" out &&
	jq -s -e "[.[] | select(.id == null) | .error.message] | (.[0] | test(\"before initialize\")) and (.[1] | test(\"2025-06-18 has none\"))" out &&
	jq -s -e "[.[] | select(.id == 9)][0].result == {}" out
'

test_done
