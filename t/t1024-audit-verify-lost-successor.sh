#!/bin/sh
test_description='nucleus-audit-verify -s: the successor a log.close names must be given or verified before, so a current log taken away before any run saw it is missing'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a log rotated once, verified with a state file' '
	audit-tool keygen n1 n.secret node >ring &&
	audit-tool append -R 1 a.log log-a n.secret 3 >/dev/null &&
	nucleus-audit-verify -q -s state -k ring a.log a.log.0
'

test_expect_success 'rotated again, the new log replaced by a copy of an old one: missing' '
	audit-tool append -R 1 a.log log-a n.secret 3 >/dev/null &&
	test -f a.log.1 &&
	mv a.log a.real && cp a.log.0 a.log &&
	test_expect_code 1 nucleus-audit-verify -q -s state -k ring a.log* \
	    >out 2>err &&
	test_line_count = 1 err &&
	grep "^log-a.2: missing: the successor that the log.close of log-a.1 (a.log.1) names is not among the logs given, nor was it ever verified$" err &&
	test_expect_code 1 nucleus-audit-verify -j -s state -k ring a.log* >out &&
	jq -s -e "map(select(.ok == false)) == [{\"log\": \"log-a.2\", \"ok\": false, \"fault\": 9, \"name\": \"missing\", \"detail\": \"the successor that the log.close of log-a.1 (a.log.1) names is not among the logs given, nor was it ever verified\"}]" out
'

test_expect_success 'the log back, the chain verifies, and a later run of the old files alone is no fault' '
	mv a.real a.log &&
	nucleus-audit-verify -q -s state -k ring a.log* &&
	nucleus-audit-verify -q -s state -k ring a.log.0 a.log.1
'

test_expect_success 'a successor retired and archived before its predecessor is no fault' '
	mkdir archive &&
	mv a.log.1 archive/ &&
	nucleus-audit-verify -q -s state -k ring a.log a.log.0 &&
	test -z "$(jq -c "select(.log == \"log-a.1\")" state)" &&
	nucleus-audit-verify -q -s state -k ring a.log a.log.0 &&
	mv archive/a.log.1 .
'

test_expect_success 'without -s, a closed log verified alone (an archive) is no fault' '
	nucleus-audit-verify -q -k ring a.log.1
'

test_done
