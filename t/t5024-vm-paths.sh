#!/bin/sh
test_description='nucleus-node: a VM pod whose channel socket would not fit a socket address is refused, the path named, never bound or connected to cut'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi

pod=p-path-$$
test_cleanup() {
	pods_gone "$pod*"
}

test_expect_success 'setup: a node whose QEMU is fake-vmm, a guest image of placeholders' '
	fake_vmm_node_start
'

# A name of 64 characters, the most a pod may have: its directory's
# vm/chan.sock is well past the 107 bytes of sun_path.
test_expect_success 'a pod name that puts vm/chan.sock past sun_path: refused, the path named' '
	name=$pod-$(printf "%0*d" $((63 - ${#pod})) 0) &&
	test ${#name} -eq 64 &&
	sock=$PWD/n/pods/$name/vm/chan.sock &&
	test ${#sock} -gt 107 &&
	test_must_fail pod_create $name "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}" &&
	jq -r .error.message create-$name.out >msg &&
	grep -F "$(printf "%.100s" "$sock")" msg &&
	grep -F "socket path of ${#sock} bytes, longer than the 107 allowed" msg &&
	test ! -e n/pods/$name/vmm.err &&
	node_alive
'

test_expect_success 'a shorter name in the same node starts its VMM' '
	{ { pod_create $pod-s "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}" >/dev/null 2>&1 || :; } & } &&
	wait_for 300 test -S n/pods/$pod-s/vm/chan.sock &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-s >out &&
	wait
'

test_expect_success 'the node stops cleanly' '
	node_stop
'

test_done
