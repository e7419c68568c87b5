#!/bin/sh
test_description='nucleus-authority: what an operator sees on stderr, one line an event; refusals counted there, each in the audit log'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup: an authority' '
	authority_setup &&
	authority_start
'

test_expect_success 'the start is one line' '
	grep -E "^nucleus-authority: authority.start pid=[0-9]+ rules=0 ttl_s=120 " authority.err
'

test_expect_success 'a request, then its grant: one line each, naming it' '
	areq agent-7 p-0001 run "{\"argv\":[\"git\",\"push\"]}" | asign agent.key |
	    asend >out &&
	id=$(jq -r .result.id out) &&
	test_wait_for "the approval.request line" 10 \
	    grep -q "^nucleus-authority: approval.request .*id=$id" authority.err &&
	nucleus-authority grant -d auth "$id" >out &&
	test_wait_for "the approval.grant line" 10 \
	    grep -q "^nucleus-authority: approval.grant .*id=$id" authority.err
'

test_expect_success 'SIGHUP with a typo in a keyring role: refused, the key named, as at start' '
	cp auth/keyring keyring.good &&
	test_when_finished "cp keyring.good auth/keyring" &&
	sed "s/^\(agent-7 ed25519 [^ ]*\) agent/\1 agnet/" keyring.good >auth/keyring &&
	kill -HUP "$(cat authority.pid)" &&
	test_wait_for "the refused reload" 10 grep -q "reload refused" authority.err &&
	grep -F "key agent-7 has the role agnet, which no program knows" authority.err &&
	jq -c "select(.event == \"authority.reload\")" auth/audit.log | tail -n 1 |
	    jq -e ".status == \"refused\""
'

test_expect_success 'refusals are counted, said when the authority stops, each in the audit log' '
	for i in 1 2; do echo "not a request $i"; done | asend >out &&
	test_line_count = 2 out &&
	! grep "^nucleus-authority: approval.refused" authority.err &&
	authority_stop &&
	grep -E "^nucleus-authority: refused 2 in [0-9]+ s \(bad_request 2\), 2 since the start, each in the audit log$" authority.err &&
	test "$(jq -c "select(.event == \"approval.refused\")" auth/audit.log | wc -l)" = 2 &&
	tail -n 1 authority.err | grep -Fx "nucleus-authority: authority.stop pending=0"
'

test_done
