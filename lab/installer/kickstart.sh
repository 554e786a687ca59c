#!/bin/sh
# Read a kickstart into a folder of facts (kickstart.awk says which) and check it:
#   kickstart.sh <kickstart file> <new folder>
# Prints the reasons it refuses the kickstart, one a line, and exits 1 then.
here=$(dirname "$0")
[ -r "$1" ] || { echo "cannot read the kickstart $1"; exit 1; }
mkdir -m 700 "$2" || exit 1
awk -v out="$2" -f "$here/kickstart.awk" "$1" || { cat "$2/errors" 2>/dev/null || echo "cannot parse the kickstart"; exit 1; }
