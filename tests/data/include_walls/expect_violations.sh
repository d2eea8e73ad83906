#!/usr/bin/env bash
# ctest include_walls_fixture: scripts/check_includes.sh run on this small tree
# must exit 1 and name exactly the wrong includes listed in expected.txt.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out=$(bash "$here/../../../scripts/check_includes.sh" "$here" 2>/dev/null)
rc=$?
if [ "$rc" -ne 1 ]; then
  echo "include_walls_fixture: check_includes.sh exited $rc on the fixture, expected 1"
  exit 1
fi
if ! diff <(printf '%s\n' "$out") "$here/expected.txt"; then
  echo "include_walls_fixture: reported violations differ from expected.txt (diff above: < got, > expected)"
  exit 1
fi
echo "include_walls_fixture: all $(wc -l < "$here/expected.txt") planted violations reported, nothing else"
