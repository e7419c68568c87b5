#!/bin/sh
test_description='nucleus-proxy: approval tokens, bound to one operation, used once, across restarts too'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup: a release pod (git push needs an approval)' '
	proxy_setup release &&
	proxy_start
'

push='{"argv":["git","--version"]}'

test_expect_success 'without a token: approval_required, with what to ask for' '
	req a1 run "{\"argv\":[\"echo\",\"gated\"]}" | send >out &&
	resp a1 | jq -e ".error.kind == \"approval_required\" and .error.op == \"run\" and .error.obligation == \"run_bash\" and (.error.args_digest | length) == 64" &&
	resp a1 | jq -r .error.args_digest >digest &&
	seq=$(resp a1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".decision == \"approval_required\" and .capability == \"run_bash\""
'

test_expect_success 'with a token for exactly that: it runs, and the record names the token' '
	token run "$(cat digest)" 1 | sign_token >tok &&
	req a2 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok)" | send >out &&
	resp a2 | jq -e ".ok and .result.stdout == \"gated\\n\"" &&
	seq=$(resp a2 | jq .audit.seq) &&
	sed -n "${seq}p" "$(proxy_log)" | jq -e ".decision == \"allow\" and .approval.id == \"a-1\" and .approval.nonce == \"$(jq -r .nonce tok)\""
'

test_expect_success 'the same token again: invalid_approval, rule 7' '
	req a3 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok)" | send >out &&
	resp a3 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 7\"))"
'

test_expect_success 'a token for other args, another pod, or forged: refused by rule' '
	token run "$(cat digest)" 2 | sign_token >tok2 &&
	req a4 run "{\"argv\":[\"echo\",\"other\"]}" "$(cat tok2)" | send >out &&
	resp a4 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 4\"))" &&
	token run "$(cat digest)" 3 p-9999 | sign_token >tok3 &&
	req a5 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok3)" | send >out &&
	resp a5 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 2\"))" &&
	jq -c ".sig = \"$(jq -r .sig tok2)\" | .id = \"a-4\"" tok2 >forged &&
	req a6 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat forged)" | send >out &&
	resp a6 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 1\"))"
'

test_expect_success 'a token refused for other args was not consumed' '
	req a7 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok2)" | send >out &&
	resp a7 | jq -e ".ok and .result.stdout == \"gated\\n\""
'

test_expect_success 'a token is single-use across a restart' '
	token run "$(cat digest)" 5 | sign_token >tok5 &&
	req a8 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok5)" | send >out &&
	resp a8 | jq -e ".ok" &&
	proxy_stop &&
	proxy_start &&
	req a9 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat tok5)" | send >out &&
	resp a9 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 7\"))"
'

test_expect_success 'an expired token is refused' '
	now=$(date +%s) &&
	printf "{\"type\":\"approval\",\"v\":1,\"kid\":\"authority-1\",\"id\":\"a-old\",\"pod\":\"p-0001\",\"op\":\"run\",\"args_digest\":\"%s\",\"sub\":\"agent-7\",\"iat\":%s,\"exp\":%s,\"nonce\":\"00112233445566778899aabbccddeeff\"}" "$(cat digest)" $((now - 200)) $((now - 100)) | sign_token >old &&
	req b1 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat old)" | send >out &&
	resp b1 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"rule 6: the token has expired\"))"
'

# tok_at ID IAT EXP: a token for echo gated issued at IAT, expiring at EXP.
tok_at() {
	printf "{\"type\":\"approval\",\"v\":1,\"kid\":\"authority-1\",\"id\":\"%s\",\"pod\":\"p-0001\",\"op\":\"run\",\"args_digest\":\"%s\",\"sub\":\"agent-7\",\"iat\":%s,\"exp\":%s,\"nonce\":\"%s\"}" \
	    "$1" "$(cat digest)" "$2" "$3" "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")" | sign_token
}

# The proxy's clock may have moved on by a second when it looks: each case
# holds whether it has or not.
test_expect_success 'iat at the edge of the skew (60 s): exactly at it accepted, past it refused' '
	now=$(date +%s) &&
	tok_at a-edge $((now + 60)) $((now + 120)) >edge &&
	req b2 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat edge)" | send >out &&
	test "$(resp b2 | jq -r .result.stdout)" = gated &&
	now=$(date +%s) &&
	tok_at a-past $((now + 62)) $((now + 120)) >past &&
	req b3 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat past)" | send >out &&
	test "$(resp b3 | jq -r .error.message)" = "rule 6: the token is issued in the future"
'

test_expect_success 'exp at the clock: refused; a token issued a skew ago and still valid: accepted' '
	now=$(date +%s) &&
	tok_at a-exp $((now - 60)) $now >atexp &&
	req b4 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat atexp)" | send >out &&
	test "$(resp b4 | jq -r .error.message)" = "rule 6: the token has expired" &&
	now=$(date +%s) &&
	tok_at a-late $((now - 100)) $((now + 10)) >late &&
	req b5 run "{\"argv\":[\"echo\",\"gated\"]}" "$(cat late)" | send >out &&
	test "$(resp b5 | jq -r .result.stdout)" = gated
'

test_expect_success 'the log verifies' '
	proxy_stop &&
	verify_log
'

test_done
