# Starts the services the production-backend tests talk to, on 127.0.0.1 only, and exports the
# NETWARDEN_TEST_* variables that point the service tests at them (not DATABASE_URL & co., which
# would switch every other test's CLI runs to the shared services). Sourced by .ci/run; by hand:
#
#   source .ci/services.sh && services_start && npm test; services_stop
#
# Every service keeps its state in one temporary folder ($NW_SERVICES_DIR), removed by
# services_stop. Nothing is installed or cached outside the clone except Debian's redis-server
# package (apt) when it is missing; the MLflow venv lives in .tools/ inside the clone.

NW_MLFLOW_VERSION="${NW_MLFLOW_VERSION:-3.1.4}"
# mlflow 3.1 does not bound SQLAlchemy, and its server fails to start on SQLAlchemy 2.1.
NW_MLFLOW_CONSTRAINTS=("sqlalchemy<2.1")
NW_SERVICE_PIDS=()
NW_PG_CTL=()

svc_log() { printf '[services %s] %s\n' "$(date +%T)" "$*"; }

# A TCP port nobody listens on now.
svc_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until `cmd` succeeds, up to $2 seconds, while process $3 (0: none) lives; shows the
# service's log ($4) when it never does.
svc_wait() {
  local what=$1 secs=$2 pid=$3 log=$4
  shift 4
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ "$pid" != 0 ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  svc_log "$what did not come up (waited up to ${secs}s); its log:"
  tail -n 40 "$log" >&2 || true
  return 1
}

svc_http_ok() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))' "$1"; }

start_postgres() {
  local dir="$NW_SERVICES_DIR/pg" port
  port=$(svc_free_port)
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: run it as `nobody`, which then owns the cluster folder.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown nobody "$dir"
    chmod 755 "$NW_SERVICES_DIR"
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  fi
  "${as[@]}" initdb -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$NW_SERVICES_DIR/pg-initdb.log" 2>&1 || {
    cat "$NW_SERVICES_DIR/pg-initdb.log" >&2
    return 1
  }
  "${as[@]}" pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
  NW_PG_CTL=("${as[@]}" pg_ctl -D "$dir/data")
  psql -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE netwarden_test" >/dev/null
  export NETWARDEN_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/netwarden_test"
  svc_log "PostgreSQL $(postgres --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_redis() {
  if ! command -v redis-server >/dev/null; then
    svc_log "installing redis-server (apt)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  local port
  port=$(svc_free_port)
  mkdir -p "$NW_SERVICES_DIR/redis"
  setsid redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$NW_SERVICES_DIR/redis" \
    --logfile "$NW_SERVICES_DIR/redis.log" &
  NW_SERVICE_PIDS+=($!)
  svc_wait "Redis" 20 "$!" "$NW_SERVICES_DIR/redis.log" redis-cli -p "$port" ping
  export NETWARDEN_TEST_REDIS_URL="redis://127.0.0.1:$port"
  svc_log "Redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_s3() {
  local port
  port=$(svc_free_port)
  setsid moto_server -H 127.0.0.1 -p "$port" >"$NW_SERVICES_DIR/moto.log" 2>&1 &
  NW_SERVICE_PIDS+=($!)
  svc_wait "moto_server" 30 "$!" "$NW_SERVICES_DIR/moto.log" svc_http_ok "http://127.0.0.1:$port/"
  # Tests use MinIO-style settings against it: explicit endpoint, path-style, static credentials.
  export NETWARDEN_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  svc_log "S3 API (moto_server) on 127.0.0.1:$port"
}

start_mlflow() {
  local venv="$NW_ROOT/.tools/mlflow-venv" port
  if [ ! -x "$venv/bin/mlflow" ]; then
    svc_log "installing mlflow==$NW_MLFLOW_VERSION into .tools/mlflow-venv"
    python3 -m venv "$venv"
    PIP_CACHE_DIR="$NW_ROOT/.tools/pip-cache" "$venv/bin/pip" install -q --disable-pip-version-check \
      "mlflow==$NW_MLFLOW_VERSION" "${NW_MLFLOW_CONSTRAINTS[@]}"
  fi
  port=$(svc_free_port)
  mkdir -p "$NW_SERVICES_DIR/mlflow/artifacts"
  # Artifacts are proxied through the server (mlflow-artifacts:/), as a team's tracking server
  # does; the server's working folder is the temp folder, so nothing lands in the clone.
  (cd "$NW_SERVICES_DIR/mlflow" && exec setsid "$venv/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$NW_SERVICES_DIR/mlflow/mlflow.db" \
    --artifacts-destination "$NW_SERVICES_DIR/mlflow/artifacts" >"$NW_SERVICES_DIR/mlflow.log" 2>&1) &
  NW_SERVICE_PIDS+=($!)
  svc_wait "MLflow" 120 "$!" "$NW_SERVICES_DIR/mlflow.log" svc_http_ok "http://127.0.0.1:$port/health"
  export NETWARDEN_TEST_MLFLOW_URI="http://127.0.0.1:$port"
  svc_log "MLflow $NW_MLFLOW_VERSION on 127.0.0.1:$port"
}

# Services started with `setsid` lead their own process group, stopped as a whole.
services_start() {
  NW_ROOT="${NW_ROOT:-$PWD}"
  NW_SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/netwarden-services.XXXXXX")
  export NW_SERVICES_DIR
  start_postgres
  start_redis
  start_s3
  start_mlflow
}

services_stop() {
  local pid
  if [ "${#NW_PG_CTL[@]}" -gt 0 ] 2>/dev/null; then "${NW_PG_CTL[@]}" -m immediate stop >/dev/null 2>&1 || true; fi
  # Each service runs in its own process group (setsid), so its workers go with it.
  for pid in "${NW_SERVICE_PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${NW_SERVICE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  NW_SERVICE_PIDS=()
  if [ -n "${NW_SERVICES_DIR:-}" ]; then rm -rf "$NW_SERVICES_DIR"; fi
}
