"""The artifact store as this tracking server serves it: S3, with every byte passing through the server.

Since MLflow 3.16 a client downloads artifacts straight from S3, with URLs the server presigns,
whenever the server's artifact repository can presign them (``/server-info`` says so). In this
stack S3 sits on a network only the server reaches, and its presigned URLs name ``minio:9000``: a
notebook on the host, or any container but the server, would hang retrying them. This repository
is MLflow's S3 repository used through the plain artifact-repository methods only, so the server
advertises no presigned transfers and every client uploads and downloads through it.

MLflow finds it through its plugin point for artifact stores: the ``mlflow.artifact_repository``
entry point in ``pyproject.toml`` registers it for ``s3-proxied://bucket/`` URIs.
"""

from __future__ import annotations

from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

from tracking.settings import PROXIED_S3_SCHEME


class ProxiedS3ArtifactRepository(ArtifactRepository):
    """S3 through the server only: MLflow's S3 repository, without presigned uploads or downloads."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None):
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        s3_uri = "s3" + artifact_uri.removeprefix(PROXIED_S3_SCHEME)
        self.s3 = S3ArtifactRepository(s3_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Upload one file."""
        self.s3.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload a folder."""
        self.s3.log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path: str | None = None) -> list:
        """The files and folders under ``path``."""
        return self.s3.list_artifacts(path)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a folder."""
        self.s3.delete_artifacts(artifact_path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        # The one (abstract, underscore-named) method MLflow asks an artifact repository to provide for
        # downloads; S3's implements it. tests/tracking/test_stores.py downloads through it.
        self.s3._download_file(remote_file_path, local_path)
