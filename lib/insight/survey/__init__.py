"""VOC phase 2, quantitative: the questionnaire as data, pilot check, field status, cleaning with
an audit trail, raking weights, metrics with intervals, banner tables, reliability and
hypothesis tests. Notebooks: notebooks/voc/survey_fieldwork.ipynb and survey_results.ipynb."""
from insight.survey.questionnaire import (Question, Questionnaire, QuestionnaireError, SurveyDataError,
                                          load_questionnaire, render_html, render_markdown)

__all__ = ["Question", "Questionnaire", "QuestionnaireError", "SurveyDataError", "load_questionnaire",
           "render_html", "render_markdown"]
