#!/bin/sh
test_description='nucleus-node: a Firecracker pod outlives its node; the next node takes it back through the hybrid vsock (a stand-in for Firecracker and its guest, no VM): the call in flight gets unavailable, the next call works, the copy verifies across the gap, the VMM still writes vmm.err; a VMM that died meanwhile is lost'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the firecracker driver makes cgroups and drops to the pods' uid: it needs root"
fi

pod=p-fcr-$$
# The node finds fake-fc as firecracker, which finds the guest's files.
FAKE_FC_GUEST=$PWD/fcg
export FAKE_FC_GUEST
PATH=$PWD/bin:$PATH
test_cleanup() {
	[ -s guest.pid ] && kill -KILL "$(cat guest.pid)" 2>/dev/null
	[ -s fcg/proxy.pid ] && kill -KILL "$(cat fcg/proxy.pid)" 2>/dev/null
	pods_gone "$pod*"
}

# The guest's init and proxy, once the VMM has put the pod's files in
# fcg: the proxy as the local driver's (-f 3 listening), its paths in fcg.
guest_run() {
	i=0
	while ! [ -s fcg/pod.json ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	jq --arg d "$PWD/fcg" '.root = ($d + "/work") | .state = ($d + "/state") | .trust = ($d + "/trust.local") | del(.run_as)' fcg/pod.json >fcg/pod.local.json &&
	cp fcg/trust fcg/trust.local &&
	chmod 600 fcg/trust.local &&
	mkdir -p fcg/work fcg/state &&
	exec fake-fc guest "$PWD/fcg" "$NUCLEUS_BUILD/nucleus-proxy" -C -A -f 3 -p "$PWD/fcg/pod.local.json" 2>fcg/proxy.err
}

vmm_pid() {
	for p in $(cat "$(pod_cgroup $pod)/cgroup.procs"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = firecracker ] &&
		    echo "$p" && return 0
	done
	return 1
}

node_kill9() {
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid
}

connects() {
	grep -c "^fake-fc: connected to port 1024$" n/pods/$pod/vmm.err
}

# The copy holds the run's decision: the command runs.
running_() {
	jq -s -e "[.[] | select(.event == \"decision\" and .op == \"run\")] | length == 1" "$(cat copy)" >/dev/null
}

slow_call() {
	call $pod run "{\"argv\":[\"sleep\",\"4\"]}" >slow.out 2>slow.err
	echo $? >slow.rc
}

test_expect_success 'setup: a node whose firecracker is fake-fc; a pod under it' '
	mkdir guest bin &&
	mkdir -m 777 fcg &&
	for f in vmlinux initramfs.cpio root.squashfs; do
		echo placeholder >guest/$f || return 1
	done &&
	ln -s "$NUCLEUS_BUILD/t/helper/fake-fc" bin/firecracker &&
	node_setup &&
	{ guest_run & echo $! >guest.pid; } &&
	node_start -G "$PWD/guest"
'

# Firecracker needs KVM: the node refuses its pods where no plain guest
# runs on /dev/kvm.
if grep -q "VMs: .*, KVM; .*/bin/firecracker" node.err 2>/dev/null; then
	test_set_prereq FCKVM
fi

test_expect_success FCKVM 'the pod runs: hello on the first connection, the channel on a second one' '
	pod_create $pod "\"driver\":\"firecracker\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}" &&
	jq -r .result.audit_copy create-$pod.out >copy &&
	call $pod write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	vmm_pid >vmm.pid &&
	test "$(connects)" = 2
'

test_expect_success FCKVM 'kill -9 of the node mid-call: the call gets unavailable; the VMM runs on' '
	{ slow_call & } &&
	test_wait_for "the command to run in the pod" 10 running_ &&
	node_kill9 &&
	test_wait_for "the call to end" 10 test -s slow.rc &&
	test "$(cat slow.rc)" = 2 &&
	jq -e ".ok == false and .error.kind == \"unavailable\"" slow.out &&
	kill -0 "$(cat vmm.pid)"
'

test_expect_success FCKVM 'the next node takes the pod back: its file, its next call, its copy verified across the gap, vmm.err still written' '
	node_start -G "$PWD/guest" &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"$pod\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >out &&
	jq -e ".result.state == \"running\"" out &&
	call $pod read "{\"path\":\"a\"}" >out &&
	jq -e ".result.data == \"x\"" out &&
	test "$(vmm_pid)" = "$(cat vmm.pid)" &&
	test_wait_for "the third connection said in vmm.err" 10 eval "test \"\$(connects)\" = 3" &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)"
'

test_expect_success FCKVM 'a VMM that dies while the node is down: the pod is lost' '
	node_kill9 &&
	kill -KILL "$(cat vmm.pid)" &&
	test_wait_for "the VMM to end" 10 test_pid_ended "$(cat vmm.pid)" &&
	node_start -G "$PWD/guest" &&
	node_wait_event ".event == \"pod.lost\" and .pod == \"$pod\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >out &&
	jq -e ".result.state == \"lost\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	jq -e .ok out &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" &&
	kill -KILL "$(cat fcg/proxy.pid)" &&
	test_wait_for "the guest to end" 10 test_pid_ended "$(cat guest.pid)"
'

test_done
