#!/bin/sh
test_description='egress: the node'"'"'s word to the gateway that a connection'"'"'s records are durable is never lost to a gateway slow to read it: 300 connections released at once while the gateway is stopped are all made (or refused) once it goes on, none held for ever against max_connections'
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
pod=p-acks-$suffix
test_cleanup() {
	[ -f gw.pid ] && kill -CONT "$(cat gw.pid)" 2>/dev/null
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

waiting() {
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >st &&
	jq -r .result.egress_waiting st
}
waiting_is() {
	test "$(waiting)" = "$1"
}
opens_are() {
	test "$(node_events egress.open | jq -s "[.[] | select(.pod == \"$pod\")] | length")" = "$1"
}

test_expect_success 'setup: a pod allowed 198.18.0.1 port 9 (nothing listens: each connection is refused at once), 1024 connections at once' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"cidr\":\"198.18.0.1/32\",\"ports\":[9]}],\"max_connections\":1024}" &&
	pgrep -f "nucleus-gateway -p $pod " >gw.pid &&
	test_line_count = 1 gw.pid
'

# Each request names as its decision one the pod's log has not made yet:
# the node holds all 300 answers until the pod's copy holds it, then
# sends them at once, to a gateway that is stopped: its socket takes
# some 280 such messages.  Before, those past it were dropped and their
# connections waited for ever.
test_expect_success 'the node'"'"'s 300 answers sent at once to a stopped gateway: each connection is tried once it goes on' '
	next=$(($(pod_log $pod | tail -n 1 | jq .seq) + 1)) &&
	{ python3 "$TEST_DIRECTORY/helper/egress-stall.py" \
	    n/pods/$pod/egress.sock 300 go \
	    "{\"host\":\"198.18.0.1\",\"port\":9,\"decision\":$next}" >asker & } &&
	test_wait_for "300 connections waiting for the pod'"'"'s copy" 30 waiting_is 300 &&
	opens_are 300 &&
	kill -STOP "$(cat gw.pid)" &&
	call $pod run "{\"argv\":[\"env\"]}" >resp &&
	jq -e .ok resp >/dev/null &&
	test_wait_for "the node to answer them all" 30 waiting_is 0 &&
	kill -CONT "$(cat gw.pid)" &&
	: >go &&
	test_wait_for "the asker" 60 grep -q "^in-order" asker &&
	cat asker &&
	grep -qx "answers 300" asker &&
	node_alive
'

test_done
