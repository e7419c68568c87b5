#!/bin/sh
test_description='nucleus-authority: keygen, what serve refuses to start with, sockets, its own log and confinement'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

test_expect_success 'keygen writes a 0600 key and prints the keyring line' '
	mkdir -m 700 k &&
	nucleus-authority keygen -d k auth-main >line &&
	test "$(stat -c %a k/authority.key)" = 600 &&
	grep -q "^ed25519-secret auth-main " k/authority.key &&
	grep -Eq "^auth-main ed25519 [A-Za-z0-9+/]{43}= authority$" line
'

test_expect_success 'keygen never overwrites a key' '
	cp k/authority.key before &&
	test_expect_code 2 nucleus-authority keygen -d k auth-other 2>err &&
	grep -q "File exists" err &&
	test_cmp before k/authority.key
'

test_expect_success 'usage: no command, an unknown one, a bad option: status 2' '
	test_expect_code 2 nucleus-authority 2>err &&
	grep -q "^usage: nucleus-authority serve" err &&
	test_expect_code 2 nucleus-authority frobnicate 2>err &&
	test_expect_code 2 nucleus-authority serve -Z 2>err &&
	test_expect_code 2 nucleus-authority grant 2>err
'

test_expect_success 'setup' '
	authority_setup
'

test_expect_success 'limits on the command line: -t over 300, -e over a day, -w over an hour' '
	test_expect_code 2 nucleus-authority serve -d auth -t 301 2>err &&
	grep -q "expected 1 to 300 seconds" err &&
	test_expect_code 2 nucleus-authority serve -d auth -e 86401 2>err &&
	grep -q "expected 1 to 86400 seconds" err &&
	test_expect_code 2 nucleus-authority serve -d auth -w 3601 2>err &&
	grep -q "expected 1 to 3600 seconds" err &&
	test_expect_code 2 nucleus-authority serve -d auth -t 0 2>err
'

test_expect_success 'numbers read whole: no trailing junk, no sign, no space, no leading zero' '
	for t in 10x "" " 10" +10 -10 010 0x10
	do
		test_expect_code 2 nucleus-authority serve -d /nonexistent \
		    -t "$t" 2>err &&
		grep -F "nucleus-authority: $t: " err || return 1
	done &&
	test_expect_code 2 nucleus-authority serve -d /nonexistent -w 10x 2>err &&
	grep -Fx "nucleus-authority: 10x: not a decimal number: expected 1 to 3600 seconds" err &&
	test_expect_code 2 nucleus-authority grant -d auth -t 5x 1 2>err &&
	grep -F -- "-t 5x: expected 1 to 300 seconds" err &&
	test_expect_code 2 nucleus-authority serve -d auth -o 1000x 2>err &&
	grep -F "no such user 1000x" err &&
	test_expect_code 2 nucleus-authority serve -d auth -o +1000 2>err &&
	grep -F "no such user +1000" err &&
	test_expect_code 2 nucleus-authority serve -d auth -g 10x 2>err &&
	grep -F "no such group 10x" err
'

test_expect_success 'a socket path past sun_path: refused with the path named, never cut' '
	long=$PWD/$(printf "%0120d" 0) &&
	mkdir -m 700 "$long" &&
	cp -p auth/authority.key auth/keyring "$long/" &&
	test_expect_code 2 nucleus-authority serve -d "$long" 2>err &&
	grep -F "$(printf "%.100s" "$long")" err &&
	grep -F "longer than the 107 allowed" err &&
	! ls "$long" | grep -q sock
'

test_expect_success 'at most 32 operators' '
	ops=$(seq 1000 1032 | paste -sd,) &&
	test_expect_code 2 nucleus-authority serve -d auth -o "$ops" 2>err &&
	grep -q "at most 32 operators" err &&
	test_expect_code 2 nucleus-authority serve -d auth -o no-such-user-x 2>err &&
	grep -q "no such user" err
'

test_expect_success 'a missing or unsafe key: status 1, and nothing is served' '
	mv auth/authority.key key.save &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "authority.key" err &&
	cp key.save auth/authority.key &&
	chmod 640 auth/authority.key &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "must not be accessible" err &&
	chmod 600 auth/authority.key &&
	! test -e auth/request.sock
'

test_expect_success 'a keyring holding an HMAC key must be 0600' '
	chmod 644 auth/keyring &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "keyring" err &&
	chmod 600 auth/keyring
'

test_expect_success 'a directory others can write is refused' '
	chmod 777 auth &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "writable by group or others" err &&
	chmod 700 auth
'

test_expect_success 'a bad rules file is refused, naming the rule' '
	echo "{\"v\":1,\"rules\":[{\"name\":\"x\",\"agent\":\"agent-7\",\"pod\":\"*\",\"op\":\"run\",\"max_per_hour\":5}]}" >auth/rules.json &&
	chmod 600 auth/rules.json &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "rule 1: argv_prefix" err &&
	echo "{\"v\":1,\"rules\":[{\"name\":\"x\",\"agent\":\"agent-7\",\"pod\":\"*\",\"op\":\"run\",\"argv_prefix\":[\"git\"],\"max_per_hour\":5,\"ttl_s\":200}]}" >auth/rules.json &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -q "rule x: ttl_s is over the token lifetime" err &&
	chmod 666 auth/rules.json &&
	test_expect_code 1 nucleus-authority serve -d auth -t 300 2>err &&
	grep -q "writable by others" err &&
	rm auth/rules.json
'

test_expect_success 'keygen -r: the role in the line and in the public file beside the key' '
	mkdir -m 700 kr &&
	nucleus-authority keygen -d kr auth-2 >line &&
	grep -q " authority$" line &&
	test_cmp line kr/authority.pub &&
	nucleus-authority keygen -r agent -k kr/agent-9.key agent-9 >line &&
	grep -Eq "^agent-9 ed25519 [A-Za-z0-9+/]{43}= agent$" line &&
	test_cmp line kr/agent-9.pub &&
	test_expect_code 2 nucleus-authority keygen -r agnet -k kr/x.key x 2>err &&
	grep -F "the role is admin, agent, node or authority" err &&
	! test -e kr/x.key
'

test_expect_success 'serve -n: a good configuration, status 0, nothing opened' '
	nucleus-authority serve -n -d auth 2>err &&
	grep -Fx "nucleus-authority: the configuration is good" err &&
	! test -e auth/request.sock && ! test -e auth/audit.log &&
	! test -e auth/state.mdb
'

test_expect_success 'serve -n and serve: a typo in a keyring role is named; status 1' '
	cp auth/keyring keyring.good &&
	test_when_finished "cp keyring.good auth/keyring" &&
	sed "s/^\(agent-7 ed25519 [^ ]*\) agent/\1 agnet/" keyring.good >auth/keyring &&
	test_expect_code 1 nucleus-authority serve -n -d auth 2>err &&
	grep -F "auth/keyring: key agent-7 has the role agnet, which no program knows: give it the role agent (or none)" err &&
	grep -Fx "nucleus-authority: 1 problem in the configuration: not good" err &&
	test_expect_code 1 nucleus-authority serve -d auth 2>err &&
	grep -Fx "nucleus-authority: 1 problem in the configuration: refusing to start" err &&
	! test -e auth/request.sock && ! test -e auth/audit.log
'

test_expect_success 'serve -n: a rule past the token lifetime, with the keyring typo: both said' '
	cp auth/keyring keyring.good &&
	test_when_finished "cp keyring.good auth/keyring && rm -f auth/rules.json" &&
	sed "s/^\(agent-7 ed25519 [^ ]*\) agent/\1 agnet/" keyring.good >auth/keyring &&
	echo "{\"v\":1,\"rules\":[{\"name\":\"x\",\"agent\":\"agent-7\",\"pod\":\"*\",\"op\":\"run\",\"argv_prefix\":[\"git\"],\"max_per_hour\":5,\"ttl_s\":200}]}" >auth/rules.json &&
	chmod 600 auth/rules.json &&
	test_expect_code 1 nucleus-authority serve -n -d auth 2>err &&
	grep -F "key agent-7 has the role agnet" err &&
	grep -F "rule x: ttl_s is over the token lifetime (-t 120): lower it, or raise -t" err
'

test_expect_success 'serve: both sockets 0600, a log that opens and starts' '
	authority_start &&
	test "$(stat -c %a auth/request.sock)" = 600 &&
	test "$(stat -c %a auth/admin.sock)" = 600 &&
	auth_events >events &&
	sed -n 1p events | grep -q "^0 log.open$" &&
	sed -n 2p events | grep -q "^1 authority.start$" &&
	sed -n 2p auth/audit.log | jq -e ".ttl_s == 120 and .expire_s == 600 and .skew_s == 60 and .operators == [0] and .rules == 0" &&
	auth_verify
'

test_expect_success 'the secret key stays in a confined process' '
	pid=$(cat authority.pid) &&
	grep -q "^Seccomp:[[:space:]]*2" /proc/$pid/status &&
	grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid/status
'

test_expect_success 'SIGTERM: a stop record, exit 0, and the log verifies' '
	pid=$(cat authority.pid) &&
	authority_stop &&
	tail -n 1 auth/audit.log | jq -e ".event == \"authority.stop\"" &&
	auth_verify
'

test_expect_success 'a restart resumes the same log' '
	authority_start &&
	authority_stop &&
	auth_events >events &&
	grep -q "log.resume" events &&
	test "$(grep -c "authority.start" events)" = 2 &&
	auth_verify
'

test_expect_success ROOT 'with -g the sockets are 0660 to that group' '
	authority_start -g nogroup &&
	test "$(stat -c %a:%G auth/request.sock)" = 660:nogroup &&
	test "$(stat -c %a:%G auth/admin.sock)" = 660:nogroup &&
	authority_stop
'

test_expect_success 'a path in the way of a socket is not removed' '
	rm -f auth/request.sock &&
	mkdir auth/request.sock &&
	test_expect_code 2 nucleus-authority serve -d auth 2>err &&
	grep -q "not a socket" err &&
	rmdir auth/request.sock
'

test_expect_success 'serve tells systemd it is ready once both sockets listen (NOTIFY_SOCKET)' '
	test_notify_listen "$PWD/notify.sock" notify.out &&
	test_when_finished "test_stop_daemon notify notify.sock.pid 5" &&
	{ NOTIFY_SOCKET=$PWD/notify.sock nucleus-authority serve -d auth >out 2>err & } &&
	echo $! >notify-auth.pid &&
	test_when_finished "test_stop_daemon authority notify-auth.pid 20" &&
	test_wait_for "READY=1" 10 grep -qx "READY=1" notify.out &&
	test -S auth/request.sock && test -S auth/admin.sock &&
	test_stop_daemon authority notify-auth.pid 20 &&
	rm -f auth/request.sock auth/admin.sock
'

test_done
