# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module's DOCUMENTATION as ansible-doc shows it: with the collection's own doc fragments
(``extends_documentation_fragment``) merged in, so options documented once in a fragment
(rollback_timeout, health_check) are compared with the argument spec like the others."""
from __future__ import annotations

import importlib
import types
import typing as t

import yaml

PREFIX = "flowoffload.nft."


def _merge(into: dict[str, t.Any], extra: dict[str, t.Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into.setdefault(key, value)


def module_doc(module: types.ModuleType) -> dict[str, t.Any]:
    doc: dict[str, t.Any] = yaml.safe_load(module.DOCUMENTATION)
    for name in doc.get("extends_documentation_fragment") or []:
        assert name.startswith(PREFIX), f"{name}: only the collection's own fragments are used"
        fragment, _dot, section = name[len(PREFIX):].partition(".")
        cls = importlib.import_module(
            f"ansible_collections.flowoffload.nft.plugins.doc_fragments.{fragment}").ModuleDocFragment
        _merge(doc, yaml.safe_load(getattr(cls, section or "DOCUMENTATION")) or {})
    return doc
