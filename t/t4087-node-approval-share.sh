#!/bin/sh
test_description='nucleus-node approval.request: one agent holds at most NODE_APPROVALS_AGENT_MAX of the places waiting on the authority, so another agent is still served'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

args='{"argv":["echo","gated"]}'

test_cleanup() {
	for f in cat7.pid cat8.pid; do
		[ -f $f ] && kill "$(cat $f)" 2>/dev/null
	done
}

# ask_line ID KID KEYFILE: an approval.request for p-rel, its request
# signed for the authority by the same key.
ask_line() {
	inner=$(areq "$2" p-rel run "$args" | asign "$3") &&
	nreq "$1" "$2" "$3" p-rel approval.request "{\"request\":$inner}"
}

# lines_in FILE N: FILE has N lines at least.
lines_in() {
	test "$(wc -l <"$1")" -ge "$2"
}

test_expect_success 'setup: an authority, a node that names it, a pod for two agents' '
	authority_setup &&
	node_setup &&
	audit-tool keygen agent-8 agent8.key | sed "s/ writer$/ agent/" >a8 &&
	cat a8 >>n/keyring &&
	grep -v "^node-1 " auth/keyring >k &&
	cat node.pub a8 >>k &&
	cat k >auth/keyring &&
	authority_start &&
	node_start -a "$PWD/auth/request.sock" &&
	printf "{\"v\":1,\"name\":\"p-rel\",\"policy\":\"release\",\"agents\":[\"agent-7\",\"agent-8\"]}\n" >spec-rel.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-rel.json >out &&
	jq -e ".ok" out
'

test_expect_success 'one agent: 16 wait on the authority, the 17th is unavailable; another agent is still served' '
	i=1 &&
	while [ $i -le 17 ]; do
		ask_line a$i agent-7 agent.key >>lines7 || return 1
		i=$((i + 1))
	done &&
	ask_line b1 agent-8 agent8.key >lines8 &&
	mkfifo in7 in8 &&
	{ unixcat "$PWD/n/node.sock" <in7 >out7 & echo $! >cat7.pid; } &&
	exec 7>in7 &&
	cat lines7 >&7 &&
	test_wait_for "17 answers" 20 lines_in out7 17 &&
	test "$(jq -s "[.[] | select(.ok and .result.state == \"pending\")] | length" out7)" = 16 &&
	jq -s -e "[.[] | select(.ok | not)] | length == 1 and .[0].error.kind == \"unavailable\" and (.[0].error.message | test(\"16 approval requests of this agent\"))" out7 &&
	{ unixcat "$PWD/n/node.sock" <in8 >out8 & echo $! >cat8.pid; } &&
	exec 6>in8 &&
	cat lines8 >&6 &&
	test_wait_for "agent-8 answered" 20 lines_in out8 1 &&
	jq -e ".ok and .id == \"b1\" and .result.state == \"pending\"" out8 &&
	exec 7>&- 6>&- &&
	jq -e -s "[.[] | select(.event == \"request.refused\" and .kind == \"unavailable\" and .signer == \"agent-7\")] | length == 1" n/audit.log
'

test_expect_success 'the node and the authority stop; their logs verify' '
	node_stop &&
	authority_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	auth_verify
'

test_done
