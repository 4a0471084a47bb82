"""Benchmark: edgecert's chain generation vs an openssl-CLI script producing the same profile.

1. ``edgecert chain demo --key-type rsa-4096`` (run as a subprocess, like a technician) against
   a shell script calling the openssl CLI for the same chain: root -> intermediate -> edge CA,
   RSA-4096, SHA-256, the same extensions, full-chain files, PKCS#8 keys and two PFX files.
   Side by side in one run, alternating, several repetitions; medians (RSA key generation time
   varies a lot). Target: edgecert <= 0.5x the script.
2. 1,000 EC P-256 edge CAs issued under one intermediate: the in-process API against the
   openssl CLI (one ``openssl req -x509 -CA`` per edge CA, the fastest CLI form). The CLI is
   timed on fewer iterations and scaled; the output says so. Target: >= 50x faster.
3. Three RSA-4096 keys: one after the other, in a thread pool, and in a process pool (what
   ``generate_keys`` chooses between).

    .venv/bin/python bench/chain.py [--reps N] [--batch N] [--cli-batch N] [--dir DIR]

Output goes to a RAM file system (/dev/shm) when there is one, for both sides alike: on a
shared machine, disk-journal contention otherwise swamps the cost of issuing a certificate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from core.chain.builder import BACKDATE, build_ca  # noqa: E402
from core.chain.keys import KeyType, generate_key, private_key_pem  # noqa: E402
from core.versions import release  # noqa: E402

WORK_DIR: str | None = None

# The same profile as `edgecert chain demo --key-type rsa-4096 --iotedge 1.5` (facts §1.3, §2.3,
# §11.1): root without pathlen, intermediate pathlen 1, edge CA pathlen 0 with keyUsage
# digitalSignature + keyCertSign, SKI/AKI everywhere, SHA-256, PKCS#8 keys 0600, PFX beside the
# intermediate and the edge CA. Keys are generated one after the other, as certGen.sh does.
SCRIPT = r"""
set -eu
umask 077
mkdir -p "$OUT/certs" "$OUT/private"
cd "$OUT"
cat > ext.cnf <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[inter]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, digitalSignature, cRLSign, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[edge]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[req]
distinguished_name = dn
[dn]
EOF
R=azure-iot-test-only.root.ca
I=azure-iot-test-only.intermediate
E=iot-edge-device-ca-bench
for k in $R $I $E; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out private/$k.key.pem 2>/dev/null
done
openssl req -new -x509 -key private/$R.key.pem -subj /CN=Azure_IoT_Hub_CA_Cert_Test_Only \
  -days 365 -sha256 -config ext.cnf -extensions root -out certs/$R.cert.pem
openssl req -new -key private/$I.key.pem -subj /CN=Azure_IoT_Hub_Intermediate_Cert_Test_Only \
  -config ext.cnf -out $I.csr
openssl x509 -req -in $I.csr -CA certs/$R.cert.pem -CAkey private/$R.key.pem \
  -days 365 -sha256 -extfile ext.cnf -extensions inter -out certs/$I.cert.pem 2>/dev/null
cat certs/$I.cert.pem certs/$R.cert.pem > certs/$I-full-chain.cert.pem
openssl req -new -key private/$E.key.pem -subj /CN=bench.ca -config ext.cnf -out $E.csr
openssl x509 -req -in $E.csr -CA certs/$I.cert.pem -CAkey private/$I.key.pem \
  -days 90 -sha256 -extfile ext.cnf -extensions edge -out certs/$E.cert.pem 2>/dev/null
cat certs/$E.cert.pem certs/$I-full-chain.cert.pem > certs/$E-full-chain.cert.pem
openssl pkcs12 -export -in certs/$I.cert.pem -inkey private/$I.key.pem \
  -certfile certs/$R.cert.pem -passout pass: -out certs/$I.cert.pfx
openssl pkcs12 -export -in certs/$E.cert.pem -inkey private/$E.key.pem \
  -certfile certs/$I-full-chain.cert.pem -passout pass: -out certs/$E.cert.pfx
rm -f ext.cnf *.csr
"""

# The openssl CLI issuing edge CAs one after the other. "classic": key, CSR, signature in three
# processes, as certGen.sh and most scripts do; "single": OpenSSL 3's `req -x509 -CA`, key and
# signed certificate in one process (the fastest CLI form). OpenSSL 3 picks random serials.
CLI_EDGE = r"""
set -eu
i=0
while [ $i -lt "$N" ]; do
  k="$OUT/e$i.key.pem"; c="$OUT/e$i.cert.pem"
  if [ "$MODE" = single ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$k" \
      -subj "/CN=edge-$i.ca" -CA "$CA" -CAkey "$CAKEY" -days 90 -sha256 -config "$CNF" \
      -extensions edge -out "$c" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k"
    openssl req -new -key "$k" -subj "/CN=edge-$i.ca" -config "$CNF" -out "$OUT/e$i.csr"
    openssl x509 -req -in "$OUT/e$i.csr" -CA "$CA" -CAkey "$CAKEY" -days 90 -sha256 \
      -extfile "$CNF" -extensions edge -out "$c" 2>/dev/null
    rm "$OUT/e$i.csr"
  fi
  i=$((i+1))
done
"""


def _edgecert() -> str:
    exe = shutil.which("edgecert", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("edgecert is not installed in this environment (pip install -e .)")
    return exe


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_rsa_chain(reps: int) -> tuple[float, float]:
    exe = _edgecert()
    ours: list[float] = []
    cli: list[float] = []
    with tempfile.TemporaryDirectory(prefix="edgecert-bench-", dir=WORK_DIR) as tmp:
        for i in range(reps):
            out_ours = Path(tmp) / f"ours-{i}"
            out_cli = Path(tmp) / f"cli-{i}"
            ours.append(_time(lambda o=out_ours: subprocess.run(  # type: ignore[misc]
                [exe, "chain", "demo", "--out", str(o), "--name", "bench", "--key-type",
                 "rsa-4096", "--iotedge", "1.5"], check=True, capture_output=True)))
            cli.append(_time(lambda o=out_cli: subprocess.run(  # type: ignore[misc]
                ["bash", "-c", SCRIPT], env={**os.environ, "OUT": str(o)}, check=True,
                capture_output=True)))
            # Same files on both sides (the script is a faithful equivalent).
            ours_files = sorted(p.relative_to(out_ours).as_posix()
                                for p in out_ours.rglob("*") if p.is_file())
            cli_files = sorted(p.relative_to(out_cli).as_posix()
                               for p in out_cli.rglob("*") if p.is_file())
            assert ours_files == cli_files, (ours_files, cli_files)
            print(f"  rep {i + 1}: edgecert {ours[-1]:.2f} s   openssl script {cli[-1]:.2f} s",
                  flush=True)
    return statistics.median(ours), statistics.median(cli)


def bench_batch(batch: int, cli_batch: int) -> tuple[float, float, float]:
    rel = release("1.5")
    with tempfile.TemporaryDirectory(prefix="edgecert-bench-", dir=WORK_DIR) as tmp:
        base = Path(tmp)
        now = dt.datetime.now(dt.UTC)
        root_key = generate_key(KeyType.EC_P256)
        root = build_ca(common_name="Bench Root", public_key=root_key.public_key(),
                        issuer_key=root_key, issuer_cert=None, not_before=now - BACKDATE,
                        not_after=now + dt.timedelta(days=365), path_length=None,
                        hash_algorithm=KeyType.EC_P256.hash_algorithm())
        inter_key = generate_key(KeyType.EC_P256)
        inter = build_ca(common_name="Bench Intermediate", public_key=inter_key.public_key(),
                         issuer_key=root_key, issuer_cert=root, not_before=now - BACKDATE,
                         not_after=now + dt.timedelta(days=365), path_length=1,
                         hash_algorithm=KeyType.EC_P256.hash_algorithm())
        (base / "ours").mkdir()

        def ours() -> None:
            for i in range(batch):
                key = generate_key(KeyType.EC_P256)
                cert = build_ca(common_name=f"edge-{i}.ca", public_key=key.public_key(),
                                issuer_key=inter_key, issuer_cert=inter,
                                not_before=now - BACKDATE, not_after=now + dt.timedelta(days=90),
                                path_length=rel.edge_ca_pathlen,
                                hash_algorithm=KeyType.EC_P256.hash_algorithm(), edge_ca=True)
                (base / "ours" / f"e{i}.cert.pem").write_bytes(
                    cert.public_bytes(serialization.Encoding.PEM))
                fd = os.open(base / "ours" / f"e{i}.key.pem", os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(private_key_pem(key))

        t_ours = _time(ours)
        (base / "inter.pem").write_bytes(inter.public_bytes(serialization.Encoding.PEM))
        (base / "inter.key").write_bytes(private_key_pem(inter_key))
        (base / "ext.cnf").write_text(
            "[req]\ndistinguished_name = dn\n[dn]\n[edge]\n"
            "basicConstraints = critical, CA:TRUE, pathlen:0\n"
            "keyUsage = critical, digitalSignature, keyCertSign\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n")
        cli_times = {}
        for mode in ("classic", "single"):
            out = base / f"cli-{mode}"
            out.mkdir()
            t = _time(lambda m=mode, o=out: subprocess.run(  # type: ignore[misc]
                ["bash", "-c", CLI_EDGE], check=True, capture_output=True,
                env={**os.environ, "N": str(cli_batch), "OUT": str(o), "MODE": m,
                     "CA": str(base / "inter.pem"), "CAKEY": str(base / "inter.key"),
                     "CNF": str(base / "ext.cnf")}))
            made = len(list(out.glob("*.cert.pem")))
            assert made == cli_batch, made
            cli_times[mode] = t * batch / cli_batch
        return t_ours, cli_times["classic"], cli_times["single"]


def _keys(pool: str) -> None:
    kinds = [KeyType.RSA_4096] * 3
    if pool == "serial":
        for k in kinds:
            generate_key(k)
        return
    executor = ThreadPoolExecutor(3) if pool == "threads" else ProcessPoolExecutor(3)
    with executor as ex:
        list(ex.map(_der_key, kinds))


def _der_key(k: KeyType) -> bytes:
    return generate_key(k).private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="RSA chain repetitions (default 7)")
    parser.add_argument("--batch", type=int, default=1000, help="edge CAs issued in-process")
    parser.add_argument("--cli-batch", type=int, default=100,
                        help="edge CAs issued with the openssl CLI (scaled to --batch)")
    parser.add_argument("--keygen-reps", type=int, default=5)
    parser.add_argument("--dir", help="where output is written (default /dev/shm if present)")
    args = parser.parse_args()
    global WORK_DIR
    shm = Path("/dev/shm")
    WORK_DIR = args.dir or (str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None)
    ver = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True)
    print(f"{ver.stdout.strip()}; {os.cpu_count()} CPU(s); output in "
          f"{WORK_DIR or tempfile.gettempdir()}")

    print(f"\n1. RSA-4096 demo chain, {args.reps} repetitions (medians):")
    ours, cli = bench_rsa_chain(args.reps)
    print(f"   edgecert chain demo : {ours:6.2f} s")
    print(f"   openssl CLI script  : {cli:6.2f} s")
    print(f"   ratio edgecert/CLI  : {ours / cli:6.2f}x   (target <= 0.5x)")

    print(f"\n2. {args.batch} EC P-256 edge CAs under one intermediate:")
    t_ours, t_classic, t_single = bench_batch(args.batch, args.cli_batch)
    scale = f"timed {args.cli_batch}, scaled x{args.batch / args.cli_batch:g}"
    print(f"   edgecert (in-process API)                 : {t_ours:7.2f} s")
    print(f"   openssl CLI, genpkey+req+x509 ({scale}) : {t_classic:7.2f} s"
          f"  -> edgecert {t_classic / t_ours:5.1f}x faster (target >= 50x)")
    print(f"   openssl CLI, one `req -x509 -CA` ({scale}) : {t_single:7.2f} s"
          f"  -> edgecert {t_single / t_ours:5.1f}x faster")

    print(f"\n3. Three RSA-4096 keys, {args.keygen_reps} repetitions (medians):")
    for pool in ("serial", "threads", "processes"):
        times = [_time(lambda p=pool: _keys(p)) for _ in range(args.keygen_reps)]  # type: ignore[misc]
        print(f"   {pool:<9}: {statistics.median(times):5.2f} s")


if __name__ == "__main__":
    main()
