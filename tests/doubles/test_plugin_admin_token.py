"""The pytest plugin's server behind an admin token: still usable from the tests it serves."""

from __future__ import annotations

import pytest

from tests.doubles.test_plugin import INI

pytest_plugins = ["pytester"]

PROTECTED = """
import urllib.error
import urllib.request


def admin_status(url, headers):
    request = urllib.request.Request(url + "/__admin/stubs", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_admin_api_wants_the_token(azure_mock):
    assert admin_status(azure_mock.url, {}) == 401
    assert admin_status(azure_mock.url, {"Authorization": "Bearer plugin-t0ken"}) == 200


def test_the_servers_admin_client_sends_it(azure_mock, azure_openai_client):
    azure_mock.admin_client().add_stub({"answer": {"content": "from the admin API"}})
    reply = azure_openai_client.chat.completions.create(
        model="o3-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "from the admin API"
    assert azure_mock.admin_client().count() == 1
"""


def test_the_plugin_protects_its_server_with_the_given_token(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_protected=PROTECTED)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mockserver-admin-token", "plugin-t0ken"
    )
    result.assert_outcomes(passed=2)
