#!/usr/bin/env bash
# Boots a fresh Ubuntu 24.04 EC2 instance into a media node of the fleet. The launch template's user
# data unpacks the node's files (this script, the nginx templates, render_node.py, agent.py) into
# one directory and runs, as root:
#
#   bootstrap.sh --api-url https://abc123.execute-api.eu-west-1.amazonaws.com \
#                --secret-parameter-prefix /rtmp-fleet/RtmpFleet/node-secrets --heartbeat-seconds 15
#
# 1. installs nginx, libnginx-mod-rtmp and python3 from apt, and keeps the stock nginx off;
# 2. reads the instance's id, region and public IPv4 from IMDSv2;
# 3. fetches the node's own secret from SSM Parameter Store (<prefix>/<instance id>, written by the
#    lifecycle Lambda when the launch hook fired), signing the request with curl and the instance
#    role's credentials: no AWS CLI. The node role may read that one parameter only;
# 4. renders the node's nginx configuration with render_node.py, from the templates that local mode
#    renders too, root-only (it holds the secret): RTMP on 1935, and the loopback shim that
#    forwards nginx-rtmp's plain-HTTP callbacks and the agent's heartbeats to the HTTPS API with the
#    node's id and secret;
# 5. runs that nginx and the heartbeat agent under systemd. The agent's first ready heartbeat lets
#    the launch lifecycle hook continue (the heartbeat Lambda answers the hook): this script needs
#    no Auto Scaling permission. If it fails, the hook times out and abandons the instance.
#
#   bootstrap.sh --render-only DIR --api-url URL --secret-parameter-prefix PREFIX
#   bootstrap.sh --render-only DIR --api-url URL --node-id ID --node-secret-file FILE
#
# runs steps 2-4 (or step 4 alone, with the id and secret given) and writes the configuration to
# DIR instead of installing anything: the tests check the result with `nginx -t`, against a fake
# metadata service and a fake SSM that verifies the request's SigV4 signature. For them,
# RTMP_NODE_RUN_DIR and RTMP_NODE_LOG_DIR move nginx's runtime and log directories,
# RTMP_NODE_IMDS_URL and RTMP_NODE_SSM_URL the endpoints, RTMP_NODE_SECRET_RETRY_SECONDS the wait.
set -euo pipefail

FILES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly FILES_DIR
readonly CONF_DIR=/etc/rtmp-node
readonly NGINX_CONF=$CONF_DIR/nginx.conf # rendered by render_node.py
readonly NGINX_UNIT=rtmp-nginx.service
readonly AGENT_UNIT=rtmp-agent.service
readonly RTMP_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
readonly RUN_DIR=${RTMP_NODE_RUN_DIR:-/run/rtmp-nginx}
readonly LOG_DIR=${RTMP_NODE_LOG_DIR:-/var/log/rtmp-nginx}
readonly RTMP_PORT=1935 # the only port the node's security group opens
readonly RTMP_APP=live  # the application of nginx-rtmp.conf.template
readonly SHIM_PORT=8080
readonly AMAZON_DNS=169.254.169.253 # the VPC's resolver, reachable from any subnet
readonly IMDS=${RTMP_NODE_IMDS_URL:-http://169.254.169.254/latest}
# The lifecycle Lambda writes the secret when the launch hook fires; it is usually there long before
# the packages are installed, but wait up to 5 minutes (the launch hook allows 10).
readonly SECRET_ATTEMPTS=60 SECRET_RETRY_SECONDS=${RTMP_NODE_SECRET_RETRY_SECONDS:-5}

log() { printf 'rtmp-node bootstrap: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
usage() {
  # The comment at the top of this file, up to its first line of code.
  awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# A command, tried up to $1 times, $2 seconds apart.
retry() {
  local attempts=$1 delay=$2 attempt
  shift 2
  for ((attempt = 1; ; attempt++)); do
    "$@" && return 0
    ((attempt < attempts)) || return 1
    log "attempt ${attempt}/${attempts} of '$1' failed; retrying in ${delay}s"
    sleep "$delay"
  done
}

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # cloud-init's own apt run or unattended-upgrades may hold the dpkg lock at first boot.
  local apt=(apt-get -q -o DPkg::Lock::Timeout=300)
  retry 5 10 "${apt[@]}" update
  retry 3 10 "${apt[@]}" install -y --no-install-recommends nginx libnginx-mod-rtmp python3 ca-certificates curl
  [[ -f $RTMP_MODULE ]] || die "libnginx-mod-rtmp did not install $RTMP_MODULE"
  # The stock nginx (port 80, default site) never runs here; masking also stops package upgrades
  # from starting it again. The node's nginx is $NGINX_UNIT, with its own configuration.
  rm -f /etc/nginx/sites-enabled/default
  systemctl disable --now nginx.service
  systemctl mask nginx.service
  # needrestart would restart services after an unattended library upgrade: restarting the node's
  # nginx cuts every camera on it, so it is left alone (the node is replaced, never restarted).
  install -d -m 0755 /etc/needrestart/conf.d
  printf '%s\n' "\$nrconf{override_rc}{qr(^${NGINX_UNIT//./\\.}\$)} = 0;" >/etc/needrestart/conf.d/rtmp-node.conf
}

imds_token() {
  curl -sSf --retry 5 --retry-connrefused --max-time 5 -X PUT "$IMDS/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 3600'
}

# One IMDSv2 path (the token is in IMDS_TOKEN).
imds() {
  curl -sSf --retry 5 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/$1"
}

# The instance role's current credentials as a curl config (user and session-token header), so
# they never appear on a command line.
credentials_curl_config() {
  local role
  role=$(imds meta-data/iam/security-credentials/) || return 1
  imds "meta-data/iam/security-credentials/$role" | python3 -c '
import json, re, sys
c = json.load(sys.stdin)
values = (c["AccessKeyId"], c["SecretAccessKey"], c["Token"])
if not all(re.fullmatch(r"[A-Za-z0-9/+=]+", v) for v in values):
    sys.exit("unexpected characters in the instance credentials")
print(f"user = \"{values[0]}:{values[1]}\"")
print(f"header = \"x-amz-security-token: {values[2]}\"")
'
}

# SSM GetParameter (with decryption) of one parameter; prints the value.
ssm_parameter() {
  local name=$1 response
  response=$(credentials_curl_config | curl -sS --fail-with-body --max-time 10 -K - \
    --aws-sigv4 "aws:amz:${REGION}:ssm" \
    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: AmazonSSM.GetParameter' \
    --data-binary "{\"Name\":\"${name}\",\"WithDecryption\":true}" \
    "${RTMP_NODE_SSM_URL:-https://ssm.${REGION}.${AWS_DOMAIN}/}") || {
    log "GetParameter ${name}: ${response:-no answer}"
    return 1
  }
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Parameter"]["Value"])' <<<"$response"
}

# Renders the node's nginx configuration into directory $1: $2 API URL, $3 node id, $4 secret. Only
# ports, paths and identity are given: every other setting is in the templates, as for local nodes.
# The secret goes through standard input, never the command line (which any local process can read).
render_node() {
  printf '%s\n' "$4" | python3 "$FILES_DIR/render_node.py" "$1" \
    "RUN_DIR=$RUN_DIR" \
    "LOG_DIR=$LOG_DIR" \
    "RTMP_LISTEN=$RTMP_PORT" \
    "SHIM_PORT=$SHIM_PORT" \
    "RESOLVER=$AMAZON_DNS" \
    "API_URL=$2" \
    "NODE_ID=$3" \
    NODE_SECRET=-
}

# systemd units: the node's nginx, and the agent (no privilege: it reads /proc and the loopback shim).
write_units() {
  local rtmp_base_url=$1 heartbeat_seconds=$2
  cat >"/etc/systemd/system/$NGINX_UNIT" <<EOF
[Unit]
Description=nginx-rtmp media node (cameras publish on port $RTMP_PORT)
Wants=network-online.target
After=network-online.target

[Service]
Type=forking
PIDFile=$RUN_DIR/nginx.pid
RuntimeDirectory=${RUN_DIR#/run/}
LogsDirectory=${LOG_DIR#/var/log/}
ExecStartPre=/usr/sbin/nginx -t -q -c $NGINX_CONF
ExecStart=/usr/sbin/nginx -c $NGINX_CONF
ExecReload=/bin/kill -HUP \$MAINPID
# QUIT lets the workers finish their connections instead of dropping them.
KillSignal=SIGQUIT
KillMode=mixed
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
  cat >"/etc/systemd/system/$AGENT_UNIT" <<EOF
[Unit]
Description=media node heartbeat agent (readiness, CPU and streams to the control plane)
Wants=$NGINX_UNIT
After=$NGINX_UNIT
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/bin/python3 $FILES_DIR/agent.py --shim http://127.0.0.1:$SHIM_PORT --rtmp-base-url $rtmp_base_url --interval $heartbeat_seconds
Restart=on-failure
RestartSec=5
DynamicUser=yes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
EOF
}

api_url='' secret_prefix='' heartbeat_seconds='' render_only='' node_id='' node_secret_file=''
while (($#)); do
  [[ $# -ge 2 ]] || usage
  case $1 in
  --api-url) api_url=$2 ;;
  --secret-parameter-prefix) secret_prefix=$2 ;;
  --heartbeat-seconds) heartbeat_seconds=$2 ;;
  --render-only) render_only=$2 ;;
  --node-id) node_id=$2 ;;
  --node-secret-file) node_secret_file=$2 ;;
  *) usage ;;
  esac
  shift 2
done
[[ $api_url =~ ^https?://[A-Za-z0-9.:-]+$ ]] || die "--api-url must be the API's base URL without a path or trailing slash"

if [[ -n $render_only && -n $node_id ]]; then
  [[ -r $node_secret_file ]] || die "--render-only with --node-id needs a readable --node-secret-file"
  render_node "$render_only" "$api_url" "$node_id" "$(<"$node_secret_file")"
  exit 0
fi

[[ $secret_prefix =~ ^(/[A-Za-z0-9_.-]+)+$ ]] || die "--secret-parameter-prefix must be an SSM path such as /rtmp-fleet/x/node-secrets"
if [[ -z $render_only ]]; then
  [[ $EUID -eq 0 ]] || die "run as root"
  [[ $heartbeat_seconds =~ ^[1-9][0-9]*$ ]] || die "--heartbeat-seconds must be a whole number of seconds"
  trap 'log "failed at line $LINENO; the launch lifecycle hook will abandon this instance"' ERR
  log "installing packages"
  install_packages
fi

IMDS_TOKEN=$(imds_token)
INSTANCE_ID=$(imds meta-data/instance-id)
REGION=$(imds meta-data/placement/region)
AWS_DOMAIN=$(imds meta-data/services/domain)
PUBLIC_IP=$(imds meta-data/public-ipv4) || die "the instance has no public IPv4 address: cameras could not reach it"
[[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ && $REGION =~ ^[a-z0-9-]+$ && $AWS_DOMAIN =~ ^[a-z0-9.]+$ ]] ||
  die "unexpected instance identity: '$INSTANCE_ID' '$REGION' '$AWS_DOMAIN'"
[[ $PUBLIC_IP =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "unexpected public IPv4 '$PUBLIC_IP'"

log "fetching the secret of node $INSTANCE_ID"
node_secret=$(retry "$SECRET_ATTEMPTS" "$SECRET_RETRY_SECONDS" ssm_parameter "$secret_prefix/$INSTANCE_ID") ||
  die "no secret for node $INSTANCE_ID at $secret_prefix/$INSTANCE_ID"
[[ $node_secret =~ ^[A-Za-z0-9_-]{16,}$ ]] || die "the node secret has an unexpected form"

if [[ -n $render_only ]]; then
  render_node "$render_only" "$api_url" "$INSTANCE_ID" "$node_secret"
  exit 0
fi
install -d -m 0700 "$CONF_DIR"
render_node "$CONF_DIR" "$api_url" "$INSTANCE_ID" "$node_secret"
unset node_secret
write_units "rtmp://$PUBLIC_IP:$RTMP_PORT/$RTMP_APP" "$heartbeat_seconds"
systemctl daemon-reload
systemctl enable --now "$NGINX_UNIT" "$AGENT_UNIT"
log "node $INSTANCE_ID is up; it joins the fleet with its agent's first ready heartbeat"
