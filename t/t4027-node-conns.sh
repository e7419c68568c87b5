#!/bin/sh
test_description='nucleus-node: connections in time and in number: one agent uid holds at most 32, the operator keeps 16 that agents cannot take, a quiet client goes after -i, a line must end within -s, a client must take its answers'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "an agent's uid (65534) needs root to take"
fi

test_expect_success 'setup: a node whose socket agents (uid 65534) may reach' '
	authority_setup &&
	node_setup &&
	node_start -g nogroup
'

test_expect_success '32 quiet connections of one agent uid, 64 of all: the next is turned away, saying which; root is still answered' '
	test_when_finished "touch go" &&
	{ sockload -u 65534 quiet n/node.sock 33 go >agent1 & } &&
	test_wait_for "the first agent'"'"'s connections" 30 test -s agent1 &&
	echo "open=32 refused=1" >expect &&
	test_cmp expect agent1 &&
	sockload -u 65534 wait n/node.sock "" >said &&
	head -n 1 said | jq -e ".error.kind == \"unavailable\" and .error.message == \"too many connections of this uid\"" &&
	# another agent uid still gets in, up to the 64 of all
	{ sockload -u 65533:65534 quiet n/node.sock 32 go >agent2 & } &&
	test_wait_for "the second agent'"'"'s connections" 30 test -s agent2 &&
	echo "open=32 refused=0" >expect &&
	test_cmp expect agent2 &&
	sockload -u 65532:65534 wait n/node.sock "" >said &&
	head -n 1 said | jq -e ".error.kind == \"unavailable\" and .error.message == \"too many connections\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".ok and (.result.pods | length) == 0" list &&
	# root has 16 more of its own, and no more
	{ sockload quiet n/node.sock 17 go >root & } &&
	test_wait_for "root'"'"'s connections" 30 test -s root &&
	echo "open=16 refused=1" >expect &&
	test_cmp expect root
'

test_expect_success 'setup: the node again, with a 2-second idle and line deadline' '
	touch go &&
	node_stop &&
	rm -f go &&
	node_start -g nogroup -i 2 -s 2
'

test_expect_success 'a connection that says nothing is closed after -i seconds' '
	sockload wait n/node.sock "" >out &&
	grep -Eq "^closed after [23] s$" out
'

test_expect_success 'a line begun and not ended is cut off after -s seconds, and told so' '
	sockload wait n/node.sock "{\"type\":\"request\"," >out &&
	grep -Eq "closed after [23] s$" out &&
	head -n 1 out | jq -e ".error.kind == \"unavailable\" and .error.message == \"the line did not end in time\""
'

test_expect_success 'a client answered is closed after -i seconds quiet, its answer sent' '
	sockload wait n/node.sock "{}
" >out &&
	grep -Eq "closed after [23] s$" out &&
	head -n 1 out | jq -e ".error.kind == \"bad_request\""
'

test_expect_success 'a client that takes none of its answers for -i seconds is closed' '
	yes "{}" | head -n 3000 >junk &&
	sockload stall n/node.sock 8 <junk >out &&
	# about 1600 answers (the socket'"'"'s buffer) reached it, not 3000
	test $(wc -l <out) -lt 3000 &&
	head -n 1 out | jq -e ".error.kind == \"bad_request\""
'

test_done
