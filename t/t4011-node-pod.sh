#!/bin/sh
test_description='nucleus-node: inside a local pod, through signed requests: loopback only, a read-only root, scratch_mib, memory and pids limits, the host hidden, the proxy out of reach'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# The probes are bound into the pod by -B; not from beneath /work, where
# the build is, since the pod's /work is its own.
probes=$(mktemp -d /var/tmp/nucleus-t4011.XXXXXX) || exit 2
# Landlock's signal scope (ABI 6) keeps commands from signalling the proxy.
test_lazy_prereq LANDLOCK_SIGNAL 'try-landlock 6'

# Cgroups are the host's: a name no other run of this test has.
pod=p-box-$(basename "$probes" | cut -d. -f2)
test_cleanup() {
	rm -rf "$probes"
	pods_gone "$pod*"
}

# run ARGV-JSON-ITEMS: run a command in the pod; its answer in out.
run() {
	call $pod run "{\"argv\":[$1]}" >out
}

probe() {
	run "\"env\",\"$probes/pod-probe\",$1"
}

test_expect_success 'setup: a node with the probes bound, a pod of 256 MiB, 32 pids, 4 MiB of scratch' '
	chmod 755 "$probes" &&
	cp "$NUCLEUS_BUILD/t/helper/pod-probe" "$probes/" &&
	node_setup &&
	node_start -B "$probes" &&
	pod_create $pod "\"resources\":{\"memory_mib\":256,\"pids\":32,\"scratch_mib\":4}" &&
	test "$(cat "$(pod_cgroup $pod)/pids.max")" = 32
'

test_expect_success 'no process of the pod holds the node'"'"'s secret key, which the node does' '
	seed=$(sed -n "s/^ed25519-secret [^ ]* //p" n/node.key | base64 -d |
	    od -An -tx1 | tr -d " \n") &&
	test ${#seed} = 64 &&
	mem-find "$(cat node.pid)" "$seed" >/dev/null &&
	procs=$(pod_procs $pod) &&
	test -n "$procs" &&
	for p in $procs; do
		test_expect_code 1 mem-find "$p" "$seed" || return 1
	done
'

test_expect_success 'serve refuses a bind that is relative, hidden by the sandbox, or one too many' '
	test_expect_code 2 nucleus-node serve -d n -l x.sock -B usr 2>err &&
	grep -q "^nucleus-node: -B usr: expected an absolute path" err &&
	test_expect_code 2 nucleus-node serve -d n -l x.sock -B /work/x 2>err &&
	grep -q "the sandbox mounts over it" err &&
	test_expect_code 2 nucleus-node serve -d n -l x.sock -B /var 2>err &&
	grep -q "the sandbox mounts beneath it" err &&
	test_expect_code 2 nucleus-node serve -d n -l x.sock -B /a/../etc 2>err &&
	grep -q "with \.\. in it" err &&
	set -- &&
	for i in $(seq 1 29); do set -- "$@" -B /usr/share; done &&
	test_expect_code 2 nucleus-node serve -d n -l x.sock "$@" 2>err &&
	grep -q "too many paths" err &&
	! test -e x.sock
'

test_expect_success 'only the loopback exists: shown by run and by a probe' '
	run "\"cat\",\"/proc/net/dev\"" &&
	jq -e ".ok and .result.exit == 0" out &&
	jq -j .result.stdout out | tail -n +3 | cut -d: -f1 | tr -d " " >ifs &&
	echo lo >expect &&
	test_cmp expect ifs &&
	probe "\"net\"" &&
	printf "if lo\nroute 0\n" >expect &&
	jq -j .result.stdout out >got &&
	test_cmp expect got
'

test_expect_success 'the root is read-only; only /work and /tmp take a new file' '
	run "\"touch\",\"/x\"" &&
	jq -e ".ok and .result.exit == 1 and (.result.stderr | test(\"Read-only file system\"))" out &&
	run "\"grep\",\" / \",\"/proc/self/mounts\"" &&
	jq -e ".result.stdout | test(\"^root / tmpfs ro,\")" out &&
	probe "\"rofs\",\"/\",\"/usr\",\"/etc\",\"/nucleus\",\"$probes\",\"/work\",\"/tmp\"" &&
	cat >expect <<-EOF &&
	create / EROFS
	create /usr EROFS
	create /etc EROFS
	create /nucleus EROFS
	create $probes EROFS
	create /work ok
	create /tmp ok
	EOF
	jq -j .result.stdout out >got &&
	test_cmp expect got
'

test_expect_success 'the host processes are invisible: the pod sees its init and its proxy' '
	probe "\"procs\",\"$(cat node.pid)\"" &&
	jq -j .result.stdout out >got &&
	sed -n "s/^proc [0-9]* //p" got | sort -u >comms &&
	printf "nucleus-node\nnucleus-proxy\n" >expect &&
	test_cmp expect comms &&
	test "$(grep -c "^proc " got)" -le 4 &&
	grep -qx "kill $(cat node.pid) ESRCH" got &&
	run "\"ls\",\"/proc\"" &&
	jq -j .result.stdout out | grep -c "^[0-9]" >nprocs &&
	test "$(cat nprocs)" -le 5
'

# write PATH MODE: 512 KiB more in PATH (the args are too long for argv).
write_chunk() {
	{
		printf "{\"path\":\"%s\",\"mode\":\"%s\",\"content\":\"" "$1" "$2" &&
		head -c 524288 /dev/zero | tr "\0" s &&
		printf "\"}"
	} >args.json &&
	call $pod write - <args.json >out
}

test_expect_success 'a write past scratch_mib fails with io_error, recorded; the pod goes on' '
	i=0 && while [ $i -lt 16 ] && write_chunk fill append; do
		i=$((i + 1))
	done &&
	test $i -lt 16 && test $i -ge 4 &&
	test_expect_code 2 write_chunk more create &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"No space left on device\"))" out &&
	pod_log $pod >podlog &&
	jq -c "select(.op == \"write\" and .subject == \"more\")" podlog >rec &&
	test_line_count = 1 rec &&
	jq -c "select(.id == \"$(jq -r .id rec)\" and .event == \"outcome\")" podlog >outcome &&
	jq -e ".status == \"error\" and .kind == \"io_error\" and (.reason | test(\"No space left on device\"))" outcome &&
	call $pod delete "{\"path\":\"fill\"}" >out &&
	write_chunk more create &&
	jq -e ".result.bytes == 524288" out
'

test_expect_success 'a memory hog is killed by the memory limit, and the kill counted' '
	# A command is the first the OOM killer takes, never the proxy.
	run "\"cat\",\"/proc/self/oom_score_adj\"" &&
	jq -e ".result.stdout == \"1000\\n\"" out &&
	probe "\"hog\",\"16\"" &&
	jq -e ".result.exit == 0 and .result.stdout == \"allocated 16\\n\"" out &&
	grep -qx "oom_kill 0" /sys/fs/cgroup/memory/nucleus/$(jq -r .result.cgroup create-$pod.out)/memory.oom_control &&
	probe "\"hog\",\"1024\"" &&
	jq -e ".ok and .result.exit == null and .result.signal == 9 and .result.stdout == \"\"" out &&
	grep -qx "oom_kill 1" /sys/fs/cgroup/memory/nucleus/$(jq -r .result.cgroup create-$pod.out)/memory.oom_control &&
	run "\"echo\",\"alive\"" &&
	jq -e ".result.stdout == \"alive\\n\"" out
'

test_expect_success 'a fork bomb stops at pids.max with EAGAIN; the proxy still runs commands' '
	probe "\"forkbomb\"" &&
	jq -j .result.stdout out >got &&
	grep -qx "error EAGAIN" got &&
	forks=$(sed -n "s/^forks //p" got) &&
	test "$forks" -gt 16 && test "$forks" -lt 32 &&
	grep -q "^max [1-9]" "$(pod_cgroup $pod)/pids.events" &&
	run "\"echo\",\"alive\"" &&
	jq -e ".result.stdout == \"alive\\n\"" out
'

test_expect_success LANDLOCK_SIGNAL 'the proxy survives a command that kills everything it can' '
	proxy=$(pod_proxy $pod) &&
	probe "\"killall\"" &&
	jq -e ".ok and .result.exit == 0" out &&
	jq -j .result.stdout out >got &&
	grep -qx "kill ppid EPERM" got &&
	! grep -q "nucleus-.* ok$" got &&
	test "$(pod_proxy $pod)" = "$proxy" &&
	run "\"echo\",\"alive\"" &&
	jq -e ".result.stdout == \"alive\\n\"" out &&
	node_events pod.exit >exits &&
	test_line_count = 0 exits
'

test_expect_success 'the pod log verifies with the node key and holds each probe' '
	pod_log $pod >podlog &&
	nucleus-audit-verify -q -k node.pub podlog &&
	jq -c "select(.op == \"run\" and .subject[1] == \"$probes/pod-probe\")" podlog >runs &&
	test_line_count = 7 runs &&
	jq -r "select(.subject[2] == \"hog\" and .subject[3] == \"1024\") | .id" runs >hogid &&
	jq -c "select(.event == \"outcome\" and .id == \"$(cat hogid)\")" podlog >outcome &&
	jq -e ".status == \"ok\" and .signal == 9 and .exit == null" outcome
'

test_expect_success 'a stopped pod is recorded with its memory kill' '
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	jq -e ".result.state == \"stopping\"" out &&
	wait_for 100 eval "node_events pod.exit >exits && test -s exits" &&
	jq -e ".pod == \"$pod\" and .oom_kills == 1" exits
'

test_expect_success 'the stopped pod exit status is the kill of its init' '
	jq -e ".status == 137" exits
'

test_expect_success 'the node stops; its log verifies' '
	node_stop &&
	tail -n 1 n/audit.log | jq -e ".event == \"node.stop\"" &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_expect_success 'a node killed outright leaves its pods running, even one that hangs; the next node takes it back' '
	node_start -B "$probes" &&
	pod_create $pod-2 &&
	cg=$(pod_cgroup $pod-2) &&
	proxy=$(pod_proxy $pod-2) &&
	kill -STOP "$proxy" &&
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the killed node to end" 10 test_pid_ended "$pid" &&
	grep -q "^$proxy\$" "$cg/cgroup.procs" &&
	kill -CONT "$proxy" &&
	node_start -B "$probes" &&
	node_wait_event ".event == \"pod.adopt\"" &&
	nucleus-node pod -k admin.key -l n/node.sock stop $pod-2 >/dev/null &&
	wait_for 100 eval "! grep -q . \"$cg/cgroup.procs\"" &&
	node_stop
'

test_done
