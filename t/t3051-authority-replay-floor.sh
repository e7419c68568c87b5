#!/bin/sh
test_description='nucleus-authority: a line whose pair a prune forgot is not taken again when the skew (-w) is widened'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup: an approval request 30 s old, taken under the default skew' '
	authority_setup &&
	authority_start &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\"]}" $(($(date +%s) - 30)) |
	    asign agent.key >old &&
	asend <old >out &&
	jq -e ".ok and .result.state == \"pending\"" out &&
	authority_stop
'

# The authority prunes the pairs at its first tick; a request of -e 1
# expires at a later one, so its record shows that the prune is done.
test_expect_success 'a start under -w 5 prunes the pair' '
	authority_start -w 5 -e 1 &&
	areq agent-7 p-0001 run "{\"argv\":[\"true\"]}" | asign agent.key >now &&
	asend <now >out &&
	jq -e ".result.state == \"pending\"" out &&
	test_wait_for "the request of -e 1 to expire" 10 \
	    jq -e -s "any(.[]; .event == \"approval.expire\")" auth/audit.log &&
	authority_stop
'

test_expect_success 'under -w 60 again the old line is replayed, and so is any as old' '
	authority_start &&
	asend <old >out &&
	jq -e ".error.kind == \"replayed\" and (.error.message | test(\"oldest nonce still remembered\"))" out &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\"]}" $(($(date +%s) - 30)) |
	    asign agent.key | asend >out &&
	jq -e ".error.kind == \"replayed\"" out &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\"]}" | asign agent.key | asend >out &&
	jq -e ".ok and .result.state == \"pending\"" out &&
	test "$(jq -s "[.[] | select(.event == \"approval.request\")] | length" auth/audit.log)" = 3 &&
	authority_stop &&
	auth_verify
'

test_done
