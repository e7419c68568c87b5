#!/bin/sh
test_description='nucleus-proxy: edit replaces text in a file, atomically, or says why not'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup: a codegen pod' '
	proxy_setup codegen &&
	printf "int x = 1;\nint y = 1;\n" >root/a.c &&
	chmod 0640 root/a.c &&
	printf "SECRET=1\n" >root/.env &&
	ln -s .env root/env-link &&
	ln -s a.c root/a-link &&
	proxy_start
'

digest() {
	b2sum -l 256 "$1" | cut -d" " -f1
}

test_expect_success 'edit once: the text replaced, the mode kept, no temporary left' '
	before=$(digest root/a.c) &&
	req e1 edit "{\"path\":\"a.c\",\"old\":\"int x = 1;\",\"new\":\"int x = 2;\"}" | send >out &&
	resp e1 | jq -e ".ok and .result.path == \"a.c\" and .result.replacements == 1 and .result.bytes == 22" &&
	printf "int x = 2;\nint y = 1;\n" >expect &&
	test_cmp expect root/a.c &&
	test "$(stat -c %a root/a.c)" = 640 &&
	! ls root/.nucleus-tmp-* 2>/dev/null &&
	seq=$(resp e1 | jq .audit.seq) &&
	log=$(proxy_log) &&
	sed -n "${seq}p" "$log" | jq -e ".event == \"decision\" and .id == \"e1\" and .op == \"edit\" and .decision == \"allow\" and .capability == \"edit_files\" and .subject == \"a.c\"" &&
	sed -n "$((seq + 1))p" "$log" >rec &&
	jq -e ".event == \"outcome\" and .id == \"e1\" and .status == \"ok\" and .replacements == 1 and .bytes == 22" rec &&
	test "$(jq -r .digest_before rec)" = "$before" &&
	test "$(jq -r .digest rec)" = "$(digest root/a.c)"
'

test_expect_success 'old not found: bad_request saying so, the file as it was' '
	cp root/a.c expect &&
	req e2 edit "{\"path\":\"a.c\",\"old\":\"int z\",\"new\":\"\"}" | send >out &&
	resp e2 | jq -e ".error.kind == \"bad_request\" and .error.message == \"a.c: old text not found; nothing was changed\"" &&
	test_cmp expect root/a.c
'

test_expect_success 'found twice without all: refused with the count; with all: both' '
	cp root/a.c expect &&
	req e3 edit "{\"path\":\"a.c\",\"old\":\"int \",\"new\":\"long \"}" | send >out &&
	resp e3 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"found 2 times\"))" &&
	test_cmp expect root/a.c &&
	req e4 edit "{\"path\":\"a.c\",\"old\":\"int \",\"new\":\"long \",\"all\":true}" | send >out &&
	resp e4 | jq -e ".ok and .result.replacements == 2" &&
	printf "long x = 2;\nlong y = 1;\n" >expect &&
	test_cmp expect root/a.c
'

test_expect_success 'the arguments shape: old empty, new missing, all not a boolean, an unknown member' '
	{
		req e5 edit "{\"path\":\"a.c\",\"old\":\"\",\"new\":\"x\"}"
		req e6 edit "{\"path\":\"a.c\",\"old\":\"x\"}"
		req e7 edit "{\"path\":\"a.c\",\"old\":\"x\",\"new\":\"y\",\"all\":1}"
		req e8 edit "{\"path\":\"a.c\",\"old\":\"x\",\"new\":\"y\",\"count\":1}"
	} | send >out &&
	resp e5 | jq -e ".error.kind == \"bad_request\" and .error.message == \"args.old: expected a non-empty string\"" &&
	resp e6 | jq -e ".error.kind == \"bad_request\" and .error.message == \"args.new: expected a string\"" &&
	resp e7 | jq -e ".error.kind == \"bad_request\" and .error.message == \"args.all: expected true or false\"" &&
	resp e8 | jq -e ".error.kind == \"bad_request\" and .error.message == \"args.count: unknown member\""
'

test_expect_success 'a blocked file, through a link or not, a missing file, the root, a link, a binary file' '
	printf "a\0b" >root/bin.dat &&
	{
		req e9 edit "{\"path\":\".env\",\"old\":\"1\",\"new\":\"2\"}"
		req e10 edit "{\"path\":\"env-link\",\"old\":\"1\",\"new\":\"2\"}"
		req e11 edit "{\"path\":\"nope.c\",\"old\":\"1\",\"new\":\"2\"}"
		req e12 edit "{\"path\":\".\",\"old\":\"1\",\"new\":\"2\"}"
		req e13 edit "{\"path\":\"a-link\",\"old\":\"x\",\"new\":\"z\"}"
		req e14 edit "{\"path\":\"bin.dat\",\"old\":\"a\",\"new\":\"c\"}"
	} | send >out &&
	resp e9 | jq -e ".error.kind == \"path_denied\"" &&
	resp e10 | jq -e ".error.kind == \"path_denied\"" &&
	test "$(cat root/.env)" = SECRET=1 &&
	resp e11 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"No such file\"; \"i\"))" &&
	resp e12 | jq -e ".error.kind == \"bad_request\"" &&
	resp e13 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"symbolic link\"))" &&
	test -L root/a-link &&
	resp e14 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"not a text file\"))" &&
	verify_log
'

test_expect_success 'the write limit bounds the file and the edited file' '
	proxy_stop &&
	proxy_setup codegen "\"limits\": {\"write\": 16}" &&
	printf "0123456789\n" >root/small.txt &&
	head -c 20 /dev/zero | tr "\0" a >root/big.txt &&
	proxy_start &&
	{
		req l1 edit "{\"path\":\"big.txt\",\"old\":\"a\",\"new\":\"b\",\"all\":true}"
		req l2 edit "{\"path\":\"small.txt\",\"old\":\"5\",\"new\":\"5555555\"}"
		req l3 edit "{\"path\":\"small.txt\",\"old\":\"5\",\"new\":\"555555\"}"
	} | send >out &&
	resp l1 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"at most 16\"))" &&
	resp l2 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"would be 17 bytes; the limit is 16\"))" &&
	resp l3 | jq -e ".ok and .result.bytes == 16"
'

test_expect_success 'edit_files never: insufficient_capability; an obligation: approval_required' '
	proxy_stop &&
	proxy_setup read_only &&
	printf "x\n" >root/r.txt &&
	proxy_start &&
	req c1 edit "{\"path\":\"r.txt\",\"old\":\"x\",\"new\":\"y\"}" | send >out &&
	resp c1 | jq -e ".error.kind == \"insufficient_capability\"" &&
	proxy_stop &&
	proxy_setup demo &&
	proxy_start &&
	req c2 edit "{\"path\":\"r.txt\",\"old\":\"x\",\"new\":\"y\"}" | send >out &&
	resp c2 | jq -e ".error.kind == \"approval_required\" and .error.op == \"edit\" and .error.obligation == \"edit_files\"" &&
	test "$(cat root/r.txt)" = x
'

test_expect_success 'nucleus-policy eval decides an edit as the proxy does: edit_files' '
	echo "{\"op\":\"edit\",\"args\":{\"path\":\"a.c\",\"old\":\"x\",\"new\":\"y\"}}" >line &&
	test_expect_code 1 nucleus-policy eval read_only <line >out &&
	jq -e ".kind == \"insufficient_capability\" and .reason == \"edit_files is never allowed\"" out &&
	nucleus-policy eval codegen <line >out &&
	jq -e ".decision == \"allow\"" out
'

test_done
