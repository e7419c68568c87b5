#!/bin/sh
test_description='nucleus-node doctor: which drivers this host can run, and why not; its JSON agrees with its text'
. "$(dirname "$0")/test-lib.sh"

test_lazy_prereq FIRECRACKER 'command -v firecracker'

# Nothing doctor looks for on PATH but what a test puts there.
doctor() {
	env PATH="${DOCTOR_PATH:-/nonexistent}" "$NUCLEUS_BUILD/nucleus-node" doctor "$@"
}

# doctor_status STATUS FILE: STATUS is what nucleus-node(8) says doctor
# exits with for the report in FILE (text, or JSON with -j): 0 when some
# driver can run, 1 when none can.
doctor_status() {
	if [ "$(head -c 1 "$2")" = "{" ]; then
		want=$(jq "if [.drivers[].ok] | any then 0 else 1 end" "$2")
	elif grep -q "^driver [a-z]*: yes" "$2"; then
		want=0
	else
		want=1
	fi &&
	if [ "$1" != "$want" ]; then
		echo "doctor exited $1; its report says it should exit $want" >&2
		return 1
	fi
}

# checked_doctor [-j] >FILE: doctor, its exit status the documented one
# for what it reports.
checked_doctor() {
	doctor "$@" >doctor.report
	status=$?
	cat doctor.report &&
	doctor_status $status doctor.report
}

# What a driver would use, as the kvm and vhost-vsock checks found.
accel_channel() {
	accel=tcg channel=virtio-serial
	grep -q "^kvm: .*: ok$" "$1" && accel=kvm
	grep -q "^vhost-vsock: .*: ok$" "$1" && channel=vhost-vsock
	echo "accel $accel, channel $channel"
}

# A fake qemu-system-x86_64 in DIR printing VERSION; it lists microvm
# unless told not to.
fake_qemu() {
	mkdir -p "$1" &&
	cat >"$1/qemu-system-x86_64" <<-EOF &&
	#!/bin/sh
	case "\$*" in
	--version) printf '%b\nCopyright (c) 2003-2025 the QEMU Project\n' '$2' ;;
	"-machine help")
		echo "Supported machines are:"
		echo "pc                   Standard PC (i440FX + PIIX, 1996)"
		[ "$3" = no-microvm ] || echo "microvm              microvm (i386)"
		echo "q35                  Standard PC (Q35 + ICH9, 2009)" ;;
	*) exit 1 ;;
	esac
	EOF
	chmod +x "$1/qemu-system-x86_64"
}

test_expect_success 'usage errors exit 2 and show the doctor form' '
	test_expect_code 2 nucleus-node doctor -x 2>err &&
	grep -Fx "       nucleus-node doctor [-j]" err &&
	test_expect_code 2 nucleus-node doctor extra 2>err &&
	grep "^usage: " err
'

test_expect_success ROOT 'as root: a line per check and per driver, the local driver can run' '
	doctor >out &&
	cut -d: -f1 out >names &&
	printf "%s\n" namespaces pidfd cgroup seccomp landlock kvm vhost-vsock \
	    qemu firecracker "driver local" "driver qemu" \
	    "driver firecracker" >expect &&
	test_cmp expect names &&
	grep -Fx "namespaces: user mount pid net ipc uts cgroup: ok" out &&
	grep -Fx "pidfd: clone3 with CLONE_PIDFD, pidfd_open: ok" out &&
	grep -Ex "cgroup: (v1 memory pids cpu hierarchies|v2 at /sys/fs/cgroup(/unified)? \(controllers: .*\)): ok" out &&
	grep -Ex "seccomp: libseccomp [0-9]+\.[0-9]+\.[0-9]+, a filter loads and acts: ok" out &&
	grep -Fx "qemu: no: qemu-system-x86_64 not found on PATH" out &&
	grep -Fx "driver local: yes" out &&
	grep -Fx "driver qemu: no: qemu-system-x86_64 not found on PATH" out
'

test_expect_success ROOT,!FIRECRACKER 'firecracker cannot run, and the line says each reason' '
	doctor >out &&
	grep -Fx "firecracker: no: firecracker not found on PATH" out &&
	if grep -q "^kvm: .*: ok$" out; then
		grep -Fx "driver firecracker: no: firecracker not found on PATH" out
	else
		kvm=$(sed -n "s/^kvm: no: //p" out) &&
		test -n "$kvm" &&
		grep -Fx "driver firecracker: no: firecracker not found on PATH; kvm: $kvm" out
	fi
'

test_expect_success KVM 'the kvm check runs a plain guest, or says why it does not run' '
	checked_doctor >out &&
	grep -Ex "kvm: (/dev/kvm \(API 12\) runs a plain guest: ok|no: /dev/kvm opens \(API 12\) but a plain guest does not run: .+)" out
'

# The loop's time differs from run to run.
same_ms() {
	sed "s/took [0-9]* ms/took N ms/"
}

test_expect_success 'doctor -j: one JSON object that agrees with the text' '
	DOCTOR_PATH=$PWD/none checked_doctor >text &&
	text_status=$status &&
	DOCTOR_PATH=$PWD/none checked_doctor -j >json &&
	test $status = $text_status &&
	test_line_count = 1 json &&
	jq -r "(.checks | to_entries[] | \"\(.key): \(.value.text)\"),
	    (.drivers | to_entries[] | \"driver \(.key): \(.value.text)\")" \
	    json | same_ms >from-json &&
	same_ms <text >from-text &&
	test_cmp from-text from-json &&
	jq -e "[.checks[] | .ok == (.text | endswith(\": ok\"))] | all" json &&
	jq -e "[.checks[] | .ok == (.text | startswith(\"no: \") | not)] | all" json &&
	jq -e "[.drivers[] | .ok == (.text | test(\"^yes(: |$)\"))] | all" json &&
	any=$(jq "[.drivers[].ok] | any" json) &&
	{ { test $any = true && test $status = 0; } ||
	  { test $any = false && test $status = 1; }; } &&
	# As root the local driver runs: 0; otherwise cgroups stop it: 1.
	if test_have_prereq ROOT; then test $status = 0; else test $status = 1; fi
'

test_expect_success ROOT 'doctor -j as root: the local driver, the cgroup version, Landlock ABI' '
	doctor -j >json &&
	jq -e ".drivers.local == {\"ok\": true, \"text\": \"yes\"}" json &&
	jq -e ".checks.cgroup.version == 1 or .checks.cgroup.version == 2" json &&
	jq -e ".checks.qemu == {\"ok\": false, \"text\": \"no: qemu-system-x86_64 not found on PATH\"}" json
'

test_expect_success LANDLOCK_ABI 'the landlock check names the ABI and enforces a ruleset' '
	checked_doctor -j >json &&
	abi=$(jq .checks.landlock.abi json) &&
	test "$abi" -ge 1 &&
	jq -e ".checks.landlock.text == \"ABI $abi, a ruleset is enforced: ok\"" json
'

test_expect_success 'a qemu-system-x86_64 on PATH that lists microvm: the qemu driver can run' '
	fake_qemu fake "QEMU emulator version 9.9.9 (fake)" &&
	DOCTOR_PATH=$PWD/fake doctor >out &&
	grep -Fx "qemu: $PWD/fake/qemu-system-x86_64 (QEMU emulator version 9.9.9 (fake)), machine microvm: ok" out &&
	grep -Fx "driver qemu: yes: $(accel_channel out)" out &&
	DOCTOR_PATH=$PWD/fake doctor -j >json &&
	jq -e ".checks.qemu.path == \"$PWD/fake/qemu-system-x86_64\" and .checks.qemu.microvm and .drivers.qemu.ok" json
'

test_expect_success 'one without microvm: the qemu driver cannot run, and says so' '
	fake_qemu old "QEMU emulator version 4.0.0" no-microvm &&
	DOCTOR_PATH=$PWD/old checked_doctor >out &&
	grep -Fx "qemu: no: $PWD/old/qemu-system-x86_64 (QEMU emulator version 4.0.0): no microvm machine in its -machine help" out &&
	grep -Fx "driver qemu: no: $PWD/old/qemu-system-x86_64 (QEMU emulator version 4.0.0): no microvm machine in its -machine help" out
'

test_expect_success 'what a program prints reaches the terminal as printable text only' '
	fake_qemu odd "QEMU \\033[31mred\\007 caf\\303\\251 \\302\\233" &&
	DOCTOR_PATH=$PWD/odd checked_doctor >out &&
	grep -Fx "qemu: $PWD/odd/qemu-system-x86_64 (QEMU \\x1b[31mred\\x07 café \\xc2\\x9b), machine microvm: ok" out
'

# Doctor runs as root what it finds: never a program found through a
# relative PATH entry, or an empty one (the current directory), which
# are wherever doctor happens to be run.
test_expect_success 'a program in a relative or empty PATH entry is neither found nor run' '
	mkdir -p rel &&
	cat >rel/qemu-system-x86_64 <<-EOF &&
	#!/bin/sh
	echo "\$*" >>"$PWD/ran"
	echo "QEMU emulator version 9.9.9 (planted)"
	EOF
	chmod +x rel/qemu-system-x86_64 &&
	cp rel/qemu-system-x86_64 rel/firecracker &&
	cp rel/qemu-system-x86_64 rel/firecracker . &&
	found= &&
	for p in rel rel:/nonexistent :/nonexistent /nonexistent: \
	    /nonexistent::/nonexistent2 . ./rel
	do
		DOCTOR_PATH=$p checked_doctor >out &&
		grep -Fx "qemu: no: qemu-system-x86_64 not found on PATH" out &&
		grep -Fx "firecracker: no: firecracker not found on PATH" out ||
		found="$found $p"
	done &&
	test -z "$found" &&
	test ! -e ran
'

test_expect_success 'a program that does not answer is killed: doctor never hangs' '
	mkdir -p slow &&
	cat >slow/firecracker <<-EOF &&
	#!/bin/sh
	/bin/sleep 60 &
	echo \$! >"$PWD/sleep.pid"
	wait
	EOF
	chmod +x slow/firecracker &&
	{ timeout 30 env PATH="$PWD/slow" "$NUCLEUS_BUILD/nucleus-node" doctor >out; status=$?; } &&
	test $status -ne 124 &&
	doctor_status $status out &&
	grep -Fx "firecracker: no: $PWD/slow/firecracker: did not finish in 5 s" out &&
	# What it started went with it (gone, or a zombie left to init).
	state=$(cut -d" " -f3 "/proc/$(cat sleep.pid)/stat" 2>/dev/null) &&
	{ test -z "$state" || test "$state" = Z; }
'

test_expect_success ROOT 'unprivileged: the local driver cannot run, for the cgroups; no driver can' '
	chmod 755 . &&
	test_expect_code 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env PATH=/nonexistent "$NUCLEUS_BUILD/nucleus-node" doctor >out &&
	cgroup=$(sed -n "s/^cgroup: no: //p" out) &&
	case $cgroup in
	*", but /sys/fs/cgroup/"*": Permission denied (cgroups need root)") ;;
	*) echo "cgroup: $cgroup"; false ;;
	esac &&
	grep -Fx "driver local: no: cgroup: $cgroup" out &&
	grep -Fx "driver qemu: no: qemu-system-x86_64 not found on PATH" out
'

test_expect_success 'a report that cannot be written exits 2' '
	test_expect_code 2 doctor >/dev/full 2>err &&
	grep "cannot write the report" err
'

test_done
