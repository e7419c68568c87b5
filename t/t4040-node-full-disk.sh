#!/bin/sh
test_description='nucleus-node on a full disk: it says so, answers unavailable, recovers by itself when space returns, and leaves logs that verify'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "a tmpfs is mounted for the node's directory (root)"
fi

# list: pod list as the admin, its answer in out; its exit status.
list() {
	timeout 20 nucleus-node pod -j -k admin.key -l n/node.sock list >out
}

listed_ok_() {
	list && jq -e .ok out >/dev/null
}

test_expect_success 'setup: the node'"'"'s directory on a 4 MiB tmpfs' '
	authority_setup "{\"v\":1,\"rules\":[]}" &&
	node_setup &&
	mv n n.made &&
	mkdir -m 711 n &&
	mount -t tmpfs -o size=4m,mode=711 nucleus-test n &&
	test_when_failed "umount -l n" &&
	cp -a n.made/. n/ &&
	node_start &&
	list && jq -e .ok out &&
	pod_create p-1 >out &&
	jq -e ".result.state == \"running\"" out &&
	pod_proxy p-1 >proxy.pid
'

test_expect_success 'the disk fills: the node says so on stderr and answers unavailable, at once' '
	test_when_finished "rm -f n/filler" &&
	{ head -c 8388608 /dev/zero >n/filler 2>/dev/null || :; } &&
	# The log'"'"'s last page and LMDB'"'"'s free pages may hold a few more:
	# each request is answered, none waits, until the log stops.
	i=0 &&
	while ! grep -q "nucleus-node: the audit log has stopped: .*No space left on device" node.err
	do
		test $i -lt 100 &&
		{ list || :; } &&
		jq -e ".ok or .error.kind == \"unavailable\"" out >/dev/null &&
		i=$((i + 1)) || return 1
	done &&
	test_expect_code 2 ncall p-1 stat "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unavailable\"" out &&
	# A pod that ends meanwhile: its end is kept, to be recorded.
	pid=$(cat proxy.pid) &&
	kill -9 "$pid" &&
	test_wait_for "the pod to end" 10 eval "! kill -0 $pid 2>/dev/null" &&
	test_expect_code 2 list &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"tried again\"))" out
'

test_expect_success 'space returns: the node records the fault and serves again by itself' '
	test_wait_for "the node to serve again" 15 listed_ok_ &&
	grep -q "nucleus-node: the audit log is written again, after [0-9]* s ([1-9][0-9]* records not made)" node.err &&
	jq -s -e "[.[] | select(.event == \"node.log_fault\")] | length == 1 and (.[0].unrecorded >= 1) and (.[0].error | test(\"No space\"))" n/audit.log &&
	test_wait_for "the pod'"'"'s end recorded" 10 node_has_event_ ".event == \"pod.exit\" and .pod == \"p-1\"" &&
	list &&
	jq -e "[.result.pods[] | select(.pod == \"p-1\" and .state == \"running\")] | length == 0" out
'

test_expect_success 'the node'"'"'s log verifies, and no log is left empty' '
	node_stop &&
	cat node.pub authority.pub >trusted &&
	nucleus-audit-verify -k trusted n/audit.log n/pods/p-1/*.log &&
	test -z "$(find n -name "*.log" -empty)"
'

test_expect_success 'cleanup: the tmpfs' '
	umount n
'

test_done
