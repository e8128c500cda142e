#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run inside the sandbox (see README.md): shows what CMD can and cannot do.
try() { # try DESCRIPTION COMMAND...
	what=$1
	shift
	if out=$("$@" 2>&1); then
		printf '  %-44s allowed\n' "$what"
	else
		printf '  %-44s refused (%s)\n' "$what" "$(printf '%s' "$out" |
			sed -n '1s/.*: //p')"
	fi
}
echo "inside the airlock sandbox as $(id -un 2>/dev/null || id -u)" \
	"(uid $(id -u)), in $(pwd)"
grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/^/  /'
echo "  processes visible: $(ls /proc | grep -c '^[0-9]')"
echo "  network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
try "write a file in the workspace" sh -c 'echo x > .airlock-demo && rm .airlock-demo'
try "write to /etc" touch /etc/airlock-demo
try "write to \$HOME (root: a throwaway tmpfs)" touch "$HOME/.airlock-demo"
try "create .bashrc in the workspace" touch .bashrc
try "read ~/.ssh" sh -c "cat $HOME/.ssh/* | head -c 1 | grep -q ."
try "mount a tmpfs" mount -t tmpfs none /tmp
try "reach the network (1.1.1.1:80)" bash -c "exec 3<>/dev/tcp/1.1.1.1/80"
try "look up example.com (the DNS stub)" \
	sh -c 'getent hosts example.com || { echo ": no answer"; exit 1; }'
if command -v curl >/dev/null; then
	try "fetch http://example.com/ (the gateway)" \
		curl -sS -f -m 10 -o /dev/null http://example.com/
fi
