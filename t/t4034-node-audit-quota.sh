#!/bin/sh
test_description='nucleus-node: a pod'"'"'s host copy within its quota (audit.record_kib, audit.copy_mib, audit.rate_kib, serve -C), the room the node keeps on its disk, and the pods'"'"' unfinished lines within the node'"'"'s memory (serve -M): past any, the pod is stopped and pod.audit_fault names the limit; and proxy.err within 1 MiB'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# quota_pod NAME AUDIT: a pod whose spec's audit member is AUDIT.
quota_pod() {
	printf '{"v":1,"name":"%s","policy":"local_dev","agents":["agent-7"],"resources":{"memory_mib":256,"pids":64,"scratch_mib":32},"audit":%s}\n' \
	    "$1" "$2" >"spec-$1.json" &&
	nucleus-node pod -j -k admin.key -l n/node.sock create "spec-$1.json"
}

# N stat requests to POD, each for a path of BYTES bytes: each makes a
# decision record of a little more than BYTES (the path is its subject).
stats() {
	path=$(head -c "$3" /dev/zero | tr "\\0" p) &&
	for i in $(seq 1 "$2")
	do
		nreq "s$i" agent-7 agent.key "$1" stat "{\"path\":\"$path\"}" || return 1
	done
}

# POD was stopped for its copy: its fault recorded once, naming WHAT;
# its exit recorded; its copy verifies and holds no line longer than
# MAX bytes, and at most COPY bytes in all.
stopped_for() {
	node_wait_event ".event == \"pod.exit\" and .pod == \"$1\"" &&
	jq -s -c "[.[] | select(.event == \"pod.audit_fault\" and .pod == \"$1\")]" n/audit.log >fault &&
	jq -e "length == 1 and (.[0].message | test(\"$2\"))" fault &&
	copy=$(jq -r .result.audit_copy "create-$1") &&
	nucleus-audit-verify -q -k node.pub "$copy" &&
	test "$(jq ".[0].records" fault)" -le "$(wc -l <"$copy")" &&
	test "$(awk "{ if (length(\$0) > m) m = length(\$0) } END { print m + 0 }" "$copy")" -le "${3:-1048576}" &&
	test "$(wc -c <"$copy")" -le "${4:-1073741824}"
}

test_expect_success 'setup' '
	authority_setup &&
	node_setup &&
	node_start
'

test_expect_success 'a spec'"'"'s audit quota out of its bounds: bad_request naming it' '
	for bad in "{\"record_kib\":3}" "{\"copy_mib\":0}" "{\"rate_kib\":1048577}" "{\"copy_mib\":\"1\"}" "{\"size\":1}" "[]"
	do
		test_expect_code 2 quota_pod p-bad "$bad" >out &&
		jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"^audit\"))" out || return 1
	done &&
	jq -e ".error.message | test(\"^audit: expected an object\")" out
'

test_expect_success 'a pod within its quota is served; its copy grows' '
	quota_pod p-ok "{\"record_kib\":8,\"copy_mib\":1,\"rate_kib\":64}" >create-p-ok &&
	ncall p-ok write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	stats p-ok 3 3000 | nsend >out &&
	test_line_count = 3 out &&
	jq -s -e "all(.[]; .error.kind != \"unavailable\")" out
'

test_expect_success 'a record past audit.record_kib: the pod is stopped, the fault names the quota, the copy has none of it' '
	quota_pod p-rec "{\"record_kib\":4}" >create-p-rec &&
	stats p-rec 1 4000 | nsend >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit copy failed\"))" out &&
	stopped_for p-rec "audit.record_kib quota of 4096 bytes" 4096
'

test_expect_success 'a copy past audit.copy_mib: the pod is stopped, the fault names the quota, the copy stays within it' '
	quota_pod p-size "{\"copy_mib\":1,\"rate_kib\":1048576}" >create-p-size &&
	stats p-size 300 4000 | nsend >out &&
	jq -s -e "any(.[]; .error.message | test(\"audit copy failed\"))" out &&
	stopped_for p-size "audit.copy_mib quota of 1048576 bytes" 131072 1048576
'

test_expect_success 'records faster than audit.rate_kib: the pod is stopped, the fault names the quota' '
	quota_pod p-rate "{\"rate_kib\":1}" >create-p-rate &&
	stats p-rate 40 1000 | nsend >out &&
	jq -s -e "any(.[]; .error.message | test(\"audit copy failed\"))" out &&
	stopped_for p-rate "audit.rate_kib quota of 1024 bytes a second" &&
	# The pods beside it are served.
	ncall p-ok stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out
'

test_expect_success 'serve -C: the copy quota of a spec that gives none' '
	node_stop &&
	test_expect_code 2 nucleus-node serve -d n -C 0 2>err &&
	grep -q -- "-C 0" err &&
	node_start -C 1 &&
	quota_pod p-c "{\"rate_kib\":1048576}" >create-p-c &&
	stats p-c 300 4000 | nsend >out &&
	stopped_for p-c "audit.copy_mib quota of 1048576 bytes" 131072 1048576
'

test_expect_success 'the node keeps free a sixteenth of the copies'"'"' filesystem (64 MiB at most): a copy that would take it fails, the pod is stopped' '
	node_stop &&
	mv n/pods n/pods.before &&
	mkdir -m 711 n/pods &&
	test_when_finished "rmdir n/pods && mv n/pods.before n/pods" &&
	mount -t tmpfs -o size=72m,mode=711 tmpfs n/pods &&
	test_when_finished "umount n/pods" &&
	node_start &&
	test_when_finished "node_stop" &&
	pod_create p-room >create-p-room &&
	ncall p-room write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	# Leave a little less than 72 MiB / 16 free.
	free=$(df -B1 --output=avail n/pods | tail -n 1) &&
	head -c $((free - 72 * 1048576 / 16 + 4096)) /dev/zero >n/pods/filler &&
	test_expect_code 2 ncall p-room write "{\"path\":\"a\",\"content\":\"y\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit copy failed\"))" out &&
	stopped_for p-room "and keeps 4718592 for the node.s own log and state"
'

# The node's resident memory now, in KiB.
node_rss() {
	awk "/^VmRSS:/ { print \$2 }" "/proc/$(cat node.pid)/status"
}

test_expect_success 'setup: a node holding 8 MiB of the pods'"'"' unfinished lines (-M), its pods behind pod-tamper' '
	node_stop &&
	mktemp -d /var/tmp/nucleus-t4034.XXXXXX >tamperdir &&
	chmod 755 "$(cat tamperdir)" &&
	cp "$NUCLEUS_BUILD/nucleus-proxy" "$(cat tamperdir)/" &&
	test_expect_code 2 nucleus-node serve -d n -M 0 2>err &&
	grep -q -- "-M 0" err &&
	node_start -M 8 -P "$NUCLEUS_BUILD/t/helper/pod-tamper" -B "$(cat tamperdir)" &&
	echo none >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-calm >/dev/null &&
	ncall p-calm write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out
'

test_expect_success 'a line that never ends, past what all pods may hold: that pod is stopped, well before 80 MiB, the others served' '
	echo endless >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-endless >create-p-endless &&
	jq -e .ok create-p-endless &&
	test_expect_code 2 ncall p-endless write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e ".error.kind == \"unavailable\"" out &&
	stopped_for p-endless "took [0-9]+ bytes, the most of any pod.s, when all pods. together passed the node.s 8388608 .serve -M." &&
	ncall p-calm stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out &&
	{ test_have_prereq SANITIZE || test "$(node_rss)" -lt 100000; }
'

test_expect_success 'a proxy writing 3 MiB to its standard error: proxy.err keeps 1 MiB of it and a note; the pod is served' '
	echo noisy >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-noisy >/dev/null &&
	ncall p-noisy write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	test_wait_for "the note in proxy.err" 10 grep -q "^nucleus-node: this log passed 1048576 bytes; the rest is dropped$" n/pods/p-noisy/proxy.err &&
	test "$(wc -c <n/pods/p-noisy/proxy.err)" -lt $((1048576 + 4096))
'

test_expect_success 'the node itself is unharmed; its log verifies' '
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	rm -rf "$(cat tamperdir)"
'

test_done
