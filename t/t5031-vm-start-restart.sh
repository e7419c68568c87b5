#!/bin/sh
test_description='nucleus-node: a VM still booting when its node is killed is stored as starting; the next node stops its VMM and reports it lost (a stand-in for QEMU, no boot)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi

pod=p-fakr-$$
test_cleanup() {
	pods_gone "$pod*"
}

vmm_pid() {
	for p in $(pod_procs_ $pod-silent); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = fake-vmm ] &&
		    echo "$p" && return 0
	done
	return 1
}

pod_procs_() {
	cat /sys/fs/cgroup/pids/nucleus/$1.*/cgroup.procs /sys/fs/cgroup/nucleus/$1.*/cgroup.procs 2>/dev/null
}

create() {
	pod_create "$pod-silent" "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}"
}

test_expect_success 'setup: a node whose QEMU is fake-vmm; a VM that never says hello' '
	fake_vmm_node_start &&
	{ { create >silent.status 2>&1; echo $? >>silent.status; } & } &&
	wait_for 300 test -S n/pods/$pod-silent/vm/chan.sock &&
	vmm_pid >vmm.pid
'

test_expect_success 'the node killed while the VM boots: its creator hears unavailable, the VMM runs on' '
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 10 test_pid_ended "$pid" &&
	rm node.pid &&
	test_wait_for "the creator to end" 10 eval "test \"\$(wc -l <silent.status)\" -ge 2" &&
	tail -n 1 silent.status | grep -x 2 &&
	grep "unavailable" silent.status &&
	kill -0 "$(cat vmm.pid)"
'

test_expect_success 'the next node stops the VMM and reports the pod lost; pod.stop removes it' '
	node_start -G "$PWD/guest" -Q "$NUCLEUS_BUILD/t/helper/fake-vmm" &&
	node_wait_event ".event == \"pod.lost\" and .pod == \"$pod-silent\"" &&
	jq -s -e "[.[] | select(.event == \"pod.lost\")][0].reason | test(\"its VM was booting.*stopped\")" n/audit.log &&
	test_wait_for "the VMM to end" 10 eval "! pod_procs_ $pod-silent | grep -q ." &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-silent >out &&
	jq -e ".result.state == \"removed\"" out &&
	node_stop
'

test_done
