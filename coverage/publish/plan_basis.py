"""The planning documents a report may rest on: a small library of rules, each citing its
document, and the choice of basis for one report.

The library holds the five local plans of the policy digest (``policy-rules.md``): each
:class:`PlanDocument` (place, province, title, year) and each :class:`PlanRule` (what it
asks, the value, the document and section). A report names its basis with
``plan_basis`` (``--plan-basis``): library keys (``"pingyin-2021"`` or ``"pingyin2021"``),
their file numbers (``"002"``) or place names (``"平阴"``, ``"Pingyin"``), comma-separated;
any other text names a document of the user's own (e.g.
``"河南省某县养老服务设施布局规划（2023）第3.2条"``), cited as given, with no rule values
claimed for it; a text file stands for its lines (one key or document name per line,
``#`` comments).

* **A basis is named**: the report cites only those documents and their rules; the run's
  parameters that no named document sets are stated as parameters of the run.
* **No basis is named** (the default): the report states the run's parameters as
  "parameters used" and claims no document as its legal basis; the library's rules follow
  as "standards in the bundled library", for reference only. A county in Henan thus never
  finds five out-of-province plans cited as the basis of its report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError

__all__ = ["LIBRARY", "RULES", "PlanDocument", "PlanRule", "library_keys", "resolve_basis", "rules_of"]


@dataclass(frozen=True)
class PlanDocument:
    """A planning document: ``key`` (``"pingyin-2021"``), ``code`` (the digest's file
    number), place, province and title as ``(中文, English)``; ``in_library`` is False for a
    document the user named that the library does not hold (cited as given)."""

    key: str
    code: str
    place: tuple[str, str]
    province: tuple[str, str]
    title: tuple[str, str]
    year: int | None = None
    in_library: bool = True

    def cite(self, lang: str = "both") -> str:
        """``"平阴县 Pingyin County, Shandong (2021)"``: how a rule names the document."""
        if not self.in_library:
            return self.title[0]
        zh = f"{self.province[0]}{self.place[0]}"
        en = f"{self.place[1]}, {self.province[1]}"
        year = f" ({self.year})" if self.year else ""
        return {"zh": f"{zh}{year}", "en": f"{en}{year}"}.get(lang, f"{zh} {en}{year}")


@dataclass(frozen=True)
class PlanRule:
    """One rule of one document: ``topic`` (what a report checks it by: ``"radius"``,
    ``"time"``, ``"floor_new"``, ``"floor_existing"``, ``"village_point"``,
    ``"township_centre"``, ``"target_community"``, ``"target_daycare"``,
    ``"target_village"``, ``"target_station"``, ``"colocation"``, ``"idle_buildings"``),
    the rule and its value as ``(中文, English)``, the document key and section."""

    topic: str
    rule: tuple[str, str]
    value: tuple[str, str]
    doc: str
    section: str


_DOCS = (
    PlanDocument("jiangyong-2022", "000", ("江永县", "Jiangyong County"), ("湖南省", "Hunan"),
                 ("2022年养老服务“办实事”激励方案", "2022 elderly-care incentive plan"), 2022),
    PlanDocument("huichang-2021", "001", ("会昌县", "Huichang County"), ("江西省", "Jiangxi"),
                 ("关于推进养老服务高质量发展的意见", "Opinions on high-quality elderly-care development"), 2021),
    PlanDocument("pingyin-2021", "002", ("平阴县", "Pingyin County"), ("山东省", "Shandong"),
                 ("创建省级养老服务示范县实施方案", "Plan for a provincial model county of elderly care"), 2021),
    PlanDocument("luan-2021", "003", ("六安市", "Lu'an City"), ("安徽省", "Anhui"),
                 ("2021—2023年行动计划任务清单", "2021–2023 action-plan task list"), 2021),
    PlanDocument("fengjie-2021", "004", ("奉节县", "Fengjie County"), ("重庆市", "Chongqing"),
                 ("农村养老服务全覆盖实施方案", "Rural elderly-care full-coverage plan"), 2021),
)  # fmt: skip
#: the documents of the library by key
LIBRARY: dict[str, PlanDocument] = {d.key: d for d in _DOCS}

_R = PlanRule
#: every rule of the library, each citing its document and section
RULES: tuple[PlanRule, ...] = (
    _R("radius", ("社区养老服务设施覆盖半径", "Coverage radius of community elderly-care facilities"), ("≤ 1000 米", "≤ 1000 m"), "pingyin-2021", "§三(一)"),
    _R("time", ("15分钟养老服务圈（助餐、助急、助医、助行等）", "15-minute elderly-care service circle (meals, emergencies, medical help, mobility)"),
       ("步行15分钟", "15 min on foot"), "pingyin-2021", "§三(一)"),
    _R("time", ("15分钟养老服务圈", "15-minute elderly-care service circle"), ("步行15分钟", "15 min on foot"), "huichang-2021", "§(八)"),
    _R("floor_new", ("新建小区配建养老服务用房（四同步）", "New residential developments build elderly-care space"),
       ("≥ 20 m²/百户", "≥ 20 m² per 100 households"), "pingyin-2021", "§三(一)"),
    _R("floor_new", ("新建小区配建养老服务用房", "New residential developments build elderly-care space"),
       ("≥ 20 m²/百户", "≥ 20 m² per 100 households"), "jiangyong-2022", "§二(二)1"),
    _R("floor_new", ("新建小区配建养老服务用房", "New residential developments build elderly-care space"),
       ("≥ 20 m²/百户", "≥ 20 m² per 100 households"), "huichang-2021", "§(十七)"),
    _R("floor_existing", ("已建成小区补足养老服务用房", "Existing residential areas make up elderly-care space"),
       ("≥ 15 m²/百户", "≥ 15 m² per 100 households"), "pingyin-2021", "§三(一)"),
    _R("floor_existing", ("已建成小区补足养老服务用房", "Existing residential areas make up elderly-care space"),
       ("≥ 15 m²/百户", "≥ 15 m² per 100 households"), "huichang-2021", "§(十七)"),
    _R("village_point", ("村级互助养老点，每村一个", "Village mutual-aid point, one in every village"),
       ("≥ 100 m²", "≥ 100 m²"), "fengjie-2021", "§二(四)"),
    _R("township_centre", ("乡镇养老服务中心 / 街道", "Township elderly-care centre / street level"),
       ("≥ 800 m² / ≥ 1500 m²", "≥ 800 m² / ≥ 1500 m²"), "fengjie-2021", "§二(三)"),
    _R("target_community", ("城市社区养老服务设施覆盖率", "Urban communities with an elderly-care facility"),
       ("100%（2022年）", "100% (2022)"), "jiangyong-2022", "§二(二)2, §二(四)3"),
    _R("target_daycare", ("城市社区日间照料覆盖率", "Urban communities with day care"), ("≥ 90%（2022年）", "≥ 90% (2022)"),
       "huichang-2021", "§(二)"),
    _R("target_village", ("建有具备助餐功能互助养老设施的行政村", "Villages with a mutual-aid facility serving meals"),
       ("≥ 85%（2025年）", "≥ 85% (2025)"), "huichang-2021", "§(五)"),
    _R("target_station", ("农村幸福院覆盖行政村", "Villages with a village elderly-care station"), ("≥ 40%（2023年底）", "≥ 40% (end of 2023)"),
       "luan-2021", "item 17 第17项"),
    _R("colocation", ("三级养老服务设施与基层医疗卫生设施毗邻建设", "Elderly-care centres next to primary health facilities"),
       ("毗邻建设", "co-located"), "luan-2021", "item 19 第19项"),
    _R("idle_buildings", ("闲置学校、用房等改建养老设施", "Idle public buildings as elderly-care sites"), ("—", "—"), "huichang-2021", "§(十七)"),
)  # fmt: skip


def library_keys() -> list[str]:
    """The keys of the library's documents (the values ``--plan-basis`` accepts besides free text)."""
    return list(LIBRARY)


def _lookup(name: str) -> PlanDocument | None:
    text = name.strip()
    low = text.lower()
    for doc in _DOCS:
        names = {doc.key, doc.key.replace("-", ""), doc.code, doc.place[0], doc.place[0][:-1], doc.place[1].lower(),
                 doc.place[1].split()[0].lower()}  # fmt: skip
        if low in names or text in names:
            return doc
    return None


def resolve_basis(names: str | Iterable[str] | None) -> list[PlanDocument]:
    """The documents named as a report's basis, in the order given: library documents
    by key, file number or place name; any other text as a document of the user's own
    (cited as given). ``None`` or empty: no basis (see the module docstring).

    Examples
    --------
    >>> [d.key for d in resolve_basis("002, huichang-2021")]
    ['pingyin-2021', 'huichang-2021']
    >>> resolve_basis(["河南省某县养老服务设施布局规划"])[0].in_library
    False
    """
    if names is None:
        return []
    items = _expand([s for s in (names.split(",") if isinstance(names, str) else names)])
    out: list[PlanDocument] = []
    for raw in items:
        name = str(raw).strip()
        if not name:
            continue
        if len(name) > 300:
            raise ParameterError(f"plan_basis: {name[:40]!r}... is longer than 300 characters; name the document briefly")
        doc = _lookup(name) or PlanDocument(name, "", ("", ""), ("", ""), (name, name), None, False)
        if doc.key not in {d.key for d in out}:
            out.append(doc)
    return out


def _expand(items: list[str]) -> list[str]:
    """A name that is a text file stands for its lines (one document, key or name per line)."""
    out: list[str] = []
    for raw in items:
        name = str(raw).strip()
        path = Path(name)
        if name and (path.suffix or os.sep in name or "/" in name) and path.is_file():
            data = path.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030", errors="replace")
            out += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        else:
            out.append(name)
    return out


def rules_of(docs: Sequence[PlanDocument], topics: Iterable[str] | None = None) -> list[PlanRule]:
    """The library's rules of ``docs`` (all documents when ``docs`` is empty), optionally
    only those of ``topics``, in library order."""
    keys = {d.key for d in docs} if docs else set(LIBRARY)
    want = set(topics) if topics is not None else None
    return [r for r in RULES if r.doc in keys and (want is None or r.topic in want)]
