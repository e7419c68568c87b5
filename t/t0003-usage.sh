#!/bin/sh
test_description='every program: --help and --version, and usage errors that name what was wrong'
. "$(dirname "$0")/test-lib.sh"

programs="nucleus-node nucleus-authority nucleus-proxy nucleus-gateway nucleus-audit-verify
nucleus-policy nucleus-mcp"
top=$TEST_DIRECTORY/..

test_expect_success '--help: the usage on stdout, nothing on stderr, status 0' '
	for p in $programs; do
		"$p" --help >out 2>err &&
		grep -q "^usage: $p " out &&
		! test -s err &&
		# The same text a usage error prints on stderr.
		test_expect_code 2 "$p" >/dev/null 2>usage &&
		test_cmp usage out || return 1
	done
'

test_expect_success '--version: the program and the Makefile'"'"'s VERSION, status 0' '
	version=$(sed -n "s/^VERSION = //p" "$top/Makefile") &&
	test -n "$version" &&
	for p in $programs; do
		"$p" --version >out 2>err &&
		echo "$p $version" >expect &&
		test_cmp expect out &&
		! test -s err || return 1
	done
'

test_expect_success 'a command'"'"'s --help and --version are the program'"'"'s' '
	nucleus-node serve --help >out &&
	grep -q "^usage: nucleus-node serve " out &&
	nucleus-authority grant --version >out &&
	grep -q "^nucleus-authority " out &&
	nucleus-policy show --help >out &&
	grep -q "^usage: nucleus-policy show " out
'

test_expect_success 'a wrong option is named, with the program and its command; status 2' '
	test_expect_code 2 nucleus-node serve -Z 2>err &&
	grep -Fx "nucleus-node serve: invalid option -- '"'"'Z'"'"'" err &&
	test_expect_code 2 nucleus-authority serve -Z 2>err &&
	grep -Fx "nucleus-authority serve: invalid option -- '"'"'Z'"'"'" err &&
	test_expect_code 2 nucleus-policy show -Z x 2>err &&
	grep -Fx "nucleus-policy show: invalid option -- '"'"'Z'"'"'" err &&
	test_expect_code 2 nucleus-node serve -d 2>err &&
	grep -Fx "nucleus-node serve: option requires an argument -- '"'"'d'"'"'" err &&
	test_expect_code 2 nucleus-proxy -Z 2>err &&
	grep "nucleus-proxy: invalid option -- '"'"'Z'"'"'" err &&
	test_expect_code 2 nucleus-audit-verify -Z 2>err &&
	grep "nucleus-audit-verify: invalid option -- '"'"'Z'"'"'" err &&
	test_expect_code 2 nucleus-mcp -Z 2>err &&
	grep "nucleus-mcp: invalid option -- '"'"'Z'"'"'" err
'

test_expect_success 'an unknown command is named; status 2' '
	for p in nucleus-node nucleus-authority nucleus-policy; do
		test_expect_code 2 "$p" frobnicate 2>err &&
		grep -Fx "$p: unknown command frobnicate" err || return 1
	done
'

test_expect_success 'a group that does not exist is named' '
	test_expect_code 2 nucleus-node serve -g no-such-group-x 2>err &&
	grep -Fx "nucleus-node: -g no-such-group-x: no such group" err
'

test_done
