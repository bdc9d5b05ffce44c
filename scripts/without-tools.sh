#!/usr/bin/env bash
# Runs a command as on a fresh machine that lacks some system tools: PATH becomes one directory of
# links to every executable of the current PATH except the named ones.
#   scripts/without-tools.sh bwrap chromium nginx -- npm test
set -euo pipefail
hidden=()
while [[ $# -gt 0 && $1 != -- ]]; do hidden+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
[[ $# -gt 0 ]] || { echo "usage: $0 TOOL... -- COMMAND..." >&2; exit 2; }
bin=$(mktemp -d "${TMPDIR:-/tmp}/without-tools.XXXXXX")
trap 'rm -rf "$bin"' EXIT
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [[ -d $dir ]] || continue
  for file in "$dir"/*; do
    name=${file##*/}
    [[ -x $file && ! -d $file && ! -e $bin/$name ]] || continue
    for tool in "${hidden[@]}"; do [[ $name == "$tool" ]] && continue 2; done
    ln -s "$file" "$bin/$name"
  done
done
echo "PATH without: ${hidden[*]}" >&2
PATH=$bin "$@"
