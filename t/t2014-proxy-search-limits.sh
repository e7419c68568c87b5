#!/bin/sh
test_description='nucleus-proxy: searches stop on time whatever their pattern, and one agent cannot take them all'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# Expressions with back-references, in JSON (backslashes escaped).  On a
# line of 3000 bytes the C library's regexec had not finished either
# after 20 s.  The first takes PCRE2 0.2 to 0.8 s a line (by the machine),
# within its match limit: a hundred such lines take it well past the time
# limit (ten did not always, on a fast one).  The second passes
# PCRE2's match limit within 0.1 s on its line.
slow='(.*)\\1\\1[^a]'
steep='(.*)(.*)\\2\\1[xz]'

# A request as another agent: req with its kid.
req_as() {
	kid=$1 &&
	shift &&
	req "$@" | sed "s/\"kid\":\"agent-7\"/\"kid\":\"$kid\"/"
}

slow_grep() {
	req_as "$1" "$2" grep "{\"path\":\"slow.txt\",\"pattern\":\"$slow\",\"regex\":true}"
}

# The line number in OUT (default out) of the response with this id.
at() {
	jq -r .id "${2:-out}" | grep -nx "$1" | cut -d: -f1
}

now_ms() {
	date +%s%3N
}

test_expect_success 'setup: a local_dev pod whose searches may take 2 s' '
	proxy_setup local_dev "\"limits\": {\"grep_seconds\": 2}" &&
	awk "BEGIN { for (i = 0; i < 750; i++) printf \"abcy\"; print \"\" }" >root/cat.txt &&
	awk "BEGIN { s = sprintf(\"%3000s\", \"\"); gsub(/ /, \"a\", s); for (i = 0; i < 100; i++) print s }" >root/slow.txt &&
	echo needle >root/hay.txt &&
	proxy_start
'

test_expect_success 'a regex with back-references that takes minutes stops at grep_seconds, says so, and is recorded' '
	t0=$(now_ms) &&
	slow_grep agent-7 c1 | send >out &&
	ms=$(( $(now_ms) - t0 )) &&
	echo "took $ms ms" &&
	test $ms -ge 1900 && test $ms -lt 5000 &&
	resp c1 | jq -e ".ok and .result.truncated and .result.stopped == \"time\" and .result.matches == []" &&
	seq=$(resp c1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".event == \"decision\" and .id == \"c1\" and .decision == \"allow\" and .matches == 0 and .stopped == \"time\""
'

test_expect_success 'back-references on one line of 3000 bytes: over the match limit, stopped there' '
	t0=$(now_ms) &&
	req m1 grep "{\"path\":\"cat.txt\",\"pattern\":\"$steep\",\"regex\":true}" | send >out &&
	ms=$(( $(now_ms) - t0 )) &&
	echo "took $ms ms" &&
	test $ms -lt 5000 &&
	resp m1 | jq -e ".ok and .result.truncated and .result.stopped == \"regex\" and .result.matches == []" &&
	seq=$(resp m1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".id == \"m1\" and .stopped == \"regex\""
'

test_expect_success 'two of them, and another agent: its stat and its search answer first' '
	{
		slow_grep agent-7 c2
		slow_grep agent-7 c3
		req_as agent-8 s1 stat "{\"path\":\"hay.txt\"}"
		req_as agent-8 g1 grep "{\"pattern\":\"needle\"}"
	} | send >out &&
	test_line_count = 4 out &&
	test $(at s1) -le 2 && test $(at g1) -le 2 &&
	resp g1 | jq -e ".ok and .result.matches[0].path == \"hay.txt\" and (.result | has(\"stopped\") | not)" &&
	resp c2 | jq -e ".ok and .result.stopped == \"time\"" &&
	resp c3 | jq -e ".ok and .result.stopped == \"time\""
'

test_expect_success 'a flood from one agent: 4 searches, the rest unavailable at once; another agent goes on' '
	{
		for i in $(seq 1 30); do slow_grep agent-7 f$i; done
		req_as agent-8 s2 stat "{\"path\":\"hay.txt\"}"
		req_as agent-8 g2 grep "{\"pattern\":\"needle\"}"
	} | send >out &&
	test_line_count = 32 out &&
	jq -c "select(.ok and .result.stopped == \"time\")" out >ran &&
	test_line_count = 4 ran &&
	jq -c "select(.error.kind == \"unavailable\")" out >refused &&
	test_line_count = 26 refused &&
	jq -c "select(.error.message | test(\"the limit is 4 per agent\") | not)" refused >other &&
	test_line_count = 0 other &&
	resp s2 | jq -e ".ok" && resp g2 | jq -e ".ok" &&
	first=$(jq -r "select(.ok and .result.stopped == \"time\") | .id" out | head -n 1) &&
	test $(at s2) -lt $(at "$first") && test $(at g2) -lt $(at "$first") &&
	seq=$(resp f30 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".id == \"f30\" and .decision == \"deny\" and .kind == \"unavailable\""
'

test_expect_success '80 searches of 20 agents: 16 at most run or wait, the channel still takes a stat' '
	{
		for a in $(seq 1 20); do
			for i in 1 2 3 4; do slow_grep agent-a$a a$a-$i; done
		done
		req_as agent-8 s3 stat "{\"path\":\"hay.txt\"}"
	} | send >out &&
	test_line_count = 81 out &&
	for a in 1 2 3 4; do
		for i in 1 2 3 4; do
			resp a$a-$i | jq -e ".ok and .result.stopped == \"time\"" || return 1
		done
	done &&
	resp a5-1 | jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"16 searches are running or waiting; the limit is 16\"))" &&
	jq -c "select(.ok | not) | select(.error.kind != \"unavailable\")" out >other &&
	test_line_count = 0 other &&
	resp s3 | jq -e ".ok"
'

test_expect_success 'a glob over a tree of long paths: 4 MiB of paths, then stopped' '
	# 16 directories of 240 bytes: each path is some 3.9 KiB, and 2000
	# of them would be 7.7 MiB.
	d=long && c=$(printf "%0240d" 0) &&
	for i in $(seq 1 16); do d=$d/$c; done &&
	mkdir -p "root/$d" &&
	(cd "root/$d" && seq -f "f%05.0f" 1 2000 | xargs touch) &&
	len=$(printf "%s/f00001" "$d" | wc -c) &&
	req l1 glob "{\"path\":\"long\",\"pattern\":\"f*\"}" | send >out &&
	resp l1 | jq -e ".ok and .result.truncated and .result.stopped == \"bytes\"" &&
	resp l1 | jq -e "(.result.matches | length) == $((4194304 / len))" &&
	resp l1 | jq -e "[.result.matches[] | length] | add <= 4194304" &&
	seq=$(resp l1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".id == \"l1\" and .stopped == \"bytes\" and .matches == $((4194304 / len))"
'

test_expect_success 'a grep whose matches are long: 4 MiB of paths and text, then stopped' '
	d=long && c=$(printf "%0240d" 0) &&
	for i in $(seq 1 16); do d=$d/$c; done &&
	awk "BEGIN { s = sprintf(\"%512s\", \"\"); gsub(/ /, \"n\", s); for (i = 0; i < 2000; i++) print s }" >"root/$d/lines.txt" &&
	req e1 grep "{\"path\":\"long\",\"pattern\":\"nnnn\"}" | send >out &&
	resp e1 | jq -e ".ok and .result.truncated and .result.stopped == \"bytes\"" &&
	resp e1 | jq -e "[.result.matches[] | (.path | length) + (.text | length)] | add <= 4194304"
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	proxy_stop &&
	verify_log
'

test_done
