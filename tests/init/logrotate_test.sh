#!/usr/bin/env bash
# contrib/logrotate/picket: logrotate accepts it and rotates the event and log files it names.
# The snippet's /var/log/picket is pointed at a scratch directory. Skips without logrotate.
set -euo pipefail
snippet=$1
if ! command -v logrotate >/dev/null; then
  echo "SKIP: logrotate is not installed (scripts/install-deps.sh installs it)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/log"
sed -e "s#/var/log/picket#$tmp/log#g" -e "s/create 0640 root adm/create 0640 $(id -un) $(id -gn)/" "$snippet" >"$tmp/conf"
grep -q "$tmp/log/\*.json" "$tmp/conf"  # the substitution took
echo '{"event_type":"alert"}' >"$tmp/log/events.json"
echo 'a log line' >"$tmp/log/picket.log"
echo 'not ours' >"$tmp/log/other.txt"

logrotate -d -s "$tmp/state" "$tmp/conf" >"$tmp/debug" 2>&1 || { cat "$tmp/debug"; echo "FAIL: logrotate -d refuses the snippet"; exit 1; }
if grep -qiE "^error|error:" "$tmp/debug"; then cat "$tmp/debug"; echo "FAIL: logrotate -d reports errors"; exit 1; fi
logrotate -f -s "$tmp/state" "$tmp/conf"
fail=0
for f in events.json picket.log; do
  [ -s "$tmp/log/$f.1" ] || { echo "FAIL: $f was not rotated to $f.1"; fail=1; }
  [ -e "$tmp/log/$f" ] && [ ! -s "$tmp/log/$f" ] || { echo "FAIL: no fresh, empty $f after rotation"; fail=1; }
  [ "$(stat -c %a "$tmp/log/$f")" = 640 ] || { echo "FAIL: new $f is not mode 0640"; fail=1; }
done
[ -e "$tmp/log/other.txt" ] && [ ! -e "$tmp/log/other.txt.1" ] || { echo "FAIL: a file not named *.log/*.json was rotated"; fail=1; }
[ $fail -eq 0 ] && echo "ok: logrotate snippet"
exit $fail
