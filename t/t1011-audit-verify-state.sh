#!/bin/sh
test_description='nucleus-audit-verify -s: incremental runs that notice truncation, rollback and rewriting'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a writer key and its keyring' '
	audit-tool keygen w1 w.secret proxy >ring &&
	audit-tool append a.log log-a w.secret 20 >/dev/null &&
	audit-tool append b.log log-b w.secret 5 >/dev/null
'

test_expect_success 'a first run verifies everything and writes the state, mode 0600' '
	nucleus-audit-verify -j -s state -k ring a.log b.log >out &&
	jq -s -e ".[0].log == \"log-a\" and .[0].records == 21 and .[0].verified == 21" out &&
	test -f state &&
	test "$(stat -c %a state)" = 600 &&
	test_line_count = 2 state &&
	! ls state.tmp.* 2>/dev/null
'

test_expect_success 'the next run verifies only what was appended since' '
	audit-tool append a.log log-a w.secret 7 >/dev/null &&
	nucleus-audit-verify -j -s state -k ring a.log >out &&
	jq -e ".records == 29 and .verified == 8" out &&
	nucleus-audit-verify -j -s state -k ring a.log >out &&
	jq -e ".records == 29 and .verified == 0" out
'

test_expect_success 'a log that shrank is a fault, even though it is valid' '
	cp a.log a.keep && cp state state.keep &&
	head -n 20 a.keep >a.log &&
	nucleus-audit-verify -q -k ring a.log &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring a.log 2>err &&
	grep "^a.log:29: rolled-back: the log is shorter than when it was last verified: truncated$" err &&
	test_cmp state.keep state
'

test_expect_success 'a log rolled back to an older copy of the same length is a fault' '
	audit-tool append old.log log-o w.secret 3 >/dev/null &&
	cp old.log old.copy &&
	nucleus-audit-verify -q -s state -k ring old.log &&
	audit-tool append old.log log-o w.secret 3 >/dev/null &&
	nucleus-audit-verify -q -s state -k ring old.log &&
	cp old.copy old.log &&
	audit-tool append old.log log-o w.secret 4 >/dev/null &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring old.log 2>err &&
	grep "^old.log:[0-9]*: rolled-back: " err
'

test_expect_success 'a rewritten record within what was verified is a fault' '
	cp a.keep a.log &&
	cp state.keep state &&
	sed "3s/\"i\":1,/\"i\":7,/" a.keep >a.log &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring a.log 2>err &&
	grep "^a.log:29: rolled-back: the log up to the last verified record has changed" err &&
	test_cmp state.keep state
'

test_expect_success 'the state is updated only after a clean verification' '
	cp a.keep a.log &&
	printf "{\"not\":\"a record\"}\n" >>a.log &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring a.log 2>err &&
	grep "^a.log:30: " err &&
	test_cmp state.keep state
'

test_expect_success 'a clean log is remembered even when another one fails' '
	cp a.keep a.log &&
	audit-tool append b.log log-b w.secret 2 >/dev/null &&
	printf "junk" >>a.log &&
	test_expect_code 1 nucleus-audit-verify -s state -k ring a.log b.log 2>err &&
	grep "^a.log:30: torn: " err &&
	! test_cmp state.keep state >/dev/null &&
	nucleus-audit-verify -j -s state -k ring b.log >out &&
	jq -e ".verified == 0 and .records == 9" out
'

test_expect_success 'a damaged state file is an error, not a reason to trust' '
	echo "{\"log\":\"x\"}" >bad.state &&
	test_expect_code 2 nucleus-audit-verify -s bad.state -k ring b.log 2>err &&
	grep "bad.state: line 1: not a state entry" err
'

test_expect_success 'standard input cannot be remembered' '
	test_expect_code 2 nucleus-audit-verify -s state -k ring - <b.log 2>err &&
	grep "name the log" err
'

test_done
