#!/bin/sh
test_description='nucleus-node: a local pod'"'"'s memory holds against its commands: the scratch bounds its inodes and fits in memory_mib, commands go before the proxy, whose end by the memory limit is said'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

probes=$(mktemp -d /var/tmp/nucleus-t4033.XXXXXX) || exit 2
pod=p-mem-$(basename "$probes" | cut -d. -f2)
test_cleanup() {
	rm -rf "$probes" "/dev/shm/$pod"
	pods_gone "$pod*"
}

# The pod's memory cgroup (v1 memory hierarchy, or v2).
pod_memcg() {
	cg=$(jq -r .result.cgroup "create-$1.out") &&
	for d in /sys/fs/cgroup/memory/nucleus/$cg /sys/fs/cgroup/nucleus/$cg; do
		if [ -d "$d" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# spec NAME MEMORY SCRATCH: a pod spec of those resources.
spec() {
	printf '{"v":1,"name":"%s","policy":"local_dev","agents":["agent-1"],"resources":{"memory_mib":%s,"scratch_mib":%s}}\n' \
	    "$1" "$2" "$3" >"spec-$1.json"
}

test_expect_success 'setup: a node, a pod of 256 MiB, 64 pids, 4 MiB of scratch' '
	chmod 755 "$probes" &&
	cp "$NUCLEUS_BUILD/t/helper/pod-probe" "$probes/" &&
	node_setup &&
	node_start -B "$probes" &&
	pod_create $pod "\"resources\":{\"memory_mib\":256,\"pids\":64,\"scratch_mib\":4}"
'

test_expect_success 'a scratch that does not fit in memory_mib with 96 MiB to spare is bad_request, naming both' '
	spec $pod-big 128 256 &&
	test_must_fail nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod-big.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"resources.scratch_mib: 256 MiB does not fit in resources.memory_mib 128\"))" out &&
	spec $pod-edge 128 33 &&
	test_must_fail nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod-edge.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"with 96 MiB left\"))" out &&
	node_events pod.refused | tail -n 1 | jq -e ".kind == \"bad_request\"" &&
	spec $pod-fits 128 32 &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$pod-fits.json >out &&
	jq -e ".ok and .result.state == \"running\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod-fits >out &&
	jq -e ".ok" out
'

test_expect_success 'empty files stop at the scratch'"'"'s inodes, 64 a MiB: a full disk, io_error, recorded' '
	cat >mk.sh <<-\EOF &&
	mkdir many || exit 1
	i=0
	while [ $i -lt 5000 ] && true >many/$i; do i=$((i + 1)); done
	echo $i
	EOF
	jq -Rs "{path: \"mk.sh\", content: .}" mk.sh >args.json &&
	call $pod write - <args.json >out &&
	call $pod run "{\"argv\":[\"sh\",\"mk.sh\"]}" >out &&
	n=$(jq -r .result.stdout out) &&
	test "$n" -gt 200 && test "$n" -lt 256 &&
	jq -e ".result.stderr | test(\"No space left on device\")" out &&
	test_expect_code 2 call $pod write "{\"path\":\"one-more\",\"content\":\"\"}" >out &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"No space left on device\"))" out &&
	pod_log $pod >podlog &&
	jq -c "select(.op == \"write\" and .subject == \"one-more\")" podlog >rec &&
	jq -c "select(.id == \"$(jq -r .id rec)\" and .event == \"outcome\")" podlog >outcome &&
	jq -e ".status == \"error\" and .kind == \"io_error\"" outcome
'

test_expect_success 'the pod is well: files go again once some are removed, its log verifies' '
	call $pod run "{\"argv\":[\"rm\",\"-r\",\"many\"]}" >out &&
	jq -e ".ok and .result.exit == 0" out &&
	call $pod write "{\"path\":\"one-more\",\"content\":\"\"}" >out &&
	jq -e ".ok" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock status $pod >out &&
	jq -e ".result.state == \"running\"" out &&
	pod_log $pod >podlog &&
	nucleus-audit-verify -q -k node.pub podlog
'

test_expect_success 'a command is the first the memory limit kills; the proxy records its outcome' '
	proxy=$(pod_proxy $pod) &&
	call $pod run "{\"argv\":[\"cat\",\"/proc/self/oom_score_adj\"]}" >out &&
	jq -e ".result.stdout == \"1000\\n\"" out &&
	call $pod run "{\"argv\":[\"env\",\"$probes/pod-probe\",\"hog\",\"1024\"]}" >out &&
	jq -e ".ok and .result.exit == null and .result.signal == 9" out &&
	test "$(pod_proxy $pod)" = "$proxy" &&
	pod_log $pod >podlog &&
	id=$(jq -r "select(.op == \"run\" and .subject[2] == \"hog\") | .id" podlog) &&
	jq -e "select(.id == \"$id\" and .event == \"outcome\") | .signal == 9" podlog
'

# caps PID: its effective capabilities, in hex.
caps() {
	sed -n "s/^CapEff:[[:space:]]*//p" /proc/$1/status
}

test_expect_success 'only the spawner keeps CAP_SYS_ADMIN of the pod: not the proxy, not a command' '
	proxy=$(pod_proxy $pod) &&
	test "$(caps $proxy)" = 0000000000000000 &&
	spawner=$(pgrep -P $proxy) &&
	test "$(caps $spawner)" = 0000000000200000 &&
	call $pod run "{\"argv\":[\"grep\",\"^Cap\",\"/proc/self/status\"]}" >out &&
	jq -j .result.stdout out | sed "s/[[:space:]]\{1,\}/ /" >got &&
	printf "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000200000\nCapAmb: 0000000000000000\n" >expect &&
	test_cmp expect got
'

# put FILE: FILE, from here, into the pod's /work.
put() {
	jq -Rs "{path: \"$1\", content: .}" "$1" >args.json &&
	call $pod write - <args.json >out &&
	jq -e ".ok" out >/dev/null
}

# The pod's processes now: its init, proxy and spawner, and nothing more.
pod_idle() {
	test "$(pod_procs $pod | wc -l)" = 3
}

test_expect_success 'in the pod: a 40-deep setsid chain and a double-forked daemon are gone at their outcome, and a chain past its timeout' '
	cat >chain.sh <<-\EOF &&
	# chain.sh N [top|hold]: N levels, each in a session of its own
	# started by the one before, which waits for it; the last writes
	# to late.txt until it is killed.  The top waits for the last to
	# start, says so, then exits (top) or sleeps on (hold).
	n=$1
	if [ "$n" -eq 0 ]; then
		: >deep
		while :; do echo x >>late.txt; sleep 0.1; done
	fi
	setsid sh chain.sh $((n - 1)) &
	if [ -z "$2" ]; then
		wait
		exit 0
	fi
	i=0
	while [ ! -e deep ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e deep ] && echo deep
	[ "$2" = hold ] && sleep 3600
	exit 0
	EOF
	printf "( setsid sleep 3520 & )\necho started\n" >daemon.sh &&
	put chain.sh && put daemon.sh &&
	pod_idle &&
	call $pod run "{\"argv\":[\"sh\",\"chain.sh\",\"40\",\"top\"],\"timeout\":60}" >out &&
	jq -e ".ok and .result.exit == 0 and .result.stdout == \"deep\\n\"" out &&
	pod_idle &&
	call $pod run "{\"argv\":[\"sh\",\"daemon.sh\"]}" >out &&
	jq -e ".ok and .result.stdout == \"started\\n\"" out &&
	pod_idle &&
	call $pod run "{\"argv\":[\"rm\",\"deep\"]}" >out &&
	test_must_fail call $pod run "{\"argv\":[\"sh\",\"chain.sh\",\"40\",\"hold\"],\"timeout\":5}" >out &&
	jq -e ".error.kind == \"timeout\" and .error.stdout == \"deep\\n\"" out &&
	pod_idle
'

test_expect_success 'in the pod: orphans are reaped, no zombie stays' '
	cat >orphans.sh <<-\EOF &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		( true & )
	done
	i=0
	while [ $i -lt 40 ] && ps -eo stat= | grep -q "^Z"; do
		sleep 0.05
		i=$((i + 1))
	done
	ps -eo stat= | grep -c "^Z"
	exit 0
	EOF
	put orphans.sh &&
	call $pod run "{\"argv\":[\"sh\",\"orphans.sh\"]}" >out &&
	jq -e ".ok and .result.stdout == \"0\\n\"" out
'

test_expect_success 'in the pod: a fork bomb stops at pids; all of it ends at its timeout; the proxy answers' '
	cat >bomb.sh <<-\EOF &&
	# Every process starts two more and waits, for ever (a fork that
	# fails ends that shell); the first forks once, then only waits
	# (a builtin), until its timeout.
	bomb() { bomb & bomb & wait; }
	bomb 2>/dev/null &
	while :; do wait; done
	EOF
	put bomb.sh &&
	max0=$(sed -n "s/^max //p" "$(pod_cgroup $pod)/pids.events") &&
	test_must_fail call $pod run "{\"argv\":[\"sh\",\"bomb.sh\"],\"timeout\":3}" >out &&
	jq -e ".error.kind == \"timeout\" and .error.timed_out" out &&
	pod_idle &&
	test "$(sed -n "s/^max //p" "$(pod_cgroup $pod)/pids.events")" -gt "$max0" &&
	call $pod run "{\"argv\":[\"echo\",\"alive\"]}" >out &&
	jq -e ".result.stdout == \"alive\\n\"" out &&
	pod_log $pod >podlog &&
	nucleus-audit-verify -q -k node.pub podlog
'

# flood N: N commands at once, each writing 8 MiB to its stdout;
# their answers in flood-1.out ... flood-N.out.
flood() {
	i=1
	while [ $i -le "$1" ]; do
		call $pod run "{\"argv\":[\"head\",\"-c\",\"8388608\",\"/dev/zero\"]}" >flood-$i.out 2>/dev/null &
		i=$((i + 1))
	done
	wait
}

test_expect_success 'in the pod: 8 commands at once flood their output: each answered, capped or refused; the proxy answers' '
	flood 8 &&
	for i in 1 2 3 4 5 6 7 8; do
		jq -e "(.ok and .result.stdout_truncated) or .error.kind == \"unavailable\"" flood-$i.out >/dev/null || return 1
	done &&
	test "$(cat flood-*.out | jq -s "map(select(.ok)) | length")" -ge 1 &&
	pod_idle &&
	call $pod run "{\"argv\":[\"echo\",\"alive\"]}" >out &&
	jq -e ".result.stdout == \"alive\\n\"" out &&
	node_alive &&
	pod_log $pod >podlog &&
	nucleus-audit-verify -q -k node.pub podlog
'

# Lowering an OOM score takes CAP_SYS_RESOURCE, which a container may
# not give even to root.
test_lazy_prereq SYS_RESOURCE 'sh -c "echo -1 >/proc/self/oom_score_adj"'

test_expect_success SYS_RESOURCE 'the proxy is the last: its score is -999' '
	test "$(cat /proc/$(pod_proxy $pod)/oom_score_adj)" = -999
'

# fill_pod_memory: memory charged to the pod and held by no process of
# it, as files are: a host process in the pod's memory cgroup writes a
# file of the host's /dev/shm until the limit takes what it can.
fill_pod_memory() {
	memcg=$(pod_memcg $pod) &&
	sh -c "echo \$\$ >$memcg/cgroup.procs &&
	    exec dd if=/dev/zero of=/dev/shm/$pod bs=1M count=512" >dd.out 2>&1 &
	echo $! >dd.pid
}

test_expect_success 'a proxy the memory limit kills ends the pod, and pod.exit says why' '
	test_when_finished "kill -KILL \$(cat dd.pid) 2>/dev/null; rm -f /dev/shm/$pod" &&
	fill_pod_memory &&
	wait_for 300 eval "node_events pod.exit | grep -q \"\\\"$pod\\\"\"" &&
	node_events pod.exit | grep "\"$pod\"" >exits &&
	jq -e ".oom_kills > 1 and .status == 137 and .reason == \"the memory limit killed the proxy\"" exits
'

test_expect_success 'a pod the node stops gives no such reason; the node is well, its log verifies' '
	node_events pod.exit | grep "\"$pod-fits\"" >exits &&
	jq -e "has(\"reason\") | not" exits &&
	node_alive &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
