#!/bin/sh
test_description='nucleus-proxy: an operation under an approval token is done on the path as it was named and approved; a symbolic link on its way, even within the root, does not lead it elsewhere'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# approved ID OP ARGS: ask without a token (approval_required, its
# digest), then with a token for exactly that; the answer in out.
approved() {
	req "$1-ask" "$2" "$3" | send >out &&
	resp "$1-ask" | jq -e ".error.kind == \"approval_required\"" >/dev/null &&
	token "$2" "$(resp "$1-ask" | jq -r .error.args_digest)" "$1" |
	    sign_token >"tok-$1" &&
	req "$1" "$2" "$3" "$(cat "tok-$1")" | send >out
}

test_expect_success 'setup: reads and writes need approval; reports/ holds links into src/' '
	proxy_setup "{\"v\":1,\"profile\":\"release\",\"obligations\":[\"read_files\",\"write_files\",\"edit_files\"]}" &&
	mkdir root/src root/reports &&
	echo "int main;" >root/src/main.c &&
	ln -s ../src root/reports/dir &&
	ln -s ../src/main.c root/reports/file &&
	proxy_start
'

test_expect_success 'a write approved for reports/dir/main.c does not reach src/main.c' '
	approved w1 write "{\"path\":\"reports/dir/main.c\",\"content\":\"pwned\\n\"}" &&
	resp w1 | jq -e ".error.kind == \"path_denied\" and (.error.message | test(\"symbolic link\"))" &&
	echo "int main;" >expect &&
	test_cmp expect root/src/main.c
'

test_expect_success 'a read approved for reports/file does not read src/main.c' '
	approved r1 read "{\"path\":\"reports/file\"}" &&
	resp r1 | jq -e "(.ok | not) and .error.kind == \"path_denied\""
'

test_expect_success 'an append approved for reports/file does not append to src/main.c' '
	approved a1 write "{\"path\":\"reports/file\",\"content\":\"x\",\"mode\":\"append\"}" &&
	resp a1 | jq -e ".error.kind == \"path_denied\"" &&
	test_cmp expect root/src/main.c
'

test_expect_success 'a command approved to run in reports/dir does not run in src' '
	approved c1 run "{\"argv\":[\"pwd\"],\"cwd\":\"reports/dir\"}" &&
	resp c1 | jq -e ".error.kind == \"path_denied\" and (.error.message | test(\"^args.cwd: reports/dir: approved as named\"))" &&
	approved c2 run "{\"argv\":[\"pwd\"],\"cwd\":\"src\"}" &&
	resp c2 | jq -e ".ok and (.result.stdout | endswith(\"/src\\n\"))"
'

test_expect_success 'the path as named is approved as before; the proxy still serves, its log verifies' '
	approved w2 write "{\"path\":\"reports/summary.md\",\"content\":\"ok\\n\"}" &&
	resp w2 | jq -e ".ok" &&
	echo ok >expect2 &&
	test_cmp expect2 root/reports/summary.md &&
	approved r2 read "{\"path\":\"src/main.c\"}" &&
	resp r2 | jq -e ".ok and .result.data == \"int main;\\n\"" &&
	proxy_alive &&
	verify_log
'

test_done
