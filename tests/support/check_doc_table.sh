#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A table in a doc is the output of a test program:
#   check_doc_table.sh DOC NAME COMMAND...
# The lines between "<!-- BEGIN NAME -->" and "<!-- END NAME -->" of DOC, without the two
# header lines of the table, must equal what COMMAND prints. On a difference it prints the
# diff and the command that regenerates the block.
set -u
doc=$1 name=$2
shift 2
want=$(sed -n "/<!-- BEGIN $name -->/,/<!-- END $name -->/p" "$doc" | sed '1d;$d' | grep '^| `')
got=$("$@") || { echo "check_doc_table: '$*' failed"; echo "$got"; exit 1; }
if [ "$want" != "$got" ]; then
  diff <(echo "$want") <(echo "$got")
  echo "check_doc_table: the '$name' table of $doc differs from '$*' (regenerate it from that output)"
  exit 1
fi
echo "check_doc_table: '$name' table of $doc up to date ($(echo "$got" | wc -l) rows)"
