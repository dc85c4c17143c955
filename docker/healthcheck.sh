#!/bin/sh
# Container HEALTHCHECK: GET /health on the daemon's port. PORT wins; without it the port is
# the default of the daemon running as the container's command (DESIGN.md port table).
set -eu
port=${PORT:-}
if [ -z "$port" ]; then
  cmd=$(tr '\0' ' ' </proc/1/cmdline 2>/dev/null || true)
  case "$cmd" in
    *orchestrator-pure*) port=21080 ;;
    *orchestrator-temporal*) port=21081 ;;
    *service-order*) port=21082 ;;
    *service-inventory*) port=21083 ;;
    *service-payment*) port=21084 ;;
    *service-notification*) port=21085 ;;
    *) echo "healthcheck: unknown daemon in '$cmd' and PORT unset" >&2; exit 1 ;;
  esac
fi
exec curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${port}/health"
