#!/bin/sh
test_description='nucleus-authority: an agent asks, an operator lists, shows, grants and denies; watch; status; expiry'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'setup' '
	authority_setup &&
	authority_start -t 120
'

test_expect_success 'a request waits for a person: list shows it, pending first, one line' '
	ask one p-0001 run "{\"argv\":[\"git\",\"push\",\"origin\",\"main\"]}" &&
	until_pending 1 &&
	nucleus-authority list -d auth >list &&
	test_line_count = 1 list &&
	echo "1 pending agent-7 p-0001 run [\"git\",\"push\",\"origin\",\"main\"]" >expect &&
	test_cmp expect list
'

test_expect_success 'show: the full op and args' '
	nucleus-authority show -d auth 1 >show &&
	grep -qx "op: run" show &&
	grep -qx "args: {\"argv\":\[\"git\",\"push\",\"origin\",\"main\"\]}" show &&
	grep -qx "reason: please" show &&
	grep -qx "state: pending" show &&
	nucleus-authority show -j -d auth 1 | jq -e ".result.request.args.argv[3] == \"main\" and (.result.request.args_digest | length) == 64"
'

test_expect_success 'grant: the waiting agent gets a token bound to its request' '
	nucleus-authority grant -d auth 1 >out &&
	echo "1 granted" >expect &&
	test_cmp expect out &&
	ask_done one &&
	test "$(cat one.rc)" = 0 &&
	jq -e ".type == \"approval\" and .kid == \"authority-1\" and .id == \"1\" and .pod == \"p-0001\" and .op == \"run\" and .sub == \"agent-7\" and .exp - .iat == 120 and (.nonce | test(\"^[0-9a-f]{32}$\"))" one.out &&
	digest=$(printf "%s" "{\"argv\":[\"git\",\"push\",\"origin\",\"main\"]}" | b2sum -l 256 | cut -d" " -f1) &&
	jq -e ".args_digest == \"$digest\"" one.out
'

test_expect_success 'a request is granted once: a second grant or a deny is not_pending, status 1' '
	test_expect_code 1 nucleus-authority grant -d auth 1 2>err &&
	grep -q "not_pending: the request is granted" err &&
	test_expect_code 1 nucleus-authority deny -d auth 1 2>err &&
	grep -q "not_pending" err
'

test_expect_success 'deny with a reason: the agent is told, status 1' '
	ask two p-0001 delete "{\"path\":\"src/main.c\"}" &&
	until_pending 1 &&
	nucleus-authority deny -d auth -r "not today" 2 >out &&
	echo "2 denied" >expect &&
	test_cmp expect out &&
	ask_done two &&
	test "$(cat two.rc)" = 1 &&
	! test -s two.out &&
	grep -q "request 2 denied: not today" two.err
'

test_expect_success 'unknown or malformed ids, bad ttl: 1 for the authority saying no, 2 for errors' '
	test_expect_code 1 nucleus-authority grant -d auth 99 2>err &&
	grep -q "unknown_request" err &&
	test_expect_code 2 nucleus-authority grant -d auth abc 2>err &&
	grep -q "bad_request" err &&
	test_expect_code 2 nucleus-authority grant -d auth -t 301 1 2>err &&
	test_expect_code 2 nucleus-authority show -d auth 2>err &&
	grep -q "^usage:" err &&
	test_expect_code 2 nucleus-authority list -d nowhere 2>err &&
	grep -q "nowhere/admin.sock" err
'

test_expect_success 'grant -t: shorter than the configured lifetime, never longer' '
	ask three p-0001 write "{\"path\":\"a\",\"content\":\"x\"}" &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	authority_stop && authority_start -t 60 &&
	test_expect_code 2 nucleus-authority grant -d auth -t 61 $id 2>err &&
	grep -q "ttl_s: expected 1 to 60 seconds" err &&
	nucleus-authority grant -j -d auth -t 30 $id >out &&
	jq -e ".ok and .result.state == \"granted\" and (.result.token.nonce | length) == 32" out &&
	nucleus-authority show -j -d auth $id | jq -e ".result.request.token | .exp - .iat == 30"
'

test_expect_success 'status: the agent asks by id; another agent may not' '
	test_expect_code 1 nucleus-authority status -d auth -k agent.key 2 >out 2>err &&
	grep -q "request 2 denied" err &&
	nucleus-authority status -d auth -k agent.key 1 >tok &&
	jq -e ".id == \"1\" and .sub == \"agent-7\"" tok &&
	audit-tool keygen agent-8 agent8.key | sed "s/ writer$/ agent/" >>auth/keyring &&
	authority_stop && authority_start &&
	test_expect_code 1 nucleus-authority status -d auth -k agent8.key 1 2>err &&
	grep -q "forbidden: the request is another agent" err &&
	test_expect_code 1 nucleus-authority status -d auth -k agent.key 77 2>err &&
	grep -q "unknown_request" err
'

test_expect_success 'status of a pending request: exit 3; then the decision' '
	ask four p-0001 run "{\"argv\":[\"make\",\"deploy\"]}" &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	test_expect_code 3 nucleus-authority status -d auth -k agent.key $id 2>err &&
	grep -q "request $id is pending" err &&
	nucleus-authority grant -d auth $id &&
	ask_done four && test "$(cat four.rc)" = 0
'

test_expect_success 'show escapes what the agent wrote: no control or non-ASCII byte reaches the terminal' '
	esc=$(printf "\033") &&
	ask five p-0001 run "{\"argv\":[\"rm\",\"-rf\",\"x\u202e\u001b[2Jy\"]}" "ok$esc[1A$esc[2Kfine" &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	nucleus-authority show -d auth $id >show &&
	nucleus-authority list -d auth >list &&
	! grep -q "$esc" show list &&
	! LC_ALL=C grep -q "[^[:print:]]" show list &&
	grep -q "^reason: ok\\\\x1b\[1A\\\\x1b\[2Kfine$" show &&
	grep -qF "args: {\"argv\":[\"rm\",\"-rf\",\"x\\u202E\\u001B[2Jy\"]}" show &&
	nucleus-authority deny -d auth $id
'

test_expect_success 'watch prints each request as it arrives, and each decision' '
	{ nucleus-authority watch -d auth >watch.out 2>watch.err & } &&
	echo $! >watch.pid &&
	test_when_finished "kill \$(cat watch.pid) 2>/dev/null; :" &&
	test_wait_for "the watch in the log" 5 grep -q "\"op\":\"watch\"" auth/audit.log &&
	ask six p-0001 mkdir "{\"path\":\"build\"}" &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	nucleus-authority grant -d auth $id &&
	ask_done six &&
	test_wait_for "two lines of watch" 5 sh -c "test \$(wc -l <watch.out) -ge 2" &&
	kill "$(cat watch.pid)" &&
	printf "request %s pending agent-7 p-0001 mkdir \"build\"\ngranted %s granted agent-7 p-0001 mkdir \"build\"\n" $id $id >expect &&
	test_cmp expect watch.out
'

test_expect_success 'list -j: one JSON answer, pending first, then the newest decided' '
	ask seven p-0001 stat "{\"path\":\"x\"}" &&
	until_pending 1 &&
	nucleus-authority list -j -d auth >out &&
	jq -e ".result.requests[0].state == \"pending\" and .result.requests[0].op == \"stat\" and .result.truncated == false" out &&
	jq -r ".result.requests[1:][].id" out >ids &&
	sort -rn ids >sorted && test_cmp sorted ids
'

test_expect_success 'a list that cannot be written out is an error, status 2' '
	test_expect_code 2 nucleus-authority list -d auth >/dev/full 2>err &&
	grep "standard output" err
'

test_expect_success 'a request nobody decides expires: the agent is told, the log says so' '
	authority_stop &&
	authority_start -e 2 &&
	ask_done seven &&
	test "$(cat seven.rc)" = 2 &&
	ask eight p-0001 stat "{\"path\":\"y\"}" &&
	ask_done eight &&
	test "$(cat eight.rc)" = 1 &&
	grep -q "request .* expired" eight.err &&
	jq -c "select(.event == \"approval.expire\")" auth/audit.log >expired && test -s expired &&
	test "$(jq -r .id expired | sort | tr "\n" " ")" = "$(nucleus-authority list -d auth | awk "/ expired /{print \$1}" | sort | tr "\n" " ")" &&
	test_expect_code 1 nucleus-authority grant -d auth "$(jq -r .id expired | tail -n 1)" 2>err &&
	grep -q "not_pending: the request is expired" err
'

test_expect_success 'every admin action is in the log with the operator uid' '
	jq -s -e "[.[] | select(.event == \"approval.grant\" and .by == \"operator\")] | length == 4 and all(.uid == 0 and .pid > 0)" auth/audit.log &&
	jq -r "select(.event == \"admin\") | .op" auth/audit.log | sort -u >ops &&
	printf "deny\ngrant\nlist\nshow\nwatch\n" >expect &&
	test_cmp expect ops &&
	jq -s -e "[.[] | select(.event == \"admin\" and .kind == \"not_pending\")] | length == 3 and all(.uid == 0)" auth/audit.log &&
	jq -s -e "[.[] | select(.event == \"approval.deny\" and .reason == \"not today\" and .by == \"operator\" and .uid == 0 and .id == \"2\")] | length == 1" auth/audit.log &&
	auth_verify
'

test_expect_success ROOT 'a uid that is not an operator is refused, and recorded' '
	authority_stop &&
	authority_start -g nogroup -a "$PWD/open-admin.sock" &&
	chmod 755 . &&
	test_expect_code 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    nucleus-authority list -a "$PWD/open-admin.sock" 2>err &&
	grep -q "forbidden: this uid is not an operator" err &&
	test_expect_code 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    nucleus-authority grant -a "$PWD/open-admin.sock" 1 2>err &&
	tail -n 1 auth/audit.log | jq -e ".event == \"admin.refused\" and .uid == 65534" &&
	test "$(jq -c "select(.event == \"admin.refused\")" auth/audit.log | wc -l)" = 2 &&
	nucleus-authority list -a "$PWD/open-admin.sock" >/dev/null &&
	auth_verify
'

test_expect_success ROOT 'an operator named with -o may act' '
	authority_stop &&
	authority_start -g nogroup -a "$PWD/open-admin.sock" -o root,nobody &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    nucleus-authority list -a "$PWD/open-admin.sock" >out &&
	tail -n 1 auth/audit.log | jq -e ".event == \"admin\" and .op == \"list\" and .uid == 65534"
'

test_done
