"""The CI dependency audit never reports "no vulnerabilities" for packages it could not
look up (pip-audit itself does: it prints "No known vulnerabilities found" when every
package was skipped because its database was out of reach)."""

from __future__ import annotations

import importlib.util

from webapp import ROOT

spec = importlib.util.spec_from_file_location("audit", ROOT / ".ci" / "audit_dependencies.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

UNREACHABLE = {
    "dependencies": [
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "bcrypt", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ]
}


def test_unreachable_database_is_not_checked_not_clean():
    code, message = audit.summarize(UNREACHABLE)
    assert code == 0
    assert "NOT CHECKED for 2 of 2" in message and "no known vulnerabilities" not in message


def test_one_skipped_package_is_enough_to_say_not_checked():
    report = {
        "dependencies": [{"name": "a", "version": "1", "vulns": []}, UNREACHABLE["dependencies"][0]]
    }
    assert "NOT CHECKED for 1 of 2" in audit.summarize(report)[1]


def test_vulnerabilities_fail_with_their_ids():
    report = {
        "dependencies": [
            {"name": "a", "version": "1", "vulns": [{"id": "PYSEC-1", "fix_versions": ["2"]}]},
            {"name": "b", "version": "1", "vulns": []},
        ]
    }
    code, message = audit.summarize(report)
    assert code == 1 and "PYSEC-1" in message and "fixed in 2" in message


def test_a_full_clean_check_says_so():
    report = {"dependencies": [{"name": "a", "version": "1", "vulns": []}]}
    assert audit.summarize(report) == (
        0,
        "dependency audit: 1 packages checked, no known vulnerabilities",
    )


def test_nothing_listed_is_not_a_pass():
    assert "NOT CHECKED" in audit.summarize({"dependencies": []})[1]
