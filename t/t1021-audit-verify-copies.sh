#!/bin/sh
test_description='nucleus-audit-verify -s: two files of one log in one run leave the state at the furthest, so a shorter copy cannot set it back'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a writer key, its keyring, a log of 11 records' '
	audit-tool keygen w1 w.secret authority >ring &&
	audit-tool append a.log log-a w.secret 10 >/dev/null
'

test_expect_success 'a shorter copy given after the log does not set the state back' '
	head -n 4 a.log >a.old &&
	nucleus-audit-verify -q -s state -k ring a.log a.old &&
	jq -e "select(.log == \"log-a\") | .lines == 11" state &&
	head -n 4 a.log >cut && mv cut a.log && rm a.old &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring a.log 2>err &&
	grep "^a.log:11: rolled-back: " err
'

test_expect_success 'nor one given before it' '
	rm -f state && audit-tool append b.log log-b w.secret 10 >/dev/null &&
	head -n 4 b.log >b.old &&
	nucleus-audit-verify -q -s state -k ring b.old b.log &&
	jq -e "select(.log == \"log-b\") | .lines == 11" state
'

test_done
