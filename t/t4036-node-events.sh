#!/bin/sh
test_description='nucleus-node: what an operator sees on stderr, one line an event; refusals counted there, each in the audit log'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

test_expect_success 'setup: a node' '
	authority_setup &&
	node_setup &&
	node_start
'

test_expect_success 'the start is one line' '
	grep -E "^nucleus-node: node.start pid=[0-9]+ keys=[0-9]+$" node.err
'

test_expect_success 'a pod created, then stopped: one line each, naming it' '
	pod=p-ev-$$ &&
	pod_create $pod >out &&
	test_wait_for "the pod.create line" 10 \
	    grep -q "^nucleus-node: pod.create pod=$pod driver=local " node.err &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	test_wait_for "the pod.stop line" 10 \
	    grep -q "^nucleus-node: pod.stop .*pod=$pod" node.err
'

# Counted at each try (an argument of test_wait_for would be counted
# once, before the wait).
refused_twice_() {
	test "$(grep -c "reload refused" node.err)" = 2
}

test_expect_success 'SIGHUP with a typo in a keyring role, or an agent in the trust file: refused, the key named, as at start' '
	cp n/keyring keyring.good && cp n/trust trust.good &&
	test_when_finished "cp keyring.good n/keyring && cp trust.good n/trust" &&
	sed "s/ admin$/ admni/" keyring.good >n/keyring &&
	kill -HUP "$(cat node.pid)" &&
	test_wait_for "the refused reload" 10 grep -q "reload refused" node.err &&
	grep -F "key ops-1 has the role admni, which no program knows" node.err &&
	jq -c "select(.event == \"node.reload\")" n/audit.log | tail -n 1 |
	    jq -e ".status == \"refused\"" &&
	cp keyring.good n/keyring &&
	grep "^agent-7 " "$TEST_DIRECTORY/vectors/keyring" >n/trust &&
	kill -HUP "$(cat node.pid)" &&
	test_wait_for "the second refused reload" 10 refused_twice_ &&
	grep -F "/trust: key agent-7 has the role agent: give it the role authority (or none)" node.err
'

test_expect_success 'at 1000 refusals the summary is said at once, the node still serving' '
	node_stop && node_start &&
	i=0 && while [ $i -lt 999 ]; do echo "not a request $i"; i=$((i + 1)); done |
	    nsend >out &&
	test_line_count = 999 out &&
	! grep "^nucleus-node: refused" node.err &&
	echo "the 1000th" | nsend >out &&
	test_wait_for "the summary" 10 grep -q "^nucleus-node: refused 1000 in [0-9]* s (bad_request 1000), 1000 since the start" node.err &&
	test "$(grep -c "^nucleus-node: refused" node.err)" = 1
'

test_expect_success 'refusals are not one line each: counted, said when the node stops, each in the audit log' '
	for i in 1 2 3; do echo "not a request $i"; done | nsend >out &&
	test_line_count = 3 out &&
	nreq r1 agent-7 agent.key p-none read "{}" | sed "s/\"sig\":\"/\"sig\":\"AA/" |
	    nsend >out &&
	! grep "^nucleus-node: request.refused" node.err &&
	node_stop &&
	grep -E "^nucleus-node: refused 4 in [0-9]+ s \(bad_request 3, auth_failed 1\), 1004 since the start, each in the audit log$" node.err &&
	test "$(jq -c "select(.event == \"request.refused\")" n/audit.log | wc -l)" = 1004 &&
	tail -n 1 node.err | grep -Fx "nucleus-node: node.stop"
'

test_done
