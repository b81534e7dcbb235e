"""Customer success and the customer journey (issue 10): review cadence, health score,
education, closed feedback loop, onboarding of sales-qualified leads, journey and funnel.

Each module takes canonical tables (insight.data.schema) and params (params.success) and returns
tables, figures and the keyword arguments of the findings; notebooks in notebooks/success stay thin.
"""
from insight.success._common import Comparison, SuccessDataError, compare_rates

__all__ = ["Comparison", "SuccessDataError", "compare_rates"]
