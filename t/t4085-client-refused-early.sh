#!/bin/sh
test_description='the clients (one shared wire_send): a daemon that answers and closes before the request is written is heard, not a SIGPIPE'
. "$(dirname "$0")/test-lib.sh"

# A daemon refusing every client at once, as the node and the authority
# do (an operator's uid, a full queue): one answer line, then close,
# reading nothing.  The request the client writes is larger than the
# socket can hold, so its write meets the closed end every time.
refuser() {
	python3 - "$1" <<-\PY &
	import os, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(sys.argv[1])
	s.listen(8)
	open(sys.argv[1] + ".ready", "w").close()
	while True:
	    c, _ = s.accept()
	    c.sendall(b"{\"type\":\"response\",\"v\":1,\"id\":\"c1\",\"ok\":false,"
	              b"\"error\":{\"kind\":\"forbidden\",\"message\":\"go away\"}}\n")
	    c.close()
	PY
	echo $! >refuser.pid
}

test_expect_success 'nucleus-node call hears a refusal sent before its 2 MiB request: exit 1, the kind on stderr' '
	audit-tool keygen agent-7 agent.key >/dev/null &&
	{ printf "{\"path\":\"x\",\"content\":\"" &&
	  head -c 2097152 /dev/zero | tr "\0" a &&
	  printf "\"}"; } >args.json &&
	refuser "$PWD/refuse.sock" &&
	test_when_finished "kill \$(cat refuser.pid)" &&
	test_wait_for "the refusing daemon" 10 test -e refuse.sock.ready &&
	for i in 1 2 3
	do
		test_expect_code 1 nucleus-node call -k agent.key \
		    -l "$PWD/refuse.sock" p-x write - <args.json 2>err &&
		grep -q "forbidden: go away" err || return 1
	done
'

test_expect_success 'nucleus-authority ask hears it the same way: exit 1' '
	refuser "$PWD/refuse2.sock" &&
	test_when_finished "kill \$(cat refuser.pid)" &&
	test_wait_for "the refusing daemon" 10 test -e refuse2.sock.ready &&
	test_expect_code 1 nucleus-authority ask -k agent.key \
	    -l "$PWD/refuse2.sock" p-x write - <args.json 2>err &&
	grep -q "forbidden: go away" err
'

test_done
