#!/bin/sh
test_description='nucleus-proxy: no leaked descriptor or child, an inherited socket, a log that fails'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup' '
	proxy_setup local_dev &&
	echo hi >root/a.txt &&
	proxy_start &&
	pid=$(cat proxy.pid) &&
	spawner=$(pgrep -P $pid) &&
	test -n "$spawner" &&
	echo $spawner >spawner.pid
'

mixed() {
	for i in $(seq 1 $1); do
		req m$i read "{\"path\":\"a.txt\"}"
		req n$i read "{\"path\":\"../x\"}"
		req o$i run "{\"argv\":[\"cat\",\"a.txt\"]}"
		req p$i run "{\"argv\":[\"no-such-program\"]}"
		echo "not json $i"
	done
}

test_expect_success 'no descriptor or child is leaked by requests, good or bad' '
	mixed 5 | send >/dev/null &&
	ls /proc/$(cat proxy.pid)/fd | wc -l >before &&
	ls /proc/$(cat spawner.pid)/fd | wc -l >sbefore &&
	mixed 40 | send >out &&
	test_line_count = 200 out &&
	for i in $(seq 1 50); do echo "" | send >/dev/null; done &&
	ls /proc/$(cat proxy.pid)/fd | wc -l >after &&
	ls /proc/$(cat spawner.pid)/fd | wc -l >safter &&
	test_cmp before after &&
	test_cmp sbefore safter &&
	test -z "$(pgrep -P $(cat spawner.pid))"
'

test_expect_success 'SIGTERM: the proxy stops, its log closed and whole' '
	proxy_stop &&
	! kill -0 $(cat spawner.pid) 2>/dev/null &&
	verify_log
'

test_expect_success 'an inherited socket (-f) is served as the connection; its end is the end' '
	req f1 read "{\"path\":\"a.txt\"}" | pair-run nucleus-proxy -p pod.json -f 3 >out &&
	resp f1 | jq -e ".ok and .result.data == \"hi\\n\"" &&
	verify_log
'

test_expect_success ROOT 'a log that cannot be written stops everything it would record' '
	cat >full.sh <<-\EOT &&
	set -e
	mount -t tmpfs -o size=64k tmpfs state
	chmod 700 state
	. "$TEST_DIRECTORY/lib-wait.sh"
	test_when_failed() { :; }
	. "$TEST_DIRECTORY/lib-proxy.sh"
	proxy_start
	big=$(head -c 2000 /dev/zero | tr "\0" a)
	for i in $(seq 1 100); do req x$i read "{\"path\":\"$big\"}"; done | send >fill.out
	req late write "{\"path\":\"late.txt\",\"content\":\"x\"}" | send >late.out
	proxy_alive
	proxy_stop
	umount state
	EOT
	unshare -m sh full.sh &&
	jq -e ".error.kind == \"unavailable\"" late.out &&
	test ! -e root/late.txt &&
	grep -q "\"unavailable\"" fill.out
'

# Searches go to a worker: those it finishes once the log has stopped
# are answered without a record, and the request is gone after that.
test_expect_success ROOT 'searches finished after the log fails are answered, the proxy whole' '
	cat >search.sh <<-\EOT &&
	set -e
	mount -t tmpfs -o size=64k tmpfs state
	chmod 700 state
	. "$TEST_DIRECTORY/lib-wait.sh"
	test_when_failed() { :; }
	. "$TEST_DIRECTORY/lib-proxy.sh"
	proxy_start
	big=$(head -c 2000 /dev/zero | tr "\0" a)
	for i in $(seq 1 100); do req s$i glob "{\"pattern\":\"*\",\"path\":\"$big\"}"; done | send >search.out || true
	proxy_alive
	proxy_stop
	umount state
	EOT
	unshare -m sh search.sh &&
	grep -q "\"unavailable\"" search.out
'

test_done
