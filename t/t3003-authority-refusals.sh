#!/bin/sh
test_description='nucleus-authority: every bad request refused with its kind, recorded, and the daemon keeps serving'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

rules='{"v":1,"rules":[{"name":"push","agent":"agent-7","pod":"p-*","op":"run","argv_prefix":["git","push"],"max_per_hour":1000}]}'
push='{"argv":["git","push","origin","main"]}'

# refused LINE-FILE KIND [MESSAGE-REGEX]: sent alone, refused so, and the
# last record is its approval.refused with that kind.
refused() {
	asend <"$1" >out &&
	test_line_count = 1 out &&
	jq -e ".ok == false and .error.kind == \"$2\"" out &&
	if [ -n "$3" ]; then
		jq -e ".error.message | test(\"$3\")" out
	fi &&
	tail -n 1 auth/audit.log >rec &&
	jq -e ".event == \"approval.refused\" and .kind == \"$2\" and .bytes == $(($(wc -c <"$1") - 1))" rec &&
	test "$(jq -r .line_hash rec)" = "$(head -c -1 "$1" | b2sum -l 256 | cut -d" " -f1)"
}

test_expect_success 'setup' '
	authority_setup "$rules" &&
	authority_start
'

test_expect_success 'a good request is granted by the rule' '
	areq agent-7 p-0001 run "$push" | asign agent.key >good &&
	asend <good >out &&
	jq -e ".ok and .result.state == \"granted\" and .id == \"$(jq -r .nonce good)\"" out
'

test_expect_success 'the same line again: replayed' '
	refused good replayed "nonce: seen before"
'

test_expect_success 'not JSON, a duplicate member, an unknown member: bad_request' '
	echo "{not json" >l1 && refused l1 bad_request "not a JSON object" &&
	areq agent-7 p-0001 run "$push" | asign agent.key | sed "s/^{/{\"v\":1,/" >l2 &&
	refused l2 bad_request "duplicate" &&
	areq agent-7 p-0001 run "$push" | jq -c ". + {\"extra\":1}" | asign agent.key >l3 &&
	refused l3 bad_request "unknown member"
'

test_expect_success 'wrong type, wrong version, no nonce, a short nonce: bad_request' '
	areq agent-7 p-0001 run "$push" | jq -c ".type = \"request\"" | asign agent.key request >l4 &&
	refused l4 bad_request "type" &&
	areq agent-7 p-0001 run "$push" | jq -c ".v = 2" | asign agent.key >l5 &&
	refused l5 bad_request "^v:" &&
	areq agent-7 p-0001 run "$push" | jq -c "del(.nonce)" | asign agent.key >l6 &&
	refused l6 bad_request "nonce" &&
	areq agent-7 p-0001 run "$push" | jq -c ".nonce = \"abcd\"" | asign agent.key >l7 &&
	refused l7 bad_request "nonce"
'

test_expect_success 'an unknown kid: auth_failed, recorded with the kid it claimed' '
	audit-tool keygen stranger stranger.key >/dev/null &&
	areq stranger p-0001 run "$push" | asign stranger.key >l8 &&
	refused l8 auth_failed "not in the authority" &&
	jq -e ".claimed_kid == \"stranger\" and .agent == null" rec
'

test_expect_success 'arguments the operation cannot take are refused before an operator sees them' '
	nucleus-authority list -d auth >before &&
	areq agent-7 p-0001 run "{\"argv\":\"git push\"}" | asign agent.key >a1 &&
	refused a1 bad_request "^args.argv: expected a non-empty array of strings$" &&
	areq agent-7 p-0001 run "{\"argv\":[\"/bin/sh\"]}" | asign agent.key >a2 &&
	refused a2 bad_request "^args.argv.0.: give the program" &&
	areq agent-7 p-0001 run "{\"argv\":[\"ls\"],\"env\":{}}" | asign agent.key >a3 &&
	refused a3 bad_request "^args.env: unknown member$" &&
	areq agent-7 p-0001 read "{\"path\":\"x\",\"lenght\":1}" | asign agent.key >a4 &&
	refused a4 bad_request "^args.lenght: unknown member$" &&
	areq agent-7 p-0001 write "{\"path\":[\"x\"]}" | asign agent.key >a5 &&
	refused a5 bad_request "^args.path: expected a string$" &&
	areq agent-7 p-0001 run "{\"argv\":[\"ls\"],\"timeout\":\"9\"}" | asign agent.key >a6 &&
	refused a6 bad_request "^args.timeout: " &&
	nucleus-authority list -d auth >after &&
	test_cmp before after
'

test_expect_success 'each member of each operation is of its type before an operator sees it' '
	nucleus-authority list -d auth >before &&
	n=0 &&
	while IFS="	" read -r op args want
	do
		n=$((n + 1)) &&
		areq agent-7 p-0001 "$op" "$args" | asign agent.key >m$n &&
		refused m$n bad_request "$want" || return 1
	done <<-\EOF &&
	read	{}	^args.path: required$
	delete	{"path":"x","extra":1}	^args.extra: unknown member$
	read	{"path":"x","offset":-1}	^args.offset: expected an integer from 0 to 4611686018427387903$
	read	{"path":"x","length":"9"}	^args.length: expected an integer of 0 or more$
	read	{"path":"x","encoding":"hex"}	^args.encoding: expected .text. or .base64.$
	write	{"path":"x"}	^give args.content or args.content_base64$
	write	{"path":"x","content":"a","content_base64":"YQ=="}	^give args.content or args.content_base64$
	write	{"path":"x","content":1}	^args.content: expected a string$
	write	{"path":"x","content":"a","mode":"over"}	^args.mode: expected create, truncate or append$
	glob	{"pattern":1}	^args.pattern: expected a glob$
	grep	{"pattern":""}	^args.pattern: expected 1 to 4096 bytes$
	grep	{"pattern":"a","regex":"yes"}	^args.regex: expected true or false$
	web_fetch	{"url":"ftp://a.test/"}	^args.url: expected an http:// or https:// URL$
	web_fetch	{"url":"http://a.test/","method":"POST"}	^args.method: expected .GET. or .HEAD.$
	web_search	{"query":""}	^args.query: expected a non-empty string$
	connect	{"host":"a.test","port":0}	^args.port: expected 1 to 65535$
	EOF
	nucleus-authority list -d auth >after &&
	test_cmp before after
'

test_expect_success 'a forged request: another key under agent-7, or changed after signing' '
	audit-tool keygen agent-7 forger.key >/dev/null &&
	areq agent-7 p-0001 run "$push" | asign forger.key >l9 &&
	refused l9 auth_failed "^sig:" &&
	areq agent-7 p-0001 run "$push" | asign agent.key | jq -c ".args.argv[3] = \"evil\"" >l10 &&
	refused l10 auth_failed "^sig:"
'

test_expect_success 'an HMAC agent key cannot sign an approval-request' '
	areq agent-hmac p-0001 run "$push" >unsigned &&
	jq -c ". + {\"sig\":\"AAAA\"}" unsigned >l11 &&
	refused l11 auth_failed "HMAC"
'

test_expect_success 'a key whose role is not agent: forbidden (after its signature verified)' '
	areq node-1 p-0001 run "$push" | asign node.key >l12 &&
	refused l12 forbidden "role agent" &&
	jq -e ".agent == \"node-1\"" rec
'

test_expect_success 'a line refused after its signature verified has spent its nonce: the same line again is replayed' '
	refused l12 replayed "nonce: seen before" &&
	areq agent-7 "p 1" run "$push" | asign agent.key >l12b &&
	refused l12b bad_request &&
	refused l12b replayed "nonce: seen before"
'

test_expect_success 'ts beyond the skew, past or future: replayed' '
	areq agent-7 p-0001 run "$push" $(($(date +%s) - 61)) | asign agent.key >l13 &&
	refused l13 replayed "clock" &&
	areq agent-7 p-0001 run "$push" $(($(date +%s) + 61)) | asign agent.key >l14 &&
	refused l14 replayed "clock"
'

# Exactly at the edge: ts the skew (60 s) ahead, and 59 s behind (a second
# the clock may move before the authority looks keeps it within).
test_expect_success 'ts at the edges of the skew, on both sides: accepted' '
	areq agent-7 p-0001 run "$push" $(($(date +%s) + 60)) | asign agent.key >l13a &&
	asend <l13a >out && jq -e ".ok and .result.state == \"granted\"" out &&
	areq agent-7 p-0001 run "$push" $(($(date +%s) - 59)) | asign agent.key >l13b &&
	asend <l13b >out && jq -e ".ok and .result.state == \"granted\"" out
'

test_expect_success 'bad pod, unknown op, args not an object, a reason over 1024 bytes: bad_request' '
	areq agent-7 "p 1" run "$push" | asign agent.key >l15 &&
	refused l15 bad_request "pod" &&
	areq agent-7 .. run "$push" | asign agent.key >l15a &&
	refused l15a bad_request "^pod:" &&
	areq agent-7 -p run "$push" | asign agent.key >l15b &&
	refused l15b bad_request "^pod:" &&
	areq agent-7 p-0001 launch "$push" | asign agent.key >l16 &&
	refused l16 bad_request "op" &&
	areq agent-7 p-0001 run "[1]" | asign agent.key >l17 &&
	refused l17 bad_request "args" &&
	long=$(head -c 1025 /dev/zero | tr "\0" r) &&
	areq agent-7 p-0001 run "$push" | jq -c ".reason = \"$long\"" | asign agent.key >l18 &&
	refused l18 bad_request "reason" &&
	areq agent-7 p-0001 run "$push" | jq -c ".reason = \"${long%r}\"" | asign agent.key >l19 &&
	asend <l19 >out && jq -e ".ok" out
'

test_expect_success 'a line over 1 MiB: too_large, recorded by size and hash; the next line is served' '
	{ printf "{\"pad\":\"" && head -c 1048576 /dev/zero | tr "\0" a && printf "\"}\n"; } >big &&
	areq agent-7 p-0001 run "$push" | asign agent.key >after &&
	cat big after | asend >out &&
	test_line_count = 2 out &&
	sed -n 1p out | jq -e ".error.kind == \"too_large\" and .id == null" &&
	sed -n 2p out | jq -e ".ok and .result.state == \"granted\"" &&
	jq -c "select(.kind == \"too_large\")" auth/audit.log >rec &&
	jq -e ".bytes == $(($(wc -c <big) - 1))" rec &&
	test "$(jq -r .line_hash rec)" = "$(head -c -1 big | b2sum -l 256 | cut -d" " -f1)"
'

test_expect_success 'a line of exactly 1 MiB is read as a line' '
	areq agent-7 p-0001 run "$push" | asign agent.key >base &&
	pad=$((1048576 - $(wc -c <base) - 7)) &&
	{ head -c -2 base && printf ",\"zz\":\"" && head -c $pad /dev/zero | tr "\0" z && printf "\"}\n"; } >exact &&
	test $(($(wc -c <exact) - 1)) = 1048576 &&
	asend <exact >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"unknown member\"))" out
'

test_expect_success 'the agent status query is checked the same way' '
	astatus agent-7 1 | asign agent.key approval-status >s1 &&
	asend <s1 >out && jq -e ".ok and .result.state == \"granted\"" out &&
	refused s1 replayed &&
	astatus agent-7 1 | jq -c ".id = \"01\"" | asign agent.key approval-status >s2 &&
	refused s2 bad_request "^id:" &&
	astatus agent-7 1 | asign forger.key approval-status >s3 &&
	refused s3 auth_failed
'

test_expect_success 'a replayed request stays replayed after a restart' '
	authority_stop &&
	authority_start &&
	refused good replayed "nonce: seen before"
'

test_expect_success 'the daemon kept serving and the log verifies, every refusal in it' '
	authority_alive &&
	areq agent-7 p-0001 run "$push" | asign agent.key | asend >out &&
	jq -e ".ok" out &&
	test "$(jq -c "select(.event == \"approval.refused\")" auth/audit.log | wc -l)" = 52 &&
	auth_verify
'

test_done
