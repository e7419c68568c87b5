#!/bin/sh
test_description='nucleus-node: a qemu pod outlives its node (kill -9): the next node takes it back through QEMU'"'"'s socket, its files, log and next call intact, its host copy going on as one chain'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi

pod=p-vmr-$$
test_cleanup() {
	pods_gone "$pod*"
}

qemu_pid() {
	for p in $(pod_procs $pod); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] &&
		    echo "$p" && return 0
	done
	return 1
}

# A call that takes three seconds in the VM; its exit status in slow.rc.
slow_call() {
	call $pod run "{\"argv\":[\"sleep\",\"3\"]}" >slow.out 2>slow.err
	echo $? >slow.rc
}

# The copy holds the run's decision (running_), or its outcome.
running_() {
	jq -s -e "[.[] | select(.event == \"decision\" and .op == \"run\")] | length == 1" "$(cat copy)" >/dev/null
}
run_outcome_() {
	jq -s -e "([.[] | select(.event == \"decision\" and .op == \"run\")][0].id) as \$id | [.[] | select(.event == \"outcome\" and .id == \$id)] | length == 1" "$(cat copy)" >/dev/null
}

test_expect_success 'setup: a node and a qemu pod that wrote a file' '
	node_setup &&
	node_start -G "$guest" &&
	pod_create $pod "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":256,\"scratch_mib\":16}" &&
	jq -r .result.audit_copy create-$pod.out >copy &&
	jq -r .result.log create-$pod.out >log &&
	call $pod write "{\"path\":\"a.txt\",\"content\":\"kept\"}" >out &&
	jq -e .ok out &&
	qemu_pid >qemu.pid
'

test_expect_success 'kill -9 of the node mid-call: the call gets unavailable; QEMU runs on' '
	{ slow_call & } &&
	test_wait_for "the command to run in the VM" 30 running_ &&
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 10 test_pid_ended "$pid" &&
	test_wait_for "the call to end" 10 test -s slow.rc &&
	test "$(cat slow.rc)" = 2 &&
	jq -e ".ok == false and .error.kind == \"unavailable\"" slow.out &&
	kill -0 "$(cat qemu.pid)"
'

test_expect_success 'the next node takes the VM back: its log, its file, its next call; the copy verifies across the gap; its logs still written' '
	node_start -G "$guest" &&
	wait_for 300 eval "node_events pod.adopt | grep -q \"\\\"pod\\\":\\\"$pod\\\"\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >out &&
	jq -e ".result.state == \"running\" and .result.log == \"$(cat log)\" and .result.audit_copy == \"$(cat copy)\"" out &&
	test "$(qemu_pid)" = "$(cat qemu.pid)" &&
	call $pod read "{\"path\":\"a.txt\"}" >out &&
	jq -e ".result.data == \"kept\"" out &&
	test_wait_for "the run outcome in the copy" 30 run_outcome_ &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" &&
	# QEMU'"'"'s standard error and output (the console) still reach
	# vmm.err and vm/console.log: the new node reads their FIFOs.
	timeout 10 sh -c "echo vmm-after-restart >/proc/$(cat qemu.pid)/fd/2" &&
	timeout 10 sh -c "echo console-after-restart >/proc/$(cat qemu.pid)/fd/1" &&
	test_wait_for "the line in vmm.err" 10 grep -q "^vmm-after-restart$" n/pods/$pod/vmm.err &&
	test_wait_for "the line in console.log" 10 grep -q "^console-after-restart$" n/pods/$pod/vm/console.log &&
	nucleus-node pod -k admin.key -l n/node.sock stop $pod >/dev/null &&
	wait_for 300 eval "node_events pod.exit | grep -q \"\\\"pod\\\":\\\"$pod\\\"\"" &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log "$(cat copy)"
'

test_done
