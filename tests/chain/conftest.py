"""Demo chains generated once per session: RSA-4096 is slow, so every test shares them."""

from __future__ import annotations

from pathlib import Path

import pytest
from chainkit import KEY_TYPES, VERSIONS

from core.chain import ChainFiles, KeyType, generate_demo_chain
from core.versions import release


@pytest.fixture(scope="session")
def demo_chains(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], ChainFiles]:
    """One demo chain per key type and release (1.1, 1.5), made by the code under test."""
    base = tmp_path_factory.mktemp("demo")
    return {
        (kt, v): generate_demo_chain(base / f"{kt}-{v}", "dev-01", release=release(v),
                                     key_type=KeyType(kt))
        for kt in KEY_TYPES for v in VERSIONS
    }


@pytest.fixture(scope="session")
def ec_chain(demo_chains: dict[tuple[str, str], ChainFiles]) -> ChainFiles:
    """The EC P-256 chain for 1.5: for tests where the key type does not matter."""
    return demo_chains[("ec-p256", "1.5")]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"
