#!/bin/sh
test_description='nucleus-node: each pod'"'"'s host-side audit copy, appended as records arrive and durable before an answer is relayed, verifying with the node key alone and outliving its pod'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

test_expect_success 'setup' '
	authority_setup &&
	node_setup &&
	node_start &&
	pod_create p-1 >out &&
	jq -r .result.audit_copy out >copy &&
	jq -r .result.log out >podlog &&
	test "$(cat copy)" = "$PWD/n/pods/p-1/$(cat podlog).log"
'

test_expect_success 'a new pod'"'"'s copy holds its log.open, certified by the node, and its boot' '
	jq -s -e "length == 2 and .[0].event == \"log.open\" and .[0].cert.kid == \"node-1\" and .[1].event == \"boot\"" "$(cat copy)" &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" &&
	test "$(stat -c %a "$(cat copy)")" = 640
'

test_expect_success 'each answer'"'"'s record is in the copy when the answer comes' '
	for i in 1 2 3 4 5; do
		ncall p-1 write "{\"path\":\"f$i\",\"content\":\"$i\"}" >out &&
		seq=$(jq -r .audit.seq out) &&
		jq -s -e "[.[] | select(.seq == $seq and .event == \"outcome\")] | length == 1" "$(cat copy)" || return 1
		ncall p-1 read "{\"path\":\"f$i\"}" >out &&
		seq=$(jq -r .audit.seq out) &&
		jq -s -e "[.[] | select(.seq == $seq and .event == \"decision\" and .subject == \"f$i\")] | length == 1" "$(cat copy)" || return 1
	done &&
	test_expect_code 1 ncall p-1 read "{\"path\":\".env\"}" >out &&
	seq=$(jq -r .audit.seq out) &&
	jq -s -e "[.[] | select(.seq == $seq and .kind == \"path_denied\")] | length == 1" "$(cat copy)"
'

test_expect_success 'the copy is the pod'"'"'s own log, byte for byte, where the pod has not given it back' '
	pid=$(pod_proxy p-1) &&
	own=/proc/$pid/root/var/lib/nucleus/audit/$(cat podlog).log &&
	test "$(stat -c %s "$own")" = "$(stat -c %s "$(cat copy)")" &&
	tr -d "\0" <"$own" >kept &&
	tail -c "$(wc -c <kept)" "$(cat copy)" | cmp - kept
'

test_expect_success 'the status counts the records; a verifier with the node key alone accepts the copy' '
	nucleus-node pod -j -k admin.key -l n/node.sock status p-1 >out &&
	test "$(jq .result.audit_records out)" = "$(wc -l <"$(cat copy)")" &&
	nucleus-audit-verify -k node.pub "$(cat copy)" &&
	audit-tool keygen other other.key | cut -d" " -f1-3 | sed "s/^other/node-1/" >wrong.pub &&
	test_expect_code 1 nucleus-audit-verify -q -k wrong.pub "$(cat copy)"
'

test_expect_success 'many answers at once: each record in the copy before its answer' '
	for i in $(seq 1 40); do
		nreq "m$i" agent-7 agent.key p-1 stat "{\"path\":\"f1\"}"
	done >lines &&
	nsend <lines >out &&
	test "$(wc -l <out)" = 40 &&
	jq -s -e "all(.[]; .ok)" out &&
	jq -r .audit.seq out | sort >seqs &&
	jq -r "select(.event == \"decision\" and .id != null) | .seq" "$(cat copy)" | sort >copied &&
	comm -23 seqs copied >missing &&
	! test -s missing &&
	! jq -e "select(.event == \"pod.audit_fault\")" n/audit.log
'

test_expect_success 'a pod killed from outside: its copy stays, complete and verifying' '
	before=$(wc -l <"$(cat copy)") &&
	pid=$(pod_proxy p-1) &&
	kill -KILL "$pid" &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-1\"" &&
	test -f "$(cat copy)" &&
	test "$(wc -l <"$(cat copy)")" = "$before" &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)"
'

test_expect_success 'a second pod of the same name gets a copy of its own; the first is kept' '
	pod_create p-1 >out &&
	jq -r .result.audit_copy out >copy2 &&
	test "$(cat copy2)" != "$(cat copy)" &&
	test -f "$(cat copy)" &&
	ncall p-1 stat "{\"path\":\".\"}" >/dev/null &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub "$(cat copy)" "$(cat copy2)" &&
	tail -n 1 "$(cat copy2)" | jq -e ".event == \"decision\""
'

test_done
