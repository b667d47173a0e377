#!/bin/sh
# Makes a throwaway PKI (for the TLS tests, benchmarks and demo; not for production: the CA key
# lies next to the certificates) in directory $1 with the openssl command line tool:
#   ca.pem/ca.key          the cluster's test CA
#   node1..node3.pem/.key  node certificates signed by it (serverAuth + clientAuth)
#   node3.enc.key          node3's key encrypted with the passphrase in passphrase.txt
#   rogue.pem/.key         a self-signed certificate (trusts only itself)
#   stranger.pem/.key      signed by another CA (other-ca.pem)
#   server-only.pem/.key   signed by the CA, but for TLS servers only
#   expired.pem/.key       signed by the CA, expired yesterday
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2"
}
signed() {  # name ca extended-key-usage [days]
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days "${4:-30}" -extfile "$1.ext" 2>/dev/null
}
ca ca "grove test CA"
ca other-ca "another CA"
for n in node1 node2 node3; do signed $n ca serverAuth,clientAuth; done
signed stranger other-ca serverAuth,clientAuth
signed server-only ca serverAuth
signed expired ca serverAuth,clientAuth -1
ca rogue rogue
printf 'open sesame\n' >passphrase.txt
openssl pkey -in node3.key -aes256 -passout pass:'open sesame' -out node3.enc.key
chmod 600 ./*.key
