#!/bin/sh
# Starts Debian's Keystone on 127.0.0.1:PORT with a sqlite database in DIR,
# bootstrapped with admin/secret in project admin (domain default), for the
# keystone integration tests (token lifetime: $KS_TOKEN_EXPIRATION, default
# 3600 s). Each further argument user:password:project:role
# adds a user with that role in that project (made with keystone-manage
# before the server starts: writes through the sqlite-backed server can fail
# with "database is locked"). Prints the pid. Needs the `keystone` package.
set -e
DIR=$1 PORT=$2
shift 2
mkdir -p "$DIR"
cat > "$DIR/keystone.conf" <<CONF
[DEFAULT]
log_dir = $DIR
[database]
connection = sqlite:///$DIR/keystone.db
[token]
provider = fernet
expiration = ${KS_TOKEN_EXPIRATION:-3600}
[fernet_tokens]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
CONF
if [ ! -f "$DIR/keystone.db" ]; then
  keystone-manage --config-file "$DIR/keystone.conf" db_sync >"$DIR/setup.log" 2>&1
  keystone-manage --config-file "$DIR/keystone.conf" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$DIR/setup.log" 2>&1
  keystone-manage --config-file "$DIR/keystone.conf" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$DIR/setup.log" 2>&1
  keystone-manage --config-file "$DIR/keystone.conf" bootstrap --bootstrap-password secret \
    --bootstrap-public-url "http://127.0.0.1:$PORT/v3" >>"$DIR/setup.log" 2>&1
  for spec in "$@"; do
    IFS=: read -r user pass project role <<SPEC
$spec
SPEC
    keystone-manage --config-file "$DIR/keystone.conf" bootstrap --bootstrap-username "$user" \
      --bootstrap-password "$pass" --bootstrap-project-name "$project" --bootstrap-role-name "$role" \
      --bootstrap-public-url "http://127.0.0.1:$PORT/v3" >>"$DIR/setup.log" 2>&1
  done
fi
keystone-wsgi-public --host 127.0.0.1 --port "$PORT" -- --config-file "$DIR/keystone.conf" >"$DIR/wsgi.log" 2>&1 &
echo $!
