#!/bin/sh
test_description='nucleus-node: a qemu pod, booted for real (TCG unless KVM runs a plain guest): the same tools as a local pod, only lo, a read-only root, scratch_mib, the log verified on the host, QEMU filtered, in its cgroup, not root, and reaped when killed'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

# Under SANITIZE the node is sanitized, the guest's static proxy never:
# the plain build's guest image serves (make check makes it first).
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

pod=p-vm-$$
test_cleanup() {
	pods_gone "$pod*"
}

# run ARGV-JSON-ITEMS: a command in the VM; its answer in out.
run() {
	call $pod run "{\"argv\":[$1]}" >out
}

qemu_pid() {
	for p in $(pod_procs $pod); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] &&
		    echo "$p" && return 0
	done
	return 1
}

test_expect_success 'setup: a node with the guest image, a work root with a project holding a secret' '
	node_setup &&
	mkdir -p root/proj/src &&
	echo "int x;" >root/proj/src/x.c &&
	echo "SECRET=1" >root/proj/.env &&
	node_start -G "$guest" -W "$PWD/root" &&
	grep "^nucleus-node: VMs: .*qemu-system-x86_64, \(KVM\|TCG\)" node.err
'

test_expect_success 'pod.create answers once the guest said hello; meanwhile the pod is starting and the node serves' '
	{ pod_create $pod "\"driver\":\"qemu\",\"resources\":{\"memory_mib\":256,\"scratch_mib\":16},\"work\":{\"copy\":\"proj\"}" & } &&
	creator=$! &&
	wait_for 100 sh -c "nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	    jq -e \".result.pods[] | select(.pod == \\\"$pod\\\") | .state == \\\"starting\\\"\" list" &&
	test_wait_exit "pod.create to answer" 120 $creator &&
	jq -e ".result.driver == \"qemu\" and .result.state == \"running\"" create-$pod.out
'

test_expect_success 'write, read and run behave as on the local driver' '
	call $pod write "{\"path\":\"a.txt\",\"content\":\"hello from the host\n\"}" >out &&
	jq -e ".ok and .result.created" out &&
	call $pod read "{\"path\":\"a.txt\"}" >out &&
	jq -e ".result.data == \"hello from the host\n\"" out &&
	run "\"cat\",\"a.txt\"" &&
	jq -e ".result.exit == 0 and .result.stdout == \"hello from the host\n\"" out &&
	test_expect_code 1 call $pod read "{\"path\":\"../etc/nucleus/trust\"}" >out &&
	jq -e ".ok == false" out
'

test_expect_success 'work.copy: the project is in the VM, the secret its policy blocks is not' '
	jq -e ".result.work == {\"copy\": \"proj\", \"left_out\": 1}" create-$pod.out &&
	run "\"cat\",\"src/x.c\"" &&
	jq -e ".result.exit == 0 and .result.stdout == \"int x;\n\"" out &&
	run "\"cat\",\".env\"" &&
	jq -e ".result.exit != 0 and (.result.stderr | test(\"No such file\"))" out &&
	run "\"ls\",\"-a\"" &&
	jq -e ".result.exit == 0 and (.result.stdout | test(\"env\") | not)" out
'

test_expect_success 'inside: no network interface but lo' '
	run "\"ls\",\"/sys/class/net\"" &&
	jq -e ".result.exit == 0 and .result.stdout == \"lo\n\"" out
'

test_expect_success 'inside: the root and the commands are read-only; /work and /tmp are the scratch drive' '
	run "\"cat\",\"/proc/mounts\"" &&
	jq -r .result.stdout out >mounts &&
	grep "^rootfs / rootfs ro[ ,]" mounts &&
	grep "^/dev/vd[a-z] /usr squashfs ro[ ,]" mounts &&
	grep "^/dev/vd[a-z] /work ext4 rw[ ,]" mounts &&
	grep "^/dev/vd[a-z] /tmp ext4 rw[ ,]" mounts &&
	grep "^tmpfs /var/lib/nucleus tmpfs rw[ ,].*size=65536k" mounts
'

test_expect_success 'inside: scratch_mib holds, and a full disk is an error, not a crash' '
	run "\"cp\",\"/dev/zero\",\"big\"" &&
	jq -e ".result.exit != 0" out &&
	jq -r .result.stderr out | grep "No space left on device" &&
	call $pod read "{\"path\":\"a.txt\"}" >out &&
	jq -e ".ok" out
'

test_expect_success 'QEMU: in the pod cgroup, under a seccomp filter, not root' '
	q=$(qemu_pid) &&
	grep "^Seccomp:[[:space:]]*2$" /proc/$q/status &&
	grep "^NoNewPrivs:[[:space:]]*1$" /proc/$q/status &&
	! grep "^Uid:[[:space:]]*0" /proc/$q/status &&
	grep "^$q$" "$(pod_cgroup $pod)/cgroup.procs"
'

test_expect_success 'the host copy of the pod log verifies with the node key' '
	copy=$(jq -r .result.audit_copy create-$pod.out) &&
	wait_for 50 test -s "$copy" &&
	nucleus-audit-verify -q -k node.pub "$copy" &&
	jq -s -e "[.[] | select(.event == \"boot\")] | length == 1" "$copy"
'

test_expect_success 'QEMU killed: the node notices, records the end, keeps the copy' '
	copy=$(jq -r .result.audit_copy create-$pod.out) &&
	kill -KILL $(qemu_pid) &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"$pod\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods | length == 0" list &&
	nucleus-audit-verify -q -k node.pub "$copy" &&
	test_expect_code 1 call $pod read "{\"path\":\"a.txt\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out
'

test_expect_success 'the node killed: QEMU runs on; killed meanwhile, the next node reports the pod lost (t5030: taken back)' '
	pod_create $pod-k "\"driver\":\"qemu\"" &&
	q=$(for p in $(pod_procs $pod-k); do
		[ "$(cat /proc/$p/comm)" = qemu-system-x86 ] && echo $p; done) &&
	test -n "$q" &&
	cg=$(pod_cgroup $pod-k) &&
	kill -KILL "$(cat node.pid)" && rm node.pid &&
	kill -0 "$q" &&
	kill -KILL "$q" &&
	wait_for 100 sh -c "! grep -q . $cg/cgroup.procs" &&
	node_start -G "$guest" &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods[] | select(.pod == \"$pod-k\") | .state == \"lost\"" list &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-k >out &&
	jq -e ".result.state == \"removed\"" out
'

test_expect_success 'a guest that cannot boot: pod.create says internal, names the console; the node serves on' '
	mkdir bad &&
	cp "$guest/vmlinux" "$guest/root.squashfs" bad/ &&
	head -c 4096 /dev/urandom >bad/initramfs.cpio &&
	chmod 755 bad && chmod 644 bad/* &&
	node_stop && node_start -G "$PWD/bad" &&
	test_expect_code 2 pod_create $pod-bad "\"driver\":\"qemu\"" &&
	jq -e ".error.kind == \"internal\"" create-$pod-bad.out &&
	jq -r .error.message create-$pod-bad.out | grep "console.log" &&
	node_wait_event ".event == \"pod.refused\" and .pod == \"$pod-bad\"" &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".ok and (.result.pods | length == 0)" list
'

test_expect_success 'a driver the host cannot run, or an image the node lacks: a bad request, before anything starts' '
	test_expect_code 2 pod_create $pod-nope "\"driver\":\"qemu\",\"image\":\"nope\"" &&
	jq -e ".error.kind == \"bad_request\"" create-$pod-nope.out &&
	jq -r .error.message create-$pod-nope.out | grep "image: no .*/nope.squashfs" &&
	if ! nucleus-node doctor -j | jq -e ".checks.kvm.ok" >/dev/null ||
	    ! command -v firecracker >/dev/null; then
		test_expect_code 2 pod_create $pod-fc "\"driver\":\"firecracker\"" &&
		jq -e ".error.kind == \"bad_request\"" create-$pod-fc.out &&
		jq -r .error.message create-$pod-fc.out | grep "firecracker driver needs"
	fi &&
	! test -e n/pods/$pod-nope/vm && ! test -e n/pods/$pod-fc/vm
'

test_expect_success 'the node stopped while a VM boots: it ends, and so does QEMU; the creator is told' '
	node_stop && node_start -G "$guest" &&
	{ pod_create $pod-late "\"driver\":\"qemu\"" & } &&
	creator=$! &&
	wait_for 100 sh -c "nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	    jq -e \".result.pods[] | select(.state == \\\"starting\\\")\" list" &&
	node_stop &&
	test_expect_code 2 test_wait_exit "its creator to be told" 60 $creator &&
	{ ! test -s create-$pod-late.out ||
	  jq -e ".error.kind == \"unavailable\"" create-$pod-late.out; } &&
	! pgrep -f "n/pods/$pod-late/" >/dev/null
'

test_expect_success 'teardown' '
	node_stop
'

test_done
