"""The snapshot normalization for syrupy: ``assert template == snapshot(extension_class=TemplateSnapshotExtension)``."""

from __future__ import annotations

from typing import Any

from syrupy.extensions.json import JSONSnapshotExtension

from serverless_meta.testing.snapshots import normalize_template


class TemplateSnapshotExtension(JSONSnapshotExtension):
    """syrupy's JSON snapshots (one ``.json`` file per test), of templates normalized by ``normalize_template``."""

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return super().serialize(normalize_template(data), **kwargs)
