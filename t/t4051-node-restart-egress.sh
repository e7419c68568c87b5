#!/bin/sh
test_description='nucleus-node: a local pod with network taken back after kill -9 of its node gets a new gateway; its proxy asks that one, and egress works again, recorded in the new node'"'"'s log'
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
pod=p-back-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

opens() {
	node_events egress.open | jq -s "[.[] | select(.pod == \"$pod\")] | length"
}

test_expect_success 'setup: test hosts, a node, a pod with network that reaches ok.test' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	egress_curl $pod -f http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test "$(opens)" = 1 &&
	pod_proxy $pod >proxy.pid
'

test_expect_success 'kill -9 of the node: its gateway goes with it, the pod runs on' '
	pid=$(cat node.pid) &&
	gw=$(pgrep -f "^$NUCLEUS_BUILD/nucleus-gateway -p $pod ") &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	test_wait_for "its gateway to end" 20 test_pid_ended "$gw" &&
	rm -f node.pid &&
	kill -0 "$(cat proxy.pid)"
'

test_expect_success 'the next node takes the pod back with a new gateway: curl through the proxy reaches ok.test again, recorded' '
	node_start -H "$PWD/hosts" &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"$pod\"" &&
	node_events egress.resume | jq -s -e "length == 1 and .[0].pod == \"$pod\" and .[0].driver == \"local\"" >/dev/null &&
	pgrep -f "^$NUCLEUS_BUILD/nucleus-gateway -p $pod " >/dev/null &&
	egress_curl $pod -f http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test "$(pod_proxy $pod)" = "$(cat proxy.pid)" &&
	test "$(opens)" = 2 &&
	test "$(grep -c " 198.18.0.1 8080$" seen)" = 2 &&
	egress_curl $pod http://ok.test:8081/ &&
	grep -q "^egress_denied" out
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
