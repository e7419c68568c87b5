#!/bin/sh
test_description='nucleus-node: a VM pod whose guest misbehaves before its hello (a stand-in for QEMU): each bound of the start crossed, the node serving on'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi

pod=p-fake-$$
test_cleanup() {
	pods_gone "$pod*"
}

create() {
	pod_create "$pod-$1" "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}"
}

test_expect_success 'setup: a node whose QEMU is fake-vmm, a guest image of placeholders' '
	fake_vmm_node_start
'

# Started first, answered last: it waits out the whole deadline.
test_expect_success 'a guest that never says hello: started, waited for in the background' '
	{ { create silent >silent.status 2>&1; echo $? >>silent.status; } & } &&
	echo $! >silent.pid &&
	wait_for 300 test -S n/pods/$pod-silent/vm/chan.sock
'

test_expect_success 'the VMM is in its cgroup: 64 threads, and its memory the guest'"'"'s plus 256 MiB' '
	cg=$(ls -d /sys/fs/cgroup/pids/nucleus/$pod-silent.* /sys/fs/cgroup/nucleus/$pod-silent.* 2>/dev/null | head -n 1) &&
	test "$(cat $cg/pids.max)" = 64 &&
	mem=$(cat /sys/fs/cgroup/memory/nucleus/$pod-silent.*/memory.limit_in_bytes 2>/dev/null ||
	    cat /sys/fs/cgroup/nucleus/$pod-silent.*/memory.max) &&
	test "$mem" = $(((128 + 256) * 1024 * 1024))
'

test_expect_success 'a hello past 1 KiB: refused as internal, the VMM stopped' '
	test_expect_code 2 create long &&
	jq -e ".error.kind == \"internal\"" create-$pod-long.out &&
	jq -r .error.message create-$pod-long.out | grep "the guest.s hello is too long" &&
	node_wait_event ".event == \"pod.refused\" and .pod == \"$pod-long\"" &&
	! pgrep -f "n/pods/$pod-long/" >/dev/null
'

test_expect_success 'a channel closed before the hello: refused as internal' '
	test_expect_code 2 create close &&
	jq -r .error.message create-$pod-close.out | grep "closed its channel before its hello"
'

test_expect_success 'a hello naming a log the node did not choose: refused as internal, nothing certified' '
	test_expect_code 2 create liar &&
	jq -e ".error.kind == \"internal\"" create-$pod-liar.out &&
	jq -r .error.message create-$pod-liar.out | grep "names log $pod-liar.1.0000, not the one the node chose" &&
	node_wait_event ".event == \"pod.refused\" and .pod == \"$pod-liar\"" &&
	! pgrep -f "n/pods/$pod-liar/" >/dev/null &&
	! grep -q "key-cert" n/pods/$pod-liar/vmm.err
'

test_expect_success 'pod.stop while a pod starts: stopping; its creator is answered internal' '
	{ test_expect_code 2 create stopped & } &&
	creator=$! &&
	wait_for 300 test -S n/pods/$pod-stopped/vm/chan.sock &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-stopped >out &&
	jq -e ".result.state == \"stopping\"" out &&
	test_wait_exit "its creator to be answered" 30 $creator &&
	jq -e ".error.kind == \"internal\"" create-$pod-stopped.out &&
	jq -r .error.message create-$pod-stopped.out | grep "pod.stop ended the VM while its guest booted"
'

test_expect_success 'no hello within 60 s: refused as internal, stopped; the node served all along' '
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods | map(select(.state == \"starting\")) | length == 1" list &&
	test_wait_for "the silent guest'"'"'s creator to be answered" 90 test_child_ended "$(cat silent.pid)" &&
	test "$(tail -n 1 silent.status)" = 2 &&
	jq -r .error.message create-$pod-silent.out | grep "the guest said no hello within 60000 ms" &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods | length == 0" list &&
	! pgrep -f "n/pods/$pod-silent/" >/dev/null
'

test_expect_success 'teardown' '
	node_stop
'

test_done
