"""A real S3 API server for the suite: moto's standalone server, in its own process."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.procs import free_port, wait_http

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass
class S3Server:
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> S3Server:
        moto_server = Path(sys.executable).with_name("moto_server")
        with log.open("ab") as out:  # the server keeps its own copy of the descriptor
            self.proc = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT)
        wait_http(f"{self.endpoint}/moto-api/", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def new_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str) -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in found.get("Contents", []))

    def chatapp_env(self, bucket: str) -> dict[str, str]:
        """The settings that put a chatapp's attachments in ``bucket`` here."""
        return {
            "CHATAPP_STORAGE": "s3",
            "CHATAPP_S3_ENDPOINT": self.endpoint,
            "CHATAPP_S3_BUCKET": bucket,
            "CHATAPP_S3_REGION": REGION,
            "CHATAPP_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "CHATAPP_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "CHATAPP_S3_PATH_STYLE": "true",
        }
