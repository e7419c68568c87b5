#!/bin/sh
test_description='nucleus-node: pods are kept in LMDB; after a node crash those that cannot be taken back (t4050) are stopped if they still run, and kept as lost, never silently forgotten'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# Pods outlive a crashed node: a failed test leaves none behind.
test_cleanup() {
	[ -f cgs ] || return 0
	for d in $(cat cgs); do
		kill -KILL $(cat "$d/cgroup.procs" 2>/dev/null) 2>/dev/null
	done
}

node_crash() {
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the killed node to end" 10 test_pid_ended "$pid" &&
	rm -f node.pid
}

admin() {
	nucleus-node pod -j -k admin.key -l n/node.sock "$@"
}

test_expect_success 'setup: a node with a pod that did some work' '
	authority_setup &&
	node_setup &&
	node_start &&
	pod_create p-1 >out &&
	pod_cgroup p-1 >>cgs &&
	jq -r .result.audit_copy out >copy &&
	ncall p-1 write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out
'

test_expect_success 'the node crashes; its pod ends while it is down; a restart reports it lost, with its verified copy' '
	cg=$(pod_cgroup p-1) &&
	proxy=$(pod_proxy p-1) &&
	node_crash &&
	kill -KILL "$proxy" &&
	test_wait_for "the pod to end" 10 eval "! grep -q . \"$cg/cgroup.procs\"" &&
	node_start &&
	node_wait_event ".event == \"pod.lost\" and .pod == \"p-1\"" &&
	jq -s -c "[.[] | select(.event == \"pod.lost\")][0]" n/audit.log >lost &&
	jq -e ".audit_copy_check.verified == true and .audit_records == $(wc -l <"$(cat copy)") and (.reason | test(\"ended while the node was not running\"))" lost &&
	admin list >out &&
	jq -e ".result.pods | length == 1 and .[0].pod == \"p-1\" and .[0].state == \"lost\"" out &&
	admin status p-1 >out &&
	jq -e ".result.state == \"lost\" and .result.audit_copy == \"$(cat copy)\"" out
'

test_expect_success 'a lost pod is refused for calls, and its name is not taken over' '
	test_expect_code 2 ncall p-1 stat "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"lost\"))" out &&
	test_expect_code 2 admin create spec-p-1.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"lost pod\"))" out
'

test_expect_success 'it stays lost across another restart, until pod.stop removes it; its copy stays' '
	node_stop && node_start &&
	admin status p-1 >out &&
	jq -e ".result.state == \"lost\" and .result.audit_records > 2" out &&
	test "$(jq -s "[.[] | select(.event == \"pod.lost\")] | length" n/audit.log)" = 1 &&
	admin stop p-1 >out &&
	jq -e ".result.state == \"removed\"" out &&
	admin list >out &&
	jq -e ".result.pods == []" out &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" &&
	node_stop && node_start &&
	admin list >out &&
	jq -e ".result.pods == []" out
'

test_expect_success 'a pod whose channel is gone when the node restarts is stopped and reported lost, its cgroup gone' '
	pod_create p-2 >out &&
	cg=$(pod_cgroup p-2) &&
	echo "$cg" >>cgs &&
	proxy=$(pod_proxy p-2) &&
	node_crash &&
	rm n/pods/p-2/chan.sock &&
	node_start &&
	node_wait_event ".event == \"pod.lost\" and .pod == \"p-2\"" &&
	jq -s -e "[.[] | select(.event == \"pod.lost\" and .pod == \"p-2\")][0].reason | test(\"could not take the pod back .*chan.sock.*: stopped\")" n/audit.log &&
	test_wait_for "its proxy to end" 10 test_pid_ended "$proxy" &&
	test_wait_for "its cgroup to go" 10 test ! -e "$cg" &&
	admin status p-2 >out &&
	jq -e ".result.state == \"lost\"" out
'

test_expect_success 'a node stopped with SIGTERM stops its pods and loses none' '
	admin stop p-2 >/dev/null &&
	pod_create p-3 >/dev/null &&
	pod_cgroup p-3 >>cgs &&
	node_stop &&
	jq -s -e "[.[] | select(.event == \"pod.stop\" and .pod == \"p-3\")][0].reason == \"the node is stopping\"" n/audit.log &&
	node_start &&
	admin list >out &&
	jq -e ".result.pods == []" out &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_expect_success 'a state file that is not LMDB: the node will not start, and says which and why' '
	mv n/state.mdb state.saved && rm -f n/node.sock &&
	head -c 8192 /dev/zero | tr "\0" x >n/state.mdb &&
	test_expect_code 2 nucleus-node serve -d n >out 2>err &&
	grep "nucleus-node: state: .*n/state.mdb: MDB_INVALID" err &&
	! test -S n/node.sock &&
	mv state.saved n/state.mdb &&
	node_start &&
	node_stop
'

test_done
