#!/bin/sh
test_description='egress: an asker that is slow to take the gateway'"'"'s answers loses none of them (a proxy'"'"'s client waits for its own), and one that takes none is no longer read once GATEWAY_ANSWERS_MAX wait for it'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-slow-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

refused_count() {
	node_events egress.refused | jq -s "[.[] | select(.pod == \"$pod\")] | length"
}

refused_() {
	test "$(refused_count)" -ge "$1"
}

stall() {
	python3 "$TEST_DIRECTORY/helper/egress-stall.py" \
	    n/pods/$pod/egress.sock "$@"
}

test_expect_success 'setup: test hosts, a pod allowed ok.test port 8080' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}"
'

# 200 answers of some 400 bytes are more than the asker's socket holds
# (some 160 of them): before, those past it were dropped.
test_expect_success 'an asker that takes nothing until the gateway has answered 200 requests gets all 200, in order' '
	{ stall 200 go1 >stall1 & } &&
	test_wait_for "the 200 refusals" 20 refused_ 200 &&
	: >go1 &&
	test_wait_for "the asker" 30 grep -q "^in-order" stall1 &&
	cat stall1 &&
	grep -qx "answers 200" stall1 &&
	grep -qx "in-order yes" stall1
'

# Its socket holds some 160 answers, GATEWAY_ANSWERS_MAX more wait in the
# gateway: then its requests wait unread, the asker cannot send all 500;
# once it takes its answers the gateway reads on, and answers every one.
test_expect_success 'one that takes none of 500: not read past GATEWAY_ANSWERS_MAX (64) waiting, then all answered' '
	{ stall 500 go2 >stall2 & } &&
	test_wait_for "the gateway to answer 64 of them" 20 refused_ 264 &&
	: >go2 &&
	test_wait_for "the asker" 60 grep -q "^in-order" stall2 &&
	cat stall2 &&
	grep -qx "sent-before-go no" stall2 &&
	grep -qx "answers 500" stall2 &&
	grep -qx "in-order yes" stall2 &&
	node_alive
'

test_done
