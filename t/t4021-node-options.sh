#!/bin/sh
test_description='nucleus-node: every number on its command line read whole, every path whole or refused'
. "$(dirname "$0")/test-lib.sh"

# A directory that does not exist: an option the node took would go on
# to fail there (status 1), never start serving.
test_expect_success 'serve -w and -D: a number, whole, in range, or a usage error naming the option' '
	for w in 10x "" x " 10" "+10" "-10" 010 0 3601 99999999999999999999
	do
		test_expect_code 2 nucleus-node serve -d /nonexistent -w "$w" \
		    2>err &&
		grep -F -- "nucleus-node: -w $w: " err &&
		grep -F "expected 1 to 3600 seconds" err || return 1
	done &&
	for d in 5s "" 0 3601 -1
	do
		test_expect_code 2 nucleus-node serve -d /nonexistent -D "$d" \
		    2>err &&
		grep -F -- "nucleus-node: -D $d: " err || return 1
	done &&
	test_expect_code 2 nucleus-node serve -d /nonexistent -w 10x 2>err &&
	grep -Fx "nucleus-node: -w 10x: not a decimal number: expected 1 to 3600 seconds" err
'

test_expect_success 'serve: the numbers that are right still reach the directory' '
	test_expect_code 1 nucleus-node serve -d /nonexistent -w 3600 -D 1 2>err &&
	grep -F "/nonexistent" err
'

test_expect_success 'approve -w: the same strict reading' '
	for w in " 5" +5 5x 0 86401
	do
		test_expect_code 2 nucleus-node approve -A /nonexistent/s \
		    -k /nonexistent/k -w "$w" p-1 read "{}" 2>err &&
		grep -F -- "-w $w: " err || return 1
	done
'

# A directory whose files would not fit the node's 511-byte paths.
test_expect_success 'serve: a directory too long for its files is refused, the path named' '
	long=$PWD/$(printf "%0100d" 0)/$(printf "%0100d" 1)/$(printf "%0100d" 2)/$(printf "%0100d" 3)/$(printf "%0100d" 4) &&
	mkdir -p -m 755 "$long" &&
	test_expect_code 2 nucleus-node serve -d "$long" 2>err &&
	grep -F "nucleus-node: $(printf "%.160s" "$long")..." err &&
	grep -F "longer than the 511 allowed" err
'

test_expect_success 'serve -l: a socket path past sun_path is refused, never cut' '
	mkdir -m 711 n &&
	nucleus-node keygen -d n node-1 >/dev/null &&
	: >n/keyring && chmod 600 n/keyring &&
	grep "^authority-1 " "$TEST_DIRECTORY/vectors/keyring" |
	    cut -d" " -f1-3 >n/trust &&
	sock=$PWD/n/$(printf "%0120d" 0).sock &&
	test_expect_code 2 nucleus-node serve -d n -l "$sock" 2>err &&
	grep -F "socket path of" err &&
	grep -F "longer than the 107 allowed" err &&
	test ! -e "$(printf "%.107s" "$sock")"
'

test_done
