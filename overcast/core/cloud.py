"""The cloud as the API layers see it: configuration, database and the domain services."""

from __future__ import annotations

from pathlib import Path

from . import pagination
from .config import Config
from .db import Database
from .identity import ADMIN_ACCOUNT, Credentials, Identity
from .keypairs import KeyPairStore
from .objects.buckets import BucketStore
from .objects.nodeauth import read_secret
from .objects.object_store import ObjectStore
from .objects.replicas import ReplicaClient
from .objects.topology import RingFile, ensure_secret
from .secretbox import SecretBox
from .tags import TagStore


class Cloud:
    def __init__(self, config: Config, db: Database, box: SecretBox) -> None:
        self.config = config
        self.db = db
        self.identity = Identity(db, box)
        self.tags = TagStore(db)
        data_dir = Path(config.data_dir)
        self.buckets = BucketStore(db)
        self.replicas = ReplicaClient(read_secret(ensure_secret(data_dir / "objectnode.key")))
        self.objects = ObjectStore(db, self.buckets, RingFile(data_dir / "ring.json"), self.replicas)
        self.keypairs = KeyPairStore(db)
        pagination.set_key(box.derive("pagination-token"))

    @classmethod
    def open(cls, config: Config, migrate: bool = True) -> Cloud:
        """Open (and migrate) the state under ``config.data_dir``."""
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        db = Database(config.db_url)
        if migrate:
            db.upgrade()
        return cls(config, db, SecretBox.from_file(Path(config.data_dir) / "host.key"))

    def bootstrap(self) -> tuple[str, Credentials]:
        """The admin account and its keys, created on first start."""
        return self.identity.ensure_account(ADMIN_ACCOUNT)

    def close(self) -> None:
        self.db.dispose()
