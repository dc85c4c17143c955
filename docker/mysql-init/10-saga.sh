#!/bin/bash
# MySQL 8 first-start initialisation (mounted into /docker-entrypoint-initdb.d by
# docker-compose.yml, with sql/ mounted read-only at /saga-sql). Runs once, on an empty data
# volume, against the entrypoint's temporary server (socket only, no network).
#  - creates the five databases (utf8mb4, as scripts/stack does for MariaDB),
#  - creates the application user (mysql_native_password: MariaDB Connector/C then needs
#    neither TLS nor the server's RSA key, which caching_sha2_password would),
#  - applies sql/<database>/NNN_*.sql in name order and records each in schema_migrations,
#    the same bookkeeping scripts/stack uses locally.
set -euo pipefail

sql_dir=${SAGA_SQL_DIR:-/saga-sql}
app_user=${SAGA_DB_USER:-saga}
app_password=${SAGA_DB_PASSWORD:?SAGA_DB_PASSWORD is required (MYSQL_PASSWORD in .env)}
databases=(order_db inventory_db payment_db notification_db orchestrator_db)

# Passwords travel in the environment (MYSQL_PWD) and on stdin, never in a command line.
mysql_root() { MYSQL_PWD="${MYSQL_ROOT_PASSWORD}" mysql --protocol=socket -uroot "$@"; }

for d in "$sql_dir"/*/; do
  [[ -d $d ]] || continue
  name=$(basename "$d")
  [[ " ${databases[*]} " == *" $name "* ]] || databases+=("$name")
done

for db in "${databases[@]}"; do
  echo "[saga-init] database $db"
  mysql_root -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE TABLE IF NOT EXISTS \`$db\`.schema_migrations (
      version VARCHAR(191) NOT NULL PRIMARY KEY,
      applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
done

mysql_root <<SQL
CREATE USER IF NOT EXISTS '${app_user}'@'%' IDENTIFIED WITH mysql_native_password BY '${app_password}';
SQL
for db in "${databases[@]}"; do
  mysql_root -e "GRANT ALL PRIVILEGES ON \`$db\`.* TO '${app_user}'@'%'"
done
mysql_root -e "FLUSH PRIVILEGES"

for db in "${databases[@]}"; do
  [[ -d $sql_dir/$db ]] || continue
  mapfile -t files < <(find "$sql_dir/$db" -maxdepth 1 -name '*.sql' -type f | LC_ALL=C sort)
  for f in "${files[@]}"; do
    file=$(basename "$f")
    echo "[saga-init] migrating $db: $file"
    mysql_root "$db" <"$f"
    mysql_root "$db" -e "INSERT INTO schema_migrations(version) VALUES ('$file')" </dev/null
  done
done
echo "[saga-init] done"
