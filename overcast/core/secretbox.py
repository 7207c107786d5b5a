"""Encryption at rest for secrets the cloud must be able to read back (SigV4 needs the secret).

The key lives in ``<data-dir>/host.key`` (mode 0600), created on first use.  A cluster shares
the file between controllers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._fernet = Fernet(key)

    def derive(self, label: str) -> bytes:
        """A stable 32-byte key for ``label`` (e.g. signing pagination tokens), derived from the host key."""
        return hmac.new(self._key, label.encode(), hashlib.sha256).digest()

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    @classmethod
    def ephemeral(cls) -> SecretBox:
        return cls(Fernet.generate_key())

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("secret cannot be decrypted with this host key") from None
