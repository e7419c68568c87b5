#!/bin/sh
test_description='nucleus-node: a flood of refused lines cannot fill its log: one peer uid'"'"'s refusals are recorded in full up to RWIN_MAX (600) per RWIN_S (60 s), the rest answered as ever and counted in one request.refusals record; the operator'"'"'s (root'"'"'s) are all recorded'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "an agent's uid (65534) needs root to take"
fi

refused_of() {
	jq -c "select(.event == \"request.refused\" and .uid == $1)" n/audit.log
}

test_expect_success 'setup: a node whose socket agents (uid 65534) may reach' '
	authority_setup &&
	node_setup &&
	node_start -g nogroup
'

# Before, each of them was a record of some 500 bytes: two bytes sent
# made 250 in the log, some 15 MB a second.
test_expect_success '700 lines that are no request from uid 65534: all answered bad_request, 600 recorded, the rest said not to be' '
	yes x | head -n 700 >flood &&
	sockload -u 65534 stall n/node.sock 0 <flood >answers &&
	test_line_count = 700 answers &&
	test "$(jq -r .error.kind answers | sort -u)" = bad_request &&
	test "$(grep -c "not recorded: more than 600 refusals of this uid in 60 s" answers)" = 100 &&
	refused_of 65534 >recorded &&
	test_line_count = 600 recorded
'

test_expect_success 'the operator'"'"'s are never counted: 700 from root, 700 records' '
	sockload stall n/node.sock 0 <flood >answers &&
	test_line_count = 700 answers &&
	! grep -q "not recorded" answers &&
	refused_of 0 >recorded &&
	test_line_count = 700 recorded
'

test_expect_success 'the node stopped: one request.refusals record says how many were counted, of which kinds; its log verifies' '
	node_stop &&
	jq -c "select(.event == \"request.refusals\")" n/audit.log >summary &&
	test_line_count = 1 summary &&
	jq -e ".uid == 65534 and .recorded == 600 and .counted == 100 and .kinds == {\"bad_request\": 100} and .window_s == 60" summary &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
