#!/usr/bin/env bats
# init.bats: canteen-init supervising real child processes (tiny shell scripts): restarts,
# back-off, ordered shutdown, SIGKILL after the grace, status over init.sock, config errors,
# output prefixed with the child's name.
load lib/common

setup() {
	D=$BATS_TEST_TMPDIR
	RUN=$(mk_rundir)
	mkdir -p "$D/pids"
	: > "$D/init.conf"
}

teardown() {
	stop_started
	local f
	for f in "$D"/pids/*; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	return 0
}

# child NAME BODY: a script that records its pid (for teardown) then runs BODY, and a
# line for it in init.conf.
child() {
	local name=$1 body=$2
	{
		echo '#!/bin/sh'
		echo "D='$D'"
		echo 'echo $$ > "$D/pids/'"$name"'.$$"'
		printf '%s\n' "$body"
	} > "$D/$name.sh"
	echo "$name /bin/sh '$D/$name.sh'" >> "$D/init.conf"
}

start_init() {
	start_bg init canteen-init -f "$D/init.conf" -d "$RUN" "$@"
	wait_until 5 test -S "$RUN/init.sock"
}

# A process that has exited (zombie or gone).
gone() { [ ! -e "/proc/$1" ] || grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }

# procs FIELD VALUE: pids whose /proc stat field FIELD (0 state, 1 ppid, 2 process group,
# counted after the command name) is VALUE. Read from /proc: no procps needed.
procs() {
	local f s a
	for f in /proc/[0-9]*/stat; do
		{ read -r s < "$f"; } 2>/dev/null || continue
		read -r -a a <<< "${s##*) }"
		[ "${a[$1]}" = "$2" ] && echo "${a[0]} ${f//[^0-9]/}"
	done
	return 0
}
# Live members of a process group; zombie children of a process.
in_group() { procs 2 "$1" | grep -v '^Z' || true; }
zombies_of() { procs 1 "$1" | grep '^Z' || true; }

# Lines in a file (0 when missing).
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

status_of() { canteen --rundir "$RUN" status --json | jq -r "select(.name==\"$1\") | $2"; }
field_is() { [ "$(status_of "$1" "$2")" = "$3" ]; }
all_up() { [ "$(canteen --rundir "$RUN" status --json | jq -r .state | sort -u)" = up ]; }

# intervals FILE: milliseconds between consecutive timestamps (ns) in FILE, one a line.
intervals() { awk 'NR > 1 { printf "%d\n", ($1 - prev) / 1000000 } { prev = $1 }' "$1"; }

@test "a child killed with SIGKILL is restarted within 1.5 s and status counts it" {
	child a 'date +%s%N >> "$D/starts.a"; exec sleep 1000'
	child b 'exec sleep 1000'
	start_init --grace 1s
	wait_until 5 has_lines "$D/starts.a" 1
	wait_until 5 field_is a .state up
	local pid
	pid=$(status_of a .pid)
	[ "$(status_of a .restarts)" = 0 ]
	sleep 1.1 # past the 1 s minimum between starts: the restart must be immediate
	local t0
	t0=$(now_ms)
	kill -KILL "$pid"
	wait_until 3 has_lines "$D/starts.a" 2
	local dt=$(( $(now_ms) - t0 ))
	echo "restarted after ${dt} ms"
	[ "$dt" -lt 1500 ]
	wait_until 3 field_is a .restarts 1
	[ "$(status_of a .state)" = up ]
	[ "$(status_of a .last_exit.name)" = KILL ]
	[ "$(status_of a .pid)" != "$pid" ]
	[ "$(status_of b .restarts)" = 0 ]
	# The killed child was reaped: no zombie left under init.
	[ -z "$(zombies_of "$(pid_of init)")" ]
	# The table for people names both children.
	run canteen --rundir "$RUN" status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == NAME*STATE*PID*RESTARTS*UPTIME* ]]
	echo "$output" | grep -Eq '^a +up +[0-9]+ +1 +[0-9]+(ms|s) +SIGKILL$'
	echo "$output" | grep -Eq '^b +up +[0-9]+ +0 +[0-9]+(ms|s) +-$'
}

@test "a crash loop backs off: intervals between starts double up to the cap" {
	child loop 'date +%s%N >> "$D/starts"; exit 1'
	start_init --grace 1s --restart-min 100ms --backoff-max 800ms
	wait_until 15 has_lines "$D/starts" 8
	mapfile -t iv < <(intervals "$D/starts")
	echo "intervals: ${iv[*]}"
	# Timestamps are taken by the children, so each carries its own start-up jitter.
	local want=(100 200 400 800 800 800 800) i
	for i in 0 1 2 3 4 5 6; do
		[ "${iv[$i]}" -ge $(( want[i] - 50 )) ]
		[ "${iv[$i]}" -le $(( want[i] + 400 )) ]
	done
	[ "${iv[2]}" -gt $(( iv[0] * 3 )) ] # it grows...
	[ "${iv[6]}" -lt $(( iv[3] + 200 )) ] # ...and stops growing at the cap
	[ "$(status_of loop .last_exit.code)" = 1 ]
}

@test "default back-off: 1 s, then 2 s between starts of a crashing child" {
	child loop 'date +%s%N >> "$D/starts"; exit 1'
	start_init --grace 1s
	wait_until 8 has_lines "$D/starts" 3
	mapfile -t iv < <(intervals "$D/starts")
	echo "intervals: ${iv[*]}"
	[ "${iv[0]}" -ge 920 ] && [ "${iv[0]}" -le 1500 ]
	[ "${iv[1]}" -ge 1920 ] && [ "${iv[1]}" -le 2600 ]
	run status_of loop .state
	[ "$output" = backoff ]
	[ "$(status_of loop .restart_in_ms)" -gt 0 ]
}

@test "exit status 100 (configuration error) is backed off at the cap" {
	child cfg 'date +%s%N >> "$D/starts"; exit 100'
	start_init --grace 1s --restart-min 100ms --backoff-max 1500ms
	wait_until 6 has_lines "$D/starts" 2
	mapfile -t iv < <(intervals "$D/starts")
	echo "interval: ${iv[0]}"
	[ "${iv[0]}" -ge 1400 ]
	[ "$(status_of cfg .last_exit.code)" = 100 ]
	grep -q 'cfg: restarting in 1500 ms (exit status 100' "$D/init.log"
	# Stopping while it waits: it is not started again.
	wait_until 3 field_is cfg .state backoff
	local init
	init=$(pid_of init)
	kill -TERM "$init"
	wait_until 3 gone "$init"
	[ -z "$(sed -n '/SIGTERM: stopping/,$p' "$D/init.log" | grep 'started pid')" ]
}

@test "a long enough run resets the back-off" {
	# Starts 1-4 crash at once, start 5 lives 700 ms (over the 500 ms reset), then crashes.
	child flaky 'date +%s%N >> "$D/starts"
n=$(wc -l < "$D/starts")
[ "$n" -eq 5 ] && sleep 0.7
exit 1'
	start_init --grace 1s --restart-min 100ms --backoff-max 3s --backoff-reset 500ms
	wait_until 10 has_lines "$D/starts" 7
	mapfile -t iv < <(intervals "$D/starts")
	echo "intervals: ${iv[*]}"
	[ "${iv[3]}" -ge 720 ]                          # 100 200 400 800: growing
	[ "${iv[4]}" -ge 650 ] && [ "${iv[4]}" -le 1200 ] # restarted as soon as it died
	[ "${iv[5]}" -le 600 ]                          # streak forgotten: not 1600 ms
}

@test "SIGTERM stops children in reverse order, one after the other, and leaves nothing" {
	# c stops slowly: were the stops concurrent, a and b would be recorded before c.
	child a 'sleep 1000 & echo $! > "$D/pids/a.bg"
trap "echo a >> \"\$D/order\"; exit 0" TERM
wait'
	child b 'sleep 1000 & echo $! > "$D/pids/b.bg"
trap "echo b >> \"\$D/order\"; exit 0" TERM
wait'
	child c 'sleep 1000 & echo $! > "$D/pids/c.bg"
setsid sleep 1000 & echo $! > "$D/pids/c.escaped"
trap "sleep 0.3; echo c >> \"\$D/order\"; exit 0" TERM
wait'
	start_init --grace 3s
	wait_until 5 test -f "$D/pids/c.escaped"
	wait_until 5 all_up
	local pgids
	pgids=$(canteen --rundir "$RUN" status --json | jq -r .pid)
	local init
	init=$(pid_of init)
	kill -TERM "$init"
	wait_until 10 gone "$init"
	local rc=0
	wait "$init" || rc=$?
	[ "$rc" -eq 0 ]
	run cat "$D/order"
	[ "$output" = $'c\nb\na' ]
	local p f
	for f in "$D"/pids/*; do
		p=$(cat "$f")
		gone "$p" || { echo "still running: $f ($p)"; false; }
	done
	for p in $pgids; do
		[ -z "$(in_group "$p")" ] || { echo "process group $p not empty: $(in_group "$p")"; false; }
	done
	grep -q 'stray process' "$D/init.log"
	[ ! -e "$RUN/init.sock" ]
}

@test "a child ignoring SIGTERM is SIGKILLed after the grace period" {
	child stubborn 'trap "" TERM
while :; do sleep 0.1; done'
	child polite 'exec sleep 1000'
	start_init --grace 1s
	wait_until 5 field_is stubborn .state up
	local pid init t0 dt
	pid=$(status_of stubborn .pid)
	init=$(pid_of init)
	t0=$(now_ms)
	kill -TERM "$init"
	wait_until 8 gone "$init"
	dt=$(( $(now_ms) - t0 ))
	echo "init exited after ${dt} ms"
	[ "$dt" -ge 900 ] && [ "$dt" -lt 4000 ]
	gone "$pid"
	[ -z "$(in_group "$pid")" ]
	grep -q 'stubborn: pid [0-9]* still running 1000 ms after SIGTERM: SIGKILL' "$D/init.log"
	grep -q 'stubborn: pid [0-9]* killed by SIGKILL' "$D/init.log"
	local rc=0
	wait "$init" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "status answers over init.sock; unknown ops are refused" {
	child one 'exec sleep 1000'
	child two 'exec sleep 1000'
	start_init --grace 1s
	wait_until 5 all_up
	run sock_request "$RUN/init.sock" '{"op":"status","id":42}'
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(jq -r .type <<< "$output")" = status ]
	[ "$(jq -r .id <<< "$output")" = 42 ]
	[ "$(jq -r '[.children[].name] | join(",")' <<< "$output")" = one,two ]
	[ "$(jq -r '.children[0] | [has("name","pid","state","restarts","uptime_ms","last_exit")] | all' <<< "$output")" = true ]
	[ "$(jq -r '.children[1].command[0]' <<< "$output")" = /bin/sh ]
	run sock_request "$RUN/init.sock" '{"op":"reboot","id":1}'
	[ "$(jq -r .type <<< "$output")" = error ]
	[[ "$(jq -r .error <<< "$output")" == *"unknown op"* ]]
	# A second canteen-init on the same run directory refuses to start (temporary failure)
	# and leaves the first one answering.
	run canteen-init -f "$D/init.conf" -d "$RUN"
	[ "$status" -eq 111 ]
	[[ "$output" == *init.sock* ]]
	[ "$(ls "$D/pids" | grep -c "^one")" -eq 1 ] # no second copy was started
	all_up
	run canteen --rundir "$D/nowhere" status
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: cannot ask canteen-init at $D/nowhere/init.sock"* ]]
}

@test "SIGHUP reloads init.conf: unchanged kept, changed restarted, removed stopped, new started" {
	child keep 'exec sleep 1000'
	child change 'exec sleep 1000'
	child dropped 'sleep 1000 & trap "echo dropped >> \"\$D/order\"; exit 0" TERM
wait'
	start_init --grace 2s
	wait_until 5 all_up
	local keep change dropped init
	keep=$(status_of keep .pid)
	change=$(status_of change .pid)
	dropped=$(status_of dropped .pid)
	init=$(pid_of init)
	: > "$D/init.conf"
	child fresh 'exec sleep 1000'
	child keep 'exec sleep 1000'
	echo "change /bin/sh '$D/change.sh' --new-flag" >> "$D/init.conf"
	kill -HUP "$init"
	wait_until 5 field_is fresh .state up
	wait_until 5 gone "$dropped"
	wait_until 5 gone "$change"
	wait_until 5 field_is change .state up
	[ "$(cat "$D/order")" = dropped ]
	[ "$(status_of keep .pid)" = "$keep" ]
	[ "$(status_of change .command[-1])" = --new-flag ]
	[ "$(canteen --rundir "$RUN" status --json | jq -r .name | paste -sd,)" = fresh,keep,change ]
	grep -q 'reloaded .*: 3 programs, 1 kept, 2 new, 2 stopping' "$D/init.log"
	# A broken file is refused and nothing changes.
	echo 'broken' >> "$D/init.conf"
	kill -HUP "$init"
	wait_until 5 grep -q "init.conf:4: 'broken' has no command.*; keeping the current programs" "$D/init.log"
	all_up
	[ "$(status_of keep .pid)" = "$keep" ]
	# And everything still stops in the new order.
	kill -TERM "$init"
	wait_until 10 gone "$init"
	sed -n '/SIGTERM: stopping/,$ s/^canteen-init: \([^:]*\): stopping pid.*/\1/p' "$D/init.log" |
		paste -sd, > "$D/stops"
	[ "$(cat "$D/stops")" = change,keep,fresh ]
}

# conf_error NAME TEXT WANT: init.conf NAME holding TEXT makes canteen-init exit 100 and
# say WANT (after the file's path).
conf_error() {
	printf '%s' "$2" > "$D/$1"
	run canteen-init -f "$D/$1" -d "$RUN"
	echo "$output"
	[ "$status" -eq 100 ]
	[[ "$output" == *"$D/$1$3"* ]]
}

@test "bad init.conf lines give file:line errors and exit 100" {
	conf_error bad1.conf $'ok /bin/true\nsolo\n' ":2: 'solo' has no command"
	conf_error bad2.conf $'# x\na /bin/true\na /bin/false\n' ":3: duplicate name 'a' (first on line 2)"
	conf_error bad3.conf $'a sh -c "echo $HOME"\n' ":1: '\$' and '\`' are not expanded"
	conf_error bad4.conf $'a echo x | tee\n' ":1: '|' needs a shell"
	conf_error bad5.conf $'a/b x\n' ":1: bad name 'a/b'"
	conf_error bad6.conf $'a x \'open\n' ":1: unterminated '"
	conf_error empty.conf $'# nothing\n' ": no programs"
	run canteen-init -f "$D/missing.conf" -d "$RUN"
	[ "$status" -eq 100 ]
	[[ "$output" == *"missing.conf: No such file or directory"* ]]
	run canteen-init -f "$D/bad1.conf" --grace soon
	[ "$status" -eq 100 ]
	run canteen-init --frobnicate
	[ "$status" -eq 100 ]
	printf '%s\n' 'a /bin/true' "b sh -c 'echo \"quoted; fine\"'" > "$D/good.conf"
	run canteen-init -n -f "$D/good.conf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 programs"* ]]
	[ ! -e "$RUN/init.sock" ] # nothing was started by the failed runs
}

@test "child output is logged line by line with the name prefixed, long lines split" {
	child talker '[ -f "$D/talked" ] && exec sleep 1000
touch "$D/talked"
echo hello world
echo oops >&2
head -c 5000 /dev/zero | tr "\0" x; echo
printf "no newline at the end"'
	start_init --grace 1s
	wait_until 5 grep -q '^talker: no newline at the end$' "$D/init.log"
	grep -q '^talker: hello world$' "$D/init.log"
	grep -q '^talker: oops$' "$D/init.log"
	run grep -c '^talker: xxx' "$D/init.log"
	[ "$output" = 2 ]
	[ "$(grep '^talker: xxx' "$D/init.log" | head -1 | wc -c)" -eq $(( 8 + 4096 + 1 )) ]
	[ "$(grep '^talker: xxx' "$D/init.log" | tail -1 | wc -c)" -eq $(( 8 + 904 + 1 )) ]
}
