#!/bin/sh
# bench-egress: a pod's egress on the local driver (curl in the pod,
# through nucleus-proxy's listener and the host's nucleus-gateway)
# against the same transfers made directly on the host, in the same run,
# to the same test host (egress-host.py, which sends with sendfile(2)).
#
#	download	SIZE_MIB MiB by HTTP CONNECT through the gateway,
#			and by the proxy's plain HTTP path, against
#			directly: the median of ROUNDS each, taken in
#			turns; curl's own speed_download
#	first byte	from the end of the TCP connect to the pod's
#			proxy to the first byte of the host's answer
#			(CONNECT decided and recorded, egress.open durable
#			in the node's log and the decision in the node's
#			copy of the pod's log, the gateway's connect, the
#			tunnel, the request): the median of PINGS, against
#			a direct connect-to-first-byte plus one fdatasync
#			(the median of SYNCS in the node's directory); and
#			of that, the part until the proxy's answer to
#			CONNECT; and against a direct one plus two
#			fdatasyncs of two files at once, what the node's
#			disk does for each connection (the pod's log is
#			on a tmpfs in the pod: its decision line is made
#			durable in the node's copy while egress.open is in
#			the node's log)
#	CPU		the processor time (user and system) each fresh
#			connection costs: the test host's for a direct one;
#			the node's, the gateway's, the pod's proxy's and
#			the test host's for one through the gateway (curl's
#			neither), over CPU_ROUNDS curls of CPU_PINGS each
#
# BENCH_ROUNDS and BENCH_PINGS, when set, replace ROUNDS and PINGS
# (at most 83 pings: one command's argv, of at most 256 items).
#
# The goals (issue 18): the download through the gateway at least
# GOAL_RATE of the direct one; the first byte within GOAL_TTFB times a
# direct one plus one fdatasync.  Figures, not a test: nothing fails on
# speed.  Runs as root in a network namespace of its own (the test
# host is 198.18.0.1 on its loopback, named in a hosts file given to the
# node's gateways): nothing goes beyond the machine.  Without root or
# unshare(1) it says so and does nothing.  The programs are the build's
# (NUCLEUS_BUILD, else ../../build beside this script).

ROUNDS=${BENCH_ROUNDS:-5}
SIZE_MIB=64
PINGS=${BENCH_PINGS:-20}
CPU_PINGS=83
CPU_ROUNDS=3
SYNCS=50
GOAL_RATE=0.5
GOAL_TTFB=2
PORT=8090
WAIT_TENTHS=100		# for the node's socket, the host's port

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$NUCLEUS_BENCH_NETNS" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "bench-egress: skipped: needs root and unshare -n (a network namespace of its own)"
		exit 0
	fi
	NUCLEUS_BENCH_NETNS=1 exec unshare -n "$0" "$@"
fi
for p in curl python3 ip; do
	command -v $p >/dev/null || {
		echo "bench-egress: skipped: no $p"
		exit 0
	}
done
build=$(cd "${NUCLEUS_BUILD:-$here/../../build}" && pwd) || exit 2
PATH=$build:$build/t/helper:$PATH
export PATH

dir=$(mktemp -d /tmp/nucleus-bench-egress-XXXXXX) || exit 2
cleanup() {
	cd /
	[ -f "$dir/node.pid" ] && kill "$(cat "$dir/node.pid")" 2>/dev/null &&
	    wait "$(cat "$dir/node.pid")" 2>/dev/null
	[ -f "$dir/host.pid" ] && kill "$(cat "$dir/host.pid")" 2>/dev/null
	[ -f "$dir/qnode.pid" ] && kill "$(cat "$dir/qnode.pid")" 2>/dev/null
	if [ -n "$BENCH_KEEP" ]; then
		echo "bench-egress: kept $dir (BENCH_KEEP)" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$dir" || exit 2
chmod 755 .

die() {
	echo "bench-egress: $*" >&2
	[ -f node.err ] && tail -n 20 node.err >&2
	exit 1
}

wait_until() {
	i=0
	until "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge $WAIT_TENTHS ] && return 1
		sleep 0.1
	done
}

# The median of the numbers on standard input, and arithmetic.
median() {
	python3 -c 'import statistics, sys; print("%.6f" % statistics.median(float(x) for x in sys.stdin.read().split()))'
}
calc() {
	python3 -c "print($1)"
}

# The test host on the namespace's loopback, its name in the hosts file.
{ ip link set lo up && ip addr add 198.18.0.1/32 dev lo; } ||
    die "no test address on the namespace's loopback"
# Written back now, so that its writeback does not slow the fdatasyncs
# measured below.
{ head -c $((SIZE_MIB * 1048576)) /dev/urandom >big && sync big; } ||
    die "no test file"
echo "198.18.0.1	bench.test" >hosts
python3 "$here/egress-host.py" 198.18.0.1 $PORT "$dir/big" 2>host.err &
echo $! >host.pid
wait_until curl -sf -o /dev/null --noproxy "*" http://198.18.0.1:$PORT/ ||
    die "the test host did not start"

# A node, an admin and an agent, a pod allowed bench.test:PORT.
{ mkdir -m 711 n &&
nucleus-node keygen -d n node-1 >/dev/null &&
audit-tool keygen ops-1 admin.key | sed "s/ writer$/ admin/" >n/keyring &&
audit-tool keygen agent-1 agent-1.key | sed "s/ writer$/ agent/" >>n/keyring &&
chmod 600 n/keyring &&
grep "^authority-1 " "$here/../vectors/keyring" | cut -d" " -f1-3 >n/trust; } ||
    die "no keys"
nucleus-node serve -d n -H "$dir/hosts" >node.out 2>node.err &
echo $! >node.pid
wait_until test -S n/node.sock || die "the node did not start"
policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"always","web_fetch":"low_risk"},"commands":{"allow":[{"program":"curl"}]}}'
printf '{"v":1,"name":"bench","policy":%s,"agents":["agent-1"],"network":{"allow":[{"host":"bench.test","ports":[%d]}]}}\n' \
    "$policy" $PORT >spec.json
{ nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >create.out &&
jq -e ".ok and .result.state == \"running\"" create.out >/dev/null; } ||
    die "no pod: $(cat create.out)"

# curl in the pod (its proxy variables set by the node): its -w lines.
pod_curl() {
	{ argv=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \
	    curl -sS -m 120 "$@") &&
	nucleus-node call -j -k agent-1.key -l n/node.sock bench run \
	    "{\"argv\":$argv,\"timeout\":300}" >resp &&
	jq -e '.ok and .result.exit == 0' resp >/dev/null; } ||
	    die "curl in the pod: $(head -c 600 resp)"
	jq -r .result.stdout resp
}
host_curl() {
	curl -sS -m 120 --noproxy "*" \
	    --resolve bench.test:$PORT:198.18.0.1 "$@" || die "curl on the host"
}

# The CPU time (user and system, clock ticks) of the node and what it
# started (by name: nucleus-node, the pod's init among them,
# nucleus-gateway, nucleus-proxy; the commands, curl, are not counted,
# as the direct curl is not) and of the test host, one "NAME TICKS" line
# each, into FILE: cpu_ticks FILE.
cpu_ticks() {
	python3 - "$(cat node.pid)" "$(cat host.pid)" >"$1" <<-\EOF || die "no CPU figures"
	import collections, os, sys
	node, host = int(sys.argv[1]), int(sys.argv[2])
	stat, kids = {}, collections.defaultdict(list)
	for d in filter(str.isdigit, os.listdir("/proc")):
	    try:
	        with open("/proc/%s/stat" % d) as f:
	            t = f.read()
	    except (OSError, ValueError):
	        continue
	    name = t[t.index("(") + 1:t.rindex(")")]
	    rest = t[t.rindex(")") + 2:].split()
	    stat[int(d)] = (name, int(rest[11]) + int(rest[12]))
	    kids[int(rest[1])].append(int(d))
	sums = collections.Counter()
	todo = [node]
	while todo:
	    p = todo.pop()
	    todo += kids.get(p, [])
	    if p in stat and stat[p][0].startswith("nucleus-"):
	        sums[stat[p][0]] += stat[p][1]
	sums["test-host"] = stat.get(host, ("", 0))[1]
	for k in sorted(sums):
	    print(k, sums[k])
	EOF
}
# The CPU time per connection, in microseconds, of each name between two
# cpu_ticks files: cpu_per FILE0 FILE1.
cpu_per() {
	LC_ALL=C join "$1" "$2" | awk -v n=$((CPU_PINGS * CPU_ROUNDS)) -v hz="$(getconf CLK_TCK)" \
	    '{ printf " %s %.0f", $1, ($3 - $2) * 1e6 / hz / n }'
}

big=http://bench.test:$PORT/big
small=http://bench.test:$PORT/small
: >direct.rate
: >connect.rate
: >plain.rate
r=0
while [ $r -lt "$ROUNDS" ]; do
	host_curl -o /dev/null -w '%{speed_download}\n' $big >>direct.rate &&
	pod_curl -p -o /dev/null -w '%{speed_download}\n' $big >>connect.rate &&
	pod_curl -o /dev/null -w '%{speed_download}\n' $big >>plain.rate ||
	    exit 1
	r=$((r + 1))
done
[ "$(sort -n connect.rate | head -n 1)" != 0 ] || die "a download through the gateway moved nothing"

# PINGS fresh connections each way (the host closes each one), in one
# curl each.
set --
i=0
while [ $i -lt "$PINGS" ]; do
	set -- "$@" -o /dev/null $small
	i=$((i + 1))
done
host_curl -w '%{time_starttransfer}\n' "$@" >direct.ttfb || exit 1
pod_curl -p -w '%{time_connect} %{time_pretransfer} %{time_starttransfer}\n' "$@" >connect.times
awk 'NF == 3 { printf "%.6f\n", $3 - $1 }' connect.times >connect.ttfb
awk 'NF == 3 { printf "%.6f\n", $2 - $1 }' connect.times >connect.tunnel
[ "$(wc -l <connect.ttfb)" = "$PINGS" ] || die "the first-byte figures: $(cat connect.ttfb)"

# The CPU each connection costs, each way: CPU_ROUNDS curls of
# CPU_PINGS fresh connections (the clock ticks of /proc are coarse).
set --
i=0
while [ $i -lt $CPU_PINGS ]; do
	set -- "$@" -o /dev/null $small
	i=$((i + 1))
done
cpu_ticks direct.cpu0
r=0
while [ $r -lt $CPU_ROUNDS ]; do
	host_curl "$@" || exit 1
	r=$((r + 1))
done
cpu_ticks direct.cpu1
r=0
while [ $r -lt $CPU_ROUNDS ]; do
	pod_curl -p "$@" >/dev/null
	r=$((r + 1))
done
cpu_ticks connect.cpu1
python3 - n/bench.sync $SYNCS >sync.s <<\EOF || die "no fdatasync figure"
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
for _ in range(int(sys.argv[2])):
    t = time.monotonic()
    os.write(fd, b"x" * 200 + b"\n")
    os.fdatasync(fd)
    print("%.6f" % (time.monotonic() - t))
EOF

# What the node's disk does for each connection on the local driver:
# the pod's log is on a tmpfs in the pod, so its decision line becomes
# durable in the node's copy of it while egress.open does in the node's
# log, two files synced at once (the gateway waits for both).
python3 - n/bench.sync2a n/bench.sync2b $SYNCS >sync2.s <<\EOF || die "no fdatasync figure"
import os, sys, threading, time
fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
       for p in sys.argv[1:3]]
def sync(fd):
    os.write(fd, b"x" * 200 + b"\n")
    os.fdatasync(fd)
for _ in range(int(sys.argv[3])):
    t = time.monotonic()
    th = threading.Thread(target=sync, args=(fds[1],))
    th.start()
    sync(fds[0])
    th.join()
    print("%.6f" % (time.monotonic() - t))
EOF

opens=$(jq -c 'select(.event == "egress.open")' n/audit.log | wc -l)
want=$((2 * ROUNDS + PINGS))
[ "$opens" -ge "$want" ] || die "$opens egress.open records for $want connections"

d_rate=$(median <direct.rate)
c_rate=$(median <connect.rate)
p_rate=$(median <plain.rate)
d_ttfb=$(median <direct.ttfb)
c_ttfb=$(median <connect.ttfb)
c_tunnel=$(median <connect.tunnel)
sync=$(median <sync.s)
sync2=$(median <sync2.s)
met() {
	if [ "$(calc "int($1)")" = 1 ]; then echo met; else echo NOT met; fi
}
printf 'bench-egress: %d MiB downloads, median of %d; first byte, median of %d; %d egress.open records\n' \
    $SIZE_MIB "$ROUNDS" "$PINGS" "$opens"
printf '  download direct          %8.1f MiB/s\n' "$(calc "$d_rate / 1048576")"
printf '  download CONNECT gateway %8.1f MiB/s  %.2fx direct (goal >= %s: %s)\n' \
    "$(calc "$c_rate / 1048576")" "$(calc "$c_rate / $d_rate")" $GOAL_RATE \
    "$(met "$c_rate >= $GOAL_RATE * $d_rate")"
printf '  download plain HTTP proxy%8.1f MiB/s  %.2fx direct\n' \
    "$(calc "$p_rate / 1048576")" "$(calc "$p_rate / $d_rate")"
printf '  first byte direct        %8.3f ms\n' "$(calc "$d_ttfb * 1000")"
printf '  fdatasync                %8.3f ms\n' "$(calc "$sync * 1000")"
printf '  fdatasync, two files at once %.3f ms (the decision'"'"'s copy, egress.open)\n' \
    "$(calc "$sync2 * 1000")"
printf '  CONNECT answered (tunnel)%8.3f ms\n' "$(calc "$c_tunnel * 1000")"
printf '  first byte CONNECT       %8.3f ms  %.2fx (direct + fdatasync) (goal <= %s: %s)\n' \
    "$(calc "$c_ttfb * 1000")" "$(calc "$c_ttfb / ($d_ttfb + $sync)")" $GOAL_TTFB \
    "$(met "$c_ttfb <= $GOAL_TTFB * ($d_ttfb + $sync)")"
printf '  first byte CONNECT, against direct + two fdatasyncs at once: %.2fx\n' \
    "$(calc "$c_ttfb / ($d_ttfb + $sync2)")"
printf '  CPU per connection, us: direct:%s\n' "$(cpu_per direct.cpu0 direct.cpu1 | sed 's/ nucleus-[a-z]* 0//g')"
printf '  CPU per connection, us: CONNECT:%s\n' "$(cpu_per direct.cpu1 connect.cpu1)"
# The qemu driver's figures beside these (bench-egress-qemu.sh).
. "$here/bench-egress-qemu.sh"
