#!/bin/sh
test_description='scripts/guest-tools: the image of commands of VM pods, pinned, reproducible, and able to build, commit and push'
. "$(dirname "$0")/test-lib.sh"

top=$TEST_DIRECTORY/..
lock=$top/scripts/guest-tools.lock
image_sha=$(awk '$1 == "image_sha256" { print $2 }' "$lock")
cache=${GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nucleus-guest}

# A script, not C: the sanitizer build has nothing to add to it.
if test_have_prereq SANITIZE; then
	test_skip_all "scripts/guest-tools has no C code to sanitize (make check runs it once)"
fi

# The image in the user's own cache, as "make guest-tools" makes it: made
# once, then reused by every later run.
if ! img=$("$top/scripts/guest-tools" 2>setup.err); then
	if grep -q "cannot download" setup.err; then
		test_skip_all "a pinned package cannot be downloaded: $(tail -n 1 setup.err)"
	fi
	cat setup.err >&2
	img=
fi

# A cache of our own in the trash directory holding the .debs, so that
# the tests below change nothing the user relies on and download nothing.
own_cache() {
	mkdir -p own/debs &&
	awk '!/^#/ && NF == 3 { gsub(":", "%3a", $2); print $1 "_" $2 ".deb" }' \
	    "$lock" | while read -r f; do
		cp "$cache/debs/$f" own/debs/ || exit 1
	done
}

test_expect_success 'the image is made, with the lock'\''s hash, where the cache is' '
	test -n "$img" &&
	case $img in
	"$cache"/tools-*/tools.squashfs) ;;
	*) false ;;
	esac &&
	test "$(sha256sum <"$img" | cut -d" " -f1)" = "$image_sha" &&
	test "$(head -c 4 "$img")" = hsqs
'

test_expect_success 'a second run uses the cached image, and says only its path' '
	"$top/scripts/guest-tools" >out 2>err &&
	echo "$img" >expect &&
	test_cmp expect out &&
	grep "cached, hash verified" err &&
	! grep -i download err
'

test_expect_success 'a second build from the same lock gives the same bytes' '
	own_cache &&
	key=$(basename "$(dirname "$img")") &&
	mkdir "own/$key" &&
	cp "$img" "own/$key/" &&
	echo x >>"own/$key/tools.squashfs" &&
	GUEST_CACHE=$PWD/own "$top/scripts/guest-tools" >out 2>err &&
	echo "$PWD/own/$key/tools.squashfs" >expect &&
	test_cmp expect out &&
	grep "not the lock'\''s hash; making it again" err &&
	! grep -i download err &&
	cmp "$img" "own/$key/tools.squashfs"
'

test_expect_success 'an image without the lock'\''s hash is refused (exit 1)' '
	rm -rf own && own_cache &&
	sed "s/^image_sha256.*/image_sha256 $(printf %064d 0)/" "$lock" >bad.lock &&
	test_expect_code 1 env GUEST_CACHE=$PWD/own \
	    "$top/scripts/guest-tools" -l bad.lock >out 2>err &&
	grep "tools.squashfs: SHA256 is $image_sha, the lock says 0000" err &&
	test_line_count = 0 out &&
	test "$(ls own)" = debs
'

test_expect_success 'a downloaded .deb without the lock'\''s hash is refused (exit 1)' '
	grep "^make " "$lock" | sed "s/[0-9a-f]*\$/$(printf %064d 0)/" >bad.lock &&
	echo "image_sha256 $image_sha" >>bad.lock &&
	test_expect_code 1 env GUEST_CACHE=$PWD/own2 \
	    "$top/scripts/guest-tools" -l bad.lock >out 2>err &&
	grep "downloading 1 packages" err &&
	grep "^guest-tools: make .*: SHA256 is [0-9a-f]*, the lock says 0000" err &&
	test_line_count = 0 out &&
	test "$(ls own2/debs)" = ""
'

test_expect_success 'a version the archive no longer offers is named (exit 2)' '
	grep -v "^make " "$lock" >gone.lock &&
	echo "make 0.0-gone $(printf %064d 0)" >>gone.lock &&
	test_expect_code 2 env GUEST_CACHE=$PWD/own \
	    "$top/scripts/guest-tools" -l gone.lock >out 2>err &&
	grep "cannot download: make=0.0-gone: the archive no longer offers it" err &&
	test_line_count = 0 out
'

# The guest, without a VM: a root with the image at usr/ and what the
# initramfs adds (the merged-/usr symlinks, an empty etc/, devtmpfs's
# null and urandom, a writable tmp/), commands run in it with chroot and
# an environment like a pod's: PATH only, no HOME, no /etc/passwd.
test_lazy_prereq CHROOT '
	[ "$(id -u)" -eq 0 ] && [ -n "$chroot" ] && command -v unsquashfs
'

chroot=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot)

in_guest() {
	user=$1
	shift
	env -i PATH=/usr/bin:/bin "$chroot" --userspec="$user" guest \
	    /bin/sh -c "$*"
}

test_expect_success CHROOT 'the guest root: the image at usr/, the initramfs'\''s links' '
	test -n "$img" &&
	mkdir guest &&
	unsquashfs -q -n -d guest/usr "$img" >/dev/null &&
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "guest/$d" || return 1
	done &&
	mkdir -m 755 guest/etc guest/dev guest/work &&
	mkdir -m 1777 guest/tmp &&
	mknod -m 666 guest/dev/null c 1 3 &&
	mknod -m 666 guest/dev/urandom c 1 9 &&
	cp -R "$top/scripts/demo-project" guest/work/hello &&
	sed -i "s/wrold/world/" guest/work/hello/hello.c &&
	chown -R 1000:1000 guest/work
'

test_expect_success CHROOT 'no symlink in the image leads nowhere in the guest' '
	in_guest 0:0 "find /usr -type l ! -exec test -e {} \\; -print" >out &&
	test_line_count = 0 out
'

test_expect_success CHROOT 'gcc builds hello.c, and it runs' '
	in_guest 1000:1000 "cd /work/hello && gcc -O2 -o hello hello.c && ./hello" >out &&
	echo "Hello, world!" >expect &&
	test_cmp expect out
'

test_expect_success CHROOT 'make and make check, as make demo runs them' '
	in_guest 1000:1000 "cd /work/hello && make clean && make && make check" >out &&
	grep -x "gcc -O2 -Wall -Wextra -o hello hello.c" out
'

test_expect_success CHROOT 'git commits and pushes to a bare repository, with no HOME and no passwd entry' '
	in_guest 1000:1000 "cd /work/hello &&
	    git init -q -b main &&
	    git add hello.c Makefile README &&
	    git -c user.name=agent -c user.email=agent@example.invalid \
	        commit -q -m first &&
	    git init -q --bare /work/origin.git &&
	    git remote add origin /work/origin.git &&
	    git push -q origin main &&
	    git rev-parse HEAD && git -C /work/origin.git rev-parse main" >out &&
	test_line_count = 2 out &&
	test "$(sed -n 1p out)" = "$(sed -n 2p out)"
'

test_expect_success CHROOT 'without user.name and user.email git cannot commit: the pod must pass them' '
	test_expect_code 128 in_guest 1000:1000 "cd /work/hello &&
	    git commit -q --allow-empty -m second" 2>err &&
	grep "unable to auto-detect email address" err
'

test_expect_success CHROOT 'as root too, on a root-owned work directory' '
	chown -R 0:0 guest/work &&
	in_guest 0:0 "cd /work/hello && make clean && make && git -c user.name=agent \
	    -c user.email=agent@example.invalid commit -q -a --allow-empty -m root &&
	    git push -q origin main" &&
	in_guest 0:0 "git -C /work/origin.git log --format=%s main" >out &&
	printf "root\nfirst\n" >expect &&
	test_cmp expect out
'

test_done
