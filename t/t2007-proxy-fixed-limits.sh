#!/bin/sh
test_description='nucleus-proxy: the fixed limits of nucleus-proxy(8), each crossed'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# The default limits, but for request lines: a 1 MiB stdin needs a line
# longer than the default 1 MiB (t2005 crosses that one).
test_expect_success 'setup: a local_dev pod with the default limits, lines of 4 MiB' '
	proxy_setup local_dev "\"limits\": {\"request_line\": 4194304}" &&
	mkdir root/many &&
	(cd root/many && seq -f "f%05.0f" 1 10001 | xargs touch) &&
	proxy_start
'

test_expect_success 'a request id: 64 characters pass, 65 are bad_request' '
	id64=$(printf "%064d" 7) &&
	{
		req "$id64" stat "{\"path\":\"many\"}"
		req "${id64}8" stat "{\"path\":\"many\"}"
	} | send >out &&
	test_line_count = 2 out &&
	resp "$id64" | jq -e ".ok" &&
	jq -c "select(.id == null)" out | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"1 to 64\"))"
'

test_expect_success 'list: 10000 entries, then truncated' '
	req l1 list "{\"path\":\"many\"}" | send >out &&
	resp l1 | jq -e "(.result.entries | length) == 10000 and .result.truncated"
'

test_expect_success 'glob: 10000 paths, then truncated' '
	req g1 glob "{\"path\":\"many\",\"pattern\":\"f*\"}" | send >out &&
	resp g1 | jq -e "(.result.matches | length) == 10000 and .result.truncated and .result.stopped == \"matches\""
'

test_expect_success 'a search descends 64 directories, not 65' '
	d=root/deep && for i in $(seq 1 65); do d=$d/d; done &&
	mkdir -p "$d" &&
	echo needle >"$d/../x.txt" && echo needle >"$d/x.txt" &&
	req g2 glob "{\"path\":\"deep\",\"pattern\":\"**/x.txt\"}" | send >out &&
	resp g2 | jq -e "(.result.matches | length) == 1" &&
	resp g2 | jq -r ".result.matches[0]" | tr -cd / | wc -c >slashes &&
	echo 65 >expect && test_cmp expect slashes &&
	req g3 grep "{\"path\":\"deep\",\"pattern\":\"needle\"}" | send >out &&
	resp g3 | jq -e "(.result.matches | length) == 1"
'

test_expect_success 'stdin: 1 MiB passes, one byte more is bad_request' '
	mib=$(head -c 1048576 /dev/zero | tr "\0" a) &&
	req s1 run "{\"argv\":[\"wc\",\"-c\"],\"stdin\":\"$mib\"}" | send >out &&
	resp s1 | jq -e ".result.stdout == \"1048576\\n\"" &&
	req s2 run "{\"argv\":[\"wc\",\"-c\"],\"stdin\":\"${mib}a\"}" | send >out &&
	resp s2 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"stdin\"))"
'

test_expect_success 'argv: 64 KiB in all pass, one byte more does not' '
	# 16 arguments of 4095 bytes and their NULs, "echo" and its NUL:
	# 65536 bytes; then one byte more.
	a=$(head -c 4095 /dev/zero | tr "\0" a) &&
	args=$(for i in $(seq 1 15); do printf "\"%s\"," "$a"; done) &&
	req v1 run "{\"argv\":[\"echo\",$args\"$(head -c 4090 /dev/zero | tr "\0" a)\"]}" | send >out &&
	resp v1 | jq -e ".ok" &&
	req v2 run "{\"argv\":[\"echo\",$args\"$(head -c 4091 /dev/zero | tr "\0" a)\"]}" | send >out &&
	resp v2 | jq -e ".error.kind == \"bad_request\""
'

test_expect_success '64 connections are served at once, the 65th is closed' '
	req c1 stat "{\"path\":\"many\"}" | sockload hold "$PWD/sock" 65 >got &&
	echo 64 >expect &&
	test_cmp expect got &&
	req c2 stat "{\"path\":\"many\"}" | send >out &&
	resp c2 | jq -e ".ok"
'

rss_kb() {
	awk "/^VmRSS:/ { print \$2 }" /proc/$(cat proxy.pid)/status
}

test_expect_success 'a peer that reads nothing is held to 64 MiB of answers, and loses none' '
	head -c 1048576 /dev/zero | tr "\0" b >root/big.txt &&
	for i in $(seq 1 400); do req b$i read "{\"path\":\"big.txt\"}"; done >reqs &&
	{ sockload stall "$PWD/sock" 3 <reqs >stalled & } &&
	stall=$! &&
	sleep 2 &&
	rss=$(rss_kb) &&
	req c3 stat "{\"path\":\"many\"}" | send >out &&
	resp c3 | jq -e ".ok" &&
	test_wait_exit "the stalled peer to read its answers" 60 $stall &&
	test_line_count = 400 stalled &&
	test "$(jq -r "select(.ok) | .id" stalled | wc -l)" -eq 400 &&
	echo "proxy RSS while stalled: $rss kB" &&
	# Unbounded, it held 380 MB two seconds in; bounded, it holds
	# 64 MiB unsent and 64 answers in flight (about 200 MB). ASan keeps
	# freed memory in quarantine, so the bound is not measured there.
	{ test_have_prereq SANITIZE || test "$rss" -lt 280000; }
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	proxy_stop &&
	verify_log
'

test_done
