#!/bin/sh
test_description='nucleus-node: a pod taken back by a new node still writes its proxy.err (the pipe is a FIFO in the pod directory, which the new node reads again)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# Pods outlive their node: a failed test leaves none behind.
test_cleanup() {
	[ -s cg ] && kill -KILL $(cat "$(cat cg)/cgroup.procs" 2>/dev/null) 2>/dev/null
	:
}

# proxy_says LINE: LINE written into the proxy's standard error, as the proxy
# writes there (the same pipe, opened through /proc).  Bounded: with no
# reader on the pipe, the open would wait for one.
proxy_says() {
	timeout 10 sh -c "echo $1 >/proc/$(cat proxy.pid)/fd/2"
}

test_expect_success 'setup: a node and a pod whose proxy standard error reaches proxy.err' '
	authority_setup &&
	node_setup &&
	node_start &&
	test_when_finished "pod_cgroup p-1 >cg" &&
	pod_create p-1 >out &&
	pod_proxy p-1 >proxy.pid &&
	test -p n/pods/p-1/proxy.err.pipe &&
	test "$(stat -c %a n/pods/p-1/proxy.err.pipe)" = 600 &&
	proxy_says before-the-kill &&
	test_wait_for "the line in proxy.err" 10 grep -q "^before-the-kill$" n/pods/p-1/proxy.err
'

test_expect_success 'after kill -9 of the node and the pod taken back, a new line still reaches proxy.err' '
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid &&
	node_start &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"p-1\"" &&
	test "$(pod_proxy p-1)" = "$(cat proxy.pid)" &&
	proxy_says after-the-kill &&
	test_wait_for "the new line in proxy.err" 10 grep -q "^after-the-kill$" n/pods/p-1/proxy.err &&
	test "$(grep -c "^before-the-kill$" n/pods/p-1/proxy.err)" = 1 &&
	! grep "its log .* is not written" node.err &&
	ncall p-1 write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out
'

# POD_LOG_MAX, 1 MiB of each log at each start of the pod.
log_max=1048576

size_is_() {
	test "$(stat -c %s n/pods/p-1/proxy.err)" = "$1"
}

test_expect_success 'what proxy.err holds counts towards its 1 MiB after the pod is taken back' '
	fill=$((log_max - 10 - $(stat -c %s n/pods/p-1/proxy.err))) &&
	timeout 10 sh -c "head -c $fill /dev/zero | tr \"\\\\000\" x >/proc/$(cat proxy.pid)/fd/2" &&
	test_wait_for "proxy.err 10 bytes short of the limit" 10 size_is_ $((log_max - 10)) &&
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid &&
	node_start &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"p-1\"" &&
	proxy_says 0123456789-past-the-limit &&
	test_wait_for "the line saying the rest is dropped" 10 grep -q "^nucleus-node: this log passed $log_max bytes; the rest is dropped$" n/pods/p-1/proxy.err &&
	tail -c 80 n/pods/p-1/proxy.err | grep -q "^x*0123456789$" &&
	! grep -q "past-the-limit" n/pods/p-1/proxy.err
'

test_expect_success 'a pipe not as the node made it is not read: the pod is served, stderr says why' '
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid &&
	chmod 644 n/pods/p-1/proxy.err.pipe &&
	node_start &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"p-1\"" &&
	grep "pod p-1: its log proxy.err is not written: .*proxy.err.pipe: not the pipe the node made" node.err &&
	ncall p-1 read "{\"path\":\"a\"}" >out &&
	jq -e ".result.data == \"x\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-1 >out &&
	jq -e .ok out &&
	node_stop
'

test_done
