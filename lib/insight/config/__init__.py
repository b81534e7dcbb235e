"""The typed study parameters: params/<study>.yaml validated into `Params`.

Each top-level key is a section with its own model; unknown keys are errors everywhere.
Loading and the error report live in insight.params.
"""
from __future__ import annotations

from pydantic import Field, PrivateAttr

from insight.config.attention import AttentionConfig
from insight.config.base import Section
from insight.config.core import Hypothesis, Objectives, Question, ReportSettings, StudyMeta
from insight.config.crm import CrmConfig
from insight.config.data import DataSpec
from insight.config.qual import QualConfig
from insight.config.scope import ScopeConfig
from insight.config.success import SuccessConfig
from insight.config.survey import SurveyConfig
from insight.config.synthesis import SynthesisConfig


class Params(Section):
    study: StudyMeta
    objectives: Objectives
    questions: list[Question] = Field(min_length=1)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    data: DataSpec
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    survey: SurveyConfig = Field(default_factory=SurveyConfig)
    qualitative: QualConfig = Field(default_factory=QualConfig)
    crm: CrmConfig = Field(default_factory=CrmConfig)
    attention: AttentionConfig = Field(default_factory=AttentionConfig)
    success: SuccessConfig = Field(default_factory=SuccessConfig)
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig)
    report: ReportSettings = Field(default_factory=ReportSettings)
    _warnings: list = PrivateAttr(default_factory=list)

    def hypothesis(self, hid: str) -> Hypothesis:
        for h in self.hypotheses:
            if h.id == hid:
                return h
        raise KeyError(f"no hypothesis {hid!r} in the study params")


__all__ = ["Params"]
