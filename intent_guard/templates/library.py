"""Reading and writing the template library (``templates.jsonl``: id, category, lang, text)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import BundleError

SLOT = "{task}"


@dataclass(frozen=True, slots=True)
class Template:
    """One known extraction wrapper; ``{task}`` marks where the harvested content goes."""

    id: str
    category: str
    lang: str
    text: str

    def embedding_text(self) -> str:
        """The wrapper without its slot, as it is embedded into the index."""
        return " ".join(self.text.replace(SLOT, " ").split())


def load_templates(path: Path) -> list[Template]:
    """Read a templates.jsonl file; every record needs id, category, lang, text and a unique id."""
    templates: list[Template] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"cannot read template library {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            template = Template(**{k: str(record[k]) for k in ("id", "category", "lang", "text")})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BundleError(f"{path}:{number}: bad template record ({exc})") from exc
        if template.id in seen:
            raise BundleError(f"{path}:{number}: duplicate template id {template.id!r}")
        seen.add(template.id)
        templates.append(template)
    if not templates:
        raise BundleError(f"template library {path} is empty")
    return templates


def write_templates(templates: Iterable[Template], path: Path) -> None:
    """Write templates as JSON Lines (UTF-8, one object per line)."""
    with path.open("w", encoding="utf-8") as handle:
        for template in templates:
            handle.write(json.dumps(asdict(template), ensure_ascii=False) + "\n")
