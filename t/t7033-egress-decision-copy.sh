#!/bin/sh
test_description='egress: a connection is made only once the proxy'"'"'s decision is durable in the node'"'"'s copy of the pod'"'"'s log as well as its egress.open in the node'"'"'s log (the copier held as a sync that never ends: the connection waits, pod.status says so, egress.open is durable all the same; a decision never made holds that connection alone, for ever); and the gateway'"'"'s records nobody waits on, deferred, are all in the node'"'"'s log once it closes'
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
net=p-dc-$suffix
test_cleanup() {
	[ -f stop.pid ] && kill "$(cat stop.pid)" 2>/dev/null
	[ -f far.pid ] && kill "$(cat far.pid)" 2>/dev/null
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

# The pod's connections to ok.test:8080 the test host has seen.
seen_ok() {
	grep -c " 198.18.0.1 8080$" seen
}
waiting() {
	nucleus-node pod -j -k admin.key -l n/node.sock status $net >st &&
	jq -r .result.egress_waiting st
}
waiting_is() {
	test "$(waiting)" = "$1"
}
# Until the connection waits for the copy, or was made (the old way).
waits_or_made() {
	test "$(waiting)" = 1 || test "$(seen_ok)" != "$1"
}

test_expect_success 'setup: a node, a pod allowed ok.test:8080, one connection made' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $net "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	egress_curl $net -f -p http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test "$(waiting)" = 0
'

test_expect_success 'the node'"'"'s copier held: a CONNECT waits for its decision'"'"'s host copy, its egress.open durable, the connection not made' '
	seen_ok >seen0 &&
	seen0=$(cat seen0) &&
	opens0=$(node_events egress.open | wc -l) &&
	{ thread-stop "$(cat node.pid)" copier stopped.ready & } &&
	echo $! >stop.pid &&
	test_wait_for "the copier held" 10 test -f stopped.ready &&
	argv=$(python3 -c "import json, sys; print(json.dumps(sys.argv[1:]))" \
	    curl -sS -m 60 -f -p http://ok.test:8080/) &&
	{ { call $net run "{\"argv\":$argv}" >resp; echo $? >resp.rc; } & } &&
	test_wait_for "the connection waiting (or made)" 30 waits_or_made "$seen0" &&
	test "$(waiting)" = 1 &&
	test "$(seen_ok)" = "$seen0" &&
	test "$(node_events egress.open | wc -l)" = $((opens0 + 1)) &&
	test ! -f resp.rc
'

test_expect_success 'the copier let go: the connection is made, curl has its answer, nothing waits' '
	kill "$(cat stop.pid)" &&
	test_wait_for "the call" 60 test -f resp.rc &&
	rm -f stop.pid &&
	test "$(cat resp.rc)" = 0 &&
	test "$(jq -r .result.stdout resp)" = "hello from 198.18.0.1:8080" &&
	test "$(seen_ok)" = $(($(cat seen0) + 1)) &&
	test "$(waiting)" = 0
'

test_expect_success 'the pod'"'"'s copy holds the decision each connection followed' '
	pod_log $net | jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"ok.test\" and .decision == \"allow\")] | length == 2" >/dev/null
'

test_expect_success 'a request naming a decision the pod'"'"'s log never makes waits, alone: others are made meanwhile; it never is' '
	seen_ok >seen0 &&
	{ python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$net/egress.sock "{\"id\":9,\"host\":\"ok.test\",\"port\":8080,\"decision\":1000000}" >far & } &&
	echo $! >far.pid &&
	test_wait_for "the request waiting" 30 waiting_is 1 &&
	egress_curl $net -f -p http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test "$(waiting)" = 1 &&
	test "$(seen_ok)" = $(($(cat seen0) + 1)) &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $net >stop.out &&
	test_wait_for "the asker told" 30 test_child_ended "$(cat far.pid)" &&
	! grep -q "\"ok\":true" far &&
	test "$(seen_ok)" = $(($(cat seen0) + 1))
'

test_expect_success 'the node stopped: every egress.close (deferred, nobody waits on it) is in its log, which verifies' '
	node_stop &&
	test "$(node_events egress.close | wc -l)" = $(($(node_events egress.open | wc -l) - 1)) &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
