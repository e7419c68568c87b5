#!/bin/sh
test_description='nucleus-node: an approval token goes to a pod once only, whatever becomes of the pod or the node; a signed request refused spends its nonce'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

args='{"argv":["echo","gated"]}'

# gated [CALL-OPTIONS...]: run echo gated on p-rel as agent-7, -j.
gated() {
	nucleus-node call -j -k agent.key -l n/node.sock "$@" p-rel run "$args"
}

rel_create() {
	printf '{"v":1,"name":"p-rel","policy":"release","agents":["agent-7"]}\n' >spec-rel.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-rel.json >out &&
	jq -e ".ok and .result.state == \"running\"" out >/dev/null
}

rel_stopped() {
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-rel >out &&
	test_wait_for "p-rel to be gone" 15 rel_gone_
}

rel_gone_() {
	nucleus-node pod -j -k admin.key -l n/node.sock status p-rel >st
	jq -e ".error.kind == \"unknown_pod\"" st >/dev/null
}

# The new pod's host copy: no record of it names the token's nonce.
copy_lacks_token_() {
	copy=$(nucleus-node pod -j -k admin.key -l n/node.sock status p-rel | jq -r .result.audit_copy) &&
	test -s "$copy" &&
	! grep -q "$(jq -r .nonce token)" "$copy"
}

node_gone_() {
	! kill -0 "$(cat node.pid)" 2>/dev/null
}

test_expect_success 'setup: a node, an authority whose rule grants "echo gated"' '
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"echo\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"gated\"],\"max_per_hour\":100}]}" &&
	node_setup &&
	node_start &&
	authority_start -t 300 &&
	rel_create &&
	nucleus-authority ask -d auth -k agent.key p-rel run "$args" >token &&
	gated --approval token >out &&
	jq -e ".ok and .result.stdout == \"gated\\n\"" out
'

test_expect_success 'the same token again, to the same pod: refused by the node' '
	test_expect_code 1 gated --approval token >out &&
	jq -e ".error.kind == \"invalid_approval\" and .error.message == \"rule 7: the token was already used on this node\"" out &&
	last_refusal | jq -e ".kind == \"invalid_approval\" and .pod == \"p-rel\" and .signer == \"agent-7\""
'

test_expect_success 'the pod stopped and made again under its name: the token stays used' '
	rel_stopped &&
	rel_create &&
	test_expect_code 1 gated --approval token >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"used on this node\"))" out &&
	copy_lacks_token_
'

test_expect_success 'the node killed and started again on its directory: the token stays used' '
	kill -KILL "$(cat node.pid)" &&
	test_wait_for "the node to end" 10 node_gone_ &&
	node_start &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-rel >out &&
	rel_create &&
	test_expect_code 1 gated --approval token >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"used on this node\"))" out
'

test_expect_success 'a token spent on a request its pod refused is spent all the same' '
	nucleus-authority ask -d auth -k agent.key p-rel run "$args" >token2 &&
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock --approval token2 p-rel run "{\"argv\":[\"echo\",\"other\"]}" >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 4\"))" out &&
	test_expect_code 1 gated --approval token2 >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"used on this node\"))" out
'

test_expect_success 'a signed request refused as unknown_pod spends its nonce: replayed once the pod exists' '
	nreq late-1 agent-7 agent.key p-late read "{\"path\":\".\"}" >late &&
	nsend <late >out &&
	jq -e ".error.kind == \"unknown_pod\"" out &&
	printf "{\"v\":1,\"name\":\"p-late\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"]}\n" >spec-late.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-late.json >out &&
	jq -e ".ok" out &&
	nsend <late >out &&
	jq -e ".error.kind == \"replayed\"" out
'

test_expect_success 'the node stops; its log verifies' '
	authority_stop &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
