#!/usr/bin/env bash
# image.sh: build the local test image (a busybox-static root filesystem, `docker import`ed)
# so that no test needs a registry.  usage: image.sh [TAG] (default canteen-test/busybox:1);
# DOCKER_HOST selects the daemon (e.g. unix:///tmp/x/docker.sock). Idempotent.
set -eu
tag=${1:-canteen-test/busybox:1}
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
bb=/bin/busybox   # Debian's busybox-static: one static binary, runs alone in the image
if [ ! -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
	echo "image.sh: a static $bb is needed (apt-get install busybox-static)" >&2
	exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
cp "$bb" "$root/bin/busybox"
# One symlink per applet (one process, not one ln per applet). They point where busybox
# finds itself (/usr/bin/busybox on a merged-/usr system): put a copy there too.
"$bb" --install -s "$root/bin"
target=$(readlink "$root/bin/sh")
case $target in /*) mkdir -p "$root$(dirname "$target")"; cp "$bb" "$root$target" ;; esac
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' - "$tag" >/dev/null
