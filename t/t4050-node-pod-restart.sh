#!/bin/sh
test_description='nucleus-node: local pods outlive their node; the next node on the directory takes them back (same name, log and copy, verified across the gap), a call in flight gets unavailable, a pod that died meanwhile is lost'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# Pods outlive their node: a failed test leaves none behind.
test_cleanup() {
	for f in cg mute.cg; do
		[ -s $f ] && kill -KILL $(cat "$(cat $f)/cgroup.procs" 2>/dev/null) 2>/dev/null
	done
	:
}

node_kill() {
	pid=$(cat node.pid) &&
	kill -"$1" "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid
}

admin() {
	nucleus-node pod -j -k admin.key -l n/node.sock "$@"
}

# sleeping_ POD: a sleep command runs in the pod.
sleeping_() {
	d=$(cat cg) &&
	for pid in $(cat "$d/cgroup.procs"); do cat /proc/$pid/comm 2>/dev/null; done | grep -q "^sleep$"
}

# A call that takes two seconds in the pod; its exit status in slow.rc.
slow_call() {
	ncall p-1 run "{\"argv\":[\"sleep\",\"4\"]}" >slow.out 2>slow.err
	echo $? >slow.rc
}

# run_outcome_: the copy holds the outcome of the run the lost call made.
run_outcome_() {
	jq -s -e "([.[] | select(.event == \"decision\" and .op == \"run\")][0].id) as \$id | [.[] | select(.event == \"outcome\" and .id == \$id)] | length == 1" "$(cat copy)" >/dev/null
}

# The mute pod (pod-tamper that never says hello): its cgroup, and
# whether pod-tamper runs in it.
mute_cgroup_() {
	ls -d /sys/fs/cgroup/pids/nucleus/p-mute-$$.* /sys/fs/cgroup/nucleus/p-mute-$$.* 2>/dev/null | head -n 1
}
mute_running_() {
	d=$(mute_cgroup_) && test -n "$d" &&
	for pid in $(cat "$d/cgroup.procs"); do cat /proc/$pid/comm 2>/dev/null; done | grep -q "^pod-tamper$"
}

copy_lines() {
	wc -l <"$(cat copy)"
}

test_expect_success 'setup: a node with a pod that wrote a file' '
	authority_setup &&
	node_setup &&
	node_start &&
	test_when_finished "pod_cgroup p-1 >cg" &&
	pod_create p-1 >out &&
	jq -r .result.audit_copy out >copy &&
	jq -r .result.log out >log &&
	ncall p-1 write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	pod_proxy p-1 >proxy.pid &&
	test -S n/pods/p-1/chan.sock
'

test_expect_success 'kill -9 of the node mid-call: the call in flight gets unavailable; the pod runs on' '
	# pid numbers wrap (pid_max): the command'"'"'s init, a nucleus-proxy
	# too, may come below the proxy, as it once did in CI; pod_proxy
	# must still name the proxy
	echo 300 >/proc/sys/kernel/ns_last_pid &&
	{ slow_call & } &&
	test_wait_for "the command to run in the pod" 10 sleeping_ &&
	node_kill KILL &&
	test_wait_for "the call to end" 10 test -s slow.rc &&
	test "$(cat slow.rc)" = 2 &&
	jq -e ".ok == false and .error.kind == \"unavailable\"" slow.out &&
	grep "unavailable" slow.err &&
	kill -0 "$(cat proxy.pid)" &&
	copy_lines >before
'

test_expect_success 'the next node takes the pod back: its name, log, copy; its file and its next call' '
	node_start &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"p-1\"" &&
	jq -s -e "[.[] | select(.event == \"pod.adopt\")][0] | .pod_log == \"$(cat log)\" and .audit_copy == \"$(cat copy)\"" n/audit.log &&
	admin status p-1 >out &&
	jq -e ".result.state == \"running\" and .result.log == \"$(cat log)\" and .result.audit_copy == \"$(cat copy)\"" out &&
	ncall p-1 read "{\"path\":\"a\"}" >out &&
	jq -e ".result.data == \"x\"" out &&
	test "$(pod_proxy p-1)" = "$(cat proxy.pid)" &&
	# The command the lost call started ends in the pod; its records
	# reach the copy, which verifies across the gap.
	test_wait_for "the run outcome in the copy" 10 run_outcome_ &&
	test "$(copy_lines)" -gt "$(cat before)" &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)"
'

test_expect_success 'a second connection to the pod channel is closed at once; the node keeps its own' '
	{
		printf "{\"log\":\"%s\",\"seq\":-1,\"type\":\"audit.resume\",\"v\":1}\n" "$(cat log)" |
		timeout 10 unixcat "$PWD/n/pods/p-1/chan.sock" >stolen
		echo $? >stolen.rc
	} &&
	test "$(cat stolen.rc)" != 124 &&
	! test -s stolen &&
	ncall p-1 stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out
'

test_expect_success 'SIGUSR2 stops the node and leaves the pod running; it is taken back again' '
	node_kill USR2 &&
	jq -s -e "[.[] | select(.event == \"node.stop\")] | last | .pods_left == 1" n/audit.log &&
	kill -0 "$(cat proxy.pid)" &&
	node_start &&
	node_wait_event "(.event == \"pod.adopt\" and .pod == \"p-1\")" &&
	test "$(jq -s "[.[] | select(.event == \"pod.adopt\")] | length" n/audit.log)" = 2 &&
	ncall p-1 write "{\"path\":\"b\",\"content\":\"y\"}" >out &&
	jq -e .ok out &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)"
'

test_expect_success 'while the node is down, a process in the pod'"'"'s PID namespace is not taken for the node' '
	node_kill KILL &&
	init=$(awk "/^PPid:/ { print \$2 }" /proc/$(cat proxy.pid)/status) &&
	{
		printf "{\"log\":\"%s\",\"seq\":-1,\"type\":\"audit.resume\",\"v\":1}\n" "$(cat log)" |
		timeout 10 nsenter -t "$init" -p -- unixcat "$PWD/n/pods/p-1/chan.sock" >stolen
		echo $? >stolen.rc
	} &&
	test "$(cat stolen.rc)" != 124 &&
	! test -s stolen &&
	node_start &&
	test_wait_for "the pod taken back a third time" 10 eval "test \"\$(jq -s \"[.[] | select(.event == \\\"pod.adopt\\\")] | length\" n/audit.log)\" = 3" &&
	ncall p-1 stat "{\"path\":\"b\"}" >out &&
	jq -e .ok out
'

test_expect_success 'a pod that dies while the node is down is reported lost; its copy still verifies' '
	node_kill KILL &&
	kill -KILL "$(cat proxy.pid)" &&
	test_wait_for "the pod to end" 10 eval "! grep -q . \"$(cat cg)/cgroup.procs\"" &&
	node_start &&
	node_wait_event ".event == \"pod.lost\" and .pod == \"p-1\"" &&
	jq -s -e "[.[] | select(.event == \"pod.lost\")][0] | (.reason | test(\"ended while the node was not running\")) and .audit_copy_check.verified == true" n/audit.log &&
	admin status p-1 >out &&
	jq -e ".result.state == \"lost\"" out &&
	admin stop p-1 >out &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" n/audit.log
'

test_expect_success 'a node killed while a pod starts (before it is stored) takes that pod with it' '
	mktemp -d /var/tmp/nucleus-t4050.XXXXXX >tamperdir &&
	test_when_finished "rm -rf \"\$(cat tamperdir)\"" &&
	chmod 755 "$(cat tamperdir)" &&
	echo mute >"$(cat tamperdir)/pod-tamper.conf" &&
	node_start -P "$NUCLEUS_BUILD/t/helper/pod-tamper" -B "$(cat tamperdir)" &&
	{ pod_create p-mute-$$ >mute.out 2>&1 & } &&
	test_wait_for "the mute pod to start" 10 mute_running_ &&
	mute_cgroup_ >mute.cg &&
	node_kill KILL &&
	test_wait_for "the mute pod to end with the node" 10 eval "! grep -q . \"\$(cat mute.cg)/cgroup.procs\"" &&
	node_start &&
	admin list >out &&
	jq -e "[.result.pods[] | select(.pod == \"p-mute-$$\")] == []" out &&
	node_stop
'

test_done
