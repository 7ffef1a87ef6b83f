#!/usr/bin/env bash
# services.sh: start the real Docker daemon for the tests when none answers, and stop
# only what we started.  ensure-dockerd | stop-started | docker-ok
set -u
sock=${DOCKER_SOCK:-/var/run/docker.sock}
state=${CANTEEN_TEST_STATE:-/tmp/canteen-test-services}
mkdir -p "$state"

docker_ok() {
	curl -sf --max-time 3 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

ensure_dockerd() {
	docker_ok && return 0
	command -v dockerd >/dev/null || { echo "dockerd not installed (run tests/deps.sh)" >&2; return 1; }
	# containerd is started by dockerd itself when not running.
	setsid dockerd --host "unix://$sock" --pidfile "$state/dockerd.pid" \
		>"$state/dockerd.log" 2>&1 < /dev/null &
	echo $! > "$state/dockerd.started"
	for _ in $(seq 1 600); do
		docker_ok && return 0
		kill -0 "$(cat "$state/dockerd.started")" 2>/dev/null || break
		sleep 0.1
	done
	echo "dockerd did not come up; last lines of its log:" >&2
	tail -n 20 "$state/dockerd.log" >&2
	return 1
}

stop_started() {
	[ -f "$state/dockerd.started" ] || return 0
	local pid
	pid=$(cat "$state/dockerd.started")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	pkill -f 'containerd --config /var/run/docker/containerd' 2>/dev/null
	rm -f "$state/dockerd.started"
}

case "${1:-}" in
ensure-dockerd) ensure_dockerd ;;
stop-started) stop_started ;;
docker-ok) docker_ok ;;
*) echo "usage: $0 ensure-dockerd|stop-started|docker-ok" >&2; exit 2 ;;
esac
