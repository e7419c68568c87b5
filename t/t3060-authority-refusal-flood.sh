#!/bin/sh
test_description='nucleus-authority: a flood of refused lines on the request socket cannot fill its log: one peer uid'"'"'s refusals are recorded in full up to RWIN_MAX (600) per RWIN_S (60 s), the rest answered as ever and counted in one request.refusals record'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "an agent's uid (65534) needs root to take"
fi

test_expect_success 'setup: agents (uid 65534) may reach the request socket' '
	authority_setup &&
	chmod 711 auth &&
	authority_start -g nogroup
'

# Before, each was an approval.refused record: 700 of them.
test_expect_success '700 lines that are no request from uid 65534: all answered bad_request, 600 recorded, the rest said not to be' '
	yes x | head -n 700 >flood &&
	sockload -u 65534 stall auth/request.sock 0 <flood >answers &&
	test_line_count = 700 answers &&
	test "$(jq -r .error.kind answers | sort -u)" = bad_request &&
	test "$(grep -c "not recorded: more than 600 refusals of this uid in 60 s" answers)" = 100 &&
	jq -c "select(.event == \"approval.refused\")" auth/audit.log >recorded &&
	test_line_count = 600 recorded
'

# Each connection of a uid that is no operator to the admin socket was an
# admin.refused record.  The window of uid 65534 is full already: its
# connections are told, none recorded.
test_expect_success 'and 20 connections of uid 65534 to the admin socket: each told forbidden, none recorded' '
	for i in $(seq 1 20); do
		sockload -u 65534 wait auth/admin.sock "" >said || return 1
		grep -q "\"kind\":\"forbidden\".*not recorded" said || return 1
	done &&
	test "$(jq -c "select(.event == \"admin.refused\")" auth/audit.log | wc -l)" = 0
'

test_expect_success 'the authority stopped: one request.refusals record says how many were counted, of which kinds; its log verifies' '
	authority_stop &&
	jq -c "select(.event == \"request.refusals\")" auth/audit.log >summary &&
	test_line_count = 1 summary &&
	jq -e ".uid == 65534 and .recorded == 600 and .counted == 120 and .kinds == {\"bad_request\": 100, \"forbidden\": 20}" summary &&
	auth_verify
'

test_done
