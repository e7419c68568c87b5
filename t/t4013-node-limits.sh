#!/bin/sh
test_description='nucleus-node: its fixed limits, each crossed: 64 clients (80 for root), 64 requests in flight per client, 64 MiB unread per client, 64 pods'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# Cgroups are the host's: names no other run of this test has.
sfx=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d " \n")
pod=p-lim-$sfx
test_cleanup() {
	pods_gone "p-*$sfx*"
}

# The pod's log: its decisions on OP, counted.
decisions() {
	pod_log $pod | jq -c "select(.event == \"decision\" and .op == \"$1\")" | wc -l
}

# Every process of the pod stopped (STOP) or let go on (CONT).
pod_signal() {
	kill -"$1" $(pod_procs $pod)
}

# The node's open descriptors, counted.
node_fds() {
	ls /proc/$(cat node.pid)/fd | wc -l
}

# Until the node has closed every client connection of a test before.
node_idle() {
	wait_for 100 eval "test \$(node_fds) -eq $(cat fds0)"
}

test_expect_success 'setup: a node, 8 agents, a pod' '
	node_setup 8 &&
	node_start &&
	# Room for 64 answers of 1 MB in flight in the proxy, and for the
	# quarantine of freed memory under the sanitizers.
	pod_create $pod "\"resources\":{\"memory_mib\":2048,\"scratch_mib\":64}" &&
	node_fds >fds0
'

test_expect_success '64 clients at once are each served, and each request recorded by the pod' '
	node-load -b -c 64 -n 640 -P $pod n/node.sock agent-*.key >load &&
	cat load &&
	grep -q "^conns=64 refused=0 sent=640 answered=640 ok=640 errors=0 kinds=- dups=0 " load &&
	test "$(decisions stat)" -eq 640 &&
	node_events request.refused >refused &&
	test_line_count = 0 refused
'

test_expect_success 'root, past the 64 any uid may hold, has 16 more: the 81st client at once is turned away with unavailable; the 80 others are served' '
	node_idle &&
	node-load -b -c 81 -n 810 -P $pod n/node.sock agent-*.key >load &&
	cat load &&
	grep -q "^conns=81 refused=1 sent=800 answered=800 ok=800 errors=0 kinds=- dups=0 " load &&
	test "$(decisions stat)" -eq 1440 &&
	node_idle &&
	echo "{}" | sockload hold-lines "$PWD/n/node.sock" 1 >answer &&
	jq -e ".error.kind == \"bad_request\"" answer
'

test_expect_success 'the client turned away is recorded in the node log, once a second at most' '
	wait_for 30 eval "node_events conn.refused >busy && test -s busy" &&
	test_line_count = 1 busy &&
	jq -e ".count == 1 and .kind == \"unavailable\" and .last_uid == 0" busy
'

test_expect_success 'a client has at most 64 requests in flight: the next line waits for an answer' '
	node-load -w -n 63 -P $pod agent-1.key >reqs63 &&
	node-load -w -n 64 -P $pod agent-2.key >reqs64 &&
	node-load -w -n 1 -P p-none-$sfx agent-3.key >stray63 &&
	node-load -w -n 1 -P p-none-$sfx agent-4.key >stray64 &&
	# While the pod is stopped, its requests stay in flight: behind 63
	# of them a stray line is answered, behind 64 it is not read.
	pod_signal STOP &&
	{ cat reqs63 stray63 | unixcat n/node.sock >out63 & } &&
	c63=$! &&
	{ cat reqs64 stray64 | unixcat n/node.sock >out64 & } &&
	c64=$! &&
	{ wait_for 300 test -s out63; got63=$?; } &&
	{ wait_for 20 test -s out64; got64=$?; } &&
	node_events request.refused | jq -c "select(.kind == \"unknown_pod\")" >refused &&
	pod_signal CONT &&
	test_wait_for "the 63 and 64 requests answered" 60 eval "test_child_ended $c63 && test_child_ended $c64" &&
	test $got63 = 0 && test $got64 = 1 &&
	test_line_count = 1 refused &&
	jq -e ".claimed_kid == null and .signer == \"agent-3\"" refused &&
	test_line_count = 64 out63 &&
	head -n 1 out63 | jq -e ".error.kind == \"unknown_pod\"" &&
	test_line_count = 65 out64 &&
	head -n 1 out64 | jq -e ".ok and .id == \"r-0-0\"" &&
	jq -c "select(.ok | not)" out64 >notok &&
	test_line_count = 1 notok &&
	jq -e ".error.kind == \"unknown_pod\"" notok &&
	node_events request.refused | jq -c "select(.kind == \"unknown_pod\")" >refused &&
	test_line_count = 2 refused
'

rss_kb() {
	awk "/^VmRSS:/ { print \$2 }" /proc/$(cat node.pid)/status
}

test_expect_success 'a client that reads nothing is held to 64 MiB of answers, and loses none' '
	{
		printf "{\"path\":\"big.txt\",\"content\":\"" &&
		head -c 1000000 /dev/zero | tr "\0" b &&
		printf "\"}"
	} >big.json &&
	call $pod write - <big.json >out &&
	reads0=$(decisions read) &&
	node-load -w -n 300 -o read -a "{\"path\":\"big.txt\"}" -P $pod agent-1.key >reqs &&
	{ sockload stall-until n/node.sock go <reqs >stalled & } &&
	stall=$! &&
	# 64 MiB of answers unread and 64 requests in flight: about 132
	# reads reach the pod, then no more until the client reads.
	wait_for 600 eval "test \$(decisions read) -ge $((reads0 + 128))" &&
	! wait_for 20 eval "test \$(decisions read) -gt $((reads0 + 140))" &&
	rss=$(rss_kb) &&
	reached=$(($(decisions read) - reads0)) &&
	call $pod stat "{\"path\":\"big.txt\"}" >out &&
	jq -e ".result.size == 1000000" out &&
	touch go &&
	test_wait_exit "the stalled client to read its answers" 120 $stall &&
	echo "reads that reached the pod while stalled: $reached; node RSS $rss kB" &&
	test_line_count = 300 stalled &&
	jq -r "select(.ok and (.result.data | length) == 1000000) | .id" stalled | sort -u >ids &&
	test_line_count = 300 ids &&
	test "$(decisions read)" -eq $((reads0 + 300)) &&
	# Unbounded, the node would hold 300 answers (300 MB) at once.
	{ test_have_prereq SANITIZE || test "$rss" -lt 280000; }
'

test_expect_success 'four clients that read nothing: the node holds at most 256 MiB of answers in all, not 132 MB each' '
	reads0=$(decisions read) &&
	rm -f go4 &&
	test_when_finished "touch go4" &&
	for i in 1 2 3 4; do
		node-load -w -n 150 -o read -a "{\"path\":\"big.txt\"}" -P $pod agent-$i.key >reqs-$i &&
		{ sockload stall-until n/node.sock go4 <reqs-$i >stalled-$i & } ||
		return 1
	done &&
	wait_for 600 eval "test \$(decisions read) -ge $((reads0 + 256))" &&
	sleep 10 &&
	rss=$(rss_kb) &&
	echo "reads that reached the pod: $(($(decisions read) - reads0)); node RSS $rss kB" &&
	touch go4 &&
	# Bounded per client only, the node would hold 4 x 132 MB.
	{ test_have_prereq SANITIZE || test "$rss" -lt 400000; }
'

test_expect_success 'at most 64 pods: the 65th is unavailable; one stopped makes room' '
	small="\"resources\":{\"memory_mib\":128,\"pids\":16,\"scratch_mib\":1}" &&
	for i in $(seq 2 64); do
		pod_create p-$sfx-$i "$small" || return 1
	done &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods | length == 64" list &&
	test_expect_code 2 pod_create p-$sfx-65 "$small" &&
	jq -e ".error.kind == \"unavailable\" and .error.message == \"the node runs as many pods as it may\"" create-p-$sfx-65.out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-$sfx-64 >out &&
	wait_for 100 eval "node_events pod.exit | grep -q p-$sfx-64" &&
	pod_create p-$sfx-65 "$small"
'

test_expect_success 'the 65th pod refused is recorded in the node log' '
	node_events pod.refused | jq -c "select(.kind == \"unavailable\")" >full &&
	test_line_count = 1 full
'

test_expect_success 'the node still serves; it stops with every pod; its log verifies' '
	call $pod stat "{\"path\":\".\"}" >out &&
	jq -e ".ok" out &&
	node_stop &&
	tail -n 1 n/audit.log | jq -e ".event == \"node.stop\"" &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	! ls /sys/fs/cgroup/pids/nucleus/ | grep -q "$sfx"
'

test_done
