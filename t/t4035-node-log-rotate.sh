#!/bin/sh
test_description='nucleus-node: its own audit log rotates by size (-R) and on SIGUSR1 while requests flow, and the files verify as one chain'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the node runs as root"
fi

# Admin requests, each recorded in the node's log before its answer.
lists() {
	i=0
	while [ $i -lt "$1" ]; do
		nucleus-node pod -j -k admin.key -l n/node.sock list || return 1
		i=$((i + 1))
	done
}

rotated() {
	grep -c "the audit log rotated: generation" node.err || :
}

test_expect_success 'setup: a node whose log rotates past 4 KiB' '
	authority_setup "{\"v\":1,\"rules\":[]}" &&
	node_setup &&
	node_start -R 4
'

test_expect_success 'the log rotates by size while requests flow' '
	lists 40 >out &&
	test "$(jq -s "map(select(.ok)) | length" out)" = 40 &&
	test -f n/audit.log.0 && test -f n/audit.log.1 &&
	tail -n 1 n/audit.log.0 | jq -e ".event == \"log.close\" and .reason == \"size\" and .next == \"node-node-1.1\"" &&
	head -n 1 n/audit.log | jq -e ".event == \"log.open\" and (.predecessor.log | startswith(\"node-node-1\"))" &&
	nucleus-audit-verify -q -k node.pub n/audit.log*
'

test_expect_success 'SIGUSR1 rotates it now, while requests flow' '
	gen=$(ls n/audit.log.* | wc -l) &&
	{ lists 20 >out & } &&
	flow=$! &&
	kill -USR1 "$(cat node.pid)" &&
	test_wait_for "the rotation said on stderr" 10 eval "test \$(rotated) -ge 1" &&
	test_wait_for "the requests answered" 60 test_child_ended $flow &&
	test "$(jq -s "map(select(.ok)) | length" out)" = 20 &&
	test "$(ls n/audit.log.* | wc -l)" -gt "$gen" &&
	grep -l "\"reason\":\"asked\"" n/audit.log.* &&
	nucleus-audit-verify -q -k node.pub n/audit.log*
'

test_expect_success 'a state file follows the node'"'"'s log across rotations' '
	nucleus-audit-verify -j -s state -k node.pub n/audit.log* >out &&
	jq -s -e "all(.ok)" out &&
	lists 30 >/dev/null &&
	nucleus-audit-verify -j -s state -k node.pub n/audit.log* >out &&
	jq -s -e "all(.ok) and (map(.verified) | add) < (map(.records) | add)" out
'

test_expect_success 'restarted, the node carries on its current generation; -R 0 rotates only when asked' '
	node_stop &&
	id=$(head -n 1 n/audit.log | jq -r .log) &&
	node_start -R 0 &&
	test "$(head -n 1 n/audit.log | jq -r .log)" = "$id" &&
	jq -s -e "map(select(.event == \"log.resume\")) | length == 1" n/audit.log &&
	gen=$(ls n/audit.log.* | wc -l) &&
	lists 60 >/dev/null &&
	test "$(ls n/audit.log.* | wc -l)" = "$gen" &&
	n=$(rotated) &&
	kill -USR1 "$(cat node.pid)" &&
	test_wait_for "the rotation said on stderr" 10 eval "test \$(rotated) -gt $n" &&
	test "$(ls n/audit.log.* | wc -l)" = $((gen + 1)) &&
	nucleus-audit-verify -q -s state -k node.pub n/audit.log*
'

test_expect_success 'pruned once verified, the old files are no fault; the node stops cleanly' '
	rm n/audit.log.0 n/audit.log.1 &&
	nucleus-audit-verify -q -s state -k node.pub n/audit.log* &&
	node_stop &&
	tail -n 1 n/audit.log | jq -e ".event == \"node.stop\"" &&
	nucleus-audit-verify -q -s state -k node.pub n/audit.log*
'

test_expect_success '-R past its limit is a usage error naming it' '
	test_expect_code 2 nucleus-node serve -d n -R 1048577 2>err &&
	grep "^nucleus-node: -R 1048577: .*expected 0 to 1048576 KiB" err
'

test_done
