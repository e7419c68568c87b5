#!/bin/sh
test_description='nucleus-proxy: file operations beneath the work root, and every way out of it'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup: a codegen pod (sensitive paths blocked)' '
	proxy_setup codegen &&
	printf "hello\n" >root/a.txt &&
	mkdir -p root/src/deep &&
	printf "int main(void);\nint x;\n" >root/src/main.c &&
	printf "main again\n" >root/src/deep/b.c &&
	printf "SECRET=1\n" >root/.env &&
	ln -s .env root/env-link &&
	ln -s /etc/passwd root/out-link &&
	ln -s ../.. root/src/up &&
	mkfifo root/fifo &&
	proxy_start
'

test_expect_success 'read: text, the file size, and a record for it' '
	req r1 read "{\"path\":\"a.txt\"}" | send >out &&
	resp r1 | jq -e ".ok and .result.data == \"hello\\n\" and .result.encoding == \"text\" and .result.size == 6 and .result.eof" &&
	seq=$(resp r1 | jq .audit.seq) &&
	line=$(sed -n "$((seq + 1))p" "$(proxy_log)") &&
	echo "$line" | jq -e ".event == \"decision\" and .decision == \"allow\" and .subject == \"a.txt\" and .bytes == 6 and .actor == \"agent-7\"" &&
	hash=$(printf "%s" "$line" | b2sum -l 256 | cut -d" " -f1) &&
	test "$(resp r1 | jq -r .audit.hash)" = "$hash"
'

test_expect_success 'read: offset, length and base64' '
	req r2 read "{\"path\":\"a.txt\",\"offset\":1,\"length\":3,\"encoding\":\"base64\"}" | send >out &&
	resp r2 | jq -e ".result.data == \"ZWxs\" and .result.length == 3 and (.result.eof | not)"
'

test_expect_success 'an argument an operation does not take is bad_request' '
	{
		req u1 read "{\"path\":\"a.txt\",\"lenght\":3}"
		req u2 write "{\"path\":\"u.txt\",\"content\":\"x\",\"mode\":\"create\",\"force\":true}"
	} | send >out &&
	resp u1 | jq -e ".error.kind == \"bad_request\" and .error.message == \"args.lenght: unknown member\"" &&
	resp u2 | jq -e ".error.kind == \"bad_request\"" &&
	test ! -e root/u.txt
'

test_expect_success 'a missing file is io_error saying so, not a denial' '
	req r3 read "{\"path\":\"nope.txt\"}" | send >out &&
	resp r3 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"no such file\"))"
'

# Path traversal in every spelling.
for p in "../x" "a/../../x" "/etc/passwd" "src/../../etc/passwd" "//etc/passwd"; do
	test_expect_success "read \"$p\" is sandbox_escape" '
		req t read "{\"path\":\"$p\"}" | send >out &&
		resp t | jq -e ".error.kind == \"sandbox_escape\""
	'
done

test_expect_success 'a NUL in a path never reaches a syscall' '
	req t read "{\"path\":\"a.txt\\u0000.env\"}" | send >out &&
	{ resp "" | jq -e ".error.kind == \"bad_request\"" ||
	  jq -e ".error.kind == \"bad_request\"" out; }
'

test_expect_success 'an overlong path is bad_request' '
	long=$(head -c 5000 /dev/zero | tr "\0" a) &&
	req t read "{\"path\":\"$long\"}" | send >out &&
	resp t | jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"4096\"))"
'

test_expect_success '// and ./ are just the same path' '
	req t read "{\"path\":\"src//./main.c\"}" | send >out &&
	resp t | jq -e ".ok and .result.path == \"src/main.c\""
'

test_expect_success 'symlinks: out of the root is sandbox_escape, to a blocked file path_denied' '
	req s1 read "{\"path\":\"out-link\"}" | send >out &&
	resp s1 | jq -e ".error.kind == \"sandbox_escape\"" &&
	req s2 read "{\"path\":\"env-link\"}" | send >out &&
	resp s2 | jq -e ".error.kind == \"path_denied\" and (.error.message | test(\"reached through env-link\"))" &&
	req s3 read "{\"path\":\"src/up/etc/passwd\"}" | send >out &&
	resp s3 | jq -e ".error.kind == \"sandbox_escape\""
'

test_expect_success 'sensitive files are path_denied, read or written' '
	req d1 read "{\"path\":\".env\"}" | send >out &&
	resp d1 | jq -e ".error.kind == \"path_denied\"" &&
	req d2 write "{\"path\":\"config/.env.local\",\"content\":\"x\"}" | send >out &&
	resp d2 | jq -e ".error.kind == \"path_denied\"" &&
	test ! -e root/config
'

test_expect_success 'a FIFO is not read (and does not hang the proxy)' '
	req f1 read "{\"path\":\"fifo\"}" | send >out &&
	resp f1 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"not a regular file\"))"
'

test_expect_success ROOT 'a device file is not read' '
	mknod root/zero c 1 5 &&
	req f2 read "{\"path\":\"zero\"}" | send >out &&
	resp f2 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"char-device\"))"
'

test_expect_success 'stat and list; blocked names are not listed' '
	req l1 stat "{\"path\":\"src\"}" | send >out &&
	resp l1 | jq -e ".result.type == \"directory\"" &&
	req l2 list "{}" | send >out &&
	resp l2 | jq -e "[.result.entries[].name] == [\"a.txt\",\"env-link\",\"fifo\",\"out-link\",\"src\"] or [.result.entries[].name] == [\"a.txt\",\"env-link\",\"fifo\",\"out-link\",\"src\",\"zero\"]" &&
	resp l2 | jq -e ".result.hidden == 1"
'

test_expect_success 'write: create, truncate, append; atomically; records before and after' '
	req w1 write "{\"path\":\"new.txt\",\"content\":\"one\\n\",\"mode\":\"create\"}" | send >out &&
	resp w1 | jq -e ".ok and .result.created and .result.bytes == 4" &&
	test "$(cat root/new.txt)" = one &&
	req w2 write "{\"path\":\"new.txt\",\"content\":\"x\",\"mode\":\"create\"}" | send >out &&
	resp w2 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"already exists\"))" &&
	req w3 write "{\"path\":\"new.txt\",\"content_base64\":\"dHdvCg==\"}" | send >out &&
	resp w3 | jq -e ".ok and (.result.created | not)" &&
	test "$(cat root/new.txt)" = two &&
	req w4 write "{\"path\":\"new.txt\",\"content\":\"three\\n\",\"mode\":\"append\"}" | send >out &&
	printf "two\nthree\n" >expect &&
	test_cmp expect root/new.txt &&
	! ls root/.nucleus-tmp-* 2>/dev/null &&
	seq=$(resp w4 | jq .audit.seq) &&
	log=$(proxy_log) &&
	sed -n "$((seq + 1))p" "$log" | jq -e ".event == \"outcome\" and .id == \"w4\" and .status == \"ok\" and .bytes == 6" &&
	sed -n "${seq}p" "$log" | jq -e ".event == \"decision\" and .id == \"w4\" and .decision == \"allow\" and .capability == \"edit_files\""
'

test_expect_success 'a write through a symlink to a blocked file is refused' '
	req w5 write "{\"path\":\"env-link\",\"content\":\"x\",\"mode\":\"append\"}" | send >out &&
	resp w5 | jq -e ".error.kind == \"path_denied\"" &&
	test "$(cat root/.env)" = SECRET=1
'

test_expect_success 'a truncating write replaces a symlink, never follows it' '
	req w6 write "{\"path\":\"out-link\",\"content\":\"mine\"}" | send >out &&
	resp w6 | jq -e ".ok" &&
	test ! -L root/out-link &&
	test "$(cat root/out-link)" = mine &&
	head -n 1 /etc/passwd | grep -q root
'

test_expect_success 'mkdir and delete' '
	req m1 mkdir "{\"path\":\"made\"}" | send >out &&
	test -d root/made &&
	req m2 delete "{\"path\":\"made\"}" | send >out &&
	resp m2 | jq -e ".result.deleted == \"directory\"" &&
	test ! -e root/made &&
	req m3 delete "{\"path\":\"src\"}" | send >out &&
	resp m3 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"not empty\"))" &&
	req m4 delete "{\"path\":\".\"}" | send >out &&
	resp m4 | jq -e ".error.kind == \"bad_request\""
'

test_expect_success 'glob: component-wise, blocked paths left out' '
	req g1 glob "{\"pattern\":\"*.c\"}" | send >out &&
	resp g1 | jq -e ".result.matches == [\"src/deep/b.c\",\"src/main.c\"] or .result.matches == [\"src/main.c\",\"src/deep/b.c\"]" &&
	req g2 glob "{\"pattern\":\"*.c\",\"path\":\"src/deep\"}" | send >out &&
	resp g2 | jq -e ".result.matches == [\"src/deep/b.c\"]" &&
	req g3 glob "{\"pattern\":\".env*\"}" | send >out &&
	resp g3 | jq -e ".result.matches == []" &&
	req g4 glob "{\"pattern\":\"../*\"}" | send >out &&
	resp g4 | jq -e ".error.kind == \"sandbox_escape\""
'

test_expect_success 'grep: fixed strings and regexes, never in blocked files' '
	req e1 grep "{\"pattern\":\"main\"}" | send >out &&
	resp e1 | jq -e "(.result.matches | length) == 2" &&
	req e2 grep "{\"pattern\":\"^int [a-z]+;\$\",\"regex\":true,\"path\":\"src/main.c\"}" | send >out &&
	resp e2 | jq -e ".result.matches == [{\"path\":\"src/main.c\",\"line\":2,\"text\":\"int x;\"}]" &&
	req e3 grep "{\"pattern\":\"SECRET\"}" | send >out &&
	resp e3 | jq -e ".result.matches == []" &&
	req e4 grep "{\"pattern\":\"(\",\"regex\":true}" | send >out &&
	resp e4 | jq -e ".error.kind == \"bad_request\""
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	proxy_stop &&
	verify_log
'

test_done
