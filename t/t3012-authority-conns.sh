#!/bin/sh
test_description='nucleus-authority: connections in time and in number: operators keep 16 on the admin socket that agents cannot take, a quiet connection goes after -i, a line must end within -s, one waiting for a decision or watching stays'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup: agents of two uids may reach the request socket' '
	authority_setup &&
	chmod 711 auth &&
	authority_start -g nogroup
'

test_expect_success '128 quiet connections (64 of each uid): the next is turned away, the operator is still answered' '
	test_when_finished "touch go" &&
	{ sockload quiet auth/request.sock 64 go >agents1 & } &&
	{ sockload -u 65534 quiet auth/request.sock 65 go >agents2 & } &&
	test_wait_for "the quiet connections" 30 eval "test -s agents1 && test -s agents2" &&
	echo "open=64 refused=0" >expect &&
	test_cmp expect agents1 &&
	echo "open=64 refused=1" >expect &&
	test_cmp expect agents2 &&
	nucleus-authority list -d auth >list &&
	test_line_count = 0 list &&
	# the operators have 16 more of their own on the admin socket
	{ sockload quiet auth/admin.sock 17 go >ops & } &&
	test_wait_for "the operators'"'"' connections" 30 test -s ops &&
	echo "open=16 refused=1" >expect &&
	test_cmp expect ops
'

test_expect_success 'setup: the authority again, with a 2-second idle and line deadline' '
	touch go &&
	authority_stop &&
	authority_start -i 2 -s 2
'

test_expect_success 'a connection that says nothing is closed after -i seconds, on either socket' '
	sockload wait auth/request.sock "" >out-request &&
	sockload wait auth/admin.sock "" >out-admin &&
	cat out-request out-admin &&
	grep -Eq "^closed after [23] s$" out-request &&
	grep -Eq "^closed after [23] s$" out-admin
'

test_expect_success 'a line begun and not ended is cut off after -s seconds, and told so' '
	sockload wait auth/request.sock "{\"type\":" >out &&
	grep -Eq "closed after [23] s$" out &&
	head -n 1 out | jq -e ".error.kind == \"unavailable\" and .error.message == \"the line did not end in time\""
'

test_expect_success 'an agent waiting for a decision past -i is not idle: it gets its answer' '
	ask one p-0001 run "{\"argv\":[\"git\",\"push\"]}" &&
	until_pending 1 &&
	sleep 4 &&
	! test -e one.rc &&
	nucleus-authority grant -d auth 1 >/dev/null &&
	ask_done one &&
	test "$(cat one.rc)" = 0 &&
	test -s one.out
'

test_expect_success 'an admin watching past -i is not idle: it sees the next request' '
	{ sockload wait auth/admin.sock "{\"type\":\"admin\",\"v\":1,\"id\":\"w\",\"op\":\"watch\"}
" >watched & } &&
	watch=$! &&
	test_when_finished "kill $watch" &&
	sleep 4 &&
	ask two p-0001 run "{\"argv\":[\"git\",\"push\",\"two\"]}" &&
	until_pending 1 &&
	test_wait_for "the watch to show it" 10 eval "grep -q two watched" &&
	! grep -q "closed after" watched &&
	# answered, so that its shell writes two.rc before the trash goes
	nucleus-authority grant -d auth 2 >/dev/null &&
	ask_done two
'

test_done
