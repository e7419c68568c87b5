#!/bin/sh
test_description='nucleus-node: a VM pod'"'"'s logs on the host (vm/console.log, the guest'"'"'s serial console, and vmm.err) hold at most 1 MiB each, however much its VMM writes (a stand-in for QEMU)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi

pod=p-fake-$$
test_cleanup() {
	pods_gone "$pod*"
}

# FILE holds what came before (mkfs says a few lines in vmm.err), then
# 1 MiB of what was written (the character CHAR), the node's note, no
# more.
capped() {
	test "$(wc -c <"$1")" -lt $((1048576 + 4096)) &&
	test "$(tr -d "$2" <"$1" | wc -c)" -lt 4096 &&
	tail -n 1 "$1" >last &&
	grep -q "^nucleus-node: this log passed 1048576 bytes; the rest is dropped$" last
}

test_expect_success 'setup: a node whose QEMU is fake-vmm, a guest image of placeholders' '
	fake_vmm_node_start
'

test_expect_success 'a guest writing 3 MiB to its console, its VMM 3 MiB to its standard error: 1 MiB of each is kept, and a note' '
	test_expect_code 2 pod_create "$pod-chatty" "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8}" &&
	jq -r .error.message create-$pod-chatty.out | grep "closed its channel before its hello" &&
	d=n/pods/$pod-chatty &&
	capped $d/vm/console.log c &&
	capped $d/vmm.err e &&
	test "$(stat -c %u $d/vmm.err)" = 0
'

test_expect_success 'the node stops cleanly' '
	node_stop
'

test_done
