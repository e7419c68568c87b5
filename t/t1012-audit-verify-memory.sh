#!/bin/sh
test_description='nucleus-audit-verify reads a log of any size, or a line of any length, in constant memory'
. "$(dirname "$0")/test-lib.sh"

# The sanitizers' shadow memory would swamp the figures: measure the plain
# build only.  Ten thousand records (4 MB) already fill the verifier's
# read buffer, so any growth beyond it would be per record.
test_expect_success !SANITIZE 'setup: logs of ten thousand and a million records' '
	audit-tool keygen w1 w.secret proxy >ring &&
	audit-tool bulk small.log log-s w.secret 10000 &&
	audit-tool bulk big.log log-b w.secret 1000000 &&
	test $(wc -l <big.log) -eq 1000000
'

test_expect_success !SANITIZE 'a million records cost no more memory than ten thousand' '
	maxrss small.rss nucleus-audit-verify -q -k ring small.log &&
	maxrss big.rss nucleus-audit-verify -q -k ring big.log &&
	echo "peak RSS: $(cat small.rss) KiB for 10000 records, $(cat big.rss) KiB for 1000000" &&
	test $(cat big.rss) -lt $(( $(cat small.rss) + 1024 ))
'

test_expect_success !SANITIZE 'a 10 MiB line costs no more than a short log' '
	head -n 1 small.log >long.log &&
	head -c 10485760 /dev/zero | tr "\0" a >>long.log &&
	echo >>long.log &&
	test_expect_code 1 maxrss long.rss nucleus-audit-verify -k ring long.log 2>err &&
	grep "^long.log:2: not-canonical: longer than 1048576 bytes" err &&
	echo "peak RSS: $(cat long.rss) KiB for a 10 MiB line" &&
	test $(cat long.rss) -lt $(( $(cat small.rss) + 1024 ))
'

test_done
