#!/bin/sh
test_description='nucleus-authority under load: 1,000 approvals from 16 agents, each answered once, every event logged'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup: 16 agents, a rule for each' '
	authority_setup &&
	rules= &&
	for i in $(seq 1 16); do
		audit-tool keygen load-$i load-$i.key | sed "s/ writer$/ agent/" >>auth/keyring &&
		rules="$rules{\"name\":\"push-$i\",\"agent\":\"load-$i\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"git\",\"push\"],\"max_per_hour\":100000}," ||
		return 1
	done &&
	rules="$rules{\"name\":\"capped\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"write\",\"path\":\"reports/**\",\"max_per_hour\":5}" &&
	echo "{\"v\":1,\"rules\":[$rules]}" >auth/rules.json &&
	chmod 600 auth/rules.json &&
	authority_start
'

test_expect_success '1,000 requests from 16 concurrent agents: every one answered exactly once, with a good token' '
	approval-load -c 16 -n 1000 -t authority.pub auth/request.sock load-*.key >load &&
	cat load &&
	grep -q "^sent=1000 answered=1000 granted=1000 pending=0 denied=0 expired=0 errors=0 kinds=- dups=0 badtoken=0 " load
'

test_expect_success 'the log has every request and every grant once, with the rule of its agent, and verifies' '
	jq -r "select(.event == \"approval.request\") | .id" auth/audit.log | sort -n >asked &&
	jq -r "select(.event == \"approval.grant\") | .id" auth/audit.log | sort -n >granted &&
	seq 1 1000 >expect &&
	test_cmp expect asked &&
	test_cmp expect granted &&
	jq -s -e "[.[] | select(.event == \"approval.grant\")] | all(.by == \"rule\" and .rule == (\"push-\" + (.agent | ltrimstr(\"load-\"))))" auth/audit.log &&
	auth_verify
'

test_expect_success 'the same load pipelined on each connection: the same' '
	approval-load -p -c 16 -n 1000 -t authority.pub auth/request.sock load-*.key >load &&
	grep -q "^sent=1000 answered=1000 granted=1000 pending=0 denied=0 expired=0 errors=0 kinds=- dups=0 badtoken=0 " load &&
	test "$(jq -c "select(.event == \"approval.grant\")" auth/audit.log | wc -l)" = 2000
'

test_expect_success 'a rule grants at most its hourly cap; the rest wait for a person, noted' '
	approval-load -p -c 1 -n 8 -o write auth/request.sock agent.key >load &&
	grep -q "^sent=8 answered=8 granted=5 pending=3 " load &&
	jq -s -e "[.[] | select(.event == \"approval.request\" and .note == \"1 matching rule reached its hourly cap\")] | length == 3" auth/audit.log &&
	test "$(nucleus-authority list -d auth | grep -c " pending ")" = 3
'

test_expect_success 'a rule grants only what it names: another agent, pod, op, or argv waits' '
	approval-load -p -c 1 -n 1 auth/request.sock agent.key >load &&
	grep -q "granted=0 pending=1 " load &&
	approval-load -p -c 1 -n 1 -P other auth/request.sock load-1.key >load &&
	grep -q "granted=0 pending=1 " load &&
	approval-load -p -c 1 -n 1 -o delete auth/request.sock load-1.key >load &&
	grep -q "granted=0 pending=1 " load &&
	areq agent-7 p-0001 write "{\"path\":\"reports/../secrets/x\",\"content\":\"x\"}" | asign agent.key >line &&
	nucleus-authority list -d auth | grep -c " pending " >before &&
	(asend <line >out &) &&
	test_wait_for "one more pending request" 5 pending_is_ $(($(cat before) + 1))
'

test_expect_success 'a prefix rule grants no option that runs a program: the request waits for a person' '
	nucleus-authority list -d auth | grep -c " pending " >before &&
	for argv in "\"--receive-pack=sh -c id\",\"origin\"" "\"--exec\",\"sh\",\"origin\"" "\"origin\",\"--rec=x\""; do
		areq load-1 p-0001 run "{\"argv\":[\"git\",\"push\",$argv]}" | asign load-1.key >line &&
		(asend <line >out &) &&
		test_wait_for "one more pending request" 5 pending_is_ $(($(cat before) + 1)) &&
		nucleus-authority list -d auth | grep -c " pending " >before || return 1
	done &&
	areq load-1 p-0001 run "{\"argv\":[\"git\",\"push\",\"--force\",\"origin\"]}" | asign load-1.key | asend >out &&
	jq -e ".result.state == \"granted\"" out
'

test_done
