#!/usr/bin/env bash
# Boots an Ubuntu 24.04 EC2 instance into a media node, as root (docs/NODE.md, "The boot"):
#   bootstrap.sh
# It reads the instance's identity and the fleet's settings (the instance's tags rtmp-fleet:api-url,
# rtmp-fleet:node-secret-prefix, rtmp-fleet:heartbeat-seconds, rtmp-fleet:group-name,
# rtmp-fleet:launch-hook) from IMDSv2 and its secret from SSM, installs the packages (unless the
# image has them), renders the node and starts its units. The agent's first ready heartbeat makes
# the node ACTIVE. An instance launched into the warm pool only installs the packages, completes its
# own launch action and is stopped; a boot unit runs this again when it is started into the group.
# Renders into DIR (rtmp.conf, shim.conf, shim-token, nftables.conf), installing nothing:
#   bootstrap.sh --render-only DIR
#   bootstrap.sh --render-only DIR --api-url URL --node-id ID --node-secret-file FILE
# Tests only, in place of the node's directories, endpoints, CA, ports, waits and packages:
# RTMP_NODE_{RUN,LOG}_DIR, RTMP_NODE_{IMDS,SSM,AUTOSCALING}_URL, RTMP_NODE_API_CA_FILE,
# RTMP_NODE_{RTMP,STAT,SHIM}_PORT, RTMP_NODE_RETRY_SECONDS, RTMP_NODE_EXTRA_PACKAGES.
set -Eeuo pipefail

FILES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly FILES_DIR
readonly CONF_DIR=/etc/rtmp-node
readonly NGINX_UNIT=rtmp-nginx.service
readonly SHIM_UNIT=rtmp-shim.service
readonly AGENT_UNIT=rtmp-agent.service
readonly BOOT_UNIT=rtmp-node-boot.service
readonly RTMP_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
readonly RUN_DIR=${RTMP_NODE_RUN_DIR:-/run/rtmp-node}
readonly LOG_DIR=${RTMP_NODE_LOG_DIR:-/var/log/rtmp-node}
readonly RTMP_PORT=${RTMP_NODE_RTMP_PORT:-1935} # the only port the node's security group opens
readonly RTMP_APP=live                          # the application of nginx-rtmp.conf.template
readonly STAT_PORT=${RTMP_NODE_STAT_PORT:-8081} # loopback
readonly SHIM_PORT=${RTMP_NODE_SHIM_PORT:-8080} # loopback
readonly RTMP_CONNECTIONS_PER_ADDRESS=128 # at once, to RTMP (docs/NODE.md says why)
readonly AMAZON_DNS=169.254.169.253 # the VPC's resolver, reachable from any subnet
readonly API_CA_FILE=${RTMP_NODE_API_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}
readonly IMDS=${RTMP_NODE_IMDS_URL:-http://169.254.169.254/latest}
# The fleet's settings: tags the launch template puts on the instance (lambdas/contract.ts,
# NODE_SETTING_TAGS), so that the user data holds nothing of the deploy.
readonly API_URL_TAG=rtmp-fleet:api-url
readonly SECRET_PREFIX_TAG=rtmp-fleet:node-secret-prefix
readonly HEARTBEAT_TAG=rtmp-fleet:heartbeat-seconds
readonly GROUP_TAG=rtmp-fleet:group-name
readonly LAUNCH_HOOK_TAG=rtmp-fleet:launch-hook
# The lifecycle Lambda writes the secret when the launch hook fires: wait up to 5 minutes for it
# (the launch hook allows 10).
readonly SECRET_ATTEMPTS=60 RETRY_SECONDS=${RTMP_NODE_RETRY_SECONDS:-5}
read -ra PACKAGES <<<"nginx libnginx-mod-rtmp python3 ca-certificates curl nftables ${RTMP_NODE_EXTRA_PACKAGES:-}"
stage=start

log() { printf 'rtmp-node bootstrap: %s\n' "$*" >&2; }
# Ends the boot: logs the reason and reports it, which abandons the launch (before the secret is
# known nothing can be reported, and the launch hook abandons the instance when it times out).
die() {
  trap - ERR
  log "failed at $stage: $*"
  report "$stage" "$*"
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

# POST /nodes/boot as this node: {"stage": $1}, and "failed": $2 when it fails, as one line cut to
# the length the API takes (MAX_BOOT_REASON_LENGTH, lambdas/core/boot.ts). Never fails the boot.
report() {
  [[ -n ${node_secret:-} ]] || return 0
  local body
  body=$(python3 -c '
import json, re, sys
report = dict(zip(["stage", "failed"], sys.argv[1:]))
if "failed" in report:
    report["failed"] = re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", report["failed"])[:500]
print(json.dumps(report))
' "$@")
  printf 'header = "x-node-secret: %s"\n' "$node_secret" | curl -sS --fail --max-time 10 --retry 2 \
    --cacert "$API_CA_FILE" -K - -H "x-node-id: $INSTANCE_ID" -H 'content-type: application/json' \
    --data-binary "$body" -o /dev/null "$api_url/nodes/boot" || log "could not report $1 to the control plane"
}

# Whether every package is installed already (an operator's image, or an instance prepared in the
# warm pool and started again), the rtmp module included: then apt is not run.
packages_installed() {
  local statuses
  statuses=$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null) || return 1
  ! grep -qvx 'install ok installed' <<<"$statuses" && [[ -f $RTMP_MODULE ]]
}

# The packages (apt, unless the image has them), and the stock nginx out of the way.
prepare_packages() {
  if packages_installed; then
    log "the packages are installed already: no apt run"
  else
    install_packages
  fi
  # The stock nginx (port 80, default site) never runs here (masked: upgrades cannot start it again).
  rm -f /etc/nginx/sites-enabled/default
  systemctl disable --now nginx.service
  systemctl mask nginx.service
  # needrestart must not restart the rtmp nginx after an upgrade: that cuts every camera (the node is
  # replaced, never restarted).
  install -d -m 0755 /etc/needrestart/conf.d
  printf '%s\n' "\$nrconf{override_rc}{qr(^${NGINX_UNIT//./\\.}\$)} = 0;" >/etc/needrestart/conf.d/rtmp-node.conf
}

# apt-get update and install, up to 3 attempts: each retry reads the package lists again (a mirror
# that changed under the first is the usual cause), and each attempt is reported as progress.
install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # cloud-init's own apt run or unattended-upgrades may hold the dpkg lock at first boot.
  local apt=(apt-get -q -o DPkg::Lock::Timeout=300) errors attempt
  errors=$(mktemp)
  for ((attempt = 1; ; attempt++)); do
    report packages
    "${apt[@]}" update 2>"$errors" && "${apt[@]}" install -y --no-install-recommends "${PACKAGES[@]}" 2>>"$errors" && break
    cat "$errors" >&2
    ((attempt < 3)) || die "apt-get failed 3 times: $(grep -m1 '^E:' "$errors" || tail -n1 "$errors")"
    sleep "$RETRY_SECONDS"
  done
  [[ -f $RTMP_MODULE ]] || die "libnginx-mod-rtmp did not install $RTMP_MODULE"
}

imds_token() {
  curl -sSf --retry 5 --retry-connrefused --max-time 5 -X PUT "$IMDS/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 3600'
}

# One IMDSv2 path (the token is in IMDS_TOKEN).
imds() {
  curl -sSf --retry 5 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/$1"
}

# Reads the instance's tag $2 into the variable $1. Instance metadata answers 404 for a tag the
# instance lacks, and for every tag when the launch template does not allow tags there.
read_tag() {
  local value
  value=$(imds "meta-data/tags/instance/$2") ||
    die "instance tag $2 is not in the instance metadata: the launch template sets it and allows tags there (InstanceMetadataTags)"
  printf -v "$1" '%s' "$value"
}

# Dies unless $1 is the API's base URL (no path, no trailing slash); $2 says where it came from.
require_api_url() {
  [[ $1 =~ ^https?://[A-Za-z0-9.:-]+$ ]] || die "$2 must be the API's base URL without a path or trailing slash: '$1'"
}

# The instance role's credentials as a curl config: never on a command line.
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

# An AWS API call signed with the instance role's credentials: $1 service, $2 endpoint, $3 what it
# is (for the log), $4 body, then curl's other arguments. Prints the answer.
aws_call() {
  local service=$1 url=$2 call=$3 body=$4 response
  shift 4
  response=$(credentials_curl_config | curl -sS --fail-with-body --max-time 10 -K - \
    --aws-sigv4 "aws:amz:${REGION}:${service}" "$@" --data-binary "$body" "$url") || {
    log "$call: ${response:-no answer}"
    return 1
  }
  printf '%s\n' "$response"
}

# SSM GetParameter (with decryption) of one parameter; prints the value.
ssm_parameter() {
  local name=$1 response
  response=$(aws_call ssm "${RTMP_NODE_SSM_URL:-https://ssm.${REGION}.${AWS_DOMAIN}/}" "GetParameter ${name}" \
    "{\"Name\":\"${name}\",\"WithDecryption\":true}" \
    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: AmazonSSM.GetParameter') || return 1
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Parameter"]["Value"])' <<<"$response"
}

# Lets this instance's launch into the warm pool go on, which Auto Scaling then stops: the launch
# hook holds it until then, and only the instance knows when it is prepared.
complete_warm_launch() {
  local query="Action=CompleteLifecycleAction&Version=2011-01-01&AutoScalingGroupName=${group_name}"
  query+="&LifecycleHookName=${launch_hook}&InstanceId=${INSTANCE_ID}&LifecycleActionResult=CONTINUE"
  aws_call autoscaling "${RTMP_NODE_AUTOSCALING_URL:-https://autoscaling.${REGION}.${AWS_DOMAIN}/}" \
    "CompleteLifecycleAction ${INSTANCE_ID}" "$query" \
    -H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' >/dev/null
}

# The unit that runs this script at boot until the node is configured: the user data runs at the
# first boot only, and an instance prepared in the warm pool boots again when it enters the group.
write_boot_unit() {
  cat >"/etc/systemd/system/$BOOT_UNIT" <<EOF
[Unit]
Description=media node bootstrap, for an instance prepared in the warm pool and started into the group
Wants=network-online.target
After=network-online.target
ConditionPathExists=!$CONF_DIR/rtmp.conf

[Service]
Type=oneshot
ExecStart=$FILES_DIR/bootstrap.sh
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target
EOF
  systemctl enable "$BOOT_UNIT"
}

# Renders the node into directory $1: $2 API URL, $3 node id, $4 secret (on standard input, never
# a command line, which any local process can read). Only ports, paths and identity: every setting
# is in the templates.
render_node() {
  write_firewall "$1/nftables.conf"
  printf '%s\n' "$4" | python3 "$FILES_DIR/render_node.py" "$1" \
    "RUN_DIR=$RUN_DIR" \
    "LOG_DIR=$LOG_DIR" \
    "RTMP_LISTEN=$RTMP_PORT" \
    "STAT_PORT=$STAT_PORT" \
    "SHIM_PORT=$SHIM_PORT" \
    "RESOLVER=$AMAZON_DNS" \
    "API_CA_FILE=$API_CA_FILE" \
    "API_URL=$2" \
    "NODE_ID=$3" \
    NODE_SECRET=-
}

# The nftables rule that limits the RTMP connections of one IPv4 address (nodes have no IPv6), into
# file $1. Loaded before the rtmp nginx starts; it replaces the table if it is there.
write_firewall() {
  cat >"$1" <<EOF
table inet rtmp_node
delete table inet rtmp_node
table inet rtmp_node {
  set sources4 { type ipv4_addr; flags dynamic; }
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport $RTMP_PORT ct state new add @sources4 { ip saddr ct count over $RTMP_CONNECTIONS_PER_ADDRESS } counter reject with tcp reset
  }
}
EOF
}

# A unit for one of the node's nginx: $1 unit, $2 description, $3 config, $4 pid file, $5 more
# [Service] lines.
write_nginx_unit() {
  cat >"/etc/systemd/system/$1" <<EOF
[Unit]
Description=$2
Wants=network-online.target
After=network-online.target

[Service]
Type=forking
PIDFile=$4
# Both nginx of the node keep their files there: neither removes it when it stops. Root's only:
# an error line can quote a request, whose path starts with the shim's token.
RuntimeDirectory=${RUN_DIR#/run/}
RuntimeDirectoryMode=0700
RuntimeDirectoryPreserve=yes
LogsDirectory=${LOG_DIR#/var/log/}
LogsDirectoryMode=0700
$5
ExecStartPre=/usr/sbin/nginx -t -q -c $3
ExecStart=/usr/sbin/nginx -c $3
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
}

# The units: the rtmp nginx, the shim nginx, the agent (unprivileged: it reads /proc and the shim).
# The agent gets the shim's token as a systemd credential: a copy only its own user can read
# (%d is its credentials directory), while the rendered file stays in root's $CONF_DIR.
write_units() {
  local rtmp_base_url=$1 heartbeat_seconds=$2
  write_nginx_unit "$NGINX_UNIT" "nginx-rtmp media node (cameras publish on port $RTMP_PORT)" \
    "$CONF_DIR/rtmp.conf" "$RUN_DIR/rtmp.pid" "ExecStartPre=/usr/sbin/nft -f $CONF_DIR/nftables.conf"
  write_nginx_unit "$SHIM_UNIT" "media node shim (callbacks and heartbeats to the control plane)" \
    "$CONF_DIR/shim.conf" "$RUN_DIR/shim.pid" ""
  cat >"/etc/systemd/system/$AGENT_UNIT" <<EOF
[Unit]
Description=media node heartbeat agent (readiness, CPU and streams to the control plane)
Wants=$NGINX_UNIT $SHIM_UNIT
After=$NGINX_UNIT $SHIM_UNIT
StartLimitIntervalSec=0

[Service]
LoadCredential=shim-token:$CONF_DIR/shim-token
ExecStart=/usr/bin/python3 $FILES_DIR/agent.py --shim http://127.0.0.1:$SHIM_PORT --shim-token-file %d/shim-token --rtmp-base-url $rtmp_base_url --interval $heartbeat_seconds
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

render_only='' api_url='' node_id='' node_secret_file=''
secret_prefix='' heartbeat_seconds='' group_name='' launch_hook='' # from the instance's tags (read_tag)
while (($#)); do
  [[ $# -ge 2 ]] || usage
  case $1 in
  --render-only) render_only=$2 ;;
  --api-url) api_url=$2 ;;
  --node-id) node_id=$2 ;;
  --node-secret-file) node_secret_file=$2 ;;
  *) usage ;;
  esac
  shift 2
done

if [[ -n $api_url$node_id$node_secret_file ]]; then
  [[ -n $render_only && -n $node_id && -r $node_secret_file ]] ||
    die "--api-url and --node-id go with --render-only and a readable --node-secret-file"
  require_api_url "$api_url" --api-url
  render_node "$render_only" "$api_url" "$node_id" "$(<"$node_secret_file")"
  exit 0
fi
if [[ -z $render_only ]]; then
  [[ $EUID -eq 0 ]] || die "run as root"
  trap 'die "line $LINENO: $BASH_COMMAND"' ERR
fi

IMDS_TOKEN=$(imds_token)
INSTANCE_ID=$(imds meta-data/instance-id)
REGION=$(imds meta-data/placement/region)
AWS_DOMAIN=$(imds meta-data/services/domain)
PUBLIC_IP=$(imds meta-data/public-ipv4) || die "the instance has no public IPv4 address: cameras could not reach it"
[[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ && $REGION =~ ^[a-z0-9-]+$ && $AWS_DOMAIN =~ ^[a-z0-9.]+$ ]] ||
  die "unexpected instance identity: '$INSTANCE_ID' '$REGION' '$AWS_DOMAIN'"
[[ $PUBLIC_IP =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "unexpected public IPv4 '$PUBLIC_IP'"

stage=settings
read_tag api_url "$API_URL_TAG"
read_tag secret_prefix "$SECRET_PREFIX_TAG"
read_tag heartbeat_seconds "$HEARTBEAT_TAG"
read_tag group_name "$GROUP_TAG"
read_tag launch_hook "$LAUNCH_HOOK_TAG"
require_api_url "$api_url" "tag $API_URL_TAG"
[[ $secret_prefix =~ ^(/[A-Za-z0-9_.-]+)+$ ]] ||
  die "tag $SECRET_PREFIX_TAG must be an SSM path such as /rtmp-fleet/x/node-secrets: '$secret_prefix'"
[[ $heartbeat_seconds =~ ^[1-9][0-9]*$ ]] || die "tag $HEARTBEAT_TAG must be a whole number of seconds: '$heartbeat_seconds'"
[[ $group_name =~ ^[A-Za-z0-9-]+$ && $launch_hook =~ ^[A-Za-z0-9-]+$ ]] ||
  die "tags $GROUP_TAG and $LAUNCH_HOOK_TAG must be names of letters, digits and '-': '$group_name' '$launch_hook'"

# Where Auto Scaling takes the instance: Warmed:Stopped into the warm pool, InService into the group
# (docs/DEPLOY.md, "A warm pool"); an instance outside a group has no such item.
target_state=$(imds meta-data/autoscaling/target-lifecycle-state) || target_state=InService
if [[ -z $render_only && $target_state == Warmed:* ]]; then
  stage=warm
  log "launching into the warm pool ($target_state): preparing, not joining the fleet"
  prepare_packages
  write_boot_unit
  retry 3 "$RETRY_SECONDS" complete_warm_launch || die "could not complete the launch into the warm pool"
  log "prepared: Auto Scaling stops the instance, which boots as a node when it enters the group"
  exit 0
fi

stage=secret
log "fetching the secret of node $INSTANCE_ID"
secret=$(retry "$SECRET_ATTEMPTS" "$RETRY_SECONDS" ssm_parameter "$secret_prefix/$INSTANCE_ID") ||
  die "no secret for node $INSTANCE_ID at $secret_prefix/$INSTANCE_ID"
[[ $secret =~ ^[A-Za-z0-9_-]{16,}$ ]] || die "the node secret has an unexpected form"
if [[ -n $render_only ]]; then
  render_node "$render_only" "$api_url" "$INSTANCE_ID" "$secret"
  exit 0
fi
node_secret=$secret
report "$stage"

stage=packages
prepare_packages
stage=config
install -d -m 0700 "$CONF_DIR"
render_node "$CONF_DIR" "$api_url" "$INSTANCE_ID" "$node_secret"
write_units "rtmp://$PUBLIC_IP:$RTMP_PORT/$RTMP_APP" "$heartbeat_seconds"
report "$stage"
stage=units
systemctl daemon-reload
systemctl enable --now "$SHIM_UNIT" "$NGINX_UNIT" "$AGENT_UNIT"
report started
log "node $INSTANCE_ID is up; it joins the fleet with its agent's first ready heartbeat"
