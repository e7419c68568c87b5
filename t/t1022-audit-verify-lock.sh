#!/bin/sh
test_description='nucleus-audit-verify -s: one run at a time holds a state file, so two overlapping runs cannot set it back'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a writer key, its keyring, a log verified once' '
	audit-tool keygen w1 w.secret authority >ring &&
	audit-tool append a.log log-a w.secret 5 >/dev/null &&
	nucleus-audit-verify -q -s state -k ring a.log &&
	test -f state.lock &&
	test "$(stat -c %a state.lock)" = 600
'

test_expect_success 'a run while another holds the state: exit 2, the state untouched' '
	cp state state.before &&
	audit-tool append a.log log-a w.secret 3 >/dev/null &&
	test_expect_code 2 flock -n state.lock \
	    nucleus-audit-verify -q -s state -k ring a.log 2>err &&
	grep "state: another run of nucleus-audit-verify holds this state file" err &&
	test_cmp state.before state
'

test_expect_success 'once it is free, the next run goes on from the state' '
	nucleus-audit-verify -j -s state -k ring a.log >out &&
	jq -e ".records > 6 and .verified == .records - 6" out
'

test_done
