#!/usr/bin/env bash
# Check the include walls of DESIGN.md §1: every `#include "..."` in src/ data/
# losses/ eval/ train/ must point into a target the including target may use.
#
#   seer_core   (src/core src/ops src/text) -> seer_core only
#   seer_data   (data/)                     -> seer_core
#   seer_losses (losses/)                   -> seer_core
#   seer_eval   (eval/)                     -> seer_core
#   seer_models (src/models)                -> seer_core seer_losses
#   seer_train  (train/)                    -> all of the above
#   seer        (src/cli)                   -> all
#
# Usage: scripts/check_includes.sh [ROOT]   (ROOT defaults to the repository)
# Prints one line per violation, "file:line: X may not include Y (\"path\")",
# and exits 1 when there is any; 0 when the walls hold; 2 on a usage error.
set -euo pipefail

if [ $# -gt 1 ]; then
  echo "usage: $0 [ROOT]" >&2
  exit 2
fi
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
if [ ! -d "$ROOT" ]; then
  echo "check_includes: root '$ROOT' is not a directory" >&2
  exit 2
fi
cd "$ROOT"

# The target a repository-relative path belongs to, in REPLY ("" when none of ours).
target_of() {
  case "$1" in
    src/core/* | src/ops/* | src/text/*) REPLY=seer_core ;;
    src/models/*) REPLY=seer_models ;;
    src/cli/*) REPLY=seer ;;
    data/*) REPLY=seer_data ;;
    losses/*) REPLY=seer_losses ;;
    eval/*) REPLY=seer_eval ;;
    train/*) REPLY=seer_train ;;
    *) REPLY="" ;;
  esac
}

# Whether target $1 may include a header of target $2.
allowed() {
  [ "$1" = "$2" ] && return 0
  case "$1" in
    seer_core) return 1 ;;
    seer_data | seer_losses | seer_eval) [ "$2" = seer_core ] ;;
    seer_models) [ "$2" = seer_core ] || [ "$2" = seer_losses ] ;;
    seer_train) [ "$2" != seer ] ;;
    seer) return 0 ;;
    *) return 1 ;;
  esac
}

# The build generates seer_build_info.h; only seer_train and seer see it.
GENERATED_OK="seer_train seer"

# Resolve an include as the compiler would with the project's include path
# (the including file's folder, then src/, then the root). Prints the
# repository-relative path in REPLY, "" when the header is not ours.
resolve() {
  local from_dir="$1" inc="$2" cand
  REPLY=""
  for cand in "$from_dir/$inc" "src/$inc" "$inc"; do
    if [ -f "$cand" ]; then
      case "$cand" in
        *./*) REPLY=$(realpath -m --relative-to=. "$cand") ;;  # "../x.h", "./x.h"
        *) REPLY="$cand" ;;
      esac
      return
    fi
  done
}

violations=0
dirs=()
for d in src data losses eval train; do
  [ -d "$d" ] && dirs+=("$d")
done
if [ ${#dirs[@]} -eq 0 ]; then
  echo "check_includes: none of src/ data/ losses/ eval/ train/ under '$ROOT'" >&2
  exit 2
fi

while IFS= read -r file; do
  target_of "$file"
  from="$REPLY"
  [ -n "$from" ] || continue
  while IFS=: read -r line inc; do
    resolve "${file%/*}" "$inc"
    to_path="$REPLY"
    if [ -z "$to_path" ]; then
      if [ "${inc##*/}" = seer_build_info.h ]; then
        case " $GENERATED_OK " in
          *" $from "*) ;;
          *) echo "$file:$line: $from may not include the generated seer_build_info.h"; violations=$((violations + 1)) ;;
        esac
      fi
      continue
    fi
    target_of "$to_path"
    to="$REPLY"
    if [ -z "$to" ]; then
      echo "$file:$line: $from may not include \"$inc\" ($to_path is outside every target)"
      violations=$((violations + 1))
    elif ! allowed "$from" "$to"; then
      echo "$file:$line: $from may not include $to (\"$inc\")"
      violations=$((violations + 1))
    fi
  done < <({ grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true; } |
           sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done < <(find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' \) | LC_ALL=C sort)

if [ "$violations" -gt 0 ]; then
  echo "check_includes: $violations include(s) cross the walls of DESIGN.md §1" >&2
  exit 1
fi
exit 0
