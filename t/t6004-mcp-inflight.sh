#!/bin/sh
test_description='nucleus-mcp: up to MCP_INFLIGHT_MAX tool calls in flight on the node connection, answered as they end, cancellation kept'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# session [POD [OPTION...]]: nucleus-mcp for POD (p-f) reading the fifo
# "in", which tail(1) fills from in.txt (its pid in tail.pid: killed, the
# input ends).
session() {
	pod=${1:-p-f} &&
	shift $(($# > 0 ? 1 : 0)) &&
	rm -f in in.txt out &&
	mkfifo in &&
	: >in.txt &&
	{ nucleus-mcp -l "$PWD/n/node.sock" -k agent.key "$@" "$pod" <in >out 2>mcp.err & } &&
	echo $! >mcp.pid &&
	{ tail -n +1 -f in.txt >in & } &&
	echo $! >tail.pid &&
	test_when_failed "session_kill; node_stop" &&
	send "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}" &&
	test_wait_for "initialize answered" 10 answered_ 0
}

# A session whose test fails is ended after that test, and the node
# stopped (its pod with it: a node killed at the end would leave it);
# one whose test passes serves the tests after it (as node_start).
session_kill() {
	kill "$(cat tail.pid)" "$(cat mcp.pid)" 2>/dev/null
	true
}

# send LINE: to the session's input.
send() {
	printf "%s\n" "$1" >>in.txt
}

# input_end: the session's input ends; wait for nucleus-mcp to exit.
input_end() {
	kill "$(cat tail.pid)" &&
	test_wait_for "nucleus-mcp to end" 30 test_pid_ended "$(cat mcp.pid)"
}

sleeper() {
	send "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"run_command\",\"arguments\":{\"argv\":[\"sleep\",\"100\"],\"timeout\":120}}}"
}

# sleeps [POD]: the pids of the sleep commands running in POD (p-f).
sleeps() {
	d=$(pod_cgroup "${1:-p-f}") &&
	for pid in $(cat "$d/cgroup.procs"); do
		test "$(cat /proc/$pid/comm 2>/dev/null)" = sleep && echo "$pid"
	done
	return 0
}

# running_ N [POD]: N sleep commands run in POD (p-f).
running_() {
	test "$(sleeps "$2" | wc -l)" = "$1"
}

# answered_ ID: out holds the answer to request ID.
answered_() {
	jq -e "select(.id == $1)" out >/dev/null 2>&1
}

# answers_ N: out holds N lines.
answers_() {
	test "$(wc -l <out)" -ge "$1"
}

test_expect_success 'setup: a node, pod p-f, a session of nucleus-mcp on a fifo' '
	authority_setup &&
	node_setup &&
	node_start &&
	pod_create p-f >out &&
	jq -e ".ok" out &&
	session
'

test_expect_success 'MCP_INFLIGHT_MAX (8): eight commands run at once; the ninth call is sent when one ends, and answered before the others' '
	test_when_failed "session_kill; node_stop" &&
	for i in 1 2 3 4 5 6 7 8
	do
		sleeper $i || return 1
	done &&
	test_wait_for "eight sleeps running at once" 30 running_ 8 &&
	send "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"stat\",\"arguments\":{\"path\":\".\"}}}" &&
	sleeper 10 &&
	kill $(sleeps | head -n 1) &&
	test_wait_for "the stat answered" 30 answered_ 9 &&
	test_line_count = 3 out &&
	sed -n 2p out | jq -e ".id >= 1 and .id <= 8 and .result.content != null" &&
	sed -n 3p out | jq -e ".id == 9 and .result.isError == false" &&
	test_wait_for "the tenth call running" 30 running_ 8
'

test_expect_success 'a call in flight cancelled is not answered; the others are, as they end; at the end of input all are done' '
	test_when_failed "session_kill; node_stop" &&
	send "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":10}}" &&
	send "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"ping\"}" &&
	test_wait_for "the ping after the cancellation answered" 10 answered_ 11 &&
	kill $(sleeps) &&
	test_wait_for "seven more answers" 30 answers_ 11 &&
	input_end &&
	test_line_count = 11 out &&
	jq -s -e "[.[].id] | sort == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]" out &&
	! grep -E "Sanitizer|runtime error" mcp.err
'

test_expect_success 'while a call waits for an operator, another call in flight is answered when it ends' '
	test_when_failed "session_kill; node_stop" &&
	authority_start -t 120 &&
	printf "%s\n" "{\"v\":1,\"name\":\"p-g\",\"policy\":{\"v\":1,\"profile\":\"local_dev\",\"capabilities\":{\"git_push\":\"always\"},\"obligations\":[\"git_push\"]},\"agents\":[\"agent-7\"],\"resources\":{\"memory_mib\":256,\"pids\":64,\"scratch_mib\":32}}" >spec-p-g.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-g.json >out &&
	jq -e ".ok" out &&
	session p-g -A "$PWD/auth/request.sock" -w 60 &&
	sleeper 2 &&
	test_wait_for "the sleep running" 30 running_ 1 p-g &&
	send "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"run_command\",\"arguments\":{\"argv\":[\"git\",\"push\",\"origin\",\"main\"]}}}" &&
	until_pending 1 &&
	kill $(sleeps p-g) &&
	test_wait_for "the sleep call answered while the other waits" 30 answered_ 2 &&
	pending_is_ 1 &&
	id=$(nucleus-authority list -d auth | sed -n "s/^\([0-9]*\) pending .*/\1/p") &&
	nucleus-authority deny -d auth -r "not now" "$id" >/dev/null &&
	test_wait_for "the call denied" 30 answered_ 1 &&
	input_end &&
	jq -s -e "[.[].id] == [0, 2, 1]" out &&
	jq -s -e ".[2].result | .isError and (.content[0].text | test(\"^approval_denied: .*not now\"))" out
'

test_expect_success 'the node gone with calls in flight: each answered unavailable' '
	session &&
	sleeper 1 &&
	sleeper 2 &&
	test_wait_for "two sleeps running" 30 running_ 2 &&
	node_stop &&
	test_wait_for "both answered" 30 answers_ 3 &&
	input_end &&
	jq -s -e "[.[] | select(.id == 1 or .id == 2) | .result | .isError and (.content[0].text | test(\"^unavailable: the node\"))] == [true, true]" out
'

test_done
