"""Reference models of Linux memory initialisation, registered once per kernel version: compare,
validate, the report and the CLI ask ``model_for``."""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model import v4_7
from inspector.model.spec import ModelSpec, Replay
from inspector.model.v4_7 import fields as v4_7_fields

MODELS: dict[str, ModelSpec] = {
    v4_7.VERSION: ModelSpec(v4_7.VERSION, v4_7.replay, v4_7_fields.FUNCTIONS),
}


def model_for(version: str) -> ModelSpec:
    """The model of Linux ``version``, or a one-line error naming the versions that have one."""
    if version not in MODELS:
        raise InspectorError(
            f"no model for Linux {version} yet: models exist for {', '.join(MODELS)}"
        )
    return MODELS[version]


def functions_for(version: str) -> dict[str, str]:
    spec = MODELS.get(version)
    return spec.functions if spec else {}


__all__ = ["MODELS", "ModelSpec", "Replay", "functions_for", "model_for"]
