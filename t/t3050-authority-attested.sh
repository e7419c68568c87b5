#!/bin/sh
test_description='nucleus-authority -N: agents'"'"' approval requests only as a node attests them (approval-attested); each refusal before the operator'"'"'s list, recorded'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

args='{"argv":["git","push","origin","main"]}'

# attest KEYFILE [KID] < REQUEST > LINE: the request inside an
# approval-attested line signed by KEYFILE (as KID, default node-1).
attest() {
	printf '{"type":"approval-attested","v":1,"kid":"%s","ts":%s,"nonce":"%s","request":%s}\n' \
	    "${2:-node-1}" "$(date +%s)" "$(fresh_nonce)" "$(cat)" |
	    asign "$1" approval-attested
}

node_reload_done_() {
	jq -s -e "[.[] | select(.event == \"authority.reload\")] | length == 1" auth/audit.log >/dev/null
}

# refused LINE-FILE KIND MESSAGE-REGEX: refused so, recorded so, and
# nothing new on the operator's list.
refused() {
	asend <"$1" >out &&
	test_line_count = 1 out &&
	jq -e ".ok == false and .error.kind == \"$2\" and (.error.message | test(\"$3\"))" out &&
	tail -n 1 auth/audit.log >rec &&
	jq -e ".event == \"approval.refused\" and .kind == \"$2\"" rec &&
	nucleus-authority list -d auth >list &&
	test_line_count = 1 list
}

test_expect_success '-N with a keyring that has no key of the role node: the configuration is refused' '
	authority_setup &&
	grep -v "^node-1 " auth/keyring >nonode &&
	chmod 600 nonode &&
	test_expect_code 1 nucleus-authority serve -n -N -d auth -K "$PWD/nonode" 2>err &&
	grep -q "no key with the role node" err &&
	nucleus-authority serve -n -N -d auth 2>err &&
	grep -q "the configuration is good" err
'

test_expect_success 'setup: an authority run with -N' '
	authority_start -N
'

test_expect_success 'an attested request: pending, listed, its records name the node' '
	areq agent-7 p-0001 run "$args" | asign agent.key >inner &&
	attest node.key <inner >line &&
	asend <line >out &&
	jq -e ".ok and .result.state == \"pending\" and .result.id == \"1\" and .id == \"$(jq -r .nonce line)\"" out &&
	nucleus-authority list -d auth >list &&
	test_line_count = 1 list &&
	grep -q "^1 pending agent-7 p-0001 run" list &&
	nucleus-authority show -d auth 1 >show &&
	grep -qx "node: node-1" show &&
	jq -s -e "[.[] | select(.event == \"approval.request\")] | length == 1 and .[0].node == \"node-1\" and .[0].agent == \"agent-7\" and .[0].request_nonce == \"$(jq -r .nonce inner)\"" auth/audit.log
'

test_expect_success 'a request straight from the agent: forbidden' '
	areq agent-7 p-0001 run "$args" | asign agent.key >direct &&
	refused direct forbidden "through a node only"
'

test_expect_success 'an attestation by a key that is not a node'"'"'s: forbidden' '
	areq agent-7 p-0001 run "$args" | asign agent.key >inner2 &&
	attest agent.key agent-7 <inner2 >line &&
	refused line forbidden "only keys with the role node" &&
	jq -e ".signer == \"agent-7\" and .what == \"approval-attested\" and (has(\"agent\") | not)" rec &&
	attest auth/authority.key authority-1 <inner2 >line &&
	refused line forbidden "only keys with the role node"
'

test_expect_success 'the request inside: not signed by its agent, replayed, bad args, not a request' '
	areq agent-7 p-0001 run "$args" | asign agent.key | jq -c ".args.argv[3] = \"evil\"" >forged &&
	attest node.key <forged >line &&
	refused line auth_failed "" &&
	jq -e ".node == \"node-1\" and .claimed_kid == \"agent-7\"" rec &&
	attest node.key <inner >line &&
	refused line replayed "nonce: seen before" &&
	areq agent-7 p-0001 run "{\"argv\":[\"ls\"],\"env\":{}}" | asign agent.key | attest node.key >line &&
	refused line bad_request "^args.env: unknown member$" &&
	jq -e ".node == \"node-1\" and .agent == \"agent-7\"" rec &&
	echo "\"x\"" | attest node.key >line &&
	refused line bad_request "request: expected" &&
	astatus agent-7 1 | asign agent.key approval-status | attest node.key >line &&
	refused line bad_request ""
'

test_expect_success 'the attestation itself replayed: replayed' '
	areq agent-7 p-0001 run "{\"argv\":[\"make\"]}" | asign agent.key | attest node.key >line &&
	asend <line >out &&
	jq -e ".ok and .result.id == \"2\"" out &&
	asend <line >out &&
	jq -e ".error.kind == \"replayed\"" out &&
	tail -n 1 auth/audit.log | jq -e ".kind == \"replayed\" and .signer == \"node-1\""
'

test_expect_success 'SIGHUP with a keyring that has no node key: refused, the old one kept' '
	cp auth/keyring keyring.orig &&
	cp nonode auth/keyring &&
	kill -HUP "$(cat authority.pid)" &&
	test_wait_for "the reload record" 10 node_reload_done_ &&
	jq -c "select(.event == \"authority.reload\")" auth/audit.log | tail -n 1 | jq -e ".status == \"refused\" and (.message | test(\"no key with the role node\"))" &&
	cp keyring.orig auth/keyring &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\",\"all\"]}" | asign agent.key | attest node.key >line &&
	asend <line >out &&
	jq -e ".ok and .result.state == \"pending\"" out
'

test_expect_success 'a status query straight from the agent is still answered; the log verifies' '
	astatus agent-7 1 | asign agent.key approval-status | asend >out &&
	jq -e ".ok and .result.state == \"pending\"" out &&
	authority_stop &&
	auth_verify
'

test_done
