#!/bin/sh
test_description='nucleus-audit-verify says file names escaped: a name with a newline, an escape or invalid UTF-8 can neither forge nor hide a line of the report, nor stop -j'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a log, a copy under a name that is not UTF-8' '
	audit-tool keygen w1 w.secret authority >ring &&
	audit-tool append a.log log-a w.secret 3 >/dev/null &&
	cp a.log "$(printf "bad\\377.log")"
'

test_expect_success '-j: every log said, the name with \xHH for the byte' '
	nucleus-audit-verify -j -k ring a.log bad*.log >out &&
	test_line_count = 2 out &&
	jq -s -e "map(.ok) == [true, true] and .[1].file == \"bad\\\\xff.log\"" out
'

test_expect_success 'a fault in a file whose name holds a newline and a CR: one line, escaped' '
	{ head -n 2 a.log && printf "{"; } >"$(printf "x\\nfake.log: ok\\r")" &&
	test_expect_code 1 nucleus-audit-verify -q -k ring a.log x* 2>err &&
	test_line_count = 1 err &&
	grep -F "x\\x0afake.log: ok\\x0d:3: torn: " err
'

test_done
