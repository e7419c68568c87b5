#!/bin/sh
test_description='the Firecracker driver, for real: a pod boots under firecracker, answers through the hybrid vsock, and is gone when stopped'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

# Firecracker cannot be installed from the archives these machines
# reach; t5010 and t5011 check the driver's host side without it.  This
# runs where an operator has put firecracker on PATH; it has never run
# on the machines this was written on.
test_lazy_prereq FIRECRACKER 'command -v firecracker'
if ! test_have_prereq ROOT; then
	test_skip_all "the Firecracker driver needs root (cgroups, the VMM's uid)"
fi
if ! test_have_prereq FIRECRACKER; then
	test_skip_all "no firecracker on PATH (it cannot be installed from Debian)"
fi
# /dev/kvm may open and still not run a plain guest (here: kvm_pvm).
if ! nucleus-node doctor -j | jq -e ".checks.kvm.ok" >/dev/null; then
	test_skip_all "no /dev/kvm that runs a plain guest (nucleus-node doctor): Firecracker runs only on KVM"
fi
if ! [ -r "$NUCLEUS_BUILD/guest/initramfs.cpio" ]; then
	test_skip_all "no guest image (make guest)"
fi

pod=p-fc-$$
test_cleanup() {
	pods_gone "$pod*"
}

test_expect_success 'setup: a node, a firecracker pod of 256 MiB and 2 vCPUs' '
	node_setup &&
	node_start -G "$NUCLEUS_BUILD/guest" &&
	pod_create $pod "\"driver\":\"firecracker\",\"resources\":{\"memory_mib\":256,\"cpus\":2,\"scratch_mib\":32}" >create.out &&
	jq -e ".ok" create.out
'

test_expect_success 'the pod runs under firecracker, with the config the node wrote' '
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >status &&
	jq -e ".result.driver == \"firecracker\" and .result.state == \"running\"" status &&
	pgrep -x firecracker >pids &&
	test_line_count -ge 1 pids &&
	cfg=$(find n -name firecracker.json | head -n 1) &&
	test "$(stat -c %a "$cfg")" = 600 &&
	python3 "$TEST_DIRECTORY/helper/schema-check.py" \
	    "$TEST_DIRECTORY/firecracker/firecracker-api.yaml" "$cfg"
'

test_expect_success 'a tool call reaches the proxy in the VM, through the vsock' '
	call $pod run "{\"argv\":[\"uname\",\"-r\"]}" >out &&
	jq -e ".ok and .result.exit == 0" out &&
	call $pod run "{\"argv\":[\"cat\",\"/proc/cpuinfo\"]}" >out &&
	test "$(jq -r .result.stdout out | grep -c "^processor")" = 2
'

test_expect_success 'no network device in the VM but loopback' '
	call $pod run "{\"argv\":[\"cat\",\"/proc/net/dev\"]}" >out &&
	jq -j .result.stdout out | tail -n +3 | cut -d: -f1 | tr -d " " >ifs &&
	echo lo >expect &&
	test_cmp expect ifs
'

test_expect_success 'the root is read-only, the scratch drive writable' '
	call $pod write "{\"path\":\"x.txt\",\"content\":\"hi\\n\"}" >out &&
	jq -e ".ok" out &&
	call $pod run "{\"argv\":[\"touch\",\"/usr/x\"]}" >out &&
	jq -e ".result.exit != 0" out
'

test_expect_success 'stopped: the VMM is gone' '
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	jq -e ".ok" out &&
	wait_for 100 sh -c "! pgrep -x firecracker" &&
	node_stop
'

test_done
