#!/bin/sh
test_description='nucleus-node approval.request: the node checks an approval request (pod, agent, args) before the authority puts it on the operator'"'"'s list; an authority run with -N takes only those a node attests'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

args='{"argv":["echo","gated"]}'

# via NAME POD OP ARGS: nucleus-node approve -N as agent-7, in the
# background; its exit status goes to NAME.rc (ask_done NAME).
via() {
	name=$1
	shift
	rm -f "$name.rc"
	(
		nucleus-node approve -N n/node.sock -k agent.key "$@" \
		    >"$name.out" 2>"$name.err"
		echo $? >"$name.rc"
	) &
}

# mcp_via: nucleus-mcp -N for p-rel, in the background: a run of git
# push (which the policy sends for approval); its status in mcp.rc.
mcp_via() {
	rm -f mcp.rc
	(
		{
			echo '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
			echo '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_command","arguments":{"argv":["git","push","origin","main"]}}}'
		} | timeout 60 nucleus-mcp -N -l n/node.sock -k agent.key -w 30 p-rel >mcp.out 2>mcp.err
		echo $? >mcp.rc
	) &
}

# The operator's list is empty, and the authority recorded no request.
list_empty() {
	nucleus-authority list -d auth >list &&
	! test -s list &&
	jq -s -e "[.[] | select(.event == \"approval.request\")] | length == 0" auth/audit.log >/dev/null
}

test_expect_success 'setup: an authority that takes requests through a node only (-N), a node that names it (-a), two pods' '
	authority_setup &&
	node_setup &&
	grep -v "^node-1 " auth/keyring >k &&
	cat node.pub >>k &&
	cat k >auth/keyring &&
	authority_start -N -t 300 &&
	node_start -a "$PWD/auth/request.sock" &&
	printf "{\"v\":1,\"name\":\"p-rel\",\"policy\":\"release\",\"agents\":[\"agent-7\"]}\n" >spec-rel.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-rel.json >out &&
	jq -e ".ok" out &&
	printf "{\"v\":1,\"name\":\"p-other\",\"policy\":\"release\",\"agents\":[\"agent-hmac\"]}\n" >spec-other.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-other.json >out &&
	jq -e ".ok" out
'

test_expect_success 'a pod that does not exist: unknown_pod, never on the operator'"'"'s list' '
	test_expect_code 2 nucleus-node approve -N n/node.sock -k agent.key p-none run "$args" 2>err &&
	grep -q "unknown_pod" err &&
	test_expect_code 2 nucleus-node approve -N n/node.sock -A auth/request.sock -k agent.key p-rel run "$args" &&
	last_refusal | jq -e ".kind == \"unknown_pod\" and .op == \"approval.request\" and .pod == \"p-none\"" &&
	list_empty
'

test_expect_success 'another agent'"'"'s pod: forbidden, never on the list' '
	test_expect_code 1 nucleus-node approve -N n/node.sock -k agent.key p-other run "$args" 2>err &&
	grep -q "forbidden" err &&
	last_refusal | jq -e ".kind == \"forbidden\" and .pod == \"p-other\"" &&
	list_empty
'

test_expect_success 'arguments its operation cannot take: bad_request naming the member, never on the list' '
	test_expect_code 2 nucleus-node approve -N n/node.sock -k agent.key p-rel run "{\"argv\":[\"ls\"],\"env\":{}}" 2>err &&
	grep -q "args.env: unknown member" err &&
	test_expect_code 2 nucleus-node approve -N n/node.sock -k agent.key p-rel read "{\"path\":7}" 2>err &&
	grep -q "args.path: expected a string" err &&
	last_refusal | jq -e ".kind == \"bad_request\" and .op == \"approval.request\"" &&
	list_empty
'

test_expect_success 'a request for one pod carried under another'"'"'s name: bad_request' '
	areq agent-7 p-other run "$args" | asign agent.key >inner &&
	nreq c9 agent-7 agent.key p-rel approval.request "{\"request\":$(cat inner)}" | nsend >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"pod\"))" out &&
	list_empty
'

test_expect_success 'a good one: on the list (with the node that attested it), granted, the call succeeds with the token' '
	via one p-rel run "$args" &&
	until_pending 1 &&
	nucleus-authority list -d auth >list &&
	grep -q "^1 pending agent-7 p-rel run" list &&
	jq -s -e "[.[] | select(.event == \"approval.request\")] | length == 1 and .[0].node == \"node-1\" and .[0].agent == \"agent-7\" and .[0].pod == \"p-rel\"" auth/audit.log &&
	nucleus-authority grant -d auth 1 >/dev/null &&
	ask_done one &&
	test "$(cat one.rc)" = 0 &&
	jq -e ".type == \"approval\" and .pod == \"p-rel\" and .sub == \"agent-7\"" one.out &&
	grep -q "^nucleus-node: request 1 is pending$" one.err &&
	nucleus-node call -j -k agent.key -l n/node.sock --approval one.out p-rel run "$args" >out &&
	jq -e ".ok and .result.stdout == \"gated\\n\"" out &&
	node_wait_event ".event == \"approval.forward\" and .state == \"granted\" and .request == \"1\" and .signer == \"agent-7\""
'

test_expect_success 'with -N, a request straight to the authority is refused, and not listed' '
	test_expect_code 1 timeout 30 nucleus-authority ask -d auth -k agent.key p-rel run "{\"argv\":[\"echo\",\"direct\"]}" 2>err &&
	grep -q "forbidden" err &&
	grep -q "through a node only" err &&
	nucleus-authority list -d auth >list &&
	test_line_count = 1 list &&
	! grep -q direct list
'

test_expect_success 'an attestation signed by a key that is not a node'"'"'s: forbidden' '
	areq agent-7 p-rel run "{\"argv\":[\"echo\",\"forged\"]}" | asign agent.key >inner &&
	printf "{\"type\":\"approval-attested\",\"v\":1,\"kid\":\"agent-7\",\"ts\":%s,\"nonce\":\"%s\",\"request\":%s}\n" \
	    "$(date +%s)" "$(fresh_nonce)" "$(cat inner)" | asign agent.key approval-attested | asend >out &&
	jq -e ".error.kind == \"forbidden\" and (.error.message | test(\"role node\"))" out &&
	! nucleus-authority list -d auth | grep -q forged
'

test_expect_success 'nucleus-mcp -N: a call that needs an approval asks through the node; granted, it runs' '
	mcp_via &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | grep " pending " | cut -d" " -f1) &&
	nucleus-authority list -d auth | grep -q "^$id pending agent-7 p-rel run \[\"git\",\"push\"" &&
	nucleus-authority grant -d auth "$id" >/dev/null &&
	test_wait_for "nucleus-mcp to answer" 30 test -s mcp.rc &&
	test "$(cat mcp.rc)" = 0 &&
	jq -c "select(.id == 1)" mcp.out >call &&
	jq -e ".result.isError == false and (.result.structuredContent | has(\"exit\"))" call &&
	node_wait_event ".event == \"approval.forward\" and .state == \"granted\" and .request == \"$id\"" &&
	test_expect_code 2 nucleus-mcp -N -A auth/request.sock -k agent.key p-rel </dev/null
'

test_expect_success 'the node and the authority stop; their logs verify' '
	node_stop &&
	authority_stop &&
	auth_verify &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
