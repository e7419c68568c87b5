#!/bin/sh
test_description='nucleus-authority: each fixed limit, crossed (one agent may hold every pending slot, -q 4096)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup: no rule for agent-7 but git push; 16 agents with rules' '
	authority_setup &&
	rules="{\"name\":\"push\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"git\",\"push\"],\"max_per_hour\":100000}" &&
	for i in $(seq 1 16); do
		audit-tool keygen load-$i load-$i.key | sed "s/ writer$/ agent/" >>auth/keyring &&
		rules="$rules,{\"name\":\"push-$i\",\"agent\":\"load-$i\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"git\",\"push\"],\"max_per_hour\":100000}" ||
		return 1
	done &&
	echo "{\"v\":1,\"rules\":[$rules]}" >auth/rules.json &&
	chmod 600 auth/rules.json &&
	authority_start -q 4096
'

test_expect_success 'a connection waits for at most 64 decisions; the 65th request is unavailable' '
	approval-load -p -c 1 -n 65 -o delete auth/request.sock agent.key >load &&
	grep -q "^sent=65 answered=65 granted=0 pending=64 denied=0 expired=0 errors=1 kinds=unavailable " load &&
	jq -s -e "[.[] | select(.event == \"approval.refused\" and .kind == \"unavailable\")] | length == 1 and (.[0].message | test(\"64 decisions\"))" auth/audit.log
'

test_expect_success 'at most 4096 requests wait for a person; past that, unavailable' '
	approval-load -p -c 64 -n 4033 -o delete auth/request.sock agent.key >load &&
	grep -q "^sent=4033 answered=4033 granted=0 pending=4032 denied=0 expired=0 errors=1 kinds=unavailable " load &&
	test "$(nucleus-authority list -d auth | grep -c " pending ")" = 4096 &&
	jq -s -e "[.[] | select(.event == \"approval.refused\" and .kind == \"unavailable\")] | length == 2 and (.[1].message | test(\"too many requests are waiting\"))" auth/audit.log
'

test_expect_success 'a rule still grants when the queue for people is full' '
	areq agent-7 p-0001 run "{\"argv\":[\"git\",\"push\"]}" | asign agent.key | asend >out &&
	jq -e ".ok and .result.state == \"granted\"" out
'

test_expect_success 'list returns at most 10000 requests, pending first, and says it cut' '
	approval-load -c 16 -n 6000 auth/request.sock load-*.key >load &&
	grep -q "^sent=6000 answered=6000 granted=6000 " load &&
	nucleus-authority list -j -d auth >out &&
	jq -e ".result.truncated == true and (.result.requests | length) == 10000 and ([.result.requests[:4096][] | select(.state == \"pending\")] | length) == 4096 and .result.requests[4096].state == \"granted\"" out &&
	# pending oldest first, the others newest first, the newest of all
	jq -e "[.result.requests[:4096][].id | tonumber] as \$p | \$p == (\$p | sort)" out &&
	jq -e "[.result.requests[4096:][].id | tonumber] as \$r | \$r == (\$r | sort | reverse)" out &&
	jq -e "(.result.requests[4096].id | tonumber) > ([.result.requests[:4096][].id | tonumber] | max)" out &&
	nucleus-authority list -d auth >lines &&
	test_line_count = 10000 lines
'

test_expect_success 'at most 64 connections of one uid and 128 in all; the next is told which' '
	authority_stop &&
	chmod 711 auth &&
	authority_start -q 4096 -g nogroup &&
	echo "{}" | sockload hold-lines "$PWD/auth/request.sock" 65 >answers &&
	test_line_count = 65 answers &&
	head -n 64 answers | jq -r .error.kind | sort -u >kinds &&
	echo bad_request >expect &&
	test_cmp expect kinds &&
	tail -n 1 answers | jq -e ".error.kind == \"unavailable\" and .error.message == \"too many connections of this uid\"" &&
	# root and an agent uid, 64 each: 128, and the next of a third uid
	# is one too many
	test_when_finished "touch go" &&
	{ sockload quiet auth/request.sock 64 go >root & } &&
	held1=$! &&
	{ sockload -u 65534 quiet auth/request.sock 65 go >agent & } &&
	held2=$! &&
	test_wait_for "the connections" 30 eval "test -s root && test -s agent" &&
	echo "open=64 refused=0" >expect &&
	test_cmp expect root &&
	echo "open=64 refused=1" >expect &&
	test_cmp expect agent &&
	sockload -u 65533:65534 wait auth/request.sock "" >said &&
	head -n 1 said | jq -e ".error.kind == \"unavailable\" and .error.message == \"too many connections\"" &&
	touch go &&
	test_wait_for "the connections to close" 30 eval "test_pid_ended $held1 && test_pid_ended $held2" &&
	areq agent-7 p-0001 run "{\"argv\":[\"git\",\"push\"]}" | asign agent.key | asend >out &&
	jq -e ".ok" out
'

rss_kb() {
	awk "/^VmRSS:/ { print \$2 }" /proc/$(cat authority.pid)/status
}

test_expect_success 'an admin who reads nothing is held to 16 MiB of answers, and loses none' '
	for i in $(seq 1 40); do
		echo "{\"type\":\"admin\",\"v\":1,\"id\":\"l$i\",\"op\":\"list\"}"
	done >cmds &&
	before=$(rss_kb) &&
	{ sockload stall "$PWD/auth/admin.sock" 3 <cmds >stalled & } &&
	stall=$! &&
	sleep 1.5 &&
	nucleus-authority list -d auth >/dev/null &&
	during=$(rss_kb) &&
	test_wait_exit "the stalled admin to read its answers" 60 $stall &&
	test_line_count = 40 stalled &&
	jq -r .id stalled >ids &&
	sed "s/.*\"id\":\"\\(l[0-9]*\\)\".*/\\1/" cmds >expect &&
	test_cmp expect ids &&
	echo "rss before $before KiB, while stalled $during KiB" &&
	# 16 MiB, what one list needs, and the state pages a list reads
	{ test_have_prereq SANITIZE || test $((during - before)) -lt 28672; }
'

peak_kb() {
	awk "/^VmHWM:/ { print \$2 }" /proc/$(cat authority.pid)/status
}

test_expect_success 'an admin who reads slowly, never all: the authority holds what waits, not all it sent' '
	for i in $(seq 1 40); do
		echo "{\"type\":\"admin\",\"v\":1,\"id\":\"t$i\",\"op\":\"list\"}"
	done >cmds &&
	before=$(rss_kb) &&
	echo 5 >/proc/$(cat authority.pid)/clear_refs &&
	sockload trickle "$PWD/auth/admin.sock" 16000000 <cmds >trickled &&
	peak=$(peak_kb) &&
	test_line_count = 40 trickled &&
	jq -r .id trickled >ids &&
	sed "s/.*\"id\":\"\(t[0-9]*\)\".*/\1/" cmds >expect &&
	test_cmp expect ids &&
	echo "rss before $before KiB, peak $peak KiB, $(wc -c <trickled) bytes read" &&
	# all it sent is 68 MB; what waits, at most 16 MiB and one answer
	{ test_have_prereq SANITIZE || test $((peak - before)) -lt 32768; }
'

test_expect_success 'a subject over 4096 bytes is logged by its size' '
	long=$(head -c 5000 /dev/zero | tr "\0" x) &&
	areq agent-7 p-0001 run "{\"argv\":[\"git\",\"push\",\"$long\"]}" | asign agent.key | asend >out &&
	jq -e ".result.state == \"granted\"" out &&
	jq -c "select(.event == \"approval.request\")" auth/audit.log | tail -n 1 >rec &&
	jq -e ".subject == null and .subject_bytes == 5017" rec &&
	auth_verify
'

test_done
