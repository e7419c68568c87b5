#!/bin/sh
test_description='nucleus-mcp: a node answer passed on as its bytes is exactly what parsing and writing it again gives; answers the node must not send still refused'
. "$(dirname "$0")/test-lib.sh"

# A node that answers read "NAME" with the text of a/NAME (fake-node.py).
# The tool calls' answers are compared byte for byte with what Python's
# json module writes (compact, keys sorted, UTF-8 as it is: canonical
# JSON for these values), built here apart from nucleus-mcp's code.

init() {
	printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n' "$1"
}

# read ID NAME: a read_file tool call.
read_() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"%s"}}}' "$1" "$2"
}

# session VERSION < LINES > out: nucleus-mcp for pod p-1 on the fake node,
# until its input ends and its calls are answered.
session() {
	{ init "$1" && cat; } >in &&
	timeout 30 nucleus-mcp -l "$PWD/node.sock" -k agent.key p-1 <in >out
}

# answer ID: the line of out answering ID.
answer() {
	grep "^{\"id\":$1," out
}

# expect ID RESULT-FILE STRUCTURED: the answer a tool call with that id
# gets for that result (canonical JSON text), written as Python would.
expect() {
	python3 - "$1" "$2" "$3" <<-\EOF
	import json, sys
	rid, path, structured = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
	text = open(path, encoding="utf-8").read().rstrip("\n")
	res = {"content": [{"type": "text", "text": text}], "isError": False}
	if structured:
	    res["structuredContent"] = json.loads(text)
	print(json.dumps({"jsonrpc": "2.0", "id": rid, "result": res},
	    ensure_ascii=False, sort_keys=True, separators=(",", ":")))
	EOF
}

test_expect_success 'setup: a key, the fake node, its answers' '
	audit-tool keygen agent-7 agent.key >/dev/null &&
	mkdir a &&
	printf "{\"content\":\"q\\\\\"b\\\\\\\\s\\\\n\\\\t\\\\u001f é ☃ 😀 \177 end\",\"length\":9}" >r-canon &&
	printf "{\"audit\":{\"hash\":\"00\",\"log\":\"l-1\",\"seq\":1},\"id\":@ID@,\"ok\":true,\"result\":%s,\"type\":\"response\",\"v\":1}\n" "$(cat r-canon)" >a/canon &&
	printf "[1,-2,true,null,{\"a\":\"\\\\\\\\\",\"b\":[]}]" >r-array &&
	printf "{\"id\":@ID@,\"ok\":true,\"result\":%s}\n" "$(cat r-array)" >a/array &&
	printf "\"a\\\\tb\"" >r-string &&
	printf "{\"id\":@ID@,\"ok\":true,\"result\":%s}\n" "$(cat r-string)" >a/string &&
	printf "{\"content\":\"é/x\",\"length\":2}" >r-loose &&
	printf "{ \"type\": \"response\", \"ok\": true, \"id\": @ID@, \"result\": {\"length\": 2, \"content\": \"\\\\u00e9\\\\/x\"} }\n" >a/loose &&
	printf "{\"x\":1}" >r-eid &&
	printf "{\"id\":@EID@,\"ok\":true,\"result\":{\"x\":1},\"type\":\"response\",\"v\":1}\n" >a/eid &&
	printf "{\"id\":@ID@,\"ok\":true,\"result\":{\"a\":1,\"a\":2},\"type\":\"response\",\"v\":1}\n" >a/dup &&
	printf "{\"id\":@ID@,\"ok\":false,\"ok\":true,\"result\":{}}\n" >a/dupok &&
	printf "{\"id\":@ID@,\"ok\":true,\"result\":{\"a\":\"\377\"}}\n" >a/utf8 &&
	printf "{\"id\":@ID@,\"ok\":true,\"result\":{\"a\":1}\n" >a/cut &&
	{ python3 "$TEST_DIRECTORY/helper/fake-node.py" "$PWD/node.sock" "$PWD/a" 2>node.err & } &&
	echo $! >node.pid &&
	test_wait_socket "the fake node" node.pid node.sock 10
'

test_expect_success '2025-06-18: each result the node sent, as text and as structured content, byte for byte' '
	{
		read_ 1 canon && echo &&
		read_ 2 array && echo &&
		read_ 3 loose && echo &&
		read_ 4 eid && echo &&
		read_ 9007199254740993 canon && echo
	} | session 2025-06-18 &&
	for c in 1:canon 2:array 3:loose 4:eid; do
		expect ${c%%:*} r-${c#*:} 1 >expected &&
		answer ${c%%:*} >got &&
		test_cmp expected got || return 1
	done &&
	jq -e --rawfile t r-canon "select(.id == 9007199254740993) | .result.content[0].text == \$t" out >/dev/null &&
	grep -q "\"id\":9007199254740993[,}]" out
'

test_expect_success '2025-03-26: the same results as text only; a batch answered whole, whatever its results' '
	{
		read_ 1 canon && echo &&
		read_ 2 array && echo &&
		printf "[%s,%s,%s]\n" "$(read_ 5 canon)" "$(read_ 6 loose)" "$(read_ 8 string)"
	} | session 2025-03-26 &&
	for c in 1:canon 2:array; do
		expect ${c%%:*} r-${c#*:} 0 >expected &&
		answer ${c%%:*} >got &&
		test_cmp expected got || return 1
	done &&
	jq -c "select(type == \"array\") | .[]" out | sort >got &&
	{ expect 5 r-canon 0 && expect 6 r-loose 0 && expect 8 r-string 0; } | jq -c . | sort >expected &&
	test_cmp expected got
'

test_expect_success 'answers the node must not send: refused as before, the call answered unavailable' '
	for a in dup dupok utf8 cut; do
		{ read_ 7 $a && echo; } | session 2025-06-18 &&
		jq -e "select(.id == 7) | .result.isError and (.result.content[0].text | startswith(\"unavailable: the node: \"))" out >/dev/null &&
		! grep -q structuredContent out || return 1
	done
'

test_expect_success 'the fake node stopped' '
	test_stop_daemon "the fake node" node.pid 10
'

test_done
