#!/bin/sh
test_description='nucleus-authority: one agent cannot take every pending slot; the operator denies all of an agent'"'"'s requests at once'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

# ask8 NAME POD OP ARGS: ask as agent-8, in the background (lib-authority.sh's
# ask, with agent-8's key); its exit status goes to NAME.rc.
ask8() {
	rm -f "$1.rc"
	(
		nucleus-authority ask -d auth -k agent8.key -m mine \
		    "$2" "$3" "$4" >"$1.out" 2>"$1.err"
		echo $? >"$1.rc"
	) &
}

# flood FILE: send FILE's lines on one connection, in the background; the
# answers go to FILE.out, the status of the sender to FILE.rc.
flood() {
	rm -f "$1.rc"
	(
		asend <"$1" >"$1.out"
		echo $? >"$1.rc"
	) &
}

test_expect_success 'setup: agent-7 and agent-8, no rules, the default quota' '
	authority_setup &&
	audit-tool keygen agent-8 agent8.key agent >>auth/keyring &&
	authority_start
'

test_expect_success 'one agent floods: 64 requests pend, the 65th is quota_exceeded' '
	jq -s -e "[.[] | select(.event == \"authority.start\")] | last | .agent_pending == 64" auth/audit.log &&
	approval-load -p -c 2 -n 65 -o delete auth/request.sock agent.key >load &&
	cat load &&
	grep -q "^sent=65 answered=65 granted=0 pending=64 denied=0 expired=0 errors=1 kinds=quota_exceeded " load &&
	jq -s -e "[.[] | select(.event == \"approval.refused\")] | length == 1 and .[0].kind == \"quota_exceeded\" and .[0].agent == \"agent-7\" and .[0].message == \"this agent already has 64 requests waiting for an operator, its quota\"" auth/audit.log &&
	areq agent-7 p-0001 stat "{\"path\":\"x\"}" | asign agent.key | asend >out &&
	jq -e ".ok == false and .error.kind == \"quota_exceeded\"" out
'

test_expect_success 'another agent'"'"'s request still pends, and is granted' '
	ask8 a8 p-0002 stat "{\"path\":\"mine\"}" &&
	until_pending 65 &&
	id=$(nucleus-authority list -d auth | awk "/ pending agent-8 /{print \$1}") &&
	test -n "$id" &&
	nucleus-authority grant -d auth "$id" >out &&
	echo "$id granted" >expect &&
	test_cmp expect out &&
	ask_done a8 &&
	test "$(cat a8.rc)" = 0 &&
	jq -e ".sub == \"agent-8\" and .pod == \"p-0002\"" a8.out
'

test_expect_success 'an operator'"'"'s reason over 1024 bytes is refused, and denies nothing' '
	long=$(head -c 1025 /dev/zero | tr "\0" r) &&
	test_expect_code 2 nucleus-authority deny -d auth -r "$long" -A agent-7 2>err &&
	grep -q "bad_request: reason: expected text of at most 1024 bytes" err &&
	test "$(nucleus-authority list -d auth | grep -c " pending agent-7 ")" = 64
'

test_expect_success 'deny -A: every pending request of one agent denied at once, each recorded' '
	nucleus-authority list -d auth | awk "/ pending agent-7 /{print \$1 \" denied\"}" | sort -n >expect &&
	test_line_count = 64 expect &&
	reason=$(head -c 1024 /dev/zero | tr "\0" r) &&
	nucleus-authority deny -d auth -r "$reason" -A agent-7 >out &&
	sort -n out >got &&
	test_cmp expect got &&
	test "$(nucleus-authority list -d auth | grep -c " pending ")" = 0 &&
	jq -s -e "[.[] | select(.event == \"approval.deny\")] | length == 64 and all(.agent == \"agent-7\" and .uid == $(id -u))" auth/audit.log &&
	jq -s -e "[.[] | select(.event == \"admin\" and .op == \"deny\" and .kind == null)] | length == 1 and .[0].agent == \"agent-7\" and .[0].denied == 64" auth/audit.log &&
	id=$(head -n 1 got | cut -d" " -f1) &&
	nucleus-authority show -d auth "$id" >show &&
	grep -qx "state: denied" show &&
	grep -qx "deny_reason: $reason" show &&
	auth_verify
'

test_expect_success 'a flood of status queries from one agent: each answered once, and another agent is still served' '
	{ od -An -tx1 -v -N $((16 * 800)) /dev/urandom | tr -d " \n" | fold -w 32 && echo; } >nonces &&
	test_line_count = 800 nonces &&
	now=$(date +%s) &&
	while read -r nonce; do
		printf "{\"type\":\"approval-status\",\"v\":1,\"kid\":\"agent-7\",\"ts\":%s,\"nonce\":\"%s\",\"id\":\"1\"}\n" "$now" "$nonce" |
		    asign agent.key approval-status || return 1
	done <nonces >status.lines &&
	split -n l/4 status.lines part. &&
	for f in part.aa part.ab part.ac part.ad; do flood $f || return 1; done &&
	ask8 s8 p-0002 stat "{\"path\":\"during\"}" &&
	test_wait_for "agent-8 request to pend" 20 pending_is_ 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending agent-8 /{print \$1}") &&
	nucleus-authority grant -d auth "$id" >/dev/null &&
	ask_done s8 &&
	test "$(cat s8.rc)" = 0 &&
	for f in part.aa part.ab part.ac part.ad; do
		test_wait_for "the flood $f to be answered" 30 test -s $f.rc || return 1
	done &&
	cat part.a?.out >answers &&
	test_line_count = 800 answers &&
	jq -r "select(.ok) | .result.state" answers | sort | uniq -c >states &&
	echo "    800 denied" >expect &&
	test_cmp expect states &&
	jq -r .id answers | sort >answered &&
	sort nonces >expect &&
	test_cmp expect answered &&
	test "$(jq -c "select(.event == \"approval.status\")" auth/audit.log | wc -l)" = 800 &&
	auth_verify
'

test_expect_success 'after that the agent may ask again; deny -A of an agent with none pending denies none' '
	approval-load -p -c 1 -n 1 -o delete auth/request.sock agent.key >load &&
	grep -q "granted=0 pending=1 denied=0 expired=0 errors=0 " load &&
	nucleus-authority deny -j -d auth -A agent-8 >out &&
	jq -e ".ok and .result.agent == \"agent-8\" and .result.denied == []" out &&
	nucleus-authority deny -d auth -A agent-7 >out &&
	test_line_count = 1 out
'

test_expect_success 'deny -A refuses a bad agent, or an id and an agent at once' '
	test_expect_code 2 nucleus-authority deny -d auth -A "a b" 2>err &&
	grep -q "bad_request: args.agent: expected an agent" err &&
	echo "{\"type\":\"admin\",\"v\":1,\"id\":\"x\",\"op\":\"deny\",\"args\":{\"id\":\"1\",\"agent\":\"agent-7\"}}" |
	    timeout 10 unixcat "$PWD/auth/admin.sock" >out &&
	jq -e ".ok == false and .error.kind == \"bad_request\"" out &&
	test_expect_code 2 nucleus-authority deny -d auth -A agent-7 5 2>err &&
	grep -q "^usage:" err &&
	test_expect_code 2 nucleus-authority grant -d auth -A agent-7 2>err &&
	grep -q "^usage:" err
'

test_expect_success '-q sets the quota: 1 to 4096' '
	authority_stop &&
	authority_start -q 2 &&
	jq -s -e "[.[] | select(.event == \"authority.start\")] | last | .agent_pending == 2" auth/audit.log &&
	approval-load -p -c 1 -n 3 -o delete auth/request.sock agent8.key >load &&
	grep -q "^sent=3 answered=3 granted=0 pending=2 denied=0 expired=0 errors=1 kinds=quota_exceeded " load &&
	jq -s -e "[.[] | select(.event == \"approval.refused\")] | last | .message == \"this agent already has 2 requests waiting for an operator, its quota\"" auth/audit.log &&
	authority_stop &&
	test_expect_code 2 nucleus-authority serve -d auth -q 0 2>err &&
	grep -q "expected 1 to 4096" err &&
	test_expect_code 2 nucleus-authority serve -d auth -q 4097 2>err &&
	grep -q "expected 1 to 4096" err
'

test_expect_success 'the quota survives a restart: pending requests count again' '
	authority_start -q 2 &&
	approval-load -p -c 1 -n 1 -o delete auth/request.sock agent8.key >load &&
	grep -q "errors=1 kinds=quota_exceeded " load &&
	auth_verify
'

test_done
