"""Voice of customer: phase 1 (scope, sample), phase 2 (survey, qualitative), phase 3 (synthesis)."""
