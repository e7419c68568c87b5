#!/bin/sh
test_description='nucleus-proxy: edit, against an agent that aims it where it should not: overlapping text, a directory link out of the root, a hard link, bytes that are not UTF-8'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

digest() {
	b2sum -l 256 "$1" | cut -d" " -f1
}

test_expect_success 'setup: a codegen pod' '
	proxy_setup codegen &&
	mkdir outside &&
	printf "keep\n" >outside/f.txt &&
	printf "aaa\n" >root/ov.txt &&
	printf "ababa\n" >root/ov2.txt &&
	printf "x\r\n\377\376 one\r\nno newline" >root/raw.txt &&
	printf "same\n" >root/h1.txt &&
	ln root/h1.txt root/h2.txt &&
	ln -s "$PWD/outside" root/out-link &&
	proxy_start
'

test_expect_success 'old at two overlapping places is not unique: refused with the count, nothing changed' '
	{
		req o1 edit "{\"path\":\"ov.txt\",\"old\":\"aa\",\"new\":\"b\"}"
		req o2 edit "{\"path\":\"ov2.txt\",\"old\":\"aba\",\"new\":\"X\"}"
	} | send >out &&
	resp o1 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"found 2 times\"))" &&
	resp o2 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"found 2 times\"))" &&
	test "$(cat root/ov.txt)" = aaa &&
	test "$(cat root/ov2.txt)" = ababa &&
	req o3 edit "{\"path\":\"ov.txt\",\"old\":\"aa\",\"new\":\"b\",\"all\":true}" | send >out &&
	resp o3 | jq -e ".ok and .result.replacements == 1" &&
	test "$(cat root/ov.txt)" = ba
'

test_expect_success 'a file that is not UTF-8, CRLF, no last newline: only old changes, every other byte kept; old == new recorded with equal digests' '
	before=$(digest root/raw.txt) &&
	{
		req u1 edit "{\"path\":\"raw.txt\",\"old\":\"one\",\"new\":\"two\"}"
		req u2 edit "{\"path\":\"raw.txt\",\"old\":\"newline\",\"new\":\"newline\"}"
	} | send >out &&
	resp u1 | jq -e ".ok and .result.replacements == 1" &&
	printf "x\r\n\377\376 two\r\nno newline" >expect &&
	test_cmp expect root/raw.txt &&
	resp u2 | jq -e ".ok" &&
	seq=$(resp u2 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" >rec &&
	test "$(jq -r .digest_before rec)" = "$(jq -r .digest rec)" &&
	test "$(jq -r .digest rec)" = "$(digest root/raw.txt)" &&
	test "$(digest root/raw.txt)" != "$before"
'

test_expect_success 'all, each of 64 KiB of "a" made 512 KiB: refused by the write limit before any memory is taken for 32 GiB' '
	head -c 65536 /dev/zero | tr "\0" a >root/many.txt &&
	long=$(head -c 524288 /dev/zero | tr "\0" b) &&
	req m1 edit "{\"path\":\"many.txt\",\"old\":\"a\",\"new\":\"$long\",\"all\":true}" | send >out &&
	resp m1 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"would be 34359738368 bytes; the limit is 16777216\"))" &&
	test "$(wc -c <root/many.txt)" = 65536
'

test_expect_success 'through a directory link out of the root: refused, the file outside as it was; a hard link: the other name kept' '
	{
		req s1 edit "{\"path\":\"out-link/f.txt\",\"old\":\"keep\",\"new\":\"lost\"}"
		req s2 edit "{\"path\":\"h1.txt\",\"old\":\"same\",\"new\":\"new\"}"
	} | send >out &&
	resp s1 | jq -e ".error.kind == \"sandbox_escape\"" &&
	test "$(cat outside/f.txt)" = keep &&
	resp s2 | jq -e ".ok" &&
	test "$(cat root/h1.txt)" = new &&
	test "$(cat root/h2.txt)" = same &&
	verify_log
'

test_done
