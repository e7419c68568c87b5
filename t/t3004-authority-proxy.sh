#!/bin/sh
test_description='nucleus-authority and nucleus-proxy: a minted token passes every rule; each binding broken is refused by its rule'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

gated='{"argv":["echo","gated"]}'
rules='{"v":1,"rules":[{"name":"gated","agent":"agent-7","pod":"p-*","op":"run","argv_prefix":["echo","gated"],"max_per_hour":1000},{"name":"gated-8","agent":"agent-8","pod":"p-*","op":"run","argv_prefix":["echo","gated"],"max_per_hour":1000}]}'

# get_token POD OP ARGS [KEY]: ask the authority, a rule grants; the token
# on stdout.
get_token() {
	nucleus-authority ask -d auth -k "${4:-agent.key}" "$1" "$2" "$3"
}

# by_operator FILE POD OP ARGS [GRANT-OPTIONS]: ask; no rule names it, so
# an operator grants it; the token in FILE.
by_operator() {
	rm -f "$1.rc"
	(
		nucleus-authority ask -d auth -k agent.key "$2" "$3" "$4" >"$1"
		echo $? >"$1.rc"
	) &
	until_pending 1 || return 1
	id=$(nucleus-authority list -d auth | awk '/ pending /{print $1}')
	nucleus-authority grant -d auth $5 "$id" >/dev/null || return 1
	test_wait_for "the agent to be answered" 10 test -s "$1.rc" &&
	test "$(cat "$1.rc")" = 0
}

# try ID TOKEN-FILE: the proxy's answer to running echo gated with it.
try() {
	req "$1" run "$gated" "$(cat "$2")" | send >out &&
	resp "$1"
}

test_expect_success 'setup: a release pod and an authority with rules' '
	proxy_setup release &&
	proxy_start &&
	authority_setup "$rules" &&
	audit-tool keygen agent-8 agent8.key | sed "s/ writer$/ agent/" >>auth/keyring &&
	authority_start
'

test_expect_success 'the proxy asks for an approval; the authority mints exactly that' '
	req a1 run "$gated" | send >out &&
	resp a1 | jq -e ".error.kind == \"approval_required\"" &&
	resp a1 | jq -r .error.args_digest >digest &&
	get_token p-0001 run "$gated" >tok &&
	test "$(jq -r .args_digest tok)" = "$(cat digest)"
'

test_expect_success 'the token passes all seven rules: the command runs, the record names it' '
	try a2 tok | jq -e ".ok and .result.stdout == \"gated\\n\"" &&
	seq=$(resp a2 | jq .audit.seq) &&
	sed -n "${seq}p" "$(proxy_log)" | jq -e ".decision == \"allow\" and .approval.id == \"$(jq -r .id tok)\" and .approval.nonce == \"$(jq -r .nonce tok)\""
'

test_expect_success 'rule 7: the same token for a second request' '
	try a3 tok | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 7\"))"
'

test_expect_success 'rule 1: an agent signing its own token with its own key' '
	get_token p-0001 run "$gated" >fresh &&
	jq -c "del(.sig) | .kid = \"agent-7\"" fresh | audit-tool sign approval agent.key >self &&
	try a4 self | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 1: the token is signed by a key whose role is not authority\"))"
'

test_expect_success 'rule 1: a minted token with any member changed' '
	jq -c ".exp = .exp + 100" fresh >changed &&
	try a5 changed | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 1\"))" &&
	jq -c "del(.sig)" fresh | audit-tool sign approval intruder.key >intruder &&
	try a6 intruder | jq -e ".error.message | test(\"^rule 1\")"
'

test_expect_success 'rule 2: a token for one pod used on another' '
	get_token p-9999 run "$gated" >other-pod &&
	try a7 other-pod | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 2\"))"
'

test_expect_success 'rule 3: a token for another operation' '
	by_operator other-op p-0001 write "{\"path\":\"notes\",\"content\":\"x\"}" &&
	try a8 other-op | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 3\"))"
'

test_expect_success 'rule 4: a token for other args' '
	by_operator other-args p-0001 run "{\"argv\":[\"echo\",\"other\"]}" &&
	try a9 other-args | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 4\"))"
'

test_expect_success 'rule 5: a token issued to another agent' '
	get_token p-0001 run "$gated" agent8.key >other-agent &&
	jq -e ".sub == \"agent-8\"" other-agent &&
	try a10 other-agent | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 5\"))"
'

test_expect_success 'rule 6: an expired token' '
	by_operator short p-0001 run "{\"argv\":[\"echo\",\"late\"]}" "-t 1" &&
	jq -e ".exp - .iat == 1" short &&
	sleep 2 &&
	req a11 run "{\"argv\":[\"echo\",\"late\"]}" "$(cat short)" | send >out &&
	resp a11 | jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 6\"))"
'

test_expect_success 'none of the refused tokens was consumed: each still works once' '
	try a12 fresh | jq -e ".ok" &&
	try a13 fresh | jq -e ".error.message | test(\"^rule 7\")"
'

test_expect_success 'a token stays used across a proxy restart' '
	get_token p-0001 run "$gated" >once &&
	try a14 once | jq -e ".ok" &&
	proxy_stop &&
	proxy_start &&
	try a15 once | jq -e ".error.message | test(\"^rule 7\")"
'

test_expect_success 'both logs verify; the authority recorded every grant with its rule' '
	verify_log &&
	auth_verify &&
	test "$(jq -c "select(.event == \"approval.grant\" and .by == \"rule\")" auth/audit.log | wc -l)" = 5 &&
	jq -s -e "[.[] | select(.event == \"approval.grant\" and .by == \"operator\")] | length == 3" auth/audit.log &&
	jq -s -e "[.[] | select(.event == \"approval.grant\") | .rule] | unique == [null, \"gated\", \"gated-8\"]" auth/audit.log
'

# rewrite FILE FORM: the signed approval-request in FILE, its args written
# as FORM instead: the signature covers the value, not its text.
rewrite() {
	OLD='"args":{"argv":["echo","gated"],"timeout":10}' NEW="\"args\":$2" \
	    awk '{ i = index($0, ENVIRON["OLD"]); if (i == 0) exit 1
		print substr($0, 1, i - 1) ENVIRON["NEW"] substr($0, i + length(ENVIRON["OLD"])) }' "$1"
}

same='{"argv":["echo","gated"],"timeout":10}'

test_expect_success 'one value written three ways (member order, \u escapes): one digest at the proxy and the authority' '
	cat >forms <<-\EOF &&
	{"argv":["echo","gated"],"timeout":10}
	{"timeout":10,"argv":["echo","gated"]}
	{"timeout":10,"argv":["\u0065cho","gat\u0065d"]}
	EOF
	i=0 &&
	while read -r form; do
		i=$((i + 1)) &&
		req d$i run "$form" | send >out &&
		resp d$i | jq -e ".error.kind == \"approval_required\"" &&
		resp d$i | jq -r .error.args_digest >>proxy.digests &&
		areq agent-7 p-0001 run "$same" | asign agent.key >line &&
		rewrite line "$form" >line$i &&
		asend <line$i >out &&
		jq -e ".ok and .result.state == \"granted\"" out &&
		jq -c .result.token out >tok$i &&
		jq -r .args_digest tok$i >>auth.digests || return 1
	done <forms &&
	test_line_count = 3 proxy.digests &&
	sort -u proxy.digests auth.digests >digests &&
	test_line_count = 1 digests &&
	i=0 &&
	while read -r form; do
		i=$((i + 1)) &&
		other=$((i % 3 + 1)) &&
		req e$i run "$form" "$(cat tok$other)" | send >out &&
		test "$(resp e$i | jq -r .result.stdout)" = gated || return 1
	done <forms
'

test_expect_success 'different values never share a digest: a token for one is refused for the others' '
	cat >others <<-\EOF &&
	{"argv":["echo","gated "],"timeout":10}
	{"argv":["echo","gat\u00e9d"],"timeout":10}
	{"argv":["echo","gated"],"timeout":11}
	{"argv":["echo","gated"]}
	{"argv":["echo","gated"],"timeout":10,"cwd":"."}
	EOF
	areq agent-7 p-0001 run "$same" | asign agent.key | asend >out &&
	jq -c .result.token out >tok &&
	i=0 &&
	while read -r form; do
		i=$((i + 1)) &&
		req f$i run "$form" | send >out &&
		resp f$i | jq -r .error.args_digest >>other.digests &&
		req g$i run "$form" "$(cat tok)" | send >out &&
		test "$(resp g$i | jq -r .error.kind)" = invalid_approval &&
		resp g$i | jq -e ".error.message | test(\"^rule 4\")" || return 1
	done <others &&
	cat digests >>other.digests &&
	sort -u other.digests >distinct &&
	test_line_count = 6 distinct
'

test_expect_success 'a number written another way (1e1, 10.0, 010, -0) is refused by both, never digested' '
	for n in 1e1 10.0 010 -0; do
		form="{\"argv\":[\"echo\",\"gated\"],\"timeout\":$n}" &&
		req h run "$form" | send >out &&
		test_line_count = 1 out &&
		jq -e ".ok == false and .error.kind == \"bad_request\"" out &&
		areq agent-7 p-0001 run "$same" | asign agent.key >line &&
		rewrite line "$form" >numline &&
		asend <numline >out &&
		jq -e ".ok == false and .error.kind == \"bad_request\"" out || return 1
	done &&
	verify_log &&
	auth_verify
'

test_done
