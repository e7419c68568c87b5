#!/bin/sh
test_description='nucleus-proxy: every limit crossed, bad input answered, the proxy goes on'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup: a local_dev pod with small limits' '
	proxy_setup local_dev "\"limits\": {\"request_line\": 5000, \"write\": 1000, \"read\": 100, \"grep_matches\": 5, \"grep_seconds\": 1, \"timeout_max\": 60}" &&
	for i in 1 2 3 4 5 6 7 8; do echo "needle $i" >>root/hay.txt; done &&
	proxy_start
'

test_expect_success 'a line over the limit is too_large, recorded by size and hash; the next is served' '
	pad=$(head -c 6000 /dev/zero | tr "\0" a) &&
	{ req big read "{\"path\":\"$pad\"}"; req after stat "{\"path\":\"hay.txt\"}"; } >in &&
	send <in >out &&
	test_line_count = 2 out &&
	grep "\"id\":null" out | jq -e ".error.kind == \"too_large\"" &&
	resp after | jq -e ".ok" &&
	head -n 1 in | tr -d "\n" | b2sum -l 256 | cut -d" " -f1 >hash &&
	seq=$(grep "\"id\":null" out | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".kind == \"too_large\" and .bytes == $(head -n 1 in | tr -d "\n" | wc -c) and .line_hash == \"$(cat hash)\""
'

test_expect_success 'a line of exactly the limit is read' '
	req x read "{\"path\":\"hay.txt\"}" >line &&
	n=$(tr -d "\n" <line | wc -c) &&
	pad=$(head -c $((5000 - n)) /dev/zero | tr "\0" " ") &&
	printf "%s%s\n" "$(tr -d "\n" <line)" "$pad" | send >out &&
	resp x | jq -e ".ok"
'

test_expect_success 'malformed lines: each answered as bad_request, each recorded' '
	{
		echo "not json"
		echo "{\"type\":\"request\",\"type\":\"request\"}"
		printf "%s\n" "$(head -c 3000 /dev/zero | tr "\0" "[")"
		req u1 read "{\"path\":\"a\"}" | sed "s/\"sig\"/\"extra\":1,\"sig\"/"
		req u2 read "{\"path\":\"a\"}" | sed "s/p-0001/p-9999/"
		req u3 fly "{}"
		req u4 read "{\"path\":1.5}"
	} | send >out &&
	test_line_count = 7 out &&
	test $(jq -c "select(.error.kind == \"bad_request\")" out | wc -l) -eq 7 &&
	resp u1 | jq -e ".error.message == \"unknown member in the request\"" &&
	resp u2 | jq -e ".error.message == \"this proxy serves pod p-0001\"" &&
	proxy_alive
'

test_expect_success 'the envelope as the node reads it: a bad nonce, ts or sig is bad_request' '
	{
		req n1 read "{\"path\":\"a\"}" | sed "s/\"nonce\":\"0*\"/\"nonce\":\"00\"/"
		req n2 read "{\"path\":\"a\"}" | sed "s/\"nonce\":\"0*\"/\"nonce\":\"0000000000000000000000000000000G\"/"
		req n3 read "{\"path\":\"a\"}" | sed "s/\"nonce\":\"0*\"/\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"/"
		req n4 read "{\"path\":\"a\"}" | sed "s/\"nonce\":\"0*\",//"
		req n5 read "{\"path\":\"a\"}" | sed "s/\"ts\":1/\"ts\":\"1\"/"
		req n6 read "{\"path\":\"a\"}" | sed "s/\"sig\":\"unchecked\"/\"sig\":1/"
		req n7 read "{\"path\":\"a\"}"
	} | send >out &&
	test_line_count = 7 out &&
	for i in 1 2 3 4; do
		test "$(resp n$i | jq -r .error.message)" = "nonce: expected 32 lowercase hex digits" || return 1
	done &&
	test "$(resp n5 | jq -r .error.message)" = "ts: expected Unix seconds" &&
	test "$(resp n6 | jq -r .error.message)" = "sig: expected a signature" &&
	test "$(resp n7 | jq -r .error.kind)" != bad_request &&
	test $(jq -c "select(.error.kind == \"bad_request\")" out | wc -l) -eq 6 &&
	proxy_alive
'

test_expect_success 'argv: 256 items pass, 257 are bad_request' '
	args=$(seq 1 255 | sed "s/.*/\"&\"/" | paste -sd,) &&
	req v1 run "{\"argv\":[\"echo\",$args]}" | send >out &&
	resp v1 | jq -e ".ok" &&
	req v2 run "{\"argv\":[\"echo\",$args,\"x\"]}" | send >out &&
	resp v2 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"256\"))"
'

test_expect_success 'write content: the limit passes, one byte more does not' '
	c=$(head -c 1000 /dev/zero | tr "\0" a) &&
	req w1 write "{\"path\":\"w.txt\",\"content\":\"$c\"}" | send >out &&
	resp w1 | jq -e ".ok and .result.bytes == 1000" &&
	req w2 write "{\"path\":\"w.txt\",\"content\":\"${c}b\"}" | send >out &&
	resp w2 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"limit is 1000\"))" &&
	test $(wc -c <root/w.txt) -eq 1000
'

test_expect_success 'read length: at most the limit' '
	req r1 read "{\"path\":\"w.txt\"}" | send >out &&
	resp r1 | jq -e ".result.length == 100 and (.result.eof | not)" &&
	req r2 read "{\"path\":\"w.txt\",\"length\":101}" | send >out &&
	resp r2 | jq -e ".error.kind == \"bad_request\""
'

test_expect_success 'command timeout: at most the maximum' '
	req t1 run "{\"argv\":[\"true\"],\"timeout\":61}" | send >out &&
	resp t1 | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"1 to 60\"))"
'

test_expect_success 'grep matches: capped, and said so' '
	req g1 grep "{\"pattern\":\"needle\"}" | send >out &&
	resp g1 | jq -e "(.result.matches | length) == 5 and .result.truncated and .result.stopped == \"matches\""
'

test_expect_success 'grep time: a slow search stops at its limit, and stalls nothing' '
	mkdir root/slow &&
	# Each line takes the expression some 50 ms, well within its
	# match limit; 400 of them take longer than the time limit.
	awk "BEGIN { for (i = 0; i < 400; i++) print \"aaaaaaaaaaaaaaaaaaaaaa\" }" >root/slow/aaa.txt &&
	{
		req g2 grep "{\"path\":\"slow\",\"pattern\":\"(a|aa)*[^a]\",\"regex\":true}"
		req s2 stat "{\"path\":\"hay.txt\"}"
	} | send >out &&
	head -n 1 out | jq -e ".id == \"s2\"" &&
	resp g2 | jq -e ".ok and .result.truncated and .result.stopped == \"time\" and (.result.matches | length) == 0"
'

test_expect_success 'many requests in flight on one connection; a slow one stalls none' '
	{
		req slow run "{\"argv\":[\"sleep\",\"1\"]}"
		for i in $(seq 1 40); do req q$i stat "{\"path\":\"hay.txt\"}"; done
	} | send >out &&
	test_line_count = 41 out &&
	tail -n 1 out | jq -e ".id == \"slow\""
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	proxy_stop &&
	verify_log
'

test_expect_success 'budget: exhausted after what it holds, across a restart too' '
	rm -rf state && mkdir state && chmod 700 state &&
	proxy_setup "{\"profile\": \"read_only\", \"budget\": {\"limit_microusd\": 250}}" &&
	proxy_start &&
	for i in 1 2 3; do req b$i stat "{\"path\":\"hay.txt\"}"; done | send >out &&
	resp b1 | jq -e ".ok" && resp b2 | jq -e ".ok" &&
	resp b3 | jq -e ".error.kind == \"budget_exhausted\"" &&
	proxy_stop &&
	proxy_start &&
	req b4 stat "{\"path\":\"hay.txt\"}" | send >out &&
	resp b4 | jq -e ".error.kind == \"budget_exhausted\"" &&
	proxy_stop
'

test_expect_success 'outside the time window everything is time_window' '
	proxy_setup "{\"profile\": \"read_only\", \"time\": {\"not_before\": 1, \"not_after\": 2}}" &&
	proxy_start &&
	req tw stat "{\"path\":\"hay.txt\"}" | send >out &&
	resp tw | jq -e ".error.kind == \"time_window\"" &&
	proxy_stop
'

test_done
