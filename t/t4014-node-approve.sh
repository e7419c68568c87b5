#!/bin/sh
test_description='nucleus-node approve: an agent asks the authority, an operator decides; granted, denied, no authority, no decision in time'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

# approve NAME OPTIONS... POD OP ARGS: in the background, as agent-7; its
# exit status goes to NAME.rc (ask_done NAME waits for it).
approve() {
	name=$1
	shift
	rm -f "$name.rc"
	(
		nucleus-node approve -A auth/request.sock -k agent.key "$@" \
		    >"$name.out" 2>"$name.err"
		echo $? >"$name.rc"
	) &
}

test_expect_success 'setup: an authority whose one rule grants "echo auto"' '
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"auto\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"auto\"],\"max_per_hour\":100}]}" &&
	authority_start -t 120
'

test_expect_success 'granted by the operator: the token on stdout, one line, bound to the request' '
	approve one -r "ship it" p-0001 run "{\"argv\":[\"git\",\"push\",\"origin\",\"main\"]}" &&
	until_pending 1 &&
	nucleus-authority show -d auth 1 >show &&
	grep -qx "reason: ship it" show &&
	grep -qx "args: {\"argv\":\[\"git\",\"push\",\"origin\",\"main\"\]}" show &&
	nucleus-authority grant -d auth 1 >/dev/null &&
	ask_done one &&
	test "$(cat one.rc)" = 0 &&
	test_line_count = 1 one.out &&
	jq -e ".type == \"approval\" and .kid == \"authority-1\" and .id == \"1\" and .pod == \"p-0001\" and .op == \"run\" and .sub == \"agent-7\" and .exp - .iat == 120" one.out &&
	digest=$(printf "%s" "{\"argv\":[\"git\",\"push\",\"origin\",\"main\"]}" | b2sum -l 256 | cut -d" " -f1) &&
	jq -e ".args_digest == \"$digest\"" one.out &&
	grep -q "^nucleus-node: request 1 is pending$" one.err
'

test_expect_success 'denied: status 1, nothing on stdout, the reason on stderr' '
	approve two p-0001 delete "{\"path\":\"src/main.c\"}" &&
	until_pending 1 &&
	nucleus-authority deny -d auth -r "not today" 2 >/dev/null &&
	ask_done two &&
	test "$(cat two.rc)" = 1 &&
	! test -s two.out &&
	grep -q "^nucleus-node: request 2 denied: not today$" two.err
'

test_expect_success '-j: each answer line as the authority sent it' '
	approve three -j p-0001 run "{\"argv\":[\"make\"]}" &&
	until_pending 1 &&
	nucleus-authority grant -d auth 3 >/dev/null &&
	ask_done three &&
	test "$(cat three.rc)" = 0 &&
	test_line_count = 2 three.out &&
	head -n 1 three.out | jq -e ".ok and .result.state == \"pending\" and .result.id == \"3\"" &&
	tail -n 1 three.out | jq -e ".ok and .result.state == \"granted\" and .result.token.sub == \"agent-7\""
'

test_expect_success 'a rule grants at once; args from stdin; the default socket from NUCLEUS_AUTHORITY_DIR' '
	echo "{\"argv\":[\"echo\",\"auto\",\"1\"]}" |
	NUCLEUS_AUTHORITY_DIR=$PWD/auth nucleus-node approve -k agent.key p-0002 run - >tok &&
	jq -e ".pod == \"p-0002\" and .op == \"run\"" tok
'

test_expect_success 'no decision within -w: status 2, and the request still waits' '
	test_expect_code 2 nucleus-node approve -A auth/request.sock -w 1 -k agent.key p-0001 run "{\"argv\":[\"sleep\"]}" >out 2>err &&
	! test -s out &&
	grep -q "is pending" err &&
	grep -q "no answer in time" err &&
	nucleus-authority list -d auth | grep -q " pending agent-7 p-0001 run "
'

test_expect_success 'refused by the authority: an unknown key is status 1' '
	audit-tool keygen stranger stranger.key >/dev/null &&
	test_expect_code 1 nucleus-node approve -A auth/request.sock -k stranger.key p-0001 run "{\"argv\":[\"ls\"]}" 2>err &&
	grep -q "^nucleus-node: auth_failed: " err
'

test_expect_success 'usage and bad input: status 2' '
	test_expect_code 2 nucleus-node approve -A auth/request.sock p-0001 run "{}" &&
	test_expect_code 2 nucleus-node approve -A auth/request.sock -k agent.key p-0001 &&
	test_expect_code 2 nucleus-node approve -A auth/request.sock -w 0 -k agent.key p-0001 run "{}" &&
	test_expect_code 2 nucleus-node approve -A auth/request.sock -l x -k agent.key p-0001 run "{}" &&
	test_expect_code 2 nucleus-node approve -A auth/request.sock -k agent.key p-0001 run "[1]" 2>err &&
	grep -q "expected a JSON object" err
'

test_expect_success 'the authority down: status 2, the socket named' '
	authority_stop &&
	test_expect_code 2 nucleus-node approve -A auth/request.sock -k agent.key p-0001 run "{\"argv\":[\"ls\"]}" >out 2>err &&
	! test -s out &&
	grep -q "auth/request.sock" err
'

test_expect_success 'the authority stops while one waits: status 2' '
	authority_start -t 120 &&
	approve four p-0001 run "{\"argv\":[\"git\",\"push\"]}" &&
	until_pending 2 &&
	authority_stop &&
	ask_done four &&
	test "$(cat four.rc)" = 2 &&
	grep -q "closed the connection" four.err &&
	auth_verify
'

test_done
