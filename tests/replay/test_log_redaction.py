"""The server's log goes through the same deny list: a secret in a logged line is masked.

The real `mockserver serve` process logs a 400 for a body it cannot decode, naming the
request's path; a client that put a token in the path must not find it in the log.
"""

from __future__ import annotations

import re

from tests.support import rawhttp
from tests.support.cli import running

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2cifQ.bG9nLXNpZ25hdHVyZS1zZWNyZXQ"
LOGGED = re.compile(r".* WARNING 400: the body of POST (\S+) could not be decoded$")


def test_a_token_in_a_logged_path_is_masked() -> None:
    with running() as cli:
        response = rawhttp.request(
            f"{cli.url}/openai/deployments/{JWT}/chat/completions?api-version=2024-10-21",
            body=b"this is not gzip",
            headers={"api-key": "any-key", "Content-Encoding": "gzip"},
        )
        assert response.status == 400
        logged = cli.stderr.wait_for(LOGGED)
        assert cli.stop() == 0
    assert logged.group(1) == "/openai/deployments/***/chat/completions"
    assert JWT not in "\n".join(cli.stderr.seen)
