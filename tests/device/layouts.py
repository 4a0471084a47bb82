"""Device layouts as a fresh IoT Edge install leaves them: 1.2+ (``/etc/aziot``) and 1.1.

A 1.2+ device has ``/etc/aziot/config.toml`` (0600 root, manual provisioning, no ``[edge_ca]``:
quickstart), the template ``config.toml.edge.template``, ``/var/lib/aziot/{certd,keyd}`` (0700,
their service users) holding the quickstart Edge CA under its real store names (facts §8.2)
and master keys that must never be deleted, and the daemon configs of a first
``iotedge config apply``. A 1.1 device has ``/etc/iotedge/config.yaml`` and
``/var/lib/iotedge/hsm/{certs,cert_keys,enc_keys}``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from certs import key_pem, make_cert, pem
from cryptography.hazmat.primitives.asymmetric import rsa

from .device import Device

EDGE_CA_CER = "aziotedgedca-86f154be7ff14480027f0d00c59c223db6d9e4ab0b559fc523cca36a7c973d6d.cer"
EDGE_CA_KEY = "aziotedgedca-86f154be7ff14480027f0d00c59c223db6d9e4ab0b559fc523cca36a7c973d6d.key"
TEMP_CA_CER = ("aziotedgedcatemp-ed813d17744064fc9d91ff2fda86284470de6c3f9a63d7b9ce987c5e978bbb39"
               ".cer")
MASTER_KEYS = ("aziot_identityd_master_id", "iotedge_master_encryption_id")
"""keyd keys that protect cached identities and module data: never to be deleted."""

CONNECTION_STRING = ("HostName=hub.azure-devices.net;DeviceId=edge-device-01;"
                     "SharedAccessKey=c2VjcmV0LWtleS1vZi10aGUtdGVzdC1kZXZpY2U=")

CONFIG_TOML = f"""\
# Azure IoT Edge configuration (device under test)
hostname = "edge-device-01"

## Manual provisioning with connection string
[provisioning]
source = "manual"
connection_string = "{CONNECTION_STRING}"

[agent]
name = "edgeAgent"
type = "docker"

[agent.config]
image = "mcr.microsoft.com/azureiotedge-agent:1.5"

[connect]
workload_uri = "unix:///var/run/iotedge/workload.sock"
management_uri = "unix:///var/run/iotedge/mgmt.sock"

[listen]
workload_uri = "fd://aziot-edged.workload.socket"
management_uri = "fd://aziot-edged.mgmt.socket"
"""

TEMPLATE = """\
# ==============================================================================
# Hostname
# ==============================================================================
# hostname = "my-device"

# ==============================================================================
# Trust bundle cert
# ==============================================================================
# trust_bundle_cert = "file:///var/secrets/trust-bundle.pem"

# ==============================================================================
# Provisioning
# ==============================================================================
# [provisioning]
# source = "manual"
# connection_string = "HostName=example.azure-devices.net;DeviceId=my-device;SharedAccessKey=..."

# ==============================================================================
# Edge CA certificate
# ==============================================================================
# [edge_ca]
# cert = "file:///var/secrets/edge-ca.pem"                # file URI
# pk = "file:///var/secrets/edge-ca.key.pem"              # file URI, or...

# [edge_ca]                  # Quickstart: "Defaults to 90 days."
# auto_generated_edge_ca_expiry_days = 90

# [edge_ca.auto_renew]
# rotate_key = true
# threshold = "80%"
# retry = "4%"

[agent]
name = "edgeAgent"
type = "docker"

[agent.config]
image = "mcr.microsoft.com/azureiotedge-agent:1.5"

[connect]
workload_uri = "unix:///var/run/iotedge/workload.sock"
management_uri = "unix:///var/run/iotedge/mgmt.sock"

[listen]
workload_uri = "fd://aziot-edged.workload.socket"
management_uri = "fd://aziot-edged.mgmt.socket"
"""

CONFIG_YAML = f"""\
###############################################################################
# IoT Edge Daemon configuration (device under test)
###############################################################################

provisioning:
  source: "manual"
  device_connection_string: "{CONNECTION_STRING}"

# certificates:
#   device_ca_cert: "<ADD URI TO DEVICE CA CERTIFICATE HERE>"
#   device_ca_pk: "<ADD URI TO DEVICE CA PRIVATE KEY HERE>"
#   trusted_ca_certs: "<ADD URI TO TRUSTED CA CERTIFICATES HERE>"
#   auto_generated_ca_lifetime_days: 90

agent:
  name: "edgeAgent"
  type: "docker"
  env: {{}}
  config:
    image: "mcr.microsoft.com/azureiotedge-agent:1.1"
    auth: {{}}

hostname: "edge-device-01"

connect:
  management_uri: "unix:///var/run/iotedge/mgmt.sock"
  workload_uri: "unix:///var/run/iotedge/workload.sock"

listen:
  management_uri: "fd://iotedge.mgmt.socket"
  workload_uri: "fd://iotedge.socket"

homedir: "/var/lib/iotedge"

moby_runtime:
  uri: "unix:///var/run/docker.sock"
"""

VERSIONS = {"1.5": "1.5.21", "1.4": "1.4.27", "1.2": "1.2.10", "1.1": "1.1.15"}


@dataclass(frozen=True)
class QuickstartCa:
    """A quickstart-like Edge CA as the runtime generates it (RSA-2048, pathlen 0)."""

    cert_pem: bytes
    key_pem: bytes


@cache
def quickstart_ca() -> QuickstartCa:
    now = dt.datetime.now(dt.UTC)
    ca = make_cert("aziot-edge CA edge-device-01", pathlen=0,
                   key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                   not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=89))
    return QuickstartCa(pem(ca.cert), key_pem(ca.key))


def layout(device: Device, version: str) -> None:
    """Lay out a freshly installed device of IoT Edge ``version`` (``1.5``, ``1.4``, ``1.2``,
    ``1.1`` or a full ``1.x.y``) on a reset device, and set what ``iotedge version`` says."""
    full = VERSIONS.get(version, version)
    device.set_version(full)
    if full.startswith("1.1."):
        _layout_11(device)
    else:
        _layout_12plus(device)


def _layout_12plus(device: Device) -> None:
    ca = quickstart_ca()
    device.sh(
        "install -d -m 0755 /etc/aziot && "
        "install -d -m 0700 -o aziotcs -g aziotcs /var/lib/aziot/certd /var/lib/aziot/certd/certs"
        " && install -d -m 0700 -o aziotks -g aziotks /var/lib/aziot/keyd "
        "/var/lib/aziot/keyd/keys && install -d -m 0755 /var/lib/aziot && "
        "chmod 0755 /var/lib/aziot")
    device.write("/etc/aziot/config.toml", CONFIG_TOML.encode(), mode=0o600)
    device.write("/etc/aziot/config.toml.edge.template", TEMPLATE.encode(), mode=0o600)
    certs, keys = "/var/lib/aziot/certd/certs", "/var/lib/aziot/keyd/keys"
    device.write(f"{certs}/{EDGE_CA_CER}", ca.cert_pem, mode=0o644, owner="aziotcs")
    device.write(f"{certs}/{TEMP_CA_CER}", ca.cert_pem, mode=0o644, owner="aziotcs")
    device.write(f"{keys}/{EDGE_CA_KEY}", ca.key_pem, mode=0o600, owner="aziotks")
    for name in MASTER_KEYS:
        device.write(f"{keys}/{name}.key", b"master key material, must survive\n", mode=0o600,
                     owner="aziotks")
    # The state after the installer's first `iotedge config apply`.
    device.sh("iotedge config apply >/dev/null && touch -d '-1 minute' /etc/aziot/config.toml")


def _layout_11(device: Device) -> None:
    ca = quickstart_ca()
    device.sh("install -d -m 0755 /etc/iotedge && "
              "install -d -m 0755 -o iotedge -g iotedge /var/lib/iotedge && "
              "install -d -m 0700 -o iotedge -g iotedge /var/lib/iotedge/hsm "
              "/var/lib/iotedge/hsm/certs /var/lib/iotedge/hsm/cert_keys "
              "/var/lib/iotedge/hsm/enc_keys")
    device.write("/etc/iotedge/config.yaml", CONFIG_YAML.encode(), mode=0o644)
    hsm = "/var/lib/iotedge/hsm"
    device.write(f"{hsm}/certs/device_ca_alias_edge-device-01.cert.pem", ca.cert_pem,
                 mode=0o644, owner="iotedge")
    device.write(f"{hsm}/cert_keys/device_ca_alias_edge-device-01.key.pem", ca.key_pem,
                 mode=0o600, owner="iotedge")
    device.write(f"{hsm}/enc_keys/edgelet-masterWt5mT2xpO72EPKlt2Tt0Sq4uJCrMvfl2rzzKRB3pnyo_"
                 ".enc.key", b"master key, must survive\n", mode=0o600, owner="iotedge")
