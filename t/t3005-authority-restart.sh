#!/bin/sh
test_description='nucleus-authority: a restart, or a crash, forgets no request, grants nothing twice, reopens no nonce'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

# At least $1 grants by the rule push are in the log.
grants_at_least() {
	test "$(jq -c "select(.event == \"approval.grant\" and .rule == \"push\")" auth/audit.log | wc -l)" -ge "$1"
}

rules='{"v":1,"rules":[{"name":"make","agent":"agent-7","pod":"p-0001","op":"run","argv_prefix":["make"],"max_per_hour":3},{"name":"push","agent":"agent-7","pod":"p-*","op":"run","argv_prefix":["git","push"],"max_per_hour":100000}]}'

test_expect_success 'setup' '
	authority_setup "$rules" &&
	authority_start
'

test_expect_success 'a pending request survives a restart, and can be granted after it' '
	ask one p-0001 delete "{\"path\":\"old\"}" &&
	until_pending 1 &&
	authority_stop &&
	ask_done one &&
	test "$(cat one.rc)" = 2 &&
	grep -q "closed the connection" one.err &&
	authority_start &&
	nucleus-authority list -d auth >list &&
	echo "1 pending agent-7 p-0001 delete \"old\"" >expect &&
	test_cmp expect list &&
	test_expect_code 3 nucleus-authority status -d auth -k agent.key 1 &&
	nucleus-authority grant -d auth 1 &&
	nucleus-authority status -d auth -k agent.key 1 >tok &&
	jq -e ".id == \"1\" and .op == \"delete\"" tok
'

test_expect_success 'a granted request is never granted again, before or after a restart' '
	test_expect_code 1 nucleus-authority grant -d auth 1 2>err &&
	grep -q not_pending err &&
	authority_stop &&
	authority_start &&
	test_expect_code 1 nucleus-authority grant -d auth 1 2>err &&
	grep -q not_pending err &&
	nucleus-authority status -d auth -k agent.key 1 >tok2 &&
	test_cmp tok tok2 &&
	test "$(jq -c "select(.event == \"approval.grant\")" auth/audit.log | wc -l)" = 1
'

test_expect_success 'used nonces stay used across a restart' '
	areq agent-7 p-0001 run "{\"argv\":[\"git\",\"push\"]}" | asign agent.key >line &&
	asend <line >out &&
	jq -e ".ok and .result.state == \"granted\"" out &&
	astatus agent-7 1 | asign agent.key approval-status >sline &&
	asend <sline >out && jq -e ".ok" out &&
	authority_stop &&
	authority_start &&
	asend <line >out &&
	jq -e ".error.kind == \"replayed\"" out &&
	asend <sline >out &&
	jq -e ".error.kind == \"replayed\"" out
'

test_expect_success 'a rule hourly cap holds across a restart' '
	for i in 1 2; do
		areq agent-7 p-0001 run "{\"argv\":[\"make\",\"t$i\"]}" | asign agent.key | asend >out &&
		jq -e ".result.state == \"granted\"" out || return 1
	done &&
	authority_stop &&
	authority_start &&
	areq agent-7 p-0001 run "{\"argv\":[\"make\",\"t3\"]}" | asign agent.key | asend >out &&
	jq -e ".result.state == \"granted\"" out &&
	ask four p-0001 run "{\"argv\":[\"make\",\"t4\"]}" &&
	until_pending 1 &&
	jq -c "select(.event == \"approval.request\")" auth/audit.log | tail -n 1 >rec &&
	jq -e ".note == \"1 matching rule reached its hourly cap\"" rec &&
	authority_stop &&
	authority_start &&
	test "$(nucleus-authority list -d auth | grep -c " pending ")" = 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	nucleus-authority deny -d auth -r "over the cap" $id
'

test_expect_success 'a request that expires while the authority is stopped is expired at its start' '
	authority_stop &&
	authority_start -e 3 &&
	ask five p-0001 mkdir "{\"path\":\"d\"}" &&
	until_pending 1 &&
	authority_stop &&
	sleep 4 &&
	authority_start &&
	until_pending 0 &&
	id=$(nucleus-authority list -d auth | awk "/ expired /{print \$1}") &&
	test -n "$id" &&
	jq -s -e "[.[] | select(.event == \"approval.expire\")] | length == 1 and .[0].id == \"$id\"" auth/audit.log &&
	auth_verify
'

test_expect_success 'killed during a load: every stored request has its records after the restart' '
	(approval-load -c 4 -n 4000 auth/request.sock agent.key >load.out 2>&1 &) &&
	test_wait_for "300 grants by the rule" 10 grants_at_least 300 &&
	kill -KILL "$(cat authority.pid)" &&
	sleep 0.5 &&
	authority_start &&
	nucleus-authority list -j -d auth | jq -r ".result.requests[] | select(.state == \"granted\") | .id" | sort >stored &&
	jq -r "select(.event == \"approval.grant\") | .id" auth/audit.log | sort >granted &&
	jq -r "select(.event == \"approval.request\") | .id" auth/audit.log | sort >asked &&
	test_cmp stored granted &&
	comm -23 stored asked >missing &&
	! test -s missing &&
	test "$(sort -u granted | wc -l)" = "$(wc -l <granted)" &&
	auth_verify
'

test_done
