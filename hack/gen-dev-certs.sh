#!/bin/sh
# Generates INSECURE development certificates for Armada KV (spec §12.5) with OpenSSL.
#
#   hack/gen-dev-certs.sh [OUT_DIR]        (default: the directory of this script)
#
# Every certificate carries the organisation "Armada KV INSECURE DEVELOPMENT CERTIFICATE"; a node that
# serves or trusts one outside --dev-mode logs a loud warning. The private keys are written next to the
# certificates in plain text: never use these files outside a laptop or a test.
#
# Layout (file names as in the reference's hack/ directory, plus a CA and a client for the API):
#   ca.crt ca.key                    API development CA
#   server.crt server.key            API server (SANs localhost, 127.0.0.1, 0.0.0.0), signed by ca
#   client.crt client.key            API client (CN armada-client, SAN DNS client.armada.local), signed by ca
#   replication/ca.crt ca.key        replication development CA
#   replication/server.crt .key      replication server (CN localhost:8444; SANs localhost, 127.0.0.1)
#   replication/client.crt .key      follower client (CN armada-follower, SAN DNS follower.armada.local)
#   test/                            material for negative tests:
#     other-ca.crt .key                a second, unrelated CA
#     other-ca-client.crt .key         client (CN armada-client) signed by the other CA
#     expired-client.crt .key          client (CN armada-client) signed by ca, expired in 2020
#     wrong-cn-client.crt .key         client (CN intruder, SAN DNS intruder.armada.local) signed by ca
#     server-rotated.crt .key          a second API server certificate (CN localhost-rotated) for rotation tests
set -eu

OUT=${1:-$(dirname "$0")}
ORG="Armada KV INSECURE DEVELOPMENT CERTIFICATE"
DAYS=3650
mkdir -p "$OUT/replication" "$OUT/test"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# new_key FILE: an EC P-256 key (fast to make, accepted by every TLS stack Armada talks to).
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

# new_ca NAME CN: a self-signed CA certificate NAME.crt with key NAME.key.
new_ca() {
  new_key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days "$DAYS" -subj "/O=$ORG/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.crt" 2>/dev/null
}

# new_leaf NAME CN SANS USAGE CA: NAME.crt/NAME.key signed by CA.crt/CA.key; USAGE is serverAuth or clientAuth.
new_leaf() {
  new_key "$1.key"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$4" "$3" > "$WORK/ext.cnf"
  openssl req -new -key "$1.key" -subj "/O=$ORG/CN=$2" -out "$WORK/leaf.csr" 2>/dev/null
  openssl x509 -req -in "$WORK/leaf.csr" -CA "$5.crt" -CAkey "$5.key" -CAcreateserial -CAserial "$WORK/serial" \
    -sha256 -days "$DAYS" -extfile "$WORK/ext.cnf" -out "$1.crt" 2>/dev/null
}

# new_expired NAME CN SANS CA: a client certificate whose validity ended in 2020. `openssl x509` cannot
# backdate, so this one goes through `openssl ca`, which takes explicit start and end dates.
new_expired() {
  new_key "$1.key"
  openssl req -new -key "$1.key" -subj "/O=$ORG/CN=$2" -out "$WORK/expired.csr" 2>/dev/null
  : > "$WORK/index.txt"
  echo 1000 > "$WORK/ca-serial"
  cat > "$WORK/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $WORK/index.txt
new_certs_dir = $WORK
serial = $WORK/ca-serial
default_md = sha256
policy = anything
x509_extensions = leaf
unique_subject = no
[anything]
organizationName = supplied
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = $3
CNF
  openssl ca -batch -config "$WORK/ca.cnf" -cert "$4.crt" -keyfile "$4.key" -in "$WORK/expired.csr" \
    -startdate 20200101000000Z -enddate 20200102000000Z -notext -out "$1.crt" 2>/dev/null
}

new_ca "$OUT/ca" "Armada KV development CA"
new_leaf "$OUT/server" localhost "DNS:localhost,IP:127.0.0.1,IP:0.0.0.0" serverAuth "$OUT/ca"
new_leaf "$OUT/client" armada-client "DNS:client.armada.local" clientAuth "$OUT/ca"

new_ca "$OUT/replication/ca" "Armada KV development replication CA"
new_leaf "$OUT/replication/server" localhost:8444 "DNS:localhost,IP:127.0.0.1" serverAuth "$OUT/replication/ca"
new_leaf "$OUT/replication/client" armada-follower "DNS:follower.armada.local" clientAuth "$OUT/replication/ca"

new_ca "$OUT/test/other-ca" "Armada KV unrelated test CA"
new_leaf "$OUT/test/other-ca-client" armada-client "DNS:client.armada.local" clientAuth "$OUT/test/other-ca"
new_expired "$OUT/test/expired-client" armada-client "DNS:client.armada.local" "$OUT/ca"
new_leaf "$OUT/test/wrong-cn-client" intruder "DNS:intruder.armada.local" clientAuth "$OUT/ca"
new_leaf "$OUT/test/server-rotated" localhost-rotated "DNS:localhost,IP:127.0.0.1,IP:0.0.0.0" serverAuth "$OUT/ca"

echo "INSECURE development certificates written to $OUT (never use them in production)" >&2
