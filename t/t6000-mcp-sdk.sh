#!/bin/sh
test_description='nucleus-mcp and the official MCP client: tools listed and checked, each called on a real pod, a denial, an approval, a cancellation, bad input'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
. "$TEST_DIRECTORY/lib-mcp.sh"

test_expect_success 'setup: the SDK, an authority, a node, pod p-mcp' '
	mcp_sdk_setup &&
	authority_setup &&
	authority_start -t 120 &&
	node_setup &&
	node_start &&
	mcp_pod_create
'

test_expect_success 'initialize and tools/list: every tool, its schemas and annotations, as the SDK takes them' '
	mcp_client list >out &&
	jq -e ".server.name == \"nucleus-mcp\" and .capabilities.tools != null" out &&
	jq -e ".instructions | test(\"pod p-mcp\")" out &&
	jq -r ".tools[].name" out | sort >names &&
	printf "%s\n" edit_file glob grep list_directory read_file run_command stat web_fetch web_search write_file >expect &&
	test_cmp expect names &&
	jq -e "[.tools[] | .inputSchema.type == \"object\" and .outputSchema.type == \"object\" and (.annotations | has(\"readOnlyHint\") and has(\"destructiveHint\"))] | all" out &&
	jq -e "[.tools[] | select(.annotations.readOnlyHint) | .name] | sort == [\"glob\",\"grep\",\"list_directory\",\"read_file\",\"stat\",\"web_fetch\",\"web_search\"]" out &&
	jq -e ".tools[] | select(.name == \"run_command\") | .inputSchema.properties.argv.type == \"array\" and .inputSchema.properties.reason.type == \"string\" and .inputSchema.required == [\"argv\"]" out &&
	jq -e ".tools[] | select(.name == \"edit_file\") | .annotations.destructiveHint and (.description | test(\"how many\"))" out
'

pod_log_has_edit() {
	copy=$(nucleus-node pod -j -k admin.key -l n/node.sock status p-mcp | jq -r .result.audit_copy) &&
	jq -s -e "[.[] | select(.op == \"edit\" and .decision == \"allow\" and .actor == \"agent-7\")] | length == 2" "$copy"
}

test_expect_success 'every tool on the pod: results the SDK checks against each output schema' '
	cat >calls.json <<-\EOF &&
	[["write_file", {"path": "hello.c", "content": "int x = 1;\nint y = 1;\n"}],
	 ["read_file", {"path": "hello.c"}],
	 ["edit_file", {"path": "hello.c", "old": "int x = 1;", "new": "int x = 2;"}],
	 ["edit_file", {"path": "hello.c", "old": "int ", "new": "long "}],
	 ["read_file", {"path": "hello.c", "offset": 4, "length": 1}],
	 ["stat", {"path": "hello.c"}],
	 ["list_directory", {}],
	 ["glob", {"pattern": "*.c"}],
	 ["grep", {"pattern": "y = 1"}],
	 ["run_command", {"argv": ["cat", "hello.c"], "reason": "to see it"}],
	 ["run_command", {"argv": ["false"]}]]
	EOF
	mcp_client calls "$(cat calls.json)" >out &&
	test_line_count = 11 out &&
	sed -n 1p out | jq -e ".result.isError == false and .result.structuredContent.created and .result.structuredContent.bytes == 22" &&
	sed -n 2p out | jq -e ".result.structuredContent.data == \"int x = 1;\nint y = 1;\n\" and (.result.content[0].text | fromjson | .size == 22)" &&
	sed -n 3p out | jq -e ".result.structuredContent.replacements == 1" &&
	sed -n 4p out | jq -e ".result.isError and (.result.content[0].text | test(\"^bad_request: hello.c: old text found 2 times\"))" &&
	sed -n 5p out | jq -e ".result.structuredContent.data == \"x\"" &&
	sed -n 6p out | jq -e ".result.structuredContent.type == \"file\" and .result.structuredContent.size == 22" &&
	sed -n 7p out | jq -e ".result.structuredContent.entries == [{\"name\":\"hello.c\",\"type\":\"file\"}]" &&
	sed -n 8p out | jq -e ".result.structuredContent.matches == [\"hello.c\"]" &&
	sed -n 9p out | jq -e ".result.structuredContent.matches[0] | .path == \"hello.c\" and .line == 2" &&
	sed -n 10p out | jq -e ".result.structuredContent.exit == 0 and .result.structuredContent.stdout == \"int x = 2;\nint y = 1;\n\"" &&
	sed -n 11p out | jq -e ".result.isError == false and .result.structuredContent.exit == 1" &&
	pod_log_has_edit
'

test_expect_success 'a denial is a tool error with its kind and message; the server goes on' '
	mcp_client calls "[[\"read_file\", {\"path\": \"../../etc/passwd\"}], [\"stat\", {\"path\": \"hello.c\"}]]" >out &&
	sed -n 1p out | jq -e ".result.isError and (.result | has(\"structuredContent\") | not) and (.result.content[0].text | test(\"^sandbox_escape: \"))" &&
	sed -n 2p out | jq -e ".result.isError == false"
'

test_expect_success 'an approval: the call waits, progress is said, the operator grants, the command runs' '
	{ mcp_client approval run_command "{\"argv\":[\"git\",\"push\",\"origin\",\"main\"],\"reason\":\"ship the fix\"}" >out 2>err & } &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | sed -n "s/^\([0-9]*\) pending agent-7 p-mcp run .*/\1/p") &&
	nucleus-authority show -d auth "$id" >show &&
	grep -qx "reason: ship the fix" show &&
	nucleus-authority grant -d auth "$id" >/dev/null &&
	test_wait_for "the call to end" 60 test -s out &&
	jq -e ".progress | length >= 1 and (.[0].message | test(\"approval request\"))" out &&
	jq -e ".result.isError == false and (.result.structuredContent.exit | type == \"number\")" out
'

test_expect_success 'denied by the operator: a tool error with the reason' '
	{ mcp_client approval run_command "{\"argv\":[\"git\",\"push\"]}" >out 2>err & } &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | sed -n "s/^\([0-9]*\) pending .*/\1/p") &&
	nucleus-authority deny -d auth -r "not on a Sunday" "$id" >/dev/null &&
	test_wait_for "the call to end" 60 test -s out &&
	jq -e ".result.isError and (.result.content[0].text | test(\"^approval_denied: approval request [0-9]+ denied by the operator: not on a Sunday$\"))" out
'

test_expect_success 'a cancellation while the call waits: no answer to it, the next request served' '
	rm -f pending &&
	{ mcp_client cancel run_command "{\"argv\":[\"git\",\"push\",\"--tags\"]}" "$PWD/pending" >out 2>err & } &&
	until_pending 1 &&
	>pending &&
	test_wait_for "the client to end" 60 test -s out &&
	jq -e ".cancelled.message | test(\"changed their mind\")" out &&
	jq -e ".ping == {} and .after.result.isError == false and .errors == []" out
'

test_expect_success 'bad input: unknown tool, arguments against the schema, a malformed line; each answered, the server serving' '
	mcp_client bad >out &&
	sed -n 1p out | jq -e ".code == -32602 and (.message | test(\"Unknown tool: no_such_tool\"))" &&
	sed -n 2p out | jq -e ".code == -32602 and (.message | test(\"arguments.path: expected a string\"))" &&
	sed -n 3p out | jq -e ".code == -32602 and (.message | test(\"arguments.path: required\"))" &&
	sed -n 4p out | jq -e ".code == -32602 and (.message | test(\"arguments.argv: expected a non-empty array\"))" &&
	sed -n 5p out | jq -e ".code == -32602 and (.message | test(\"arguments.extra: not an argument\"))" &&
	sed -n 6p out | jq -e ".raw | length == 3" &&
	sed -n 6p out | jq -e ".raw[0].id == null and .raw[0].error.code == -32700" &&
	sed -n 6p out | jq -e ".raw[1].id == \"raw-1\" and .raw[1].error.code == -32601" &&
	sed -n 6p out | jq -e ".raw[2].id == null and .raw[2].error.code == -32600" &&
	sed -n 6p out | jq -e ".ping == {} and .after.result.isError == false"
'

# Raw lines, for what the SDK does not do: the call's id, a tool, args.
init_line() {
	echo '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
}

call_line() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}\n' "$1" "$2" "$3"
}

lines_are_() {
	test "$(wc -l <out)" -eq "$1"
}

pending_count() {
	nucleus-authority list -d auth | grep -c " pending " || :
}

test_expect_success 'without -A, approval_required says what is needed' '
	{
		init_line &&
		call_line 1 run_command "{\"argv\":[\"git\",\"push\"]}"
	} | timeout 60 nucleus-mcp -l n/node.sock -k agent.key p-mcp >out &&
	jq -c "select(.id == 1)" out | jq -e ".result.isError and (.result.content[0].text | test(\"^approval_required: .*no authority to ask \\\\(nucleus-mcp -A\\\\)\"))"
'

test_expect_success 'no decision within -w: approval_timeout, and the request still waits' '
	before=$(pending_count) &&
	{
		init_line &&
		call_line 1 run_command "{\"argv\":[\"git\",\"push\",\"-f\"]}"
	} | timeout 60 nucleus-mcp -l n/node.sock -k agent.key -A auth/request.sock -w 1 p-mcp >out &&
	jq -c "select(.id == 1)" out | jq -e ".result.isError and (.result.content[0].text | test(\"^approval_timeout: no operator decided within 1 seconds; approval request [0-9]+ still waits$\"))" &&
	test "$(pending_count)" = $((before + 1))
'

test_expect_success 'while a call waits: a ping answered, MCP_QUEUE_MAX (64) calls queued, one more refused' '
	before=$(pending_count) &&
	rm -f in && mkfifo in &&
	{ timeout 120 nucleus-mcp -l n/node.sock -k agent.key -A auth/request.sock -w 60 p-mcp <in >out 2>err & } &&
	exec 9>in &&
	init_line >&9 &&
	call_line 1 run_command "{\"argv\":[\"git\",\"push\",\"--all\"]}" >&9 &&
	until_pending $((before + 1)) &&
	echo "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}" >&9 &&
	test_wait_for "a ping answered while the call waits" 30 grep -q "\"id\":\"p\"" out &&
	i=2 &&
	while [ $i -le 66 ]; do
		call_line $i stat "{\"path\":\"hello.c\"}" >&9 || return 1
		i=$((i + 1))
	done &&
	test_wait_for "the 66th call refused" 30 grep -q "\"id\":66," out &&
	echo "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}" >&9 &&
	exec 9>&- &&
	test_wait_for "every answer" 60 lines_are_ 67 &&
	jq -c "select(.id == 66)" out | jq -e ".result.isError and .result.content[0].text == \"unavailable: 64 tool calls are waiting already; the limit is 64\"" &&
	jq -s -e "[.[] | select(.id != 0 and .id != 66 and .id != \"p\") | .result.isError == false] | length == 64 and all" out &&
	test -z "$(jq -c "select(.id == 1)" out)"
'

test_expect_success 'the logs verify' '
	node_stop &&
	auth_verify
'

test_done
