#!/bin/sh
# Regenerate tests/golden/*.strace from the scenario scripts with strace 6.1.
# Run as root from anywhere.  PYTHON defaults to the interpreter the pyenv
# shim resolves to (running the shim itself under strace -f would add the
# shim's own bash/pyenv processes and hundreds of close() lines).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
GOLD=$HERE/../golden
PYTHON=${PYTHON:-$(pyenv which python3 2>/dev/null || command -v python3)}
TRACE=socket,socketpair,setsockopt,bind,listen,connect,accept,accept4,close
mkdir -p "$GOLD"
cd /tmp || exit 1
for s in listeners options failures eacces families accept threads forking; do
    strace -f -o "$GOLD/$s.strace" -e trace=$TRACE "$PYTHON" "$HERE/$s.py"
    echo "$s: rc=$?"
done
# Format variants (see STRACE_FORMAT.md):
#  - no -f, single process: no pid prefix at all
strace -o "$GOLD/listeners.nof.strace" -e trace=$TRACE "$PYTHON" "$HERE/listeners.py"
#  - -f without -o (output on stderr): "[pid N] " prefixes, only once >1 process
strace -f -e trace=$TRACE "$PYTHON" "$HERE/forking.py" 2> "$GOLD/forking.stderr.strace"
strace -f -e trace=$TRACE "$PYTHON" "$HERE/threads.py" 2> "$GOLD/threads.stderr.strace"
#  - -tt timestamps
strace -f -tt -o "$GOLD/threads.tt.strace" -e trace=$TRACE "$PYTHON" "$HERE/threads.py"
#  - through the pyenv shim itself (bash + pyenv helper processes)
strace -f -o "$GOLD/listeners.shim.strace" -e trace=$TRACE /root/.pyenv/shims/python3 "$HERE/listeners.py"
#  - inside a fresh PID namespace: small pids show the "%-5u " / "[pid %5u]" padding
unshare -p -f --mount-proc strace -f -o "$GOLD/forking.pidns.strace" -e trace=$TRACE "$PYTHON" "$HERE/forking.py"
unshare -p -f --mount-proc strace -f -e trace=$TRACE "$PYTHON" "$HERE/threads.py" 2> "$GOLD/threads.pidns.stderr.strace"
