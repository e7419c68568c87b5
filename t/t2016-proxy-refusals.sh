#!/bin/sh
test_description='nucleus-proxy: what refused requests cost the log (limits.refusals, the shortened subject)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# A request line as KID: req_as KID ID OP ARGS-JSON.
req_as() {
	req "$2" "$3" "$4" | sed "s/\"kid\":\"agent-7\"/\"kid\":\"$1\"/"
}

# The canonical args of a run of sh -c with a 64 KiB script, and its argv.
big_args() {
	printf '{"argv":["sh","-c","%s"]}' "$(head -c 65000 /dev/zero | tr "\0" a)"
}

# The record of the response with this id (in out).
record_of() {
	seq=$(resp "$1" | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)"
}

hash_of() {
	b2sum -l 256 | cut -d" " -f1
}

test_expect_success 'setup: a local_dev pod' '
	proxy_setup local_dev &&
	proxy_start &&
	big_args >args.json &&
	jq -c .argv args.json | tr -d "\n" >argv.json
'

test_expect_success 'a refused 64 KiB argv is recorded by its start, its size and its digest' '
	req big run "$(cat args.json)" | send >out &&
	resp big | jq -e ".error.kind == \"command_denied\"" &&
	record_of big >rec &&
	test $(wc -c <rec) -lt 8192 &&
	jq -e "has(\"subject\") | not" rec &&
	jq -e ".decision == \"deny\" and .kind == \"command_denied\"" rec &&
	jq -e ".subject_bytes == $(wc -c <argv.json)" rec &&
	jq -e ".subject_digest == \"$(hash_of <argv.json)\"" rec &&
	jq -e ".args_digest == \"$(tr -d "\n" <args.json | hash_of)\"" rec &&
	jq -e ".subject_prefix[0:2] == [\"sh\",\"-c\"] and (.subject_prefix[2] | length) == 1017" rec
'

test_expect_success 'a refused subject of at most 4096 bytes is recorded whole' '
	pad=$(head -c 4082 /dev/zero | tr "\0" b) &&
	req mid run "{\"argv\":[\"sh\",\"-c\",\"$pad\"]}" | send >out &&
	record_of mid >rec &&
	jq -e "(.subject | tojson | length) == 4096 and (has(\"subject_prefix\") | not)" rec
'

test_expect_success 'a multibyte string is cut between characters' '
	pad=$(printf "%02500d" 0 | sed "s/0/é/g") &&
	req mb run "{\"argv\":[\"sh\",\"-c\",\"$pad\"]}" | send >out &&
	record_of mb >rec &&
	jq -e ".subject_prefix[2] | (. == (\"é\" * 508))" rec
'

test_expect_success 'an allowed run keeps its whole argv on the record' '
	pad=$(head -c 65000 /dev/zero | tr "\0" a) &&
	req ok run "{\"argv\":[\"echo\",\"$pad\"]}" | send >out &&
	resp ok | jq -e ".ok" &&
	seq=$(resp ok | jq .audit.seq) &&
	grep "\"id\":\"ok\"" "$(proxy_log)" | grep "\"decision\"" | jq -e ".subject[1] | length == 65000" &&
	verify_log
'

test_expect_success 'a flood of 1036 refused 64 KiB runs of one agent: 60 recorded in full, the rest unavailable and short, the log small' '
	line=$(req_as agent-9 X run "$(cat args.json)") &&
	for i in $(seq 1 1036); do
		printf "%s\n" "$line" | sed "s/\"id\":\"X\"/\"id\":\"f$i\"/"
	done >flood &&
	before=$(wc -c <"$(proxy_log)") &&
	send <flood >out &&
	test_line_count = 1036 out &&
	test $(jq -c "select(.error.kind == \"command_denied\")" out | wc -l) -eq 60 &&
	test $(jq -c "select(.error.kind == \"unavailable\")" out | wc -l) -eq 976 &&
	resp f61 | jq -e ".error.message | test(\"more than 60 requests of agent-9 refused in 60 s\")" &&
	record_of f61 >rec &&
	test $(wc -c <rec) -lt 1024 &&
	jq -e ".decision == \"deny\" and .kind == \"unavailable\" and .counted == \"command_denied\" and .actor == \"agent-9\" and .args_digest == \"$(tr -d "\n" <args.json | hash_of)\"" rec &&
	jq -e "has(\"subject\") or has(\"subject_prefix\") | not" rec &&
	test $(( $(wc -c <"$(proxy_log)") - before )) -lt $((60 * 8192 + 976 * 1024)) &&
	test $(du -sk state | cut -f1) -lt 4096
'

test_expect_success 'another agent is served meanwhile, its refusals recorded' '
	{ req_as agent-8 o1 run "$(cat args.json)"; req_as agent-8 o2 stat "{\"path\":\".\"}"; req a7 stat "{\"path\":\".\"}"; } | send >out &&
	resp o1 | jq -e ".error.kind == \"command_denied\" and .audit.seq > 0" &&
	resp o2 | jq -e ".ok" &&
	resp a7 | jq -e ".ok"
'

test_expect_success 'at its stop the proxy records what it counted, and the log verifies' '
	proxy_stop &&
	jq -c "select(.event == \"refusals\")" "$(proxy_log)" >sum &&
	test_line_count = 1 sum &&
	jq -e ".actor == \"agent-9\" and .recorded == 60 and .counted == 976 and .kinds.command_denied == 976 and .window_s == 60" sum &&
	verify_log
'

test_expect_success 'limits.refusals and limits.refusal_seconds: a window ends, its count is recorded, the next is recorded again' '
	proxy_setup local_dev "\"limits\": {\"refusals\": 3, \"refusal_seconds\": 2}" &&
	proxy_start &&
	for i in 1 2 3 4 5; do req w$i run "{\"argv\":[\"sh\",\"-c\",\"x\"]}"; done | send >out &&
	test $(jq -c "select(.error.kind == \"command_denied\")" out | wc -l) -eq 3 &&
	resp w4 | jq -e ".error.kind == \"unavailable\"" &&
	test_wait_for "the window'\''s refusals record" 10 \
	    jq -e -s "[.[] | select(.event == \"refusals\" and .counted == 2 and .recorded == 3)] | length == 1" "$(proxy_log)" &&
	req w6 run "{\"argv\":[\"sh\",\"-c\",\"x\"]}" | send >out &&
	resp w6 | jq -e ".error.kind == \"command_denied\"" &&
	verify_log
'

test_expect_success 'the limits are checked: 1 and 86400 s pass, 0 and 86401 s do not' '
	proxy_setup local_dev "\"limits\": {\"refusals\": 1, \"refusal_seconds\": 86400}" &&
	nucleus-proxy -n -p pod.json &&
	proxy_setup local_dev "\"limits\": {\"refusals\": 0}" &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "limits.refusals: expected an integer from 1 to 1000000" err &&
	proxy_setup local_dev "\"limits\": {\"refusal_seconds\": 86401}" &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "limits.refusal_seconds: expected an integer from 1 to 86400" err
'

test_done
