#!/usr/bin/env bash
# lint.sh: STYLE.md's banned functions, and a one-line purpose comment atop every C file.
cd "$(dirname "$0")/.." || exit 1
n=0
banned=$(grep -nE '(^|[^a-zA-Z0-9_])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|strtok)[[:space:]]*\(' \
	common/*.[ch] cmd/*/*.[ch] 2>/dev/null)
n=$((n + 1))
if [ -z "$banned" ]; then echo "ok $n - no banned functions (sprintf strcpy strcat gets atoi strtok)"
else echo "not ok $n - banned functions used:"; echo "$banned" | sed 's/^/#   /'; fi
n=$((n + 1))
bad=""
for f in common/*.[ch] cmd/*/*.[ch]; do
	[ -f "$f" ] || continue
	head -n 1 "$f" | grep -qE '^/\* [^ ]+\.[ch]: ' || bad="$bad $f"
done
if [ -z "$bad" ]; then echo "ok $n - every C file opens with a one-line purpose comment"
else echo "not ok $n - files without a purpose line:$bad"; fi
echo "1..$n"
