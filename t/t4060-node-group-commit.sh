#!/bin/sh
test_description='nucleus-node: the request path committed in groups keeps its promises: a nonce durable before its request acts, so that every request answered before the node is killed -9 is refused as replayed once it starts again; and a client'"'"'s pipelined requests acted on in its order'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

REQS=48	# requests pipelined on one connection: more than one sync's worth

node_crash() {
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the killed node to end" 10 test_pid_ended "$pid" &&
	rm -f node.pid
}

test_expect_success 'setup: a node and a pod' '
	authority_setup &&
	node_setup &&
	node_start &&
	pod_create p-1 >out &&
	jq -e .ok out
'

test_expect_success 'a pod.create and calls on that pod, pipelined on one connection, are acted on in order' '
	printf "{\"v\":1,\"name\":\"p-2\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"memory_mib\":256,\"pids\":64,\"scratch_mib\":32}}" >spec &&
	{
		nreq c0 ops-1 admin.key "" pod.create "$(cat spec)" &&
		nreq c1 agent-7 agent.key p-2 stat "{\"path\":\".\"}" &&
		nreq c2 agent-7 agent.key p-2 stat "{\"path\":\".\"}"
	} >lines &&
	nsend <lines >out &&
	test "$(jq -s "[.[] | select(.ok)] | length" out)" = 3
'

test_expect_success "$REQS requests answered, the node killed -9 at once: each is refused as replayed once it is back" '
	i=0 &&
	while [ $i -lt $REQS ]; do
		if [ $((i % 8)) = 0 ]; then
			nreq a$i ops-1 admin.key "" pod.list "{}" || return 1
		else
			nreq r$i agent-7 agent.key p-1 stat "{\"path\":\".\"}" || return 1
		fi
		i=$((i + 1))
	done >batch &&
	nsend <batch >out &&
	node_crash &&
	test "$(jq -s "[.[] | select(.ok)] | length" out)" = $REQS &&
	node_start &&
	nsend <batch >again &&
	test "$(jq -s "[.[] | select(.error.kind == \"replayed\")] | length" again)" = $REQS &&
	node_stop
'

test_done
