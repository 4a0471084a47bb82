"""Fixtures of the hostile-input tests: one small demo chain, and things that are not files."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.chain import ChainFiles, KeyType, generate_demo_chain
from core.versions import release


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> ChainFiles:
    """An EC P-256 demo chain for 1.5 (root, intermediate, edge CA), made by the code under test."""
    return generate_demo_chain(tmp_path_factory.mktemp("hostile") / "chain", "gw",
                               release=release("1.5"), key_type=KeyType.EC_P256)


@pytest.fixture
def not_a_file(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """By kind: ``/dev/zero``, a FIFO nobody writes to, a listening UNIX socket, a folder."""
    fifo = tmp_path / "pipe.pem"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.pem"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    sock.listen(1)
    folder = tmp_path / "folder.pem"
    folder.mkdir()
    try:
        yield {"dev-zero": Path("/dev/zero"), "fifo": fifo, "socket": sock_path,
               "folder": folder}
    finally:
        sock.close()
