#!/bin/sh
test_description='nucleus-node: a pod whose audit lines do not reach the node intact (changed, late, not JSON, too long, endless) is stopped, its waiting clients told, the fault recorded, and its host copy keeps only what verifies; a pod flooding its channel with answers never asked, or never reading it, slows neither the node, nor the other pods, nor the node log'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# A pod behind pod-tamper in MODE: a write through it fails, the pod is
# stopped, the fault recorded (how many records were durable then), and
# all its copy holds verifies.
hostile() {
	echo "$1" >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create "p-$1" >out &&
	jq -r .result.audit_copy out >"copy-$1" &&
	test_expect_code 2 ncall "p-$1" write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit copy failed\"))" out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-$1\"" &&
	jq -s -c "[.[] | select(.event == \"pod.audit_fault\" and .pod == \"p-$1\")]" n/audit.log >fault &&
	jq -e "length == 1" fault &&
	nucleus-audit-verify -q -k node.pub "$(cat "copy-$1")" &&
	test "$(jq ".[0].records" fault)" -le "$(wc -l <"$(cat "copy-$1")")"
}

test_expect_success 'setup: a node whose pods run behind pod-tamper' '
	authority_setup &&
	node_setup &&
	# Outside /work and /tmp, which the sandbox mounts over.
	mktemp -d /var/tmp/nucleus-t4020.XXXXXX >tamperdir &&
	chmod 755 "$(cat tamperdir)" &&
	cp "$NUCLEUS_BUILD/nucleus-proxy" "$(cat tamperdir)/" &&
	node_start -D 5 -P "$NUCLEUS_BUILD/t/helper/pod-tamper" -B "$(cat tamperdir)"
'

test_expect_success 'an honest pod behind it works' '
	echo none >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-ok >/dev/null &&
	ncall p-ok write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out
'

test_expect_success 'a changed audit line: the pod is stopped, the copy ends before it' '
	hostile flip &&
	jq -e ".[0].message | test(\"^record 3: \")" fault &&
	test "$(wc -l <"$(cat copy-flip)")" = 2
'

test_expect_success 'an answer ahead of its record: the pod is stopped' '
	hostile early &&
	jq -e ".[0].message | test(\"answered before its audit record\")" fault
'

test_expect_success 'a line that is not JSON: the pod is stopped' '
	hostile junk &&
	jq -e ".[0].message | test(\"not JSON\")" fault
'

test_expect_success 'a line over 80 MiB: the pod is stopped, the node holds none of it' '
	hostile overlong &&
	jq -e ".[0].message | test(\"longer than the node takes\")" fault &&
	ncall p-ok stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out
'

# liar LOG: a pod p-liar whose "proxy" says hello naming LOG.  It is
# refused, the refusal recorded, and the node sends it no key-cert (the
# liar would say so on its standard error, which is proxy.err).
liar() {
	echo "hello p-liar $1" >"$(cat tamperdir)/pod-tamper.conf" &&
	test_expect_code 2 pod_create p-liar >out &&
	jq -e ".error.kind == \"internal\" and (.error.message | test(\"names log $1, not the one the node chose\"))" out &&
	jq -s -e "[.[] | select(.event == \"pod.refused\" and .pod == \"p-liar\")] | last | .message | test(\"no key-cert\")" n/audit.log &&
	! grep -q "key-cert: " n/pods/p-liar/proxy.err
}

test_expect_success 'a hello naming another pod'"'"'s log id: refused, recorded, no key-cert made for it' '
	nucleus-node pod -j -k admin.key -l n/node.sock status p-ok >out &&
	victim=$(jq -r .result.log out) &&
	test -n "$victim" &&
	liar "$victim" &&
	liar p-liar.1.0000
'

# The node's resident memory now, in KiB.
node_rss() {
	awk "/^VmRSS:/ { print \$2 }" "/proc/$(cat node.pid)/status"
}

# p-ok answers, within SECS seconds.
ok_within() {
	timeout "$1" nucleus-node call -j -k agent.key -l n/node.sock p-ok stat "{\"path\":\"a\"}" >ok.out &&
	jq -e .ok ok.out
}

test_expect_success 'a line that never ends: the pod is stopped once it passes the limit, not at a newline' '
	start=$(date +%s) &&
	hostile endless &&
	jq -e ".[0].message | test(\"longer than the node takes\")" fault &&
	test $(($(date +%s) - start)) -lt 30 &&
	ok_within 10 &&
	{ test_have_prereq SANITIZE || test "$(node_rss)" -lt 200000; }
'

test_expect_success 'a flood of answers never asked: dropped, one record a minute of how many, the pod and the others served' '
	echo flood >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-flood >/dev/null &&
	ncall p-flood write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	ok_within 10 &&
	node_wait_event ".event == \"pod.stray_answers\" and .pod == \"p-flood\"" &&
	jq -s -c "[.[] | select(.event == \"pod.stray_answers\" and .pod == \"p-flood\")]" n/audit.log >stray &&
	# The first within a second of the first stray, so perhaps of
	# part of the flood; the rest no sooner than a minute on.
	jq -e "length == 1 and .[0].count >= 1 and .[0].count <= 200000" stray &&
	ncall p-flood stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out &&
	test "$(wc -l <n/audit.log)" -lt 200
'

test_expect_success 'a pod that never reads its channel: past the bound its calls are unavailable at once, the others served' '
	echo deaf >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-deaf >/dev/null &&
	big=$(head -c 700000 /dev/zero | tr "\\0" x) &&
	for i in $(seq 1 40)
	do
		nreq "d$i" agent-7 agent.key p-deaf write "{\"path\":\"big\",\"content\":\"$big\"}" || return 1
	done >deaf.req &&
	{ nsend <deaf.req >deaf.out & } &&
	deaf=$! &&
	test_wait_for "calls past the bound refused" 20 grep -q "not taking its requests" deaf.out &&
	ok_within 10 &&
	{ test_have_prereq SANITIZE || test "$(node_rss)" -lt 200000; } &&
	test_wait_exit "the calls to p-deaf" 30 "$deaf" &&
	test_line_count = 40 deaf.out &&
	jq -s -e "all(.[]; .error.kind == \"unavailable\")" deaf.out &&
	jq -s -e "[.[] | select(.error.message | test(\"not taking\"))] | length >= 10" deaf.out &&
	jq -s -e "[.[] | select(.error.message | test(\"in time\"))] | length >= 10" deaf.out
'

# Its peak since the last node_peak_reset, in KiB.
node_peak() {
	awk "/^VmHWM:/ { print \$2 }" "/proc/$(cat node.pid)/status"
}

node_peak_reset() {
	echo 5 >"/proc/$(cat node.pid)/clear_refs"
}

test_expect_success 'a pod that reads slowly: the node holds what waits for it, not all it ever took' '
	echo sip >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-sip >/dev/null &&
	big=$(head -c 700000 /dev/zero | tr "\\0" x) &&
	for k in $(seq 1 10)
	do
		for i in $(seq 1 20)
		do
			nreq "s$k-$i" agent-7 agent.key p-sip write "{\"path\":\"big\",\"content\":\"$big\"}" || return 1
		done >"sip$k.req" || return 1
	done &&
	before=$(node_rss) &&
	node_peak_reset &&
	for k in $(seq 1 10)
	do
		{ nsend <"sip$k.req" >"sip$k.out" & } &&
		sleep 2 || return 1
	done &&
	wait &&
	peak=$(node_peak) &&
	echo "node RSS $before KiB, peak $peak KiB" &&
	cat sip*.out >sip.out &&
	test_line_count = 200 sip.out &&
	jq -s -e "[.[] | select(.error.message | test(\"not taking\"))] | length >= 20" sip.out &&
	ok_within 10 &&
	{ test_have_prereq SANITIZE || test $((peak - before)) -lt 49152; }
'

test_expect_success 'the node itself is unharmed; its log verifies' '
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	rm -rf "$(cat tamperdir)"
'

test_done
