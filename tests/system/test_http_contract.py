"""What a client of a real `denex serve` meets (docs/decisions/0024): the docs pages with every
asset served by the node (no internet needed), a problem `type` that dereferences to its page
on the node, and `Allow` on a 405."""

import re
from collections.abc import Callable

import pytest

from tests.system.conftest import ServedNode

pytestmark = pytest.mark.system

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_docs_problem_pages_and_allow_through_a_served_node(
    served_node: Callable[..., ServedNode],
) -> None:
    served = served_node()
    with served.client() as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page)
            assert html.status_code == 200
            assets = ASSET.findall(html.text)
            assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
            for url in assets:
                asset = client.get(url)
                assert asset.status_code == 200, url
                assert asset.headers["content-type"].split(";")[0] in (
                    "text/javascript",
                    "text/css",
                    "image/png",
                ), url

        refused = client.get("/api/v1/notices")
        assert refused.status_code == 401
        problem = refused.json()
        assert problem["type"] == "/problems/unauthenticated"
        described = client.get(problem["type"])
        assert described.status_code == 200 and problem["title"] in described.text

        wrong = client.request("TRACE", "/api/v1/notices")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"
        assert wrong.json()["type"] == "/problems/method-not-allowed"
